"""WMMSE [30] precoders: SS-WM, MS-SepWM and MS-JoWM (Sec. III-A, eqs. 28-29, 91-92).

* MS-JoWM: conventional joint WMMSE of problem (28)-(29): scalar receiver u_k = m_k^H w_k / T_k,
  T_k = w_k^H R_k w_k + c_k (91), weight omega_k = 1/e_k, e_k = 1 - |m_k^H w_k|^2 / T_k; W-step
  w_k = alpha_k omega_k u_k (alpha_k omega_k |u_k|^2 R_k + sum_{i!=k} alpha_i omega_i |u_i|^2 Q_i
  + Lambda)^{-1} m_k with lambda_s of (44) and per-satellite scaling (``w_step='paper'``), or
  exact multipliers followed by the scaling to P_s (``w_step='exact'``): (37) with equality, as
  the paper imposes it (``power_equality=False`` keeps the inequality-constrained minimiser,
  monotone in its own objective, the surrogate (92), but it left up to 43 % of a satellite's
  power unused and lost up to 2 % of the true rate at 0 dBW).
* SS-WM: the same on the expected compensated channel mu_{0,k} v_{0,k} of the master satellite
  s = 0 only (a deterministic channel: R_k = m_k m_k^H, Q_k -> |mu|^2 v v^H); the other
  satellites are silent.
* MS-SepWM: every satellite runs SS-WM on its own expected channel and power; all transmit.

All designs are evaluated (history ``sum_rate``) with the true expected rate (19).
"""

from __future__ import annotations

import numpy as np

from linksim.scsi import Scsi
from precoders.common import (
    DesignResult,
    LinkStats,
    ReducedModel,
    check_iteration_args,
    check_scsi,
    initial_coefficients,
    link_stats,
    mrt_coefficients,
    per_satellite_power,
    single_threaded,
    user_weights,
)
from precoders.wstep import Family, Receivers, WStepProblem, alternate


class WmmseFamily(Family):
    """Receivers (91), W-step data and surrogate (29) of the conventional WMMSE."""

    def receivers(self, model: ReducedModel, stats: LinkStats, alpha: np.ndarray) -> Receivers:
        total = stats.signal + stats.c
        mean = np.abs(stats.mean_amp) ** 2
        e = (np.maximum(stats.signal - mean, 0.0) + stats.c) / total
        return Receivers(U=(stats.mean_amp / total)[:, None], omega=1.0 / e)

    def problem(self, model: ReducedModel, rx: Receivers, alpha: np.ndarray,
                active: np.ndarray) -> tuple[WStepProblem, float]:
        u = rx.U[:, 0]
        aw = alpha * rx.omega
        au = np.abs(u)
        e = (aw * au ** 2)[None, :] * model.gamma
        own = (aw * au ** 2)[None, :] * model.d
        q = (np.sqrt(aw) * au)[None, :] * model.mu
        kappa = np.sqrt(aw) * np.where(au > 0, u / np.where(au > 0, au, 1.0), 0.0)
        prob = WStepProblem(e=e, own=own, q=q, kappa=kappa.astype(complex), active=active)
        return prob, float(np.sum(aw * model.noise * au ** 2))

    def surrogate(self, stats: LinkStats, rx: Receivers) -> float:
        """sum_k -log2 e_k, e_k = |u_k|^2 T_k - 2 Re(u_k^* m_k^H w_k) + 1 (eq. 29)."""
        u = rx.U[:, 0]
        e = (np.abs(u) ** 2 * (stats.signal + stats.c)
             - 2.0 * np.real(np.conj(u) * stats.mean_amp) + 1.0)
        return float(np.sum(-np.log2(e)))

    def surrogate_opt(self, stats: LinkStats) -> float:
        return float(np.sum(stats.wm_rates))  # eq. (92)

    def objective(self, stats: LinkStats, alpha: np.ndarray) -> float:
        return float(np.sum(alpha * stats.wm_rates))  # eq. (92) weighted


def _result(name: str, model_true: ReducedModel, Wt: np.ndarray, out: dict) -> DesignResult:
    return DesignResult(W=model_true.expand(Wt), history=out["history"],
                        iterations=out["iterations"], converged=out["converged"], name=name,
                        U=out["rx"].U if out.get("rx") is not None else None,
                        omega=out["rx"].omega if out.get("rx") is not None else None,
                        lam=out.get("lam"))


def _prepare(scsi: Scsi, power_w, weights, max_iterations, rate_threshold):
    check_scsi(scsi)
    check_iteration_args(max_iterations, rate_threshold)
    power = per_satellite_power(power_w, scsi.num_sats)
    alpha = user_weights(weights, scsi.num_users)
    return ReducedModel.from_scsi(scsi), power, alpha


