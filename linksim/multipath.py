"""Frequency-selective links: the 3GPP NTN tapped-delay-line profiles (TR 38.811 Sec. 6.9.2)
as paths of the emulator's PathSet.

Tables (TR 38.811 Tables 6.9.2-1 to 6.9.2-4, defined at 50 deg elevation; docs/model.md
says where the values were taken from and how they were cross-checked): normalised delays
tau_n (delay in units of the RMS delay spread) and powers in dB; NTN-TDL-C and -D start with
a Rician first tap, listed as a LOS part and a Rayleigh part at delay 0 whose power ratio is
the table's K-factor (10.224 dB and 11.707 dB). Scaling (TR 38.901 Sec. 7.7.3):
tau_n,scaled = tau_n * delay_spread_s.

Link (s, k) of a drop becomes P paths, all leaving the satellite along the same steering
vector v_{s,k} (the scatterers are near the user; the rank-1 spatial structure of the paper is
kept, only the frequency selectivity is new):

    LOS path      delay tau_{s,k},                 Doppler nu_{s,k},   gain sqrt(gamma f_LOS)
    NLOS tap n    delay tau_{s,k} + tau_n DS,      Doppler nu_{s,k} (+ f_D cos alpha),
                  gain sqrt(gamma p_n) CN(0, 1)    (one path; or N_sin sinusoids, below)

with f_LOS + sum_n p_n = 1, so E sum_p |g_p|^2 = gamma_{s,k}, the link power of the paper.
How f_LOS relates to the sCSI kappa the precoders see (config ``multipath_kappa``):

* 'scsi' (default): f_LOS = kappa/(kappa+1) with the drop's kappa_{s,k} (the elevation model),
  and the NLOS power 1/(kappa+1) spread over the profile's NLOS taps in the table's
  proportions. The precoders' sCSI (gamma, kappa) stays a true description of every link;
  only the frequency selectivity is new. NTN-TDL-A/-B then also get the LOS part at delay 0.
* 'table': the profile as tabulated, normalised to total power 1: f_LOS from the table's
  K-factor (NTN-TDL-C: 10.224 dB, -D: 11.707 dB), none for -A/-B (Rayleigh). The precoders'
  kappa is then a model mismatch as well.

Doppler spread of the NLOS taps from the user's motion (``ue_speed_mps`` v, f_D = v f_c / c):
each NLOS tap is a sum of ``doppler_sinusoids`` N_sin paths of gain sqrt(gamma p_n / N_sin)
e^{j phi_i} and Doppler f_D cos(alpha_i), phi_i and alpha_i i.i.d. uniform on [0, 2 pi)
(a Monte Carlo sum-of-sinusoids; its autocorrelation over draws is exactly
E[g(t) g*(t + dt)] = gamma p_n J0(2 pi f_D dt), the Jakes spectrum), on top of the link's common
satellite Doppler nu_{s,k}. With v = 0 every NLOS tap is one time-constant path (block
fading). The LOS part carries no extra Doppler (a common offset of the link like the
satellite's). Cost: P = 1 + T (v = 0) or 1 + T N_sin paths per link, linear in P.

All draws come from the drop's stream MULTIPATH_STREAM (12), independent of the paper's
streams, so the flat profile's numbers are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linksim.constants import SPEED_OF_LIGHT_M_S
from linksim.scenario import Stream

#: drop_rng stream of the multipath draws (tap gains, sinusoid angles and phases)
MULTIPATH_STREAM = Stream.MULTIPATH


@dataclass(frozen=True)
class TdlProfile:
    """One NTN-TDL table (TR 38.811 Sec. 6.9.2).

    name : str
    los_power_db : float or None    the LOS part of the Rician first tap (delay 0), dB
    nlos_delays : tuple of float    normalised delays tau_n of the Rayleigh taps
    nlos_powers_db : tuple of float their powers, dB
    table : str                     the table of TR 38.811 the values come from
    """

    name: str
    los_power_db: float | None
    nlos_delays: tuple[float, ...]
    nlos_powers_db: tuple[float, ...]
    table: str

    @property
    def k_factor_db(self) -> float | None:
        """The first tap's K-factor: LOS power over the Rayleigh power at delay 0 (dB)."""
        if self.los_power_db is None:
            return None
        return self.los_power_db - self.nlos_powers_db[0]

    def normalised(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(f_LOS, delays [T], powers [T]) with f_LOS + sum(powers) = 1 (linear)."""
        los = 0.0 if self.los_power_db is None else 10 ** (self.los_power_db / 10)
        nlos = 10 ** (np.asarray(self.nlos_powers_db) / 10)
        total = los + nlos.sum()
        return los / total, np.asarray(self.nlos_delays, dtype=float), nlos / total

    def rms_delay_spread(self) -> float:
        """RMS delay spread of the normalised PDP (LOS included), in units of DS (= 1 by the
        tables' construction, TR 38.901 Sec. 7.7.3)."""
        los, d, p = self.normalised()
        delays = np.concatenate([[0.0], d])
        powers = np.concatenate([[los], p])
        mean = np.sum(powers * delays)
        return float(np.sqrt(np.sum(powers * delays ** 2) - mean ** 2))


#: TR 38.811 Tables 6.9.2-1 (A), 6.9.2-2 (B), 6.9.2-3 (C), 6.9.2-4 (D), 50 deg elevation
PROFILES: dict[str, TdlProfile] = {
    "ntn-tdl-a": TdlProfile("ntn-tdl-a", None, (0.0, 1.0811, 2.8416),
                            (0.0, -4.675, -6.482), "TR 38.811 Table 6.9.2-1"),
    "ntn-tdl-b": TdlProfile("ntn-tdl-b", None, (0.0, 0.7249, 0.7410, 5.7392),
                            (0.0, -1.973, -4.332, -11.914), "TR 38.811 Table 6.9.2-2"),
    "ntn-tdl-c": TdlProfile("ntn-tdl-c", -0.394, (0.0, 14.8124), (-10.618, -23.373),
                            "TR 38.811 Table 6.9.2-3"),
    "ntn-tdl-d": TdlProfile("ntn-tdl-d", -0.284, (0.0, 0.5596, 7.3340),
                            (-11.991, -9.887, -16.771), "TR 38.811 Table 6.9.2-4"),
}

PROFILE_NAMES = ("flat",) + tuple(PROFILES)


def profile(name: str) -> TdlProfile:
    if name not in PROFILES:
        raise ValueError(f"channel_profile must be one of {', '.join(PROFILE_NAMES)} "
                         f"(got {name!r}); 'flat' has no taps")
    return PROFILES[name]


def tap_powers(prof: TdlProfile, kappa: np.ndarray, mode: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power split of every link (module docstring).

    kappa : float64 [S, K] (linear, inf allowed); mode : 'scsi' or 'table'.
    Returns (los_fraction [S, K], nlos_delays [T] normalised, nlos_power [S, K, T]), with
    los_fraction + nlos_power.sum(-1) = 1.
    """
    kappa = np.asarray(kappa, dtype=float)
    los, delays, nlos = prof.normalised()
    if mode == "table":
        los_f = np.full(kappa.shape, los)
        return los_f, delays, np.broadcast_to(nlos, kappa.shape + nlos.shape).copy()
    if mode != "scsi":
        raise ValueError(f"multipath_kappa must be 'scsi' or 'table' (got {mode!r})")
    with np.errstate(invalid="ignore"):
        los_f = np.where(np.isinf(kappa), 1.0, kappa / (kappa + 1.0))
    shares = nlos / nlos.sum()
    return los_f, delays, (1.0 - los_f)[..., None] * shares


def max_doppler_hz(ue_speed_mps: float, carrier_hz: float) -> float:
    """f_D = v / lambda = v f_c / c."""
    return float(ue_speed_mps) * float(carrier_hz) / SPEED_OF_LIGHT_M_S


def draw_taps(rng: np.random.Generator, gamma: np.ndarray, los_fraction: np.ndarray,
              nlos_delays_s: np.ndarray, nlos_power: np.ndarray, max_doppler: float,
              num_sinusoids: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths of every link relative to its first arrival (module docstring).

    gamma, los_fraction : float64 [S, K]; nlos_delays_s : float64 [T] (scaled, s);
    nlos_power : float64 [S, K, T] (fractions of gamma); max_doppler : f_D in Hz;
    num_sinusoids : N_sin per NLOS tap when f_D > 0.
    Returns (excess_delay_s [S, K, P], extra_doppler_hz [S, K, P], gain complex128 [S, K, P]),
    path 0 the LOS part (gain sqrt(gamma f_LOS), real), then tap by tap (and sinusoid by
    sinusoid).
    Draw order: NLOS gains CN(0,1) [S, K, T] (f_D = 0), or angles then phases, each
    uniform [S, K, T, N_sin] (f_D > 0).
    """
    gamma = np.asarray(gamma, dtype=float)
    s, k = gamma.shape
    t = nlos_delays_s.size
    los_gain = np.sqrt(gamma * los_fraction)[:, :, None].astype(np.complex128)
    amp = np.sqrt(gamma[:, :, None] * nlos_power)                         # [S, K, T]
    if max_doppler > 0:
        n = int(num_sinusoids)
        alpha = rng.uniform(0.0, 2 * np.pi, (s, k, t, n))
        phi = rng.uniform(0.0, 2 * np.pi, (s, k, t, n))
        g = (amp[..., None] / np.sqrt(n)) * np.exp(1j * phi)
        nu = max_doppler * np.cos(alpha)
        delay = np.broadcast_to(nlos_delays_s[None, None, :, None], (s, k, t, n))
        g, nu, delay = (a.reshape(s, k, t * n) for a in (g, nu, delay))
    else:
        cn = (rng.standard_normal((s, k, t)) + 1j * rng.standard_normal((s, k, t))) / np.sqrt(2)
        g = amp * cn
        nu = np.zeros((s, k, t))
        delay = np.broadcast_to(nlos_delays_s[None, None, :], (s, k, t))
    zeros = np.zeros((s, k, 1))
    return (np.concatenate([zeros, delay], axis=2), np.concatenate([zeros, nu], axis=2),
            np.concatenate([los_gain, g], axis=2))


def multipath_taps(cfg, scsi, seed: int, drop_index: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The drop's paths under ``cfg.channel_profile`` (not 'flat') relative to each link's
    first arrival: (excess_delay_s, extra_doppler_hz, gain) [S, K, P] of :func:`draw_taps`,
    powers from ``scsi`` (gamma, kappa), draws from drop_rng(seed, drop_index,
    MULTIPATH_STREAM)."""
    from linksim.scenario import drop_rng

    prof = profile(cfg.channel_profile)
    los_f, delays, nlos = tap_powers(prof, scsi.kappa, cfg.multipath_kappa)
    return draw_taps(drop_rng(seed, drop_index, MULTIPATH_STREAM), scsi.gamma, los_f,
                     delays * cfg.delay_spread_s, nlos,
                     max_doppler_hz(cfg.ue_speed_mps, cfg.carrier_hz), cfg.doppler_sinusoids)


def multipath_channel(cfg, links, scsi, seed: int, drop_index: int):
    """The drop's true channel under ``cfg.channel_profile`` (not 'flat'): a PathSet
    [S, K, P] around the first-arrival delays and Dopplers of ``links`` (LinkState)
    (:func:`multipath_taps`)."""
    from linksim.emulator.paths import PathSet

    excess, extra_nu, gain = multipath_taps(cfg, scsi, seed, drop_index)
    return PathSet(delay_s=links.delay_s[:, :, None] + excess,
                   doppler_hz=links.doppler_hz[:, :, None] + extra_nu, gain=gain)


def moving_multipath_channel(cfg, scsi, orbit_channel, seed: int, drop_index: int):
    """The NTN-TDL paths on moving satellites (geometry_mode = 'orbit'): path p of link
    (s, k) follows the link's light-time delay, tau_p(t) = tau(t) + excess_p, with the tap's
    extra (user-motion) Doppler and gain of :func:`multipath_taps`; the excess delays are
    constant over a burst (the scatterers are near the user: over 1 ms the geometry moves
    them by ~1e-12 s). ``orbit_channel``: the flat orbit channel [S, K, 1] with its delay
    polynomial (linksim.emulator.motion.orbit_paths); its Doppler comes from tau(t).
    Returns a PathSet [S, K, P] whose every path shares the link's delay polynomial."""
    from linksim.emulator.paths import PathSet

    excess, extra_nu, gain = multipath_taps(cfg, scsi, seed, drop_index)
    poly = orbit_channel.delay_poly_s                                   # [S, K, 1, R]
    return PathSet(delay_s=orbit_channel.delay_s + excess,
                   doppler_hz=orbit_channel.doppler_hz + extra_nu, gain=gain,
                   delay_poly_s=np.repeat(poly, excess.shape[2], axis=2))


def frequency_correlation(los_fraction: float, nlos_delays_s: np.ndarray,
                          nlos_power: np.ndarray, lag_hz: np.ndarray) -> np.ndarray:
    """Closed-form frequency correlation of one link's response, the Fourier transform of
    its PDP: rho(dF) = E[H(f) H*(f + dF)] / E|H|^2 = f_LOS + sum_n p_n e^{j 2 pi dF tau_n}
    (H(f) = sum_p g_p e^{-j 2 pi f tau_p}; the LOS part has tau = 0). complex128 [L]."""
    lag = np.asarray(lag_hz, dtype=float)
    return los_fraction + np.sum(nlos_power[None, :] * np.exp(
        2j * np.pi * lag[:, None] * nlos_delays_s[None, :]), axis=1)
