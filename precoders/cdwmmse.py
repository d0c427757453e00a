"""MS-JoCDWM: Algorithm 1, the covariance-decomposition WMMSE of eqs. (32)-(44), and the
closed-form precoder (45) used by the DTN (Algorithm 2).

Receiver step (38): u_k = G_k^H w_k / (c_k + w_k^H R_k w_k) in C^{S+1}, with G_k = [m_k,
V_k D_k^{1/2}] (35), so G_k^H w_k = [m_k^H w_k; sqrt(d_{s,k}) v_{s,k}^H w_{s,k}]_s; the weight
omega_k = 1/eps_k = 1 + w_k^H R_k w_k / c_k. W-step (43) with the multipliers of (44) and
per-satellite scaling (``w_step='paper'``) or with exact per-satellite multipliers
(``w_step='exact'``, monotone in the weighted sum rate). See :mod:`precoders.wstep`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from linksim.scsi import Scsi
from precoders.common import (
    DesignResult,
    LinkStats,
    ReducedModel,
    check_iteration_args,
    check_scsi,
    initial_coefficients,
    per_satellite_power,
    single_threaded,
    user_weights,
)
from precoders.wstep import (
    Family,
    Receivers,
    WStepProblem,
    WStepSolver,
    alternate,
    paper_multipliers,
    scale_to_power,
)


class CdwmmseFamily(Family):
    """Receivers (38), W-step data (43) and surrogate (33) of MS-JoCDWM."""

    def receivers(self, model: ReducedModel, stats: LinkStats, alpha: np.ndarray) -> Receivers:
        g = self.gw(model, stats)
        total = stats.c + stats.signal
        return Receivers(U=g / total[:, None], omega=total / stats.c)

    @staticmethod
    def gw(model: ReducedModel, stats: LinkStats) -> np.ndarray:
        """G_k^H w_k (eq. 35-36), complex128 [K, S+1]."""
        return np.concatenate([stats.mean_amp[:, None], (np.sqrt(model.d) * stats.own).T],
                              axis=1)

    def problem(self, model: ReducedModel, rx: Receivers, alpha: np.ndarray,
                active: np.ndarray) -> tuple[WStepProblem, float]:
        return cdwmmse_problem(model, rx.U, rx.omega, alpha, active)

    def surrogate_opt(self, stats: LinkStats) -> float:
        return float(np.sum(stats.rates))  # Prop. 2: -log2 eps_k^opt = R-bar_k

    def objective(self, stats: LinkStats, alpha: np.ndarray) -> float:
        return float(np.sum(alpha * stats.rates))  # eq. (27)


class _BoundCdwmmse(CdwmmseFamily):
    """CdwmmseFamily bound to a model (the surrogate needs d_{s,k})."""

    def __init__(self, model: ReducedModel) -> None:
        self.model = model

    def surrogate(self, stats: LinkStats, rx: Receivers) -> float:
        """sum_k -log2 eps_k, eps_k = |1 - u_k^H G_k^H w_k|^2 + ||u_k||^2 c_k (eq. 33)."""
        g = self.gw(self.model, stats)
        eps = (np.abs(1.0 - np.sum(np.conj(rx.U) * g, axis=1)) ** 2
               + np.sum(np.abs(rx.U) ** 2, axis=1) * stats.c)
        return float(np.sum(-np.log2(eps)))


def cdwmmse_problem(model: ReducedModel, U: np.ndarray, omega: np.ndarray, alpha: np.ndarray,
                    active: np.ndarray) -> tuple[WStepProblem, float]:
    """W-step data of eq. (43) for receivers U complex [K, S+1] and weights omega [K].

    r_k = sqrt(alpha_k omega_k) G_k u_k (block s: (mu_{s,k} u_{k,0} + sqrt(d_{s,k}) u_{k,s})
    v_{s,k}), e[s, j] = alpha_j omega_j ||u_j||^2 gamma_{s,j} (the B_j B_j^H = Q_j terms),
    own = 0. Returns the problem and sum_k alpha_k omega_k sigma_k^2 ||u_k||^2 of (44).
    """
    aw = alpha * omega
    un2 = np.sum(np.abs(U) ** 2, axis=1)
    e = (aw * un2)[None, :] * model.gamma
    q = np.sqrt(aw)[None, :] * (model.mu * U[:, 0][None, :] + np.sqrt(model.d) * U[:, 1:].T)
    prob = WStepProblem(e=e, own=np.zeros_like(e), q=q, kappa=np.sqrt(aw).astype(complex),
                        active=active)
    return prob, float(np.sum(aw * model.noise * un2))


@single_threaded
def design(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None,
           w_step: str = "paper", max_iterations: int = 100, rate_threshold: float = 1e-4,
           init: np.ndarray | None = None) -> DesignResult:
    """MS-JoCDWM, Algorithm 1 (eqs. 32-44).

    Parameters
    ----------
    scsi : Scsi                     sCSI of the drop (S satellites, K users, N_t antennas)
    power_w : float | float [S]     per-satellite power P_s in W (per subcarrier)
    weights : float [K] | None      alpha_k of eq. (27), default 1
    w_step : 'paper' | 'exact'      (43)-(44) + scaling, or exact per-satellite multipliers
    max_iterations : int            I_max
    rate_threshold : float          stop when |R^(t) - R^(t-1)| < epsilon (bit/s/Hz, eq. 27)
    init : complex [S, K, N_t] | None   initial W (default: MRT on m_k, step 2 of Alg. 1);
                                    it is projected on span{v_{s,k}} and scaled to P_s

    Returns
    -------
    DesignResult with W complex128 [S, K, N_t], U complex128 [K, S+1], omega float64 [K]
    (the receivers and weights that produced W: ``closed_form_precoder(scsi, U, omega,
    power_w, weights)`` reproduces W for ``w_step='paper'``) and the history.
    """
    check_scsi(scsi)
    check_iteration_args(max_iterations, rate_threshold)
    power = per_satellite_power(power_w, scsi.num_sats)
    alpha = user_weights(weights, scsi.num_users)
    model = ReducedModel.from_scsi(scsi)
    Wt0 = initial_coefficients(model, power, init)
    out = alternate(model, _BoundCdwmmse(model), power, alpha, Wt0, variant=w_step,
                    max_iterations=int(max_iterations), rate_threshold=float(rate_threshold))
    return DesignResult(W=model.expand(out["Wt"]), history=out["history"],
                        iterations=out["iterations"], converged=out["converged"],
                        name="ms-jocdwm", U=out["rx"].U, omega=out["rx"].omega, lam=out["lam"])


@single_threaded
def closed_form_precoder(scsi: Scsi | Sequence[Scsi], U: np.ndarray, omega: np.ndarray,
                         power_w: float | np.ndarray, weights: np.ndarray | None = None
                         ) -> np.ndarray:
    """The closed-form precoder W = Phi(U, omega; sCSI, P) of eq. (45).

    (43) with lambda_s from (44), then per-satellite scaling to P_s. A pure function of its
    arguments. Remark 4: omega -> c2 omega (c2 > 0) leaves W unchanged and U -> c1 U
    (complex c1 != 0) multiplies W by the phase c1/|c1| (rates unchanged).

    Parameters
    ----------
    scsi : Scsi, or a sequence of B Scsi for a batch
    U : complex [K, S+1] or [B, K, S+1]   column 0 = u_{k,0}, columns 1..S = u_{k,s} (eq. 35)
    omega : float [K] or [B, K]           MSE weights, > 0
    power_w : float | float [S] | float [B] | float [B, S]   P_s in W
    weights : float [K] | None            alpha_k

    Returns
    -------
    W : complex128 [S, K, N_t], or [B, S, K, N_t] for a batch.
    """
    U = np.asarray(U)
    omega = np.asarray(omega, dtype=float)
    if isinstance(scsi, Scsi) and U.ndim == 2:
        return _closed_form_one(scsi, U, omega, power_w, weights)
    scsis = [scsi] * U.shape[0] if isinstance(scsi, Scsi) else list(scsi)
    if U.ndim != 3 or U.shape[0] != len(scsis) or omega.shape[:1] != (len(scsis),):
        raise ValueError(f"a batch needs U [B, K, S+1] and omega [B, K] with B = {len(scsis)} "
                         f"(got {U.shape} and {omega.shape})")
    pw = np.asarray(power_w, dtype=float)
    per_item = pw.ndim == 2 or (pw.ndim == 1 and pw.shape[0] == len(scsis)
                                and pw.shape[0] != scsis[0].num_sats)
    return np.stack([_closed_form_one(sc, U[b], omega[b], pw[b] if per_item else pw, weights)
                     for b, sc in enumerate(scsis)])


def _closed_form_one(scsi: Scsi, U: np.ndarray, omega: np.ndarray,
                     power_w: float | np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    check_scsi(scsi)
    S, K = scsi.num_sats, scsi.num_users
    if U.shape != (K, S + 1) or not np.all(np.isfinite(U)):
        raise ValueError(f"U must be finite with shape (K, S+1) = ({K}, {S + 1}) (got {U.shape})")
    if omega.shape != (K,) or not np.all(np.isfinite(omega)) or np.any(omega <= 0):
        raise ValueError(f"omega must be finite, in (0, inf), with shape (K,) = ({K},)")
    power = per_satellite_power(power_w, S)
    alpha = user_weights(weights, K)
    model = ReducedModel.from_scsi(scsi)
    prob, lam_num = cdwmmse_problem(model, U.astype(np.complex128), omega, alpha, power > 0)
    Wt = WStepSolver(model, prob).precoder(paper_multipliers(lam_num, power))
    return model.expand(scale_to_power(Wt, power))