@single_threaded
def design_jowm(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None,
                w_step: str = "paper", max_iterations: int = 100, rate_threshold: float = 1e-4,
                init: np.ndarray | None = None, power_equality: bool = True) -> DesignResult:
    """MS-JoWM: joint conventional WMMSE of problem (28)-(29) over all satellites.

    Same arguments and result as :func:`precoders.cdwmmse.design`; U is complex128 [K, 1]
    (the scalar receivers u_k of eq. 91), omega = 1/e_k. ``power_equality`` (default True):
    with ``w_step='exact'`` every W-step ends with the per-satellite scaling to P_s, so W meets
    (37) with equality; False keeps p_s <= P_s (the exact step's inequality reading). The
    loop stops when its own objective, the weighted surrogate (92) (history ``objective``),
    changes by less than rate_threshold.
    """
    model, power, alpha = _prepare(scsi, power_w, weights, max_iterations, rate_threshold)
    Wt0 = initial_coefficients(model, power, init)
    out = alternate(model, WmmseFamily(), power, alpha, Wt0, variant=w_step,
                    max_iterations=int(max_iterations), rate_threshold=float(rate_threshold),
                    equality=bool(power_equality))
    return _result("ms-jowm", model, out["Wt"], out)


def _true_evaluator(model: ReducedModel, alpha: np.ndarray, sats: list[int]):
    """Rates (19) under the true model of a precoder designed for satellites ``sats`` only."""
    def evaluate(Wt_sub: np.ndarray) -> tuple[float, float]:
        Wt = np.zeros(model.Vt.shape, dtype=np.complex128)
        Wt[sats] = Wt_sub
        r = link_stats(model, Wt).rates
        return float(np.sum(r)), float(np.sum(alpha * r))
    return evaluate


@single_threaded
def design_sswm(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None,
                w_step: str = "paper", max_iterations: int = 100, rate_threshold: float = 1e-4,
                master: int = 0) -> DesignResult:
    """SS-WM: WMMSE [30] at the master satellite on its expected compensated channel.

    W[s] = 0 for s != master. Stops on the design model's objective (92).
    """
    model, power, alpha = _prepare(scsi, power_w, weights, max_iterations, rate_threshold)
    sub = model.expected_channel().take_sats([master])
    Wt0 = mrt_coefficients(sub, power[[master]])
    out = alternate(sub, WmmseFamily(), power[[master]], alpha, Wt0, variant=w_step,
                    max_iterations=int(max_iterations), rate_threshold=float(rate_threshold),
                    evaluate=_true_evaluator(model, alpha, [master]))
    Wt = np.zeros(model.Vt.shape, dtype=np.complex128)
    Wt[master] = out["Wt"][0]
    return _result("ss-wm", model, Wt, out)


@single_threaded
def design_sepwm(scsi: Scsi, power_w: float | np.ndarray, *, weights: np.ndarray | None = None,
                 w_step: str = "paper", max_iterations: int = 100, rate_threshold: float = 1e-4
                 ) -> DesignResult:
    """MS-SepWM: each satellite runs SS-WM on its own expected channel and power P_s.

    History: iteration t combines every satellite's t-th iterate (its last one once it has
    stopped); ``surrogate`` is the mean over satellites of each satellite's own believed sum
    rate (eq. 29 with its receivers); ``iterations`` is the largest per-satellite count and
    ``converged`` is True when all satellites stopped on the threshold. U and omega are None.
    """
    model, power, alpha = _prepare(scsi, power_w, weights, max_iterations, rate_threshold)
    det = model.expected_channel()
    runs = []
    for s in range(model.num_sats):
        sub = det.take_sats([s])
        Wt0 = mrt_coefficients(sub, power[[s]])
        runs.append(alternate(sub, WmmseFamily(), power[[s]], alpha, Wt0, variant=w_step,
                              max_iterations=int(max_iterations),
                              rate_threshold=float(rate_threshold), keep_iterates=True))
    T = max(r["iterations"] for r in runs)
    evaluate = _true_evaluator(model, alpha, list(range(model.num_sats)))
    hist: dict[str, list[float]] = {"sum_rate": [], "weighted_sum_rate": [], "surrogate": []}
    for t in range(T + 1):
        Wt = np.concatenate([r["iterates"][min(t, len(r["iterates"]) - 1)] for r in runs])
        rate, wsr = evaluate(Wt)
        hist["sum_rate"].append(rate)
        hist["weighted_sum_rate"].append(wsr)
        sur = [r["history"]["surrogate"][min(t, len(r["history"]["surrogate"]) - 1)] for r in runs]
        hist["surrogate"].append(float(np.mean(sur)))
    Wt = np.concatenate([r["Wt"] for r in runs])
    lam = np.concatenate([r["lam"] for r in runs]) if all(r["lam"] is not None for r in runs) \
        else None
    return DesignResult(W=model.expand(Wt), history={k: np.asarray(v) for k, v in hist.items()},
                        iterations=T, converged=all(r["converged"] for r in runs),
                        name="ms-sepwm", lam=lam)
