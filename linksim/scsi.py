"""Statistical CSI (sCSI) a precoder may see, eqs. (20)-(26), and the compensation-error model.

The sCSI of one drop, per (satellite s, user k): the average channel power gamma_{s,k}
(per antenna element, linear), the Rician factor kappa_{s,k} (linear), the UPA steering vector
v_{s,k} (eq. 2-3, unit-modulus entries) and the expected phase error rho_{s,k} = E[e^{j theta}]
(eq. 25). Precoders import only this module (and config/ratemodel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
