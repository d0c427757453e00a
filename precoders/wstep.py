"""The W-step shared by WMMSE (MS-JoWM, SS-WM, MS-SepWM) and CDWMMSE (MS-JoCDWM), eq. (43).

For fixed receivers and weights both families minimise, over W and under per-satellite power
constraints, a convex quadratic whose stationarity condition per user k is

    (T^(k) + r_k r_k^H) w_k = kappa_k r_k,                                          (43)/(96)

    T^(k) = blkdiag_s(lambda_s I + sum_j e[s,j] v_{s,j} v_{s,j}^H - delta[s,k] v_{s,k} v_{s,k}^H),
    delta[s, k] = e[s, k] - own[s, k] >= 0,     r_k = [q[s, k] v_{s,k}]_s  (r_k in span V_k).

* MS-JoCDWM (eq. 43): e[s, j] = alpha_j omega_j ||u_j||^2 gamma_{s,j}, own = 0,
  r_k = sqrt(alpha_k omega_k) G_k u_k, i.e. q[s, k] = sqrt(alpha_k omega_k)(mu_{s,k} u_{k,0} +
  sqrt(d_{s,k}) u_{k,s}), kappa_k = sqrt(alpha_k omega_k).
* MS-JoWM (Sec. 4 of math.md): e as above with |u_j|^2, own[s, k] = alpha_k omega_k |u_k|^2 d_{s,k}
  (the diagonal part of R_k, eq. 31), q[s, k] = sqrt(alpha_k omega_k) |u_k| mu_{s,k},
  kappa_k = sqrt(alpha_k omega_k) u_k / |u_k|.

Solution without any S N_t x S N_t matrix: Sherman-Morrison on the rank-1 term,
w_k = kappa_k T^(k)^{-1} r_k / (1 + r_k^H T^(k)^{-1} r_k); T^(k) is block diagonal and each block
is the common matrix T_s = lambda_s I + Vt_s diag(e_s) Vt_s^H (r x r in the reduced basis) with a
rank-1 downdate. With the eigen-decompositions T_s - lambda_s I = Phi diag(pi) Phi^H and
diag(sqrt e) C_s diag(sqrt e) = Psi diag(nu) Psi^H (C_s the K x K Gram matrix), every quantity
is a sum of positive terms for any lambda_s (no cancellation in the downdate):

    t_{s,k}    = v^H T_s^{-1} v          = sum_j |Z_jk|^2 / (lambda_s + pi_j),  Z = Phi^H Vt_s
    n_{s,k}    = ||T_s^{-1} v||^2        = sum_j |Z_jk|^2 / (lambda_s + pi_j)^2
    den_{s,k}  = 1 - delta t             = lambda_s sum_j |Psi_kj|^2 / (lambda_s + nu_j) + own t
    D_k        = 1 + sum_s |q[s,k]|^2 t_{s,k} / den_{s,k}
    w_{s,k}    = kappa_k q[s, k] T_s^{-1} v_{s,k} / (den_{s,k} D_k)
    p_s        = sum_k |kappa_k q[s,k]|^2 n_{s,k} / (den_{s,k} D_k)^2.

So after O(S K^3) preparation each evaluation of the powers for a new lambda costs O(S K r),
which makes the exact multiplier search (complementary slackness per satellite) cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import brentq

from precoders.common import ReducedModel, link_stats, scale_to_power

#: relative power accuracy of the exact multiplier search (|p_s / P_s - 1|, in log)
EXACT_POWER_TOL = 1e-11
#: lower end of the multiplier bracket, relative to the paper's lambda of eq. (44)
LAMBDA_FLOOR_REL = 1e-12
#: most Gauss-Seidel sweeps over the satellites in the exact search
MAX_SWEEPS = 500


@dataclass
class WStepProblem:
    """The data of one W-step (see the module docstring for the symbols).

    e : float64 [S, K] >= 0; own : float64 [S, K] >= 0 (own <= e); q : complex128 [S, K];
    kappa : complex128 [K]; active : bool [S] (False: P_s = 0, the satellite stays silent).
    """

    e: np.ndarray
    own: np.ndarray
    q: np.ndarray
    kappa: np.ndarray
    active: np.ndarray


class WStepSolver:
    """Prepared W-step: powers and precoders as functions of lambda [S] (O(S K r) each)."""

    def __init__(self, model: ReducedModel, prob: WStepProblem) -> None:
        self.model = model
        self.prob = prob
        S, r, K = model.Vt.shape
        self.pi = np.zeros((S, r))
        self.Phi = np.zeros((S, r, r), dtype=np.complex128)
        self.Z = np.zeros((S, r, K), dtype=np.complex128)
        self.nu = np.zeros((S, K))
        self.Psi2 = np.zeros((S, K, K))
        act = np.flatnonzero(prob.active)
        if act.size:
            sq = np.sqrt(np.maximum(prob.e[act], 0.0))  # [S', K]
            F = model.Vt[act] * sq[:, None, :]
            pi, Phi = np.linalg.eigh(F @ np.conj(np.swapaxes(F, 1, 2)))
            nu, Psi = np.linalg.eigh(model.gram[act] * (sq[:, :, None] * sq[:, None, :]))
            self.pi[act], self.Phi[act] = np.maximum(pi, 0.0), Phi
            self.nu[act], self.Psi2[act] = np.maximum(nu, 0.0), np.abs(Psi) ** 2
            self.Z[act] = np.conj(np.swapaxes(Phi, 1, 2)) @ model.Vt[act]
        self.Z2 = np.abs(self.Z) ** 2
        self.q2 = np.abs(prob.q) ** 2
        self.cq2 = np.abs(prob.kappa)[None, :] ** 2 * self.q2

    # ------------------------------------------------------------------ per-satellite terms
    def row_terms(self, s: int, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, n, den) of satellite s at lambda_s = lam, each float64 [K]."""
        inv = 1.0 / (lam + self.pi[s])
        t = inv @ self.Z2[s]
        n = (inv * inv) @ self.Z2[s]
        h = self.Psi2[s] @ (1.0 / (lam + self.nu[s]))
        return t, n, lam * h + self.prob.own[s] * t

    def terms(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, n, den) float64 [S, K] for all satellites; silent satellites give (0, 0, 1)."""
        act = self.prob.active
        lam_eff = np.where(act, lam, 1.0)
        inv = 1.0 / (lam_eff[:, None] + self.pi)
        t = np.einsum("sj,sjk->sk", inv, self.Z2)
        n = np.einsum("sj,sjk->sk", inv * inv, self.Z2)
        h = np.einsum("skj,sj->sk", self.Psi2, 1.0 / (lam_eff[:, None] + self.nu))
        den = lam_eff[:, None] * h + self.prob.own * t
        t[~act], n[~act], den[~act] = 0.0, 0.0, 1.0
        return t, n, den

    def powers(self, lam: np.ndarray) -> np.ndarray:
        """p_s(lambda) = sum_k ||w_{s,k}(lambda)||^2, float64 [S]."""
        t, n, den = self.terms(lam)
        D = 1.0 + np.sum(self.q2 * t / den, axis=0)
        return np.sum(self.cq2 * n / (den * D[None, :]) ** 2, axis=1)

    def precoder(self, lam: np.ndarray) -> np.ndarray:
        """The minimiser of the Lagrangian at lambda (eq. 43): coefficients complex128 [S, r, K]."""
        act = self.prob.active
        t, n, den = self.terms(lam)
        D = 1.0 + np.sum(self.q2 * t / den, axis=0)
        lam_eff = np.where(act, lam, 1.0)
        inv = 1.0 / (lam_eff[:, None] + self.pi)
        Y = self.Phi @ (self.Z * inv[:, :, None])  # T_s^{-1} v_{s,k}, [S, r, K]
        coef = self.prob.kappa[None, :] * self.prob.q / (den * D[None, :])
        coef[~act] = 0.0
        return Y * coef[:, None, :]

    # ------------------------------------------------------------------ exact multipliers
    def jacobian(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p(lambda) float64 [S] and its Jacobian dp_s/dlambda_{s'} float64 [S, S].

        With a = t/den = v^H T^(k)^{-1} v, b = n/den^2 = ||T^(k)^{-1} v||^2 and
        c3 = v^H T^(k)^{-3} v = n3/den^2 + delta n^2/den^3 (Sherman-Morrison):
        da/dlambda_s = -b, db/dlambda_s = -2 c3, dD_k/dlambda_s = -|q_{s,k}|^2 b_{s,k}.
        """
        act = self.prob.active
        lam_eff = np.where(act, lam, 1.0)
        inv = 1.0 / (lam_eff[:, None] + self.pi)
        t = np.einsum("sj,sjk->sk", inv, self.Z2)
        n = np.einsum("sj,sjk->sk", inv ** 2, self.Z2)
        n3 = np.einsum("sj,sjk->sk", inv ** 3, self.Z2)
        h = np.einsum("skj,sj->sk", self.Psi2, 1.0 / (lam_eff[:, None] + self.nu))
        den = lam_eff[:, None] * h + self.prob.own * t
        t[~act], n[~act], n3[~act], den[~act] = 0.0, 0.0, 0.0, 1.0
        delta = np.maximum(self.prob.e - self.prob.own, 0.0)
        b = n / den ** 2
        c3 = n3 / den ** 2 + delta * n ** 2 / den ** 3
        D = 1.0 + np.sum(self.q2 * t / den, axis=0)
        p = np.sum(self.cq2 * b / D ** 2, axis=1)
        J = 2.0 * np.einsum("sk,tk->st", self.cq2 * b / D ** 3, self.q2 * b)
        J[np.diag_indices_from(J)] -= 2.0 * np.sum(self.cq2 * c3 / D ** 2, axis=1)
        return p, J

    def exact_multipliers(self, power: np.ndarray, lam0: np.ndarray, lam_ref: np.ndarray
                          ) -> np.ndarray:
        """lambda >= 0 with complementary slackness per satellite (the exact W-step).

        The constrained W-step is a convex QP; its dual is concave and smooth in lambda with
        gradient p(lambda) - P. We solve p_s(lambda) = P_s for the satellites whose constraint
        is active, lambda_s = floor (= LAMBDA_FLOOR_REL * lam_ref_s, i.e. numerically 0) with
        p_s <= P_s for the others:

        1. damped Newton in x = log(lambda) on log p_s - log P_s (Jacobian from
           :meth:`jacobian`, step length <= 2, backtracking on the residual), at most 60 steps;
        2. if that has not met the tolerance, Gauss-Seidel over satellites: lambda_s alone
           solves p_s = P_s by Brent's method in log(lambda) on a bracket (p_s is
           non-increasing in lambda_s by concavity of the dual), at most MAX_SWEEPS sweeps.

        Every loop is bounded, so this terminates on every input. Returns float64 [S]
        (np.inf for silent satellites).
        """
        act = self.prob.active & np.any(self.cq2 > 0, axis=1)
        floor = LAMBDA_FLOOR_REL * np.where(lam_ref > 0, lam_ref, 1.0)
        lam0 = np.asarray(lam0, dtype=float)
        lam = np.where(np.isfinite(lam0) & (lam0 > 0), lam0, lam_ref)
        lam = np.where(act, np.maximum(lam, floor), np.where(self.prob.active, floor, np.inf))
        if not np.any(act):
            return lam
        idx = np.flatnonzero(act)
        x_floor = np.log(floor[idx])
        log_target = np.log(power[idx])

        def residual(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            lam_try = lam.copy()
            lam_try[idx] = np.exp(x)
            p, J = self.jacobian(lam_try)
            r = np.log(np.maximum(p[idx], 1e-300)) - log_target
            Jx = J[np.ix_(idx, idx)] * np.exp(x)[None, :] / np.maximum(p[idx], 1e-300)[:, None]
            return r, Jx, lam_try

        def error(x: np.ndarray, r: np.ndarray) -> np.ndarray:
            at_floor = x <= x_floor + 1e-12
            return np.where(at_floor & (r <= 0), 0.0, np.abs(r))

        x = np.log(lam[idx])
        r, Jx, _ = residual(x)
        err = error(x, r)
        for _ in range(60):
            if np.max(err) <= EXACT_POWER_TOL:
                break
            free = ~((x <= x_floor + 1e-12) & (r <= 0))
            step = np.zeros_like(x)
            try:
                step[free] = -np.linalg.solve(Jx[np.ix_(free, free)], r[free])
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            big = np.max(np.abs(step))
            if big > 2.0:
                step *= 2.0 / big
            improved = False
            for _ in range(40):
                x_new = np.maximum(x + step, x_floor)
                r_new, Jx_new, _ = residual(x_new)
                err_new = error(x_new, r_new)
                if np.linalg.norm(err_new) < np.linalg.norm(err):
                    x, r, Jx, err, improved = x_new, r_new, Jx_new, err_new, True
                    break
                step *= 0.5
            if not improved:
                break
        lam[idx] = np.exp(x)
        if np.max(err) <= EXACT_POWER_TOL:
            return lam
        return self._gauss_seidel(power, lam, floor, act)

    def _gauss_seidel(self, power: np.ndarray, lam: np.ndarray, floor: np.ndarray,
                      act: np.ndarray) -> np.ndarray:
        """Coordinate-wise exact maximisation of the dual (fallback of the exact W-step)."""
        t, n, den = self.terms(lam)
        a = self.q2 * t / den  # [S, K] contributions to D - 1
        for _ in range(MAX_SWEEPS):
            changed = False
            for s in np.flatnonzero(act):
                base = 1.0 + np.sum(a, axis=0) - a[s]
                log_target = np.log(power[s])

                def f(x: float, s: int = s, base: np.ndarray = base) -> float:
                    ts, ns, ds = self.row_terms(s, np.exp(x))
                    D = base + self.q2[s] * ts / ds
                    p = np.sum(self.cq2[s] * ns / (ds * D) ** 2)
                    return float(np.log(max(p, 1e-300)) - log_target)

                x0, x_floor = np.log(lam[s]), np.log(floor[s])
                f0 = f(x0)
                if abs(f0) <= EXACT_POWER_TOL or (x0 <= x_floor and f0 <= 0):
                    continue
                changed = True
                lam[s] = np.exp(self._root(f, x0, f0, x_floor))
                ts, ns, ds = self.row_terms(s, lam[s])
                a[s] = self.q2[s] * ts / ds
            if not changed:
                break
        return lam

    @staticmethod
    def _root(f: Callable[[float], float], x0: float, f0: float, x_floor: float) -> float:
        """Bracket the sign change of the non-increasing f around x0, then Brent."""
        step = 1.0
        if f0 > 0:  # power too high: raise lambda
            lo, hi = x0, x0 + step
            fhi = f(hi)
            while fhi > 0 and step < 2048:
                lo, step = hi, 2 * step
                hi = lo + step
                fhi = f(hi)
            if fhi > 0:
                return hi
        else:  # power too low: lower lambda, down to the floor
            lo, hi = max(x0 - step, x_floor), x0
            flo = f(lo)
            while flo < 0 and lo > x_floor:
                hi, step = lo, 2 * step
                lo = max(hi - step, x_floor)
                flo = f(lo)
            if flo <= 0:
                return x_floor
        return brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)


