"""DTN input tensor X_in from statistical CSI, eqs. (56)-(57) (math.md Sec. 5.3, our [choice]).

Per (satellite s, user k) pair the network sees F = 8 real features, none of which has an
N_t dimension (this is what makes the network N_t-scalable):

====  =========================================================  ===========================
 f    feature                                                     normalisation
====  =========================================================  ===========================
 0    per-element link SNR 10 log10(gamma_{s,k} P_s / sigma_k^2)  (x - SNR_CENTER) / 10 dB
 1    Rician factor 10 log10 kappa_{s,k} (inf -> KAPPA_MAX_DB)    (x - KAPPA_CENTER) / 10 dB
 2    Re rho_{s,k}                                                none
 3    Im rho_{s,k}                                                none
 4    vartheta^x_{s,k} (UPA spatial frequency, eq. 3)             none, in [-1, 1]
 5    vartheta^y_{s,k}                                            none, in [-1, 1]
 6    power level 10 log10 P_s, repeated over users (P-bar, 57)   (x - POWER_CENTER) / 10 dB
 7    noise 10 log10 sigma_k^2, repeated over satellites (57)     (x - NOISE_CENTER) / 10 dB
====  =========================================================  ===========================

The centres are fixed constants (not fitted to a dataset), so a feature tensor means the
same thing for every dataset and model; FEATURE_VERSION is stored with datasets and models.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from linksim.scsi import Scsi

#: Number of features F per (s, k) pair.
NUM_FEATURES = 8
#: Version tag of the feature definition (stored in datasets and model files).
FEATURE_VERSION = 1
FEATURE_NAMES = ("snr_db", "kappa_db", "rho_re", "rho_im", "vartheta_x", "vartheta_y",
                 "power_dbw", "noise_dbw")

SNR_CENTER_DB = -10.0
KAPPA_CENTER_DB = 25.0
KAPPA_MIN_DB = -30.0
KAPPA_MAX_DB = 60.0
POWER_CENTER_DBW = -15.0
NOISE_CENTER_DBW = -152.2
FEATURE_SCALE_DB = 10.0
_TINY = 1e-300


def _db(x: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(np.asarray(x, dtype=np.float64), _TINY))


def features_from_arrays(gamma: np.ndarray, kappa: np.ndarray, rho: np.ndarray,
                         vartheta_x: np.ndarray, vartheta_y: np.ndarray,
                         noise_power_w: np.ndarray, power_w: np.ndarray | float) -> np.ndarray:
    """X_in of eqs. (56)-(57) for a batch of drops (all leading dims are batch dims).

    Parameters
    ----------
    gamma : float64 [..., S, K]        per-element average channel power (linear)
    kappa : float64 [..., S, K]        Rician factor (linear, np.inf allowed)
    rho : complex128 [..., S, K]       expected phase error E[e^{j theta}]
    vartheta_x, vartheta_y : float64 [..., S, K]
    noise_power_w : float64 [..., K]   sigma_k^2
    power_w : float64 scalar, [..., 1] or [..., S]   per-satellite power P_s (W)

    Returns
    -------
    X_in : float32 [..., S, K, F] with F = NUM_FEATURES (order: FEATURE_NAMES)
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    shape = gamma.shape
    if gamma.ndim < 2:
        raise ValueError(f"gamma must be [..., S, K] (got shape {shape})")
    noise = np.broadcast_to(np.asarray(noise_power_w, dtype=np.float64)[..., None, :], shape)
    power = np.asarray(power_w, dtype=np.float64)
    if power.ndim == 0:
        power = power.reshape(1)
    power = np.broadcast_to(power[..., :, None], shape)
    if np.any(power <= 0) or np.any(noise <= 0):
        raise ValueError("power_w and noise_power_w must be > 0")
    rho = np.broadcast_to(np.asarray(rho, dtype=np.complex128), shape)
    kappa_db = np.clip(_db(np.where(np.isinf(kappa), 10.0 ** (KAPPA_MAX_DB / 10.0), kappa)),
                       KAPPA_MIN_DB, KAPPA_MAX_DB)
    feats = (
        (_db(gamma * power / noise) - SNR_CENTER_DB) / FEATURE_SCALE_DB,
        (kappa_db - KAPPA_CENTER_DB) / FEATURE_SCALE_DB,
        rho.real,
        rho.imag,
        np.broadcast_to(np.asarray(vartheta_x, dtype=np.float64), shape),
        np.broadcast_to(np.asarray(vartheta_y, dtype=np.float64), shape),
        (_db(power) - POWER_CENTER_DBW) / FEATURE_SCALE_DB,
        (_db(noise) - NOISE_CENTER_DBW) / FEATURE_SCALE_DB,
    )
    return np.stack(feats, axis=-1).astype(np.float32)


def scsi_features(scsi: Scsi, power_w: float | np.ndarray) -> np.ndarray:
    """X_in of one drop, float32 [S, K, F] (eqs. 56-57); power_w scalar or float64 [S]."""
    return features_from_arrays(scsi.gamma, scsi.kappa, scsi.rho, scsi.vartheta_x,
                                scsi.vartheta_y, scsi.noise_power_w, power_w)


def batch_features(scsis: Sequence[Scsi], power_w: float | Sequence[float] | np.ndarray
                   ) -> np.ndarray:
    """X_in of several drops with equal (S, K), float32 [B, S, K, F].

    power_w : scalar (all drops), float64 [B] (one level per drop) or [B, S].
    """
    if len(scsis) == 0:
        raise ValueError("scsis must hold at least one drop")
    shapes = {s.gamma.shape for s in scsis}
    if len(shapes) != 1:
        raise ValueError(f"all drops of a batch must have the same (S, K) (got {sorted(shapes)})")
    p = np.asarray(power_w, dtype=np.float64)
    if p.ndim == 0:
        p = np.full((len(scsis), 1), float(p))
    elif p.ndim == 1:
        if p.shape[0] != len(scsis):
            raise ValueError(f"power_w must have one entry per drop ({len(scsis)}), got {p.shape}")
        p = p[:, None]
    return np.stack([scsi_features(s, p[i]) for i, s in enumerate(scsis)])
