"""Fig. 2: probability that interference via two satellites is independent (Remark 1).

The event (math.md Sec. 2.4 and 8). For a receiving user k, an interfering user i != k and a
satellite pair (s, s'), the copies of user i's signal that reach user k via s and s' are
offset by the double difference of the propagation delays

    delta = (tau_{s,k} - tau_{s,i}) - (tau_{s',k} - tau_{s',i})

(the residual delays Delta tau_{s,k,i} = tau_{s,k} - tau^c_{s,i} of eq. (8), after each
satellite precompensates user i's stream; the common timing reference of user i cancels in
the difference, and the ns-level compensation errors are negligible against T_sym). The two
copies carry different OFDM symbols, hence independent interference, when |delta| >= T_sym.

Our choices ([choice], the paper's axes are lost):

* x axis: the great-circle distance between the two users k and i, in 50 km bins from 0 to
  1600 km (the diameter of the 800 km coverage disc); y axis: Pr{|delta| >= T_sym} over
  drops, user pairs in the bin and satellite pairs s < s'.
* one curve per subcarrier spacing 15/30/60/120 kHz, with T_sym = (N + N_cp) / (N Delta f),
  i.e. the configured symbol duration (N = 1024, N_cp = 72 at 30 kHz: 35.68 us) scaled by
  30 kHz / Delta f (NR normal CP keeps the ratio N_cp / N);
* the headline number: the probability over all (k, i, s < s') of the configured disc and
  spacing (800 km, 30 kHz), the number the paper says is close to 1, with its complement;
* users per drop: 48 (Table I's largest K; with users i.i.d. uniform the per-pair
  probability depends on K only through the satellite selection, which must serve every
  user). Its Monte Carlo standard error is computed from the spread of the per-drop
  probabilities (pairs of one drop are correlated, drops are independent).

Pairs are unordered (k < i, s < s'): swapping k with i or s with s' only flips the sign of
delta. Per drop: K(K-1)/2 * S(S-1)/2 = 11280 samples at K = 48, S = 5.

:func:`fig2_drop` is a pure per-drop function (config dict, seed, drop index -> counts) so that
drops can run on any worker (they run through the shared sweep runner, linksim.runtime.sweep);
:func:`aggregate` sums the counts in drop order, so the result is identical for any number of
workers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


USERS_PER_DROP = 48
DEFAULT_DROPS = 4000
DROPS_PER_TASK = 50
SPACINGS_HZ: tuple[float, ...] = (15e3, 30e3, 60e3, 120e3)
DISTANCE_EDGES_M = np.arange(0.0, 1600e3 + 1.0, 50e3)
ABS_DELTA_EDGES_S = np.arange(0.0, 3000e-6 + 1e-9, 5e-6)
X_AXIS_CHOICE = ("x axis = great-circle distance between receiving user k and interfering "
                 "user i (our choice; the paper's axis is lost)")


def fig2_spacings_hz(cfg: LinkConfig) -> np.ndarray:
    """The subcarrier spacings of the curves (15/30/60/120 kHz plus the configured one), [F]."""
    spacings = set(SPACINGS_HZ) | {float(cfg.subcarrier_spacing_hz)}
    return np.array(sorted(spacings), dtype=np.float64)


def symbol_durations_s(cfg: LinkConfig, spacings_hz: np.ndarray) -> np.ndarray:
    """T_sym = (N + N_cp) / (N Delta f) for each spacing, float64 [F] (seconds).

    N and N_cp are the configured FFT and CP lengths at cfg.subcarrier_spacing_hz; the CP ratio
    N_cp / N is kept at every spacing, so T_sym scales as 1 / Delta f.
    """
    spacings = np.asarray(spacings_hz, dtype=np.float64)
    ratio = (cfg.fft_size + cfg.cyclic_prefix_length) / cfg.fft_size
    return ratio / spacings


def double_differences_s(delay_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All double differences of one drop's delays (Remark 1).

    delay_s : float64 [S, K]. Returns (delta_s float64 [S(S-1)/2, K(K-1)/2], user_k int64
    [K(K-1)/2], user_i int64 [K(K-1)/2]) with delta[p, q] = (tau_{s,k} - tau_{s,i}) -
    (tau_{s',k} - tau_{s',i}) for satellite pair p = (s < s') and user pair q = (k < i).
    """
    tau = np.asarray(delay_s, dtype=np.float64)
    num_sats, num_users = tau.shape
    k, i = np.triu_indices(num_users, 1)
    s, s2 = np.triu_indices(num_sats, 1)
    diff = tau[:, k] - tau[:, i]  # [S, pairs]
    return diff[s] - diff[s2], k.astype(np.int64), i.astype(np.int64)


