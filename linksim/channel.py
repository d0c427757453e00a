"""Channel model of one satellite-user link, eqs. (1)-(3), Table I and math.md Secs. 2.1, 7, 11.

h_{s,k} = g_{s,k} v_{s,k} on one subcarrier after delay/Doppler precompensation: the scalar
Rician gain g_{s,k} (E|g|^2 = gamma_{s,k}, the per-element power gain from free-space loss and
antenna gains; K-factor kappa_{s,k} from the QuaDRiGa NTN Urban LOS elevation law) times the
UPA response v_{s,k} (unit-modulus entries, half-wavelength spacing). The propagation phase
e^{-j 2 pi f_c tau} and the Doppler rotation of eq. (1) are applied by the waveform emulator; here
the LoS component is real positive (it is what precompensation removes). docs/model.md states
every convention.
"""

from __future__ import annotations

import numpy as np

from linksim.config import LinkConfig
from linksim.constants import BOLTZMANN_J_K, SPEED_OF_LIGHT_M_S
from linksim.scenario import Drop

#: IEEE reference temperature T_0 of the noise-figure definition, F = 1 + T_e / T_0 (kelvin).
NOISE_REFERENCE_TEMPERATURE_K = 290.0


# --------------------------------------------------------------------------- array response
def spatial_frequencies(aod_theta_rad: np.ndarray, aod_phi_rad: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """UPA spatial frequencies of eq. (3) from the angle of departure.

    vartheta_x = sin(theta) cos(phi), vartheta_y = sin(theta) sin(phi), with theta measured from
    the array normal (nadir) and phi the azimuth in the array plane (x axis = first UPA axis).

    Parameters
    ----------
    aod_theta_rad, aod_phi_rad : float64 [...] (radians, broadcastable)

    Returns
    -------
    vartheta_x, vartheta_y : float64 [...] in [-1, 1]
    """
    theta = np.asarray(aod_theta_rad, dtype=np.float64)
    phi = np.asarray(aod_phi_rad, dtype=np.float64)
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(phi))):
        raise ValueError("aod_theta_rad and aod_phi_rad must be finite")
    st = np.sin(theta)
    return st * np.cos(phi), st * np.sin(phi)


def upa_steering(vartheta_x: np.ndarray, vartheta_y: np.ndarray,
                 antenna_size: tuple[int, int]) -> np.ndarray:
    """UPA array response v = a_{N_x}(vartheta_x) kron a_{N_y}(vartheta_y), eqs. (2)-(3).

    a_N(t) = [1, e^{-j pi t}, ..., e^{-j pi (N-1) t}]^T (half-wavelength spacing, unit-modulus
    entries, no 1/sqrt(N)); element n = n_x N_y + n_y equals
    e^{-j pi (n_x vartheta_x + n_y vartheta_y)}.

    Parameters
    ----------
    vartheta_x, vartheta_y : float64 [...] (broadcastable)
    antenna_size : (N_x, N_y), positive integers

    Returns
    -------
    v : complex128 [..., N_x * N_y]
    """
    nx, ny = (int(n) for n in antenna_size)
    if nx < 1 or ny < 1 or tuple(antenna_size) != (nx, ny):
        raise ValueError(f"antenna_size must be a pair of positive integers (got {antenna_size!r})")
    tx = np.asarray(vartheta_x, dtype=np.float64)
    ty = np.asarray(vartheta_y, dtype=np.float64)
    if not (np.all(np.isfinite(tx)) and np.all(np.isfinite(ty))):
        raise ValueError("vartheta_x and vartheta_y must be finite")
    tx, ty = np.broadcast_arrays(tx, ty)
    phase = (tx[..., None, None] * np.arange(nx)[:, None]
             + ty[..., None, None] * np.arange(ny)[None, :])
    return np.exp(-1j * np.pi * phase).reshape(*tx.shape, nx * ny)


