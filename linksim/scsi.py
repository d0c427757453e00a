"""Statistical CSI (sCSI) a precoder may see, eqs. (20)-(26), and the compensation-error model.

The sCSI of one drop, per (satellite s, user k): the average channel power gamma_{s,k}
(per antenna element, linear), the Rician factor kappa_{s,k} (linear), the UPA steering vector
v_{s,k} (eq. 2-3, unit-modulus entries) and the expected phase error rho_{s,k} = E[e^{j theta}]
(eq. 25). Precoders import only this module (and config/ratemodel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


@dataclass(frozen=True)
class Scsi:
    """sCSI of one drop.

    Attributes
    ----------
    gamma : float64 [S, K]       average channel power per element, E|g_{s,k}|^2 (linear)
    kappa : float64 [S, K]       Rician factor (linear); np.inf = pure LoS
    rho : complex128 [S, K]      expected phase error E[e^{j theta_{s,k}}] (eq. 25)
    steering : complex128 [S, K, N_t]   v_{s,k} (eq. 2-3), unit-modulus entries
    noise_power_w : float64 [K]  sigma_k^2 per subcarrier
    vartheta_x, vartheta_y : float64 [S, K]  the UPA spatial frequencies of v_{s,k} (eq. 3)
    antenna_size : (N_x, N_y)
    """

    gamma: np.ndarray
    kappa: np.ndarray
    rho: np.ndarray
    steering: np.ndarray
    noise_power_w: np.ndarray
    vartheta_x: np.ndarray
    vartheta_y: np.ndarray
    antenna_size: tuple[int, int] = field(default=(16, 16))

    def __post_init__(self) -> None:
        s, k = np.shape(self.gamma)
        checks = {
            "kappa": (np.shape(self.kappa), (s, k)),
            "rho": (np.shape(self.rho), (s, k)),
            "noise_power_w": (np.shape(self.noise_power_w), (k,)),
            "vartheta_x": (np.shape(self.vartheta_x), (s, k)),
            "vartheta_y": (np.shape(self.vartheta_y), (s, k)),
        }
        for name, (got, want) in checks.items():
            if got != want:
                raise ValueError(f"Scsi.{name} must have shape {want} (got {got})")
        if np.shape(self.steering)[:2] != (s, k) or np.ndim(self.steering) != 3:
            raise ValueError(f"Scsi.steering must have shape ({s}, {k}, N_t) "
                             f"(got {np.shape(self.steering)})")
        for name in ("gamma", "rho", "steering", "noise_power_w"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"Scsi.{name} must be finite")
        if np.any(np.asarray(self.gamma) < 0) or np.any(np.asarray(self.noise_power_w) <= 0):
            raise ValueError("Scsi.gamma must be >= 0 and noise_power_w > 0")
        if np.any(np.isnan(self.kappa)) or np.any(np.asarray(self.kappa) < 0):
            raise ValueError("Scsi.kappa must be >= 0 (np.inf allowed)")
        if np.any(np.abs(self.rho) > 1 + 1e-12):
            raise ValueError("Scsi.rho must satisfy |rho| <= 1")

    # ---- dimensions
    @property
    def num_sats(self) -> int:
        return int(np.shape(self.gamma)[0])

    @property
    def num_users(self) -> int:
        return int(np.shape(self.gamma)[1])

    @property
    def num_antennas(self) -> int:
        return int(np.shape(self.steering)[2])

    # ---- derived statistics (eq. 25, 31)
    @property
    def los_fraction(self) -> np.ndarray:
        """kappa / (kappa + 1), float64 [S, K] (1 for kappa = inf)."""
        k = np.asarray(self.kappa, dtype=float)
        with np.errstate(invalid="ignore"):
            out = np.where(np.isinf(k), 1.0, k / (k + 1.0))
        return out

    @property
    def mu(self) -> np.ndarray:
        """mu_{s,k} = sqrt(kappa gamma / (kappa + 1)) rho_{s,k}, complex128 [S, K] (eq. 25)."""
        return np.sqrt(self.los_fraction * self.gamma) * self.rho

    @property
    def d(self) -> np.ndarray:
        """d_{s,k} = gamma (1 - kappa |rho|^2 / (kappa + 1)) >= 0, float64 [S, K] (eq. 31)."""
        return self.gamma * (1.0 - self.los_fraction * np.abs(self.rho) ** 2)

    # ---- reshaping
    def take(self, sats=None, users=None) -> "Scsi":
        """The sCSI of a subset (or permutation) of satellites and/or users."""
        si = np.arange(self.num_sats) if sats is None else np.asarray(sats)
        ui = np.arange(self.num_users) if users is None else np.asarray(users)
        return Scsi(
            gamma=self.gamma[np.ix_(si, ui)], kappa=self.kappa[np.ix_(si, ui)],
            rho=self.rho[np.ix_(si, ui)], steering=self.steering[np.ix_(si, ui)],
            noise_power_w=self.noise_power_w[ui], vartheta_x=self.vartheta_x[np.ix_(si, ui)],
            vartheta_y=self.vartheta_y[np.ix_(si, ui)], antenna_size=self.antenna_size)


# --------------------------------------------------------------------------- phase-error model
def expected_phase_factor(phase_error_var_rad2: float | np.ndarray) -> np.ndarray:
    """rho = E[e^{j theta}] = exp(-sigma_theta^2 / 2), theta ~ N(0, sigma_theta^2) (eq. 25, Sec. V).

    phase_error_var_rad2 : float64 [...] >= 0 (rad^2). Returns float64 [...] in (0, 1].
    """
    var = np.asarray(phase_error_var_rad2, dtype=np.float64)
    if np.any(np.isnan(var)) or np.any(var < 0):
        raise ValueError("phase_error_var_rad2 must be >= 0")
    return np.exp(-0.5 * var)


@dataclass(frozen=True)
class CompensationErrorModel:
    """Residual errors of delay/Doppler precompensation, eqs. (7), (13) and Sec. V.

    Delta tau_{s,k} ~ N(0, delay_error_std_s^2) and Delta nu_{s,k} ~ N(0, doppler_error_std_hz^2),
    independent across links. The carrier phase error of eq. (13) at time t after the
    compensation reference is theta = -2 pi f_c Delta tau + 2 pi Delta nu t, Gaussian with
    variance (2 pi f_c sigma_tau)^2 + (2 pi sigma_nu t)^2. :meth:`from_config` sets
    sigma_tau = sqrt(cfg.phase_error_var_rad2) / (2 pi f_c), so the phase error at t = 0 has
    exactly the configured variance (0.5 rad^2 at 2 GHz: sigma_tau = 0.056 ns, negligible as a
    baseband timing error).

    Attributes
    ----------
    carrier_hz : float             f_c
    delay_error_std_s : float      sigma_tau >= 0 (seconds)
    doppler_error_std_hz : float   sigma_nu >= 0 (hertz)
    """

    carrier_hz: float
    delay_error_std_s: float
    doppler_error_std_hz: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.carrier_hz) or self.carrier_hz <= 0:
            raise ValueError(f"carrier_hz must be finite and > 0 (got {self.carrier_hz})")
        for name in ("delay_error_std_s", "doppler_error_std_hz"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0 (got {value})")

    @classmethod
    def from_config(cls, cfg: LinkConfig) -> "CompensationErrorModel":
        """From cfg.carrier_hz, cfg.phase_error_var_rad2 and cfg.doppler_error_std_hz."""
        sigma_tau = np.sqrt(cfg.phase_error_var_rad2) / (2.0 * np.pi * cfg.carrier_hz)
        return cls(carrier_hz=float(cfg.carrier_hz), delay_error_std_s=float(sigma_tau),
                   doppler_error_std_hz=float(cfg.doppler_error_std_hz))

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]
             ) -> tuple[np.ndarray, np.ndarray]:
        """Draw (delay_error_s, doppler_error_hz), float64 [*shape] each (eq. 7)."""
        delay = self.delay_error_std_s * rng.standard_normal(shape)
        doppler = self.doppler_error_std_hz * rng.standard_normal(shape)
        return delay, doppler

    def phase_error_var_rad2(self, t_s: float | np.ndarray = 0.0) -> np.ndarray:
        """Variance of theta at time t_s after the compensation reference (eq. 13), rad^2.

        (2 pi f_c sigma_tau)^2 + (2 pi sigma_nu t)^2; t_s float64 [...] (seconds).
        """
        t = np.asarray(t_s, dtype=np.float64)
        return ((2.0 * np.pi * self.carrier_hz * self.delay_error_std_s) ** 2
                + (2.0 * np.pi * self.doppler_error_std_hz * t) ** 2)

    def rho(self, t_s: float | np.ndarray = 0.0) -> np.ndarray:
        """Expected phase factor E[e^{j theta(t)}] = exp(-var(t)/2), float64 [...] (eq. 25)."""
        return expected_phase_factor(self.phase_error_var_rad2(t_s))


# --------------------------------------------------------------------------- sCSI of a drop
def scsi_from_drop(drop, cfg: LinkConfig, rng: np.random.Generator | None = None) -> Scsi:
    """The sCSI of one drop (eqs. 2-3, 20-26, Table I).

    gamma = :func:`linksim.channel.link_gain`, kappa = :func:`linksim.channel.rician_factor`
    (its log-normal spread, when cfg.kappa_spread_db > 0, is drawn from ``rng``, by default
    drop_rng(drop.seed, drop.drop_index, Stream.KAPPA_SPREAD), so every user of a drop sees
    the same sCSI),
    rho = :func:`expected_phase_factor` (cfg.phase_error_var_rad2) on every link, steering from
    the AoD (:func:`linksim.channel.spatial_frequencies`, :func:`linksim.channel.upa_steering`)
    and sigma_k^2 = :func:`linksim.channel.noise_power_w` (per subcarrier) for every user.

    drop : linksim.scenario.Drop; cfg : linksim.config.LinkConfig.
    """
    from linksim.channel import (
        link_gain,
        noise_power_w,
        rician_factor,
        spatial_frequencies,
        upa_steering,
    )

    vx, vy = spatial_frequencies(drop.aod_theta_rad, drop.aod_phi_rad)
    antenna_size = (int(cfg.antenna_size[0]), int(cfg.antenna_size[1]))
    gamma = link_gain(drop, cfg)
    if rng is None and cfg.kappa_spread_db > 0:
        from linksim.scenario import Stream, drop_rng

        rng = drop_rng(drop.seed, drop.drop_index, Stream.KAPPA_SPREAD)
    rho = np.full(gamma.shape, expected_phase_factor(cfg.phase_error_var_rad2), dtype=complex)
    return Scsi(gamma=gamma, kappa=rician_factor(drop, cfg, rng), rho=rho,
                steering=upa_steering(vx, vy, antenna_size),
                noise_power_w=np.full(drop.num_users, noise_power_w(cfg)),
                vartheta_x=vx, vartheta_y=vy, antenna_size=antenna_size)