def fig2_drop(cfg_dict: dict[str, Any], seed: int, drop_index: int) -> dict[str, np.ndarray]:
    """Counts of one drop (pure: the same inputs give the same output on any worker).

    cfg_dict : LinkConfig.to_dict() (num_users = users per drop). Returns int64 arrays:
    pairs_per_bin [B] (samples (k<i, s<s') per user-distance bin), hits_per_bin [F, B]
    (of those, |delta| >= T_sym(Delta f_j)), pairs_total [] and hits_total [F], and
    abs_delta_hist [H] (histogram of |delta| on ABS_DELTA_EDGES_S, last bin open-ended).
    """
    from linksim.config import build_config
    from linksim.scenario import draw_drop, great_circle_distance_m

    cfg = build_config(cfg_dict)
    drop = draw_drop(cfg, seed, drop_index)
    delta, k, i = double_differences_s(drop.delay_s)
    abs_delta = np.abs(delta)
    t_sym = symbol_durations_s(cfg, fig2_spacings_hz(cfg))
    dist = great_circle_distance_m(drop.user_ecef_m[k], drop.user_ecef_m[i])
    num_bins = DISTANCE_EDGES_M.size - 1
    bins = np.clip(np.searchsorted(DISTANCE_EDGES_M, dist, side="right") - 1, 0, num_bins - 1)
    num_sat_pairs = delta.shape[0]
    pairs_per_bin = num_sat_pairs * np.bincount(bins, minlength=num_bins)
    hits = abs_delta[None, :, :] >= t_sym[:, None, None]  # [F, sat pairs, user pairs]
    hits_per_user_pair = hits.sum(axis=1)  # [F, user pairs]
    hits_per_bin = np.stack([np.bincount(bins, weights=h, minlength=num_bins)
                             for h in hits_per_user_pair]).astype(np.int64)
    hist_idx = np.minimum(np.searchsorted(ABS_DELTA_EDGES_S, abs_delta.ravel(), side="right") - 1,
                          ABS_DELTA_EDGES_S.size - 1)
    return {
        "pairs_per_bin": pairs_per_bin.astype(np.int64),
        "hits_per_bin": hits_per_bin,
        "pairs_total": np.int64(delta.size),
        "hits_total": hits.reshape(hits.shape[0], -1).sum(axis=1).astype(np.int64),
        "abs_delta_hist": np.bincount(hist_idx, minlength=ABS_DELTA_EDGES_S.size).astype(np.int64),
    }


