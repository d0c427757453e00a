"""SS-M (SS-MMSE): regularised zero forcing at the master satellite on its expected
compensated channel (math.md Sec. 4, baselines).

With H-bar [K, N_t] of rows h-bar_k^H = (mu_{0,k} v_{0,k})^H,
W = beta H-bar^H (H-bar H-bar^H + xi I_K)^{-1}, xi = sum_k sigma_k^2 / P_0 (push-through form of
(H-bar^H H-bar + xi I)^{-1} H-bar^H: a K x K Hermitian positive definite solve), scaled to P_0.
The other satellites are silent (their rows of W are zero).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from linksim.scsi import Scsi
from precoders.common import (
    DesignResult,
    ReducedModel,
    check_scsi,
    link_stats,
    per_satellite_power,
    scale_to_power,
    single_threaded,
    user_weights,
)


@single_threaded
def design(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None,
           master: int = 0) -> DesignResult:
    """SS-M precoder. W complex128 [S, K, N_t] with W[s] = 0 for s != master."""
    check_scsi(scsi)
    power = per_satellite_power(power_w, scsi.num_sats)
    alpha = user_weights(weights, scsi.num_users)
    model = ReducedModel.from_scsi(scsi)
    Wt = np.zeros(model.Vt.shape, dtype=np.complex128)
    P0 = power[master]
    mu = model.mu[master]
    if P0 > 0 and np.any(mu != 0):
        Hh = model.Vt[master] * mu[None, :]  # coefficients of h-bar_k, [r, K]
        xi = float(np.sum(model.noise)) / P0
        gram = Hh.conj().T @ Hh + xi * np.eye(model.num_users)
        X = scipy.linalg.solve(gram, np.eye(model.num_users), assume_a="pos")
        Wt[master] = Hh @ X
        Wt = scale_to_power(Wt, power * (np.arange(model.num_sats) == master))
    r = link_stats(model, Wt).rates
    hist = {"sum_rate": np.array([np.sum(r)]), "weighted_sum_rate": np.array([np.sum(alpha * r)]),
            "surrogate": np.array([np.sum(r)])}
    return DesignResult(W=model.expand(Wt), history=hist, iterations=0, converged=True,
                        name="ss-m")
