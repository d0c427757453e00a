"""MRT: per-satellite matched filter on the sCSI mean (not in the paper; a sanity baseline).

w_{s,k} = sqrt(P_s / K) e^{j arg mu_{s,k}} v_{s,k} / sqrt(N_t): proportional to user k's block
mu_{s,k} v_{s,k} of m_k (eq. 29), equal power per user, sum_k ||w_{s,k}||^2 = P_s. Also the
initial point of Algorithm 1 (step 2).
"""

from __future__ import annotations

import numpy as np

from linksim.scsi import Scsi
from precoders.common import (
    DesignResult,
    ReducedModel,
    check_scsi,
    link_stats,
    mrt_coefficients,
    per_satellite_power,
    single_threaded,
    user_weights,
)


@single_threaded
def design(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None
           ) -> DesignResult:
    """MRT precoder. W complex128 [S, K, N_t]; history holds the rate (19) of W."""
    check_scsi(scsi)
    power = per_satellite_power(power_w, scsi.num_sats)
    alpha = user_weights(weights, scsi.num_users)
    model = ReducedModel.from_scsi(scsi)
    Wt = mrt_coefficients(model, power)
    r = link_stats(model, Wt).rates
    hist = {"sum_rate": np.array([np.sum(r)]), "weighted_sum_rate": np.array([np.sum(alpha * r)]),
            "surrogate": np.array([np.sum(r)])}
    return DesignResult(W=model.expand(Wt), history=hist, iterations=0, converged=True,
                        name="mrt")