def aggregate(results: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Combine per-drop counts (in drop order) into probabilities and standard errors.

    Returns float64/int64 arrays: pairs_per_bin [B], hits_per_bin [F, B], prob_per_bin [F, B]
    (NaN for empty bins), se_per_bin [F, B] (ratio estimator with drops as clusters),
    prob_overall [F], se_overall [F] (std of the per-drop probabilities / sqrt(drops)),
    abs_delta_hist [H], drops [].
    """
    if not results:
        raise ValueError("aggregate needs at least one drop")
    pairs_bin_d = np.stack([r["pairs_per_bin"] for r in results]).astype(np.float64)  # [D, B]
    hits_bin_d = np.stack([r["hits_per_bin"] for r in results]).astype(np.float64)  # [D, F, B]
    pairs_d = np.array([r["pairs_total"] for r in results], dtype=np.float64)  # [D]
    hits_d = np.stack([r["hits_total"] for r in results]).astype(np.float64)  # [D, F]
    drops = len(results)
    pairs_bin = pairs_bin_d.sum(axis=0)
    hits_bin = hits_bin_d.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob_bin = hits_bin / pairs_bin[None, :]
        resid = hits_bin_d - prob_bin[None] * pairs_bin_d[:, None, :]
        scale = drops / (drops - 1) if drops > 1 else np.nan
        se_bin = np.sqrt(scale * np.sum(resid**2, axis=0)) / pairs_bin[None, :]
    prob_d = hits_d / pairs_d[:, None]
    prob_overall = hits_d.sum(axis=0) / pairs_d.sum()
    se_overall = (prob_d.std(axis=0, ddof=1) / np.sqrt(drops) if drops > 1
                  else np.full(prob_overall.shape, np.nan))
    return {
        "pairs_per_bin": pairs_bin.astype(np.int64),
        "hits_per_bin": hits_bin.astype(np.int64),
        "prob_per_bin": prob_bin,
        "se_per_bin": se_bin,
        "prob_overall": prob_overall,
        "se_overall": se_overall,
        "abs_delta_hist": np.sum([r["abs_delta_hist"] for r in results], axis=0).astype(np.int64),
        "drops": np.int64(drops),
    }


def fig2_task(key: dict[str, Any]) -> dict[str, np.ndarray]:
    """Sweep-runner task (linksim.runtime.sweep): drops first_drop .. first_drop + num_drops - 1.

    key = {"seed", "first_drop", "num_drops", "config": JSON of the config dict}. Returns the
    :func:`fig2_drop` arrays stacked along a leading drop axis [num_drops, ...].
    """
    cfg_dict = json.loads(key["config"])
    first, count = int(key["first_drop"]), int(key["num_drops"])
    per_drop = [fig2_drop(cfg_dict, int(key["seed"]), d) for d in range(first, first + count)]
    return {name: np.stack([np.asarray(r[name]) for r in per_drop]) for name in per_drop[0]}


def simulate(cfg: LinkConfig, drops: int, seed: int, workers: int = 1, progress: bool = True, *,
             scheduler: str | None = None, store_dir: Path | None = None
             ) -> dict[str, np.ndarray]:
    """Run :func:`fig2_drop` on drops 0..drops-1 and aggregate them in drop order.

    cfg : LinkConfig (num_users is replaced by USERS_PER_DROP). Blocks of DROPS_PER_TASK drops
    run through :func:`linksim.runtime.sweep.run_sweep`, in-process for ``workers == 1`` and on
    a pool of ``workers`` processes otherwise; the result does not depend on ``workers``.
    progress : show the stderr bar (when stderr is a terminal).
    """
    from linksim import __version__
    from linksim.runtime.sweep import Task, run_sweep, store_path_for

    if drops < 1 or workers < 1:
        raise ValueError(f"drops and workers must be >= 1 (got {drops}, {workers})")
    cfg_json = json.dumps(cfg.replace(num_users=USERS_PER_DROP).to_dict(), sort_keys=True)
    tasks = [Task({"seed": int(seed), "first_drop": first,
                   "num_drops": min(DROPS_PER_TASK, drops - first), "config": cfg_json})
             for first in range(0, drops, DROPS_PER_TASK)]
    sweep_id = {"name": "fig2", "version": __version__}
    store = None if store_dir is None else store_path_for(store_dir, "fig2", sweep_id)
    backend = "dask" if scheduler is not None else (
        "inprocess" if workers == 1 else "processes")
    results = run_sweep(fig2_task, tasks, store_path=store,
                        sweep_id=sweep_id if store is not None else None, backend=backend,
                        workers=workers, scheduler=scheduler, progress=progress,
                        label="fig2 drop blocks")
    per_drop = [{name: block[name][j] for name in block}
                for block in (results[t] for t in tasks)
                for j in range(int(block["pairs_total"].shape[0]))]
    return aggregate(per_drop)


def _plot(path: Path, agg: dict[str, np.ndarray], spacings_hz: np.ndarray, t_sym_s: np.ndarray,
          cfg: LinkConfig, drops: int, seed: int, prov: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import png_metadata

    centers_km = 0.5 * (DISTANCE_EDGES_M[:-1] + DISTANCE_EDGES_M[1:]) / 1e3
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for j, df in enumerate(spacings_hz):
        p, se = agg["prob_per_bin"][j], agg["se_per_bin"][j]
        line, = ax1.plot(centers_km, p, marker="o", ms=3,
                         label=f"{df / 1e3:g} kHz (T_sym = {t_sym_s[j] * 1e6:.2f} us): "
                               f"overall {agg['prob_overall'][j]:.4f}")
        ax1.fill_between(centers_km, p - 2 * se, p + 2 * se, color=line.get_color(), alpha=0.2)
    ax1.set_xlabel("distance between users k and i (km)")
    ax1.set_ylabel("Pr{|double delay difference| >= T_sym}")
    ax1.set_ylim(0.0, 1.02)
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title("probability of inter-satellite interference independence", fontsize=10)

    hist = agg["abs_delta_hist"].astype(np.float64)
    ccdf = hist[::-1].cumsum()[::-1] / hist.sum()
    ax2.semilogx(ABS_DELTA_EDGES_S[1:] * 1e6, ccdf[1:], color="k")
    for j, df in enumerate(spacings_hz):
        ax2.axvline(t_sym_s[j] * 1e6, ls="--", lw=0.8, color=f"C{j}",
                    label=f"T_sym at {df / 1e3:g} kHz")
    ax2.set_xlabel("|double delay difference| x (us)")
    ax2.set_ylabel("Pr{|delta| >= x} (all user and satellite pairs)")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    fig.suptitle(f"Fig. 2 (reconstruction): {cfg.altitude_m / 1e3:g} km Walker-Delta, UTs uniform "
                 f"in a {cfg.coverage_radius_m / 1e3:g} km disc, S={cfg.num_sats}, "
                 f"{USERS_PER_DROP} UTs/drop, {drops} drops, seed {seed}\n{X_AXIS_CHOICE}; "
                 f"bands = +-2 standard errors", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120,
                    metadata=png_metadata(prov) if prov is not None else None)
    plt.close(fig)


def _write_csv(path: Path, agg: dict[str, np.ndarray], spacings_hz: np.ndarray,
               prov: dict | None = None) -> None:
    """The per-bin table, after the provenance record as ``#`` comment lines (when given)."""
    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import csv_comments

    head = ["distance_lo_km", "distance_hi_km", "samples"]
    for df in spacings_hz:
        tag = f"{df / 1e3:g}kHz"
        head += [f"prob_{tag}", f"se_{tag}"]
    lines = (csv_comments(prov) if prov is not None else []) + [",".join(head)]
    for b in range(DISTANCE_EDGES_M.size - 1):
        row = [f"{DISTANCE_EDGES_M[b] / 1e3:g}", f"{DISTANCE_EDGES_M[b + 1] / 1e3:g}",
               str(int(agg["pairs_per_bin"][b]))]
        for j in range(spacings_hz.size):
            row += [f"{agg['prob_per_bin'][j, b]:.6g}", f"{agg['se_per_bin'][j, b]:.3g}"]
        lines.append(",".join(row))
    row = ["0", f"{DISTANCE_EDGES_M[-1] / 1e3:g}", str(int(agg["pairs_per_bin"].sum()))]
    for j in range(spacings_hz.size):
        row += [f"{agg['prob_overall'][j]:.6g}", f"{agg['se_overall'][j]:.3g}"]
    lines.append(",".join(row) + ",overall")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _json_list(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def run(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
        *,
        scheduler: str | None = None) -> dict[str, Any]:
    """``linksim figure fig2``: simulate, write fig2.png/.csv/.h5 under ``out_dir``, summarise.

    Returns the JSON-able summary: overall probability at the configured spacing (30 kHz) and
    disc (800 km), its standard error and complement, per-spacing overall values, per-bin
    probabilities, drops, seed, files, run time.
    """
    from linksim.runtime.io import write_arrays_h5
    from linksim.runtime.provenance import h5_attrs, provenance

    t0 = time.monotonic()
    drops = DEFAULT_DROPS if drops is None else int(drops)
    # the effective config: the figure's own users per drop (what fig2_drop simulates)
    prov = provenance(cfg.replace(num_users=USERS_PER_DROP), seed, figure="fig2", drops=drops,
                      workers=int(workers))
    out_dir = Path(out_dir)
    spacings = fig2_spacings_hz(cfg)
    t_sym = symbol_durations_s(cfg, spacings)
    agg = simulate(cfg, drops, seed, workers, scheduler=scheduler, store_dir=out_dir)
    j_cfg = int(np.flatnonzero(spacings == float(cfg.subcarrier_spacing_hz))[0])

    files = {"png": out_dir / "fig2.png", "csv": out_dir / "fig2.csv", "h5": out_dir / "fig2.h5"}
    arrays = dict(agg)
    arrays.update({"distance_edges_m": DISTANCE_EDGES_M, "spacings_hz": spacings,
                   "symbol_durations_s": t_sym, "abs_delta_edges_s": ABS_DELTA_EDGES_S})
    write_arrays_h5(files["h5"], arrays, {
        "figure": "fig2", "seed": int(seed), "drops": drops, "users_per_drop": USERS_PER_DROP,
        "config": cfg.to_dict(), "x_axis": X_AXIS_CHOICE,
        "event": "|(tau_sk - tau_si) - (tau_s'k - tau_s'i)| >= T_sym, k<i, s<s'",
        **h5_attrs(prov)})
    _write_csv(files["csv"], agg, spacings, prov)
    _plot(files["png"], agg, spacings, t_sym, cfg, drops, seed, prov)

    p, se = float(agg["prob_overall"][j_cfg]), float(agg["se_overall"][j_cfg])
    summary = {
        "figure": "fig2",
        "subcarrier_spacing_hz": float(spacings[j_cfg]),
        "symbol_duration_s": float(t_sym[j_cfg]),
        "coverage_radius_m": float(cfg.coverage_radius_m),
        "overall_probability": p,
        "overall_standard_error": se,
        "complement": 1.0 - p,
        "per_spacing": {f"{df:g}": {"symbol_duration_s": float(t_sym[j]),
                                    "probability": float(agg["prob_overall"][j]),
                                    "standard_error": float(agg["se_overall"][j])}
                        for j, df in enumerate(spacings)},
        "distance_edges_m": _json_list(DISTANCE_EDGES_M),
        "per_bin_probability": {f"{df:g}": _json_list(agg["prob_per_bin"][j])
                                for j, df in enumerate(spacings)},
        "x_axis": X_AXIS_CHOICE,
        "drops": drops,
        "users_per_drop": USERS_PER_DROP,
        "seed": int(seed),
        "workers": int(workers),
        "files": {k: str(v) for k, v in files.items()},
        "elapsed_s": round(time.monotonic() - t0, 3),
        "provenance": prov,
    }
    summary["headline"] = (
        f"Pr{{|delta| >= T_sym}} = {p:.5f} +- {se:.5f} (1 s.e.; complement {1 - p:.5f}) at "
        f"{spacings[j_cfg] / 1e3:g} kHz, {cfg.coverage_radius_m / 1e3:g} km disc, {drops} drops")
    json.dumps(summary)
    return summary