# ----------------------------------------------------------------------------- the loop
@dataclass
class Receivers:
    """Receivers and weights of one iteration: U complex128 [K, n] (n = 1 for WMMSE,
    S + 1 for CDWMMSE), omega float64 [K]."""

    U: np.ndarray
    omega: np.ndarray


class Family:
    """One WMMSE-type method: its receiver step, its W-step data and its surrogate."""

    def receivers(self, model: ReducedModel, stats, alpha: np.ndarray) -> Receivers:
        raise NotImplementedError

    def problem(self, model: ReducedModel, rx: Receivers, alpha: np.ndarray,
                active: np.ndarray) -> tuple[WStepProblem, float]:
        """The W-step data and the numerator sum_k alpha_k omega_k sigma_k^2 ||u_k||^2 of (44)."""
        raise NotImplementedError

    def surrogate(self, stats, rx: Receivers) -> float:
        """sum_k -log2(MSE_k) of W with the given (stale) receivers."""
        raise NotImplementedError

    def surrogate_opt(self, stats) -> float:
        """sum_k -log2(MSE_k) of W at its optimal receivers."""
        raise NotImplementedError

    def objective(self, stats, alpha: np.ndarray) -> float:
        """sum_k alpha_k (-log2 MSE_k) at the optimal receivers: what the method maximises
        (eq. 27 for CDWMMSE by Prop. 2, eq. 92 for WMMSE); the stopping rule watches it."""
        raise NotImplementedError