# --------------------------------------------------------------------------- large-scale gain
def free_space_path_loss_db(range_m: np.ndarray, carrier_hz: float) -> np.ndarray:
    """Free-space path loss 20 log10(4 pi d f_c / c) in dB (600 km at 2 GHz: 154.03 dB).

    range_m : float64 [...] > 0 (metres); carrier_hz > 0. Returns float64 [...] (dB).
    """
    d = np.asarray(range_m, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError("range_m must be finite and > 0")
    if not np.isfinite(carrier_hz) or carrier_hz <= 0:
        raise ValueError(f"carrier_hz must be finite and > 0 (got {carrier_hz})")
    return 20.0 * np.log10(4.0 * np.pi * d * carrier_hz / SPEED_OF_LIGHT_M_S)


def link_gain(drop: Drop, cfg: LinkConfig) -> np.ndarray:
    """Average per-element channel power gain gamma_{s,k} = E|g_{s,k}|^2 (eq. 1, Table I).

    gamma = 10^{(-FSPL + G_tx,element + G_rx)/10}: free-space loss over the slant range, the
    6 dBi per-element satellite gain and the 0 dBi UT gain. The UPA array gain is not included:
    it comes from |v^H w|^2 (unit-modulus v). Returns float64 [S, K] (linear).
    """
    loss_db = free_space_path_loss_db(drop.slant_range_m, cfg.carrier_hz)
    return 10.0 ** ((cfg.tx_element_gain_dbi + cfg.rx_gain_dbi - loss_db) / 10.0)


# --------------------------------------------------------------------------- Rician factor
def kappa_ntn_urban_los_db(elevation_deg: np.ndarray, carrier_hz: float) -> np.ndarray:
    """Mean Rician K-factor of QuaDRiGa_NTN_Urban_LOS (math.md Sec. 11), in dB.

    K_dB = 22.55 + 7.9 log10(f_c / 1 GHz) - 11 log10(elevation in rad); at 2 GHz: 33.3 dB at
    10 deg, 28.0 dB at 30 deg, 22.8 dB at 90 deg.

    elevation_deg : float64 [...] in (0, 90]. Returns float64 [...] (dB).
    """
    el = np.asarray(elevation_deg, dtype=np.float64)
    if not np.all(np.isfinite(el)) or np.any(el <= 0) or np.any(el > 90):
        raise ValueError("elevation_deg must be in (0, 90]")
    if not np.isfinite(carrier_hz) or carrier_hz <= 0:
        raise ValueError(f"carrier_hz must be finite and > 0 (got {carrier_hz})")
    return 22.55 + 7.9 * np.log10(carrier_hz / 1e9) - 11.0 * np.log10(np.radians(el))


def rician_factor(drop: Drop, cfg: LinkConfig, rng: np.random.Generator | None = None
                  ) -> np.ndarray:
    """Rician K-factor kappa_{s,k} (linear) of every link, float64 [S, K].

    cfg.kappa_model = 'ntn-urban-los': :func:`kappa_ntn_urban_los_db` at the link's elevation,
    plus, when cfg.kappa_spread_db > 0, an independent N(0, spread^2) dB term per link drawn
    with ``rng`` (log-normal kappa; the scenario's published spread is 5.65 dB).
    cfg.kappa_model = 'fixed': cfg.kappa_db on every link (Fig. 7 sweeps it).
    """
    shape = np.shape(drop.elevation_deg)
    if cfg.kappa_model == "fixed":
        return np.full(shape, 10.0 ** (cfg.kappa_db / 10.0))
    if cfg.kappa_model != "ntn-urban-los":
        raise ValueError(f"kappa_model must be 'ntn-urban-los' or 'fixed' "
                         f"(got {cfg.kappa_model!r})")
    k_db = kappa_ntn_urban_los_db(drop.elevation_deg, cfg.carrier_hz)
    if cfg.kappa_spread_db > 0:
        if rng is None:
            raise ValueError("rician_factor needs rng when kappa_spread_db > 0")
        k_db = k_db + cfg.kappa_spread_db * rng.standard_normal(shape)
    return 10.0 ** (k_db / 10.0)


# --------------------------------------------------------------------------- noise
def noise_power_w(cfg: LinkConfig, bandwidth_hz: float | None = None) -> float:
    """Thermal noise power sigma^2 = k_B T_sys B at the UT, in W (Table I, math.md Sec. 7, 11).

    T_sys = T_ant + (F - 1) T_0 with F = 10^{NF/10} and T_0 = 290 K (receiver noise referred to
    the antenna). Table I (T_ant = 290 K, NF = 7 dB) gives T_sys = 1453.4 K and, per 30 kHz
    subcarrier (the default B = cfg.subcarrier_spacing_hz), -122.2 dBm = -152.2 dBW, i.e.
    -174 dBm/Hz + 10 log10(B) + NF.
    """
    b = cfg.subcarrier_spacing_hz if bandwidth_hz is None else float(bandwidth_hz)
    if not np.isfinite(b) or b <= 0:
        raise ValueError(f"bandwidth_hz must be finite and > 0 (got {bandwidth_hz})")
    f = 10.0 ** (cfg.noise_figure_db / 10.0)
    t_sys = cfg.antenna_temperature_k + (f - 1.0) * NOISE_REFERENCE_TEMPERATURE_K
    return BOLTZMANN_J_K * t_sys * b


# --------------------------------------------------------------------------- small-scale fading
def draw_fading(rng: np.random.Generator, gamma: np.ndarray, kappa: np.ndarray,
                size: tuple[int, ...] = ()) -> np.ndarray:
    """Rician gains g = sqrt(kappa gamma/(kappa+1)) + sqrt(gamma/(kappa+1)) CN(0, 1), eq. (1).

    The LoS part is real positive: the propagation phase -2 pi f_c tau is applied separately by
    the waveform emulator, and precompensation removes it. kappa = inf gives pure LoS.

    Parameters
    ----------
    rng : numpy Generator
    gamma : float64 [...] >= 0 (E|g|^2, linear); kappa : float64 [...] >= 0 (linear, inf allowed)
    size : leading sample shape

    Returns
    -------
    g : complex128 [*size, *broadcast(gamma, kappa).shape]
    """
    gam = np.asarray(gamma, dtype=np.float64)
    kap = np.asarray(kappa, dtype=np.float64)
    if not np.all(np.isfinite(gam)) or np.any(gam < 0):
        raise ValueError("gamma must be finite and >= 0")
    if np.any(np.isnan(kap)) or np.any(kap < 0):
        raise ValueError("kappa must be >= 0 (np.inf allowed)")
    gam, kap = np.broadcast_arrays(gam, kap)
    with np.errstate(invalid="ignore"):
        los_fraction = np.where(np.isinf(kap), 1.0, kap / (kap + 1.0))
    los = np.sqrt(los_fraction * gam)
    nlos_std = np.sqrt((1.0 - los_fraction) * gam)
    shape = tuple(size) + gam.shape
    diffuse = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)
    return los + nlos_std * diffuse


def channel_vectors(g: np.ndarray, steering: np.ndarray) -> np.ndarray:
    """h_{s,k} = g_{s,k} v_{s,k}, eq. (1) after precompensation.

    g : complex [..., S, K]; steering : complex [S, K, N_t]. Returns complex128 [..., S, K, N_t].
    """
    g = np.asarray(g)
    v = np.asarray(steering)
    if v.ndim != 3 or g.shape[-2:] != v.shape[:2]:
        raise ValueError(f"g [..., S, K] and steering [S, K, N_t] must agree "
                         f"(got {g.shape} and {v.shape})")
    return (g[..., None] * v).astype(np.complex128, copy=False)
