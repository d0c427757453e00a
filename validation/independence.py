"""Inter-satellite interference independence (Remark 1, Fig. 2) measured on the waveforms.

For receiving user j, interfering stream i != j and satellites s != s', the two copies
I_s = U[s, j, i] and I_s' = U[s', j, i] (unit couplings, validation.drop_response) are the
same data stream with the residual delays Delta tau_{s,j,i} = tau_{s,j} - tau^c_{s,i} (eq. 8)
and residual Dopplers Delta nu_{s,j,i} = nu_{s,j} - nu^c_{s,i}. Their offsets

    D_tau = Delta tau_{s,j,i} - Delta tau_{s',j,i},   D_nu = Delta nu_{s,j,i} - Delta nu_{s',j,i}

make the per-subcarrier cross term deterministic-phase: E{I_s I_s'^*}[m, q] is proportional to
e^{j 2 pi (D_nu t_m - q Delta f D_tau)}. The correlation coefficient is therefore measured
after removing that known phase,

    c = |sum_{m,q} I_s I_s'^* e^{-j 2 pi (D_nu t_m - q Delta f D_tau)}|
        / sqrt(sum |I_s|^2 sum |I_s'|^2),

(without it, the ramp across subcarriers alone would make the plain sum vanish even for two
copies of the same symbols). Expected, for data white within a symbol: the two windows share
the same transmitted samples over N - |D| of their N samples (D = D_tau f_s), so
c ~ max(0, 1 - |D|/N) |sum_{n < N-|D|} e^{j 2 pi D_nu n / f_s}| / (N - |D|), plus at most
N_cp/N from the cyclic prefix (a copy of the symbol's tail) while |D| < 2N; 0 beyond, up to
the estimation floor ~ 0.89 / sqrt(M Q). So copies at least one OFDM symbol apart
(T_sym = (N + N_cp) T_s > N T_s) are uncorrelated to within N_cp / N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from linksim.emulator import Numerology

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def correlation_coefficient(a: np.ndarray, b: np.ndarray, phase: np.ndarray | None = None
                            ) -> np.ndarray:
    """|sum a conj(b) e^{-j phase}| / sqrt(sum |a|^2 sum |b|^2) over the last two axes.

    a, b : complex [..., M, Q]; phase : float [..., M, Q] (rad) or None. Returns float64 [...].
    """
    prod = a * np.conj(b)
    if phase is not None:
        prod = prod * np.exp(-1j * phase)
    num = np.abs(np.sum(prod, axis=(-2, -1)))
    den = np.sqrt(np.sum(np.abs(a) ** 2, axis=(-2, -1)) * np.sum(np.abs(b) ** 2, axis=(-2, -1)))
    return num / den


def overlap_prediction(delay_diff_samples: np.ndarray, doppler_diff_hz: np.ndarray,
                       fft_size: int, sample_rate_hz: float) -> np.ndarray:
    """Expected |c| from the shared samples of the two DFT windows (module docstring), [...]."""
    d = np.abs(np.asarray(delay_diff_samples, dtype=float))
    overlap = np.clip(fft_size - d, 0.0, None)
    x = np.asarray(doppler_diff_hz, dtype=float) / sample_rate_hz
    with np.errstate(invalid="ignore", divide="ignore"):
        coh = np.where(np.abs(np.sin(np.pi * x)) < 1e-15, overlap,
                       np.abs(np.sin(np.pi * x * overlap) / np.sin(np.pi * x)))
    return coh / fft_size


@dataclass(frozen=True)
class PairCorrelations:
    """Per (drop, receiver j, interferer i != j, satellite pair s < s'), flattened to [P].

    corr : float64 [P]               |c| with the known phase removed (module docstring)
    corr_raw : float64 [P]           |c| without removing it
    predicted : float64 [P]          overlap_prediction
    delay_diff_symbols : float64 [P] D_tau / T_sym (signed)
    doppler_diff_hz : float64 [P]    D_nu
    drop, j, i, s, s2 : int64 [P]
    """

    corr: np.ndarray
    corr_raw: np.ndarray
    predicted: np.ndarray
    delay_diff_symbols: np.ndarray
    doppler_diff_hz: np.ndarray
    drop: np.ndarray
    j: np.ndarray
    i: np.ndarray
    s: np.ndarray
    s2: np.ndarray


def residual_offsets(links) -> tuple[np.ndarray, np.ndarray]:
    """Residual delay and Doppler of stream i at receiver j via s (eq. 8), float64 [S, J, I].

    Delta tau[s, j, i] = tau_{s,j} - tau^c_{s,i}; Delta nu[s, j, i] = nu_{s,j} - nu^c_{s,i}.
    """
    dtau = links.delay_s[:, :, None] - links.est_delay_s[:, None, :]
    dnu = links.doppler_hz[:, :, None] - links.est_doppler_hz[:, None, :]
    return dtau, dnu


def pair_correlations(responses: list) -> PairCorrelations:
    """Measured correlation of every pair of interference copies in the given drops.

    responses : list of validation.drop_response.DropResponse.
    """
    from validation.phase_model import logical_subcarriers, window_times_s

    cols: dict[str, list] = {k: [] for k in ("corr", "corr_raw", "predicted", "delay_diff_symbols",
                                             "doppler_diff_hz", "drop", "j", "i", "s", "s2")}
    for r in responses:
        cfg = r.cfg
        num = Numerology.from_config(cfg)
        q = logical_subcarriers(num)
        t_m = window_times_s(num, cfg.timing_backoff_samples, r.num_symbols)
        t_sym = num.symbol_length / num.sample_rate_hz
        dtau, dnu = residual_offsets(r.links)
        s_count, k_count = dtau.shape[:2]
        s_idx, s2_idx = np.triu_indices(s_count, 1)
        j_idx, i_idx = np.nonzero(~np.eye(k_count, dtype=bool))
        for s, s2 in zip(s_idx, s2_idx):
            a = r.unit[s, j_idx, i_idx]                    # [P_ji, M, Q]
            b = r.unit[s2, j_idx, i_idx]
            d_tau = dtau[s, j_idx, i_idx] - dtau[s2, j_idx, i_idx]
            d_nu = dnu[s, j_idx, i_idx] - dnu[s2, j_idx, i_idx]
            phase = 2 * np.pi * (d_nu[:, None, None] * t_m[None, :, None]
                                 - q[None, None, :] * num.subcarrier_spacing_hz
                                 * d_tau[:, None, None])
            cols["corr"].append(correlation_coefficient(a, b, phase))
            cols["corr_raw"].append(correlation_coefficient(a, b))
            cols["predicted"].append(overlap_prediction(d_tau * num.sample_rate_hz, d_nu,
                                                        num.fft_size, num.sample_rate_hz))
            cols["delay_diff_symbols"].append(d_tau / t_sym)
            cols["doppler_diff_hz"].append(d_nu)
            n = j_idx.size
            cols["drop"].append(np.full(n, r.drop.drop_index))
            cols["j"].append(j_idx)
            cols["i"].append(i_idx)
            cols["s"].append(np.full(n, s))
            cols["s2"].append(np.full(n, s2))
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    for k in ("drop", "j", "i", "s", "s2"):
        arrays[k] = arrays[k].astype(np.int64)
    return PairCorrelations(**arrays)


def correlation_stats(pc: PairCorrelations, num_samples: int, cp_ratio: float
                      ) -> dict[str, float]:
    """Summary of |c| split at |D_tau| = 1 symbol; num_samples = M Q (estimation floor)."""
    far = np.abs(pc.delay_diff_symbols) >= 1.0
    near = ~far
    floor = 0.886 / np.sqrt(num_samples)

    def q(x: np.ndarray, p: float) -> float:
        return float(np.percentile(x, p)) if x.size else float("nan")

    return {
        "pairs": int(pc.corr.size),
        "pairs_far": int(far.sum()), "pairs_near": int(near.sum()),
        "fraction_near": float(near.mean()),
        "corr_far_mean": float(pc.corr[far].mean()) if far.any() else float("nan"),
        "corr_far_p99": q(pc.corr[far], 99), "corr_far_max": q(pc.corr[far], 100),
        "corr_near_mean": float(pc.corr[near].mean()) if near.any() else float("nan"),
        "corr_near_min": q(pc.corr[near], 0),
        "near_rms_dev_from_prediction": float(np.sqrt(np.mean(
            (pc.corr[near] - pc.predicted[near]) ** 2))) if near.any() else float("nan"),
        "estimation_floor": float(floor),
        "cp_bound": float(cp_ratio),
    }


def summed_to_separate_db(copies: np.ndarray) -> np.ndarray:
    """10 log10(mean |sum_s c_s|^2 / sum_s mean |c_s|^2) over the last two axes.

    copies : complex [S, ..., M, Q], the copies of one interfering stream via S satellites.
    Returns float64 [...]: 0 dB for uncorrelated copies, 10 log10 S for identical ones.
    """
    p_sum = np.mean(np.abs(copies.sum(axis=0)) ** 2, axis=(-2, -1))
    p_sep = np.sum(np.mean(np.abs(copies) ** 2, axis=(-2, -1)), axis=0)
    return 10 * np.log10(p_sum / p_sep)


def summed_vs_separate_power(responses: list, couplings: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Power of the interference summed over satellites against the sum of the powers (eq. 19).

    For every (drop, receiver j, interferer i != j): P_sum = mean_{m,q} |sum_s A I_s|^2 and
    P_sep = sum_s mean_{m,q} |A I_s|^2 (the block-diagonal Q_k of eq. 23 assumes P_sum = P_sep).
    Also per receiver with all interferers together. couplings : one A [S, K, K] per drop.
    Returns float64 arrays ratio_db [P] (per pair), ratio_user_db [D K] (per receiver),
    min_abs_delay_diff_symbols [P] (the closest satellite pair of that (j, i)),
    copy_power_w [P, S] (mean power of each copy), and int64 drop, j, i [P].
    """
    ratio, ratio_user, closest, copy_power, ids = [], [], [], [], []
    for r, A in zip(responses, couplings):
        k = A.shape[1]
        j_idx, i_idx = np.nonzero(~np.eye(k, dtype=bool))
        comp = A[:, j_idx, i_idx, None, None] * r.unit[:, j_idx, i_idx]   # [S, P, M, Q]
        p_copy = np.mean(np.abs(comp) ** 2, axis=(-2, -1))                # [S, P]
        p_sep = np.sum(p_copy, axis=0)
        copy_power.append(p_copy.T)
        ids.append(np.stack([np.full(j_idx.size, r.drop.drop_index), j_idx, i_idx]))
        ratio.append(summed_to_separate_db(comp))
        tot = np.zeros((k,) + r.unit.shape[3:], dtype=np.complex128)
        np.add.at(tot, j_idx, comp.sum(axis=0))
        sep_user = np.bincount(j_idx, weights=p_sep, minlength=k)
        ratio_user.append(10 * np.log10(np.mean(np.abs(tot) ** 2, axis=(-2, -1)) / sep_user))
        dtau, _ = residual_offsets(r.links)
        t_sym = r.cfg.symbol_duration_s
        d = dtau[:, j_idx, i_idx]                          # [S, P]
        diff = np.abs(d[:, None, :] - d[None, :, :]) / t_sym
        s_count = d.shape[0]
        diff[np.arange(s_count), np.arange(s_count)] = np.inf
        closest.append(diff.min(axis=(0, 1)))
    ids_all = np.concatenate(ids, axis=1).astype(np.int64)
    return {"ratio_db": np.concatenate(ratio), "ratio_user_db": np.concatenate(ratio_user),
            "min_abs_delay_diff_symbols": np.concatenate(closest),
            "copy_power_w": np.concatenate(copy_power), "drop": ids_all[0], "j": ids_all[1],
            "i": ids_all[2]}


def subcarrier_swing(pairs: PairCorrelations, power: dict[str, np.ndarray]
                     ) -> dict[str, np.ndarray]:
    """Per-subcarrier deviation of the summed interference power from the sum of the powers.

    On one subcarrier, the copies of stream i at receiver j add as
    sum_s p_s + 2 sum_{s<s'} Re(cross), and the cross term of a correlated pair has magnitude
    c_{ss'} sqrt(p_s p_s') with a phase that rotates across the subcarriers (the delay ramp):
    the band average is sum_s p_s (eq. 19), but per subcarrier the power swings by the
    relative amplitude r = 2 sum_{s<s'} c sqrt(p_s p_s') / sum_s p_s, i.e. between
    10 log10(1 - r) and 10 log10(1 + r) dB (upper bound: all cross terms in phase).
    Returns float64 arrays swing [P] per (drop, j, i) of ``power`` and swing_user [D K] for
    the total interference at each receiver (sum over interferers).
    """
    swing = np.zeros(power["ratio_db"].size)
    key = {(d, j, i): n for n, (d, j, i) in enumerate(zip(power["drop"], power["j"],
                                                          power["i"]))}
    idx = np.array([key[(d, j, i)] for d, j, i in zip(pairs.drop, pairs.j, pairs.i)])
    p = power["copy_power_w"]
    cross = 2 * pairs.corr * np.sqrt(p[idx, pairs.s] * p[idx, pairs.s2])
    amp = np.bincount(idx, weights=cross, minlength=swing.size)
    total = p.sum(axis=1)
    users = power["drop"] * (power["j"].max() + 1) + power["j"]
    _, user_idx = np.unique(users, return_inverse=True)
    swing_user = (np.bincount(user_idx, weights=amp) / np.bincount(user_idx, weights=total))
    return {"swing": amp / total, "swing_user": swing_user}


def geometric_counts(cfg: LinkConfig, seed: int, drop_index: int) -> tuple[np.int64, np.int64]:
    """(pairs, pairs at least T_sym apart) of one drop from the geometry alone, at the
    configured subcarrier spacing (validation.fig2.fig2_drop): int64 scalars. Pure in its
    arguments (the per-drop geometry task of ``linksim validate``)."""
    from validation.fig2 import fig2_drop, fig2_spacings_hz

    spacings = fig2_spacings_hz(cfg)
    col = int(np.argmin(np.abs(spacings - cfg.subcarrier_spacing_hz)))
    res = fig2_drop(cfg.to_dict(), seed, drop_index)
    return res["pairs_total"], res["hits_total"][col]


def fraction_from_counts(pairs: list, hits: list) -> dict[str, float]:
    """Fraction of pairs closer than T_sym and its standard error (per-drop spread) from the
    per-drop counts of :func:`geometric_counts`, in drop order."""
    drops = len(pairs)
    per_drop = np.asarray([1.0 - h / p for p, h in zip(pairs, hits)])
    total_pairs = sum(int(p) for p in pairs)
    total_hits = sum(int(h) for h in hits)
    se = float(per_drop.std(ddof=1) / np.sqrt(drops)) if drops > 1 else float("nan")
    return {"fraction_near": 1.0 - total_hits / total_pairs, "std_err": se,
            "drops": int(drops), "pairs": int(total_pairs)}


def geometric_fraction(cfg: LinkConfig, seed: int, drops: int) -> dict[str, float]:
    """Fraction of (k < i, s < s') with |double delay difference| < T_sym from the geometry
    alone (validation.fig2.fig2_drop, the Fig. 2 computation) over drops 0..drops-1."""
    counts = [geometric_counts(cfg, seed, d) for d in range(drops)]
    return fraction_from_counts([c[0] for c in counts], [c[1] for c in counts])