def paper_multipliers(lam_num: float, power: np.ndarray) -> np.ndarray:
    """lambda_s = sum_k alpha_k omega_k sigma_k^2 ||u_k||^2 / (S P_s), eq. (44).

    np.inf for a silent satellite (P_s = 0); 1.0 when the numerator is 0 (all u_k = 0, so
    that W = 0 whatever lambda is).
    """
    S = power.shape[0]
    with np.errstate(divide="ignore"):
        lam = np.where(power > 0, lam_num / (S * np.where(power > 0, power, 1.0)), np.inf)
    return np.where(lam > 0, lam, 1.0)


def w_step(model: ReducedModel, prob: WStepProblem, power: np.ndarray, lam_num: float,
           variant: str, lam_prev: np.ndarray | None = None, equality: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
    """One W-step. Returns (coefficients complex128 [S, r, K], lambda float64 [S]).

    variant 'paper': lambda from (44), precoder (43), then per-satellite scaling to P_s.
    variant 'exact': lambda from :meth:`WStepSolver.exact_multipliers` (the constrained
    minimiser; a satellite whose power would exceed P_s by rounding is scaled down to P_s).
    With ``equality`` the 'exact' step then meets (37) with equality: every satellite is scaled
    to P_s (a satellite left below its budget by the inequality-constrained minimiser is scaled
    up, as the paper's variant scales after (43)-(44)).
    """
    solver = WStepSolver(model, prob)
    lam44 = paper_multipliers(lam_num, power)
    if variant == "paper":
        Wt = solver.precoder(lam44)
        return scale_to_power(Wt, power), lam44
    lam0 = lam44 if lam_prev is None else np.where(np.isfinite(lam_prev), lam_prev, lam44)
    lam = solver.exact_multipliers(power, lam0, lam44)
    Wt = solver.precoder(lam)
    if equality:
        return scale_to_power(Wt, power), lam
    p = np.sum(np.abs(Wt) ** 2, axis=(1, 2))
    over = p > power
    if np.any(over):
        Wt[over] *= np.sqrt(power[over] / p[over])[:, None, None]
    return Wt, lam


W_STEPS = ("paper", "exact")


def alternate(model: ReducedModel, family: Family, power: np.ndarray, alpha: np.ndarray,
              Wt0: np.ndarray, *, variant: str, max_iterations: int, rate_threshold: float,
              evaluate: Callable[[np.ndarray], tuple[float, float]] | None = None,
              keep_iterates: bool = False, equality: bool = False) -> dict:
    """Alternating optimisation of Algorithm 1 (steps 3-10) for one family.

    Per iteration: receivers and weights of the current W (eq. 38 / 91), the W-step, the
    rate of the new W (eq. 19). Stops when the method's objective (:meth:`Family.objective`,
    under ``model``: the weighted sum rate (27) for MS-JoCDWM, the surrogate (92) for the
    WMMSE family) changes by less than ``rate_threshold``, or after ``max_iterations``.
    ``evaluate(Wt) -> (sum_rate, weighted_sum_rate)`` gives the recorded true rates (default:
    under ``model``). Returns a dict with Wt, history lists, iterations, converged, rx, lam
    and (if asked) the list of iterates. ``equality`` goes to :func:`w_step` ('exact' only).
    """
    if variant not in W_STEPS:
        raise ValueError(f"w_step must be one of {', '.join(W_STEPS)} (got {variant!r})")

    def own_eval(Wt: np.ndarray, stats) -> tuple[float, float]:
        if evaluate is not None:
            return evaluate(Wt)
        r = stats.rates
        return float(np.sum(r)), float(np.sum(alpha * r))

    active = power > 0
    Wt = Wt0
    stats = link_stats(model, Wt)
    obj = family.objective(stats, alpha)
    rate, wsr = own_eval(Wt, stats)
    hist = {"sum_rate": [rate], "weighted_sum_rate": [wsr],
            "surrogate": [family.surrogate_opt(stats)], "objective": [obj]}
    iterates = [Wt] if keep_iterates else []
    rx = family.receivers(model, stats, alpha)
    lam = None
    rx_used = rx
    converged = False
    it = 0
    for it in range(1, max_iterations + 1):
        rx_used = rx
        prob, lam_num = family.problem(model, rx, alpha, active)
        Wt, lam = w_step(model, prob, power, lam_num, variant, lam, equality)
        stats = link_stats(model, Wt)
        new_obj = family.objective(stats, alpha)
        rate, wsr = own_eval(Wt, stats)
        hist["sum_rate"].append(rate)
        hist["weighted_sum_rate"].append(wsr)
        hist["surrogate"].append(family.surrogate(stats, rx))
        hist["objective"].append(new_obj)
        if keep_iterates:
            iterates.append(Wt)
        if abs(new_obj - obj) < rate_threshold:
            converged = True
            break
        obj = new_obj
        if it < max_iterations:
            rx = family.receivers(model, stats, alpha)
    return {"Wt": Wt, "history": {k: np.asarray(v) for k, v in hist.items()},
            "iterations": it, "converged": converged, "rx": rx_used, "lam": lam,
            "iterates": iterates}
