"""The waveform-measured series of Figs. 5-10 and the ergodic series of Figs. 7/8.

Measured: the sum over users of the rate the genie receiver measures on the waveforms
(:func:`linksim.emulator.measure`), obtained by the linearity trick of
:mod:`validation.drop_response`: one waveform run per drop with unit couplings, the received
samples of every precoder W following as Y_j = sum_{s,i} A[s,j,i] U[s,j,i] + N_j with
A = coupling(steering, W) (eq. 36). Every method of a figure therefore sees the same drop,
fading, compensation errors, data and noise (common random numbers), and its measured rate
equals what ``linksim emulate --power-dbw P --precoder NAME --symbols M`` measures on the same
drop and seed (up to the floating-point summation order of the linear combination).

Which waveform runs a figure needs (the x axis decides what the waveform depends on):

* power (Figs. 5, 6): one run per drop; the power only scales W.
* S (Fig. 9) and K (Fig. 10): one run per drop with max(S) satellites / max(K) users; the
  first S satellites / K users of it are the x point's drop, as in the analytical curves.
  The fading and errors of the kept links are those drawn for the larger drop, so these points
  are sub-selections of one drop, not ``linksim emulate --sats S`` drops.
* kappa (Fig. 7) and phase-error variance (Fig. 8): one run per (drop, x): the fading
  (kappa) and the compensation errors (variance) are drawn from the same streams with the
  x point's statistics.

Ergodic (Figs. 7/8, single-satellite methods): E log2(1 + SINR) by Monte Carlo over the
statistics of (18) (:func:`linksim.ratemodel.ergodic_rates_mc`, drop stream ERGODIC): for one
satellite (19) is flat in kappa by construction (|mu|^2 + d = gamma), the ergodic rate is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from validation.significance import paired_t_critical

if TYPE_CHECKING:
    from linksim.config import LinkConfig

#: observed OFDM symbols per drop of the measured series (the emulator default is 14; 2 keep
#: the default figure run times to minutes on 2 cores; 2 x 612 samples per user estimate the
#: rate to well below the drop-to-drop spread)
FIGURE_MEASURED_SYMBOLS = 2
#: Monte Carlo samples of the ergodic rate per (drop, x, method) of Figs. 7/8
FIGURE_ERGODIC_SAMPLES = 1000
#: the axes whose waveform depends on x (one run per (drop, x))
PER_POINT_AXES = ("kappa_db", "phase_error_var_rad2")


class SubResponse:
    """The first ``sats`` satellites and ``users`` users of a DropResponse (same waveforms)."""

    def __init__(self, response, sats: int | None = None, users: int | None = None):
        s = response.unit.shape[0] if sats is None else int(sats)
        k = response.unit.shape[1] if users is None else int(users)
        self.unit = response.unit[:s, :k, :k]
        self.symbols = response.symbols[:k]
        self.noise = response.noise[:k]

    def output(self, A: np.ndarray):
        from linksim.emulator import EmulationOutput

        A = np.asarray(A, dtype=np.complex128)
        if A.shape != self.unit.shape[:3]:
            raise ValueError(f"coupling must have shape {self.unit.shape[:3]} (got {A.shape})")
        jj = np.arange(A.shape[1])
        received = np.einsum("sji,sjimq->jmq", A, self.unit) + self.noise
        desired = np.einsum("sj,sjmq->jmq", A[:, jj, jj], self.unit[:, jj, jj])
        return EmulationOutput(received=received, symbols=self.symbols, desired=desired,
                               noise=self.noise)


def point_response(cfg: LinkConfig, axis: str, xs, j: int, seed: int, drop_index: int,
                   num_symbols: int, cache: dict) -> SubResponse:
    """The unit-coupling waveforms of x point ``j`` (module docstring); ``cache`` keeps the
    one run of the axes that need one per drop."""
    from validation.drop_response import drop_response

    x = xs[j]
    if axis == "kappa_db":
        return SubResponse(drop_response(cfg.replace(kappa_model="fixed", kappa_db=float(x)),
                                         seed, drop_index, num_symbols))
    if axis == "phase_error_var_rad2":
        return SubResponse(drop_response(cfg.replace(phase_error_var_rad2=float(x)), seed,
                                         drop_index, num_symbols))
    if "full" not in cache:
        draw_cfg = cfg
        if axis == "num_sats":
            draw_cfg = cfg.replace(num_sats=int(max(xs)))
        elif axis == "num_users":
            draw_cfg = cfg.replace(num_users=int(max(xs)))
        cache["full"] = drop_response(draw_cfg, seed, drop_index, num_symbols)
    full = cache["full"]
    if axis == "num_sats":
        return SubResponse(full, sats=int(x))
    if axis == "num_users":
        return SubResponse(full, users=int(x))
    return SubResponse(full)


def measured_sum_rate(response: SubResponse, scsi, W: np.ndarray) -> float:
    """Sum over users of the measured rate of precoder W on these waveforms (bit/s/Hz)."""
    from linksim.emulator import measure
    from linksim.ratemodel import coupling

    return float(measure(response.output(coupling(scsi.steering, W))).rate.sum())


def ergodic_sum_rate(scsi, W: np.ndarray, seed: int, drop_index: int, samples: int) -> float:
    """Sum over users of the ergodic rate E log2(1 + SINR) (Monte Carlo, stream ERGODIC)."""
    from linksim.ratemodel import ergodic_rates_mc
    from linksim.scenario import Stream, drop_rng

    rng = drop_rng(seed, drop_index, Stream.ERGODIC)
    return float(np.sum(ergodic_rates_mc(scsi, W, rng, samples)))


# ----------------------------------------------------------------------------- statistics
def paired_ordering(rates: np.ndarray, methods: list[str], multi: tuple[str, ...],
                    single: tuple[str, ...], check_from: int = 0) -> dict[str, Any]:
    """The paper's orderings on per-drop rates [D, X, M], with paired significance.

    For each ordering "a >= b" (MS-JoCDWM >= MS-JoWM, >= MS-SepWM; multi > single: the
    multi-satellite method with the lowest mean vs the single-satellite one with the highest,
    per x), the per-drop differences d = a - b at every x (from ``check_from``): mean, standard
    error sd(d)/sqrt(D) (nan for one drop) and z = mean / se. Verdict: "holds" when every mean
    is >= 0, "holds, significant" when also every z > t; "fails, significant" when some
    z < -t, else "fails, n.s." (the failure is within t paired standard errors), t the
    two-sided 95 % quantile of the paired t statistic with D - 1 degrees of freedom
    (validation.significance: 12.7 at D = 2, 2.20 at 12).
    """
    idx = {m: i for i, m in enumerate(methods)}
    d_count = rates.shape[0]
    pairs: list[tuple[str, np.ndarray]] = []
    for other in ("ms-jowm", "ms-sepwm"):
        if "ms-jocdwm" in idx and other in idx:
            pairs.append((f"ms-jocdwm>={other}",
                          rates[:, :, idx["ms-jocdwm"]] - rates[:, :, idx[other]]))
    mi = [idx[m] for m in multi if m in idx]
    si = [idx[m] for m in single if m in idx]
    if mi and si:
        mean = rates.mean(axis=0)
        worst_multi = np.array(mi)[np.argmin(mean[:, mi], axis=1)]
        best_single = np.array(si)[np.argmax(mean[:, si], axis=1)]
        xs = np.arange(rates.shape[1])
        pairs.append(("multi>single", rates[:, xs, worst_multi] - rates[:, xs, best_single]))
    out: dict[str, Any] = {}
    for name, d in pairs:
        d = d[:, check_from:]
        mean = d.mean(axis=0)
        se = (d.std(axis=0, ddof=1) / np.sqrt(d_count) if d_count > 1
              else np.full(mean.shape, np.nan))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = mean / se
        crit = paired_t_critical(d_count)
        if np.all(mean >= 0):
            verdict = "holds, significant" if np.all(z > crit) else "holds"
        else:
            verdict = "fails, significant" if np.any(z < -crit) else "fails, n.s."
        out[name] = {"verdict": verdict, "holds": bool(np.all(mean >= 0)),
                     "significant": bool(np.all(z > crit)) if np.all(mean >= 0)
                     else bool(np.any(z < -crit)), "t_critical": crit,
                     "mean_diff": [float(v) for v in mean], "std_err": [float(v) for v in se],
                     "z": [float(v) for v in z], "from_x_index": int(check_from)}
    return out


def stderr(rates: np.ndarray) -> np.ndarray:
    """Standard error over drops (axis 0); nan for one drop (no spread from one sample)."""
    if rates.shape[0] < 2:
        return np.full(rates.shape[1:], np.nan)
    return rates.std(axis=0, ddof=1) / np.sqrt(rates.shape[0])
