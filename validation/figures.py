"""Figures 5-12 of the paper: sum rate of every precoder against power, Rician factor,
phase-error variance, number of satellites and of users; convergence; running time.

Every figure is ``figN(cfg, out_dir, drops, seed, workers, as_json) -> dict`` (the signature
``linksim figure figN`` dispatches to). It draws ``drops`` drops with
:func:`linksim.scenario.draw_drop` (drop d from ``(seed, d)``), builds their sCSI with
:func:`linksim.scsi.scsi_from_drop`, designs every method on the same sCSI and evaluates every
method with the same metric, the expected sum rate (19) (:func:`linksim.ratemodel.
weighted_sum_rate`, all weights 1). Drops run through
:func:`linksim.runtime.sweep.run_sweep` (in-process for one worker, a process pool otherwise;
the numbers do not depend on the worker count).
Each figure writes ``figN.png``, ``figN.csv`` and ``figN.h5`` under ``out_dir``, each atomically,
and returns a JSON-able summary with the mean curves, the ordering checks and the file names.

Choices (the paper's cases and swept values are lost, math.md Sec. 8): Fig. 5 is K = 12 and
Fig. 6 is K = 48 users against cfg.power_levels_dbw; Figs. 7-10 run at cfg.power_dbw; the swept
kappa, phase-error variance, S and K values are the module constants below. Nested sweeps reuse
one drop: Fig. 9 draws max(S) satellites and keeps the S nearest, Fig. 10 draws max(K) users
and keeps the first K. The iterative methods use cfg.max_iterations and cfg.rate_threshold and
the W-step of the config (``w_step``, default exact multipliers); Fig. 11 shows both variants.

The methods are those of the registry :data:`precoders.PRECODERS` in its order (the paper's
legends), less :data:`NOT_IN_FIGURES`; a method added with :func:`precoders.register` joins
every figure; the DTN method ('ms-jocdwm-dl') joins when its default model file exists
(:func:`figure_methods`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


#: registered methods left out of Figs. 5-10 and 12 (the paper's figures show no MRT)
NOT_IN_FIGURES = frozenset({"mrt"})
#: Algorithm 2 (registered by precoders.dtn); joins when available
DL_METHOD = "ms-jocdwm-dl"
#: the W-step of the iterative methods in Figs. 5-10 and 12 (the paper's (43)-(44) + scaling
#: often oscillates until I_max on real drops; the exact multipliers converge, math.md Sec. 11)
MULTI = ("ms-sepwm", "ms-jowm", "ms-jocdwm")
SINGLE = ("ss-m", "ss-wm")

FIG5_USERS = 12
FIG6_USERS = 48
FIG7_KAPPA_DB: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0)
FIG8_PHASE_VAR_RAD2: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
FIG9_SATS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
FIG10_USERS: tuple[int, ...] = (12, 18, 24, 30, 36, 42, 48)
FIG11_ITERATIONS = 60
FIG12_USERS: tuple[int, ...] = (12, 24, 48)

DEFAULT_DROPS = {5: 50, 6: 16, 7: 40, 8: 40, 9: 40, 10: 16, 11: 10, 12: 5}

LABELS = {"mrt": "MRT", "ss-m": "SS-M", "ss-wm": "SS-WM", "ms-sepwm": "MS-SepWM",
          "ms-jowm": "MS-JoWM", "ms-jocdwm": "MS-JoCDWM", DL_METHOD: "MS-JoCDWM-DL"}
STYLES = {"ss-m": ("tab:gray", "v", ":"), "ss-wm": ("tab:brown", "^", ":"),
          "ms-sepwm": ("tab:green", "s", "--"), "ms-jowm": ("tab:blue", "o", "-"),
          "ms-jocdwm": ("tab:red", "*", "-"), DL_METHOD: ("tab:purple", "D", "-."),
          "mrt": ("black", "x", ":")}


# ----------------------------------------------------------------------------- methods
def dl_available() -> bool:
    """True when 'ms-jocdwm-dl' is registered and its default model file exists."""
    try:
        import precoders
        import precoders.dtn  # noqa: F401  (registers the method)
        from precoders.dtn.infer import DEFAULT_MODEL_PATH
    except Exception:
        return False
    return DL_METHOD in precoders.PRECODERS and Path(DEFAULT_MODEL_PATH).is_file()


def figure_methods(include_dl: bool | None = None) -> list[str]:
    """The registered methods (:data:`precoders.PRECODERS`, in order) less
    :data:`NOT_IN_FIGURES`; the DTN method when ``include_dl`` (None: when available)."""
    import precoders

    use_dl = bool(include_dl or (include_dl is None and dl_available()))
    return [n for n in precoders.PRECODERS
            if n not in NOT_IN_FIGURES and (n != DL_METHOD or use_dl)]


def _timed_design(name: str, scsi, power_w: float, cfg: LinkConfig, w_step: str):
    """precoders.design_with_config with the sweep's W-step; (DesignResult, seconds)."""
    import precoders

    kw = {"w_step": w_step} if name in precoders.ITERATIVE else {}
    t0 = time.perf_counter()
    res = precoders.design_with_config(name, scsi, power_w, cfg, **kw)
    return res, time.perf_counter() - t0


# ----------------------------------------------------------------------------- sweep tasks
def _scsi_points(cfg: LinkConfig, axis: str, xs: Sequence[float], seed: int, drop_index: int):
    """Yield (sCSI, power in W) for every x of the sweep, all from one drop."""
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    draw_cfg = cfg
    if axis == "num_sats":
        draw_cfg = cfg.replace(num_sats=int(max(xs)))
    elif axis == "num_users":
        draw_cfg = cfg.replace(num_users=int(max(xs)))
    drop = draw_drop(draw_cfg, seed, drop_index)
    base = scsi_from_drop(drop, draw_cfg)
    p_default = 10 ** (cfg.power_dbw / 10)
    for x in xs:
        if axis == "power_dbw":
            yield base, 10 ** (float(x) / 10)
        elif axis == "kappa_db":
            yield scsi_from_drop(drop, cfg.replace(kappa_model="fixed", kappa_db=float(x))), \
                p_default
        elif axis == "phase_error_var_rad2":
            yield scsi_from_drop(drop, cfg.replace(phase_error_var_rad2=float(x))), p_default
        elif axis == "num_sats":
            yield base.take(sats=np.arange(int(x))), p_default
        elif axis == "num_users":
            yield base.take(users=np.arange(int(x))), p_default
        else:
            raise ValueError(f"unknown sweep axis {axis!r}")


def rate_task(key: dict[str, Any]) -> dict[str, np.ndarray]:
    """One drop of a rate sweep: rates, design times and iterations, each float64 [X, M]."""
    from linksim.config import build_config
    from linksim.ratemodel import weighted_sum_rate

    cfg = build_config(json.loads(key["config"]))
    xs, methods = list(key["x"]), list(key["methods"])
    rates = np.zeros((len(xs), len(methods)))
    seconds = np.zeros_like(rates)
    iterations = np.zeros_like(rates)
    points = _scsi_points(cfg, key["axis"], xs, int(key["seed"]), int(key["drop"]))
    # the waveform-measured (and, Figs. 7/8, ergodic) series: validation.figure_measured
    m_symbols = int(key.get("measured_symbols", 0))
    e_samples = int(key.get("ergodic_samples", 0))
    measured = np.full_like(rates, np.nan)
    ergodic = np.full_like(rates, np.nan)
    cache: dict = {}
    for j, (scsi, power) in enumerate(points):
        response = None
        if m_symbols > 0:
            from validation import figure_measured as fm

            response = fm.point_response(cfg, key["axis"], xs, j, int(key["seed"]),
                                         int(key["drop"]), m_symbols, cache)
        for m, name in enumerate(methods):
            res, dt = _timed_design(name, scsi, power, cfg, key["w_step"])
            rates[j, m] = weighted_sum_rate(scsi, res.W)
            seconds[j, m] = dt
            iterations[j, m] = res.iterations
            if response is not None:
                measured[j, m] = fm.measured_sum_rate(response, scsi, res.W)
            if e_samples > 0 and name in SINGLE:
                from validation.figure_measured import ergodic_sum_rate

                ergodic[j, m] = ergodic_sum_rate(scsi, res.W, int(key["seed"]),
                                                 int(key["drop"]), e_samples)
        del response
    out = {"rates": rates, "seconds": seconds, "iterations": iterations}
    if m_symbols > 0:
        out["measured"] = measured
    if e_samples > 0:
        out["ergodic"] = ergodic
    return out


def convergence_task(key: dict[str, Any]) -> dict[str, np.ndarray]:
    """One drop of Fig. 11: per-iteration true rate (19) and surrogate of MS-JoCDWM and
    MS-JoWM with both W-step variants, float64 [2 (paper, exact), 2 (cdwm, wm), T + 1]."""
    from linksim.config import build_config
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design

    cfg = build_config(json.loads(key["config"]))
    T = int(key["iterations"])
    drop = draw_drop(cfg, int(key["seed"]), int(key["drop"]))
    scsi = scsi_from_drop(drop, cfg)
    power = 10 ** (cfg.power_dbw / 10)
    rate = np.full((2, 2, T + 1), np.nan)
    surrogate = np.full_like(rate, np.nan)
    for v, w_step in enumerate(("paper", "exact")):
        for m, name in enumerate(("ms-jocdwm", "ms-jowm")):
            res = design(name, scsi, power, w_step=w_step, max_iterations=T, rate_threshold=0.0)
            n = res.history["sum_rate"].shape[0]
            rate[v, m, :n] = res.history["sum_rate"]
            surrogate[v, m, :n] = res.history["surrogate"]
    return {"rate": rate, "surrogate": surrogate}


def _run_tasks(func: Callable, keys: list[dict], workers: int, label: str, *,
               out_dir: Path | None = None, name: str | None = None,
               scheduler: str | None = None) -> list[dict]:
    """Run the tasks through linksim.runtime.sweep: in-process (workers == 1), on ``workers``
    processes, or on the Dask ``scheduler``; with ``out_dir`` the results are kept in the
    resumable store ``<out_dir>/<name>.store-<hash>.sqlite`` (the keys carry seed and config)."""
    from linksim import __version__
    from linksim.runtime.sweep import Task, run_sweep, store_path_for

    tasks = [Task(k) for k in keys]
    sweep_id = {"name": name, "version": __version__}
    store = None if out_dir is None else store_path_for(out_dir, str(name), sweep_id)
    backend = "dask" if scheduler is not None else (
        "inprocess" if workers == 1 else "processes")
    results = run_sweep(func, tasks, store_path=store,
                        sweep_id=sweep_id if store is not None else None, backend=backend,
                        workers=workers, scheduler=scheduler, progress=True, label=label)
    return [results[t] for t in tasks]


# ----------------------------------------------------------------------------- output
def _write_csv(path: Path, header: list[str], rows: list[list[Any]],
               prov: dict | None = None) -> None:
    """CSV with the provenance record as leading ``#`` comment lines (when given)."""
    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import csv_comments

    lines = (csv_comments(prov) if prov is not None else []) + [",".join(header)] + [
        ",".join(_fmt(v) for v in row) for row in rows]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


def _save_png(fig, path: Path, prov: dict | None = None) -> None:
    """PNG with the provenance record in its text chunks (when given)."""
    import matplotlib.pyplot as plt

    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import png_metadata

    meta = png_metadata(prov) if prov is not None else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def _files(out_dir: Path, n: int) -> dict[str, Path]:
    return {ext: Path(out_dir) / f"fig{n}.{ext}" for ext in ("png", "csv", "h5")}


def _ordering_checks(mean: np.ndarray, methods: list[str], tol: float = 1e-3) -> dict[str, bool]:
    """The orderings the paper reports, on the mean curves [X, M] (relative tolerance)."""
    idx = {m: i for i, m in enumerate(methods)}
    out: dict[str, bool] = {}
    cd = mean[:, idx["ms-jocdwm"]] if "ms-jocdwm" in idx else None
    if cd is not None:
        for other in ("ms-jowm", "ms-sepwm"):
            if other in idx:
                out[f"ms-jocdwm>={other}"] = bool(np.all(cd >= mean[:, idx[other]] * (1 - tol)))
    multi = [idx[m] for m in MULTI if m in idx]
    single = [idx[m] for m in SINGLE if m in idx]
    if multi and single:
        out["multi>single"] = bool(np.all(mean[:, multi].min(axis=1)
                                          > mean[:, single].max(axis=1)))
    return out


def _rate_figure(n: int, cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int,
                 axis: str, xs: Sequence[float], xlabel: str, title: str,
                 log_x: bool = False, gap_trend: str | None = None,
                 check_from: int = 0, scheduler: str | None = None,
                 measured_symbols: int | None = None, ergodic: bool = False) -> dict[str, Any]:
    """Shared body of Figs. 5-10: run, aggregate, check, write, summarise.

    measured_symbols : OFDM symbols per drop of the waveform-measured series
    (validation.figure_measured; None: FIGURE_MEASURED_SYMBOLS; 0: analytical (19) only);
    ergodic : also the ergodic Monte Carlo rate of the single-satellite methods (Figs. 7/8).
    """
    import matplotlib

    from validation import figure_measured as fm

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linksim.runtime.io import write_arrays_h5

    t0 = time.monotonic()
    drops = DEFAULT_DROPS[n] if drops is None else int(drops)
    if drops < 1 or workers < 1:
        raise ValueError(f"drops and workers must be >= 1 (got {drops}, {workers})")
    methods = figure_methods()
    xs = [float(x) if axis not in ("num_sats", "num_users") else int(x) for x in xs]
    m_symbols = fm.FIGURE_MEASURED_SYMBOLS if measured_symbols is None else int(measured_symbols)
    e_samples = fm.FIGURE_ERGODIC_SAMPLES if ergodic else 0
    cfg_json = json.dumps(cfg.to_dict(), sort_keys=True)
    keys = [{"figure": n, "seed": int(seed), "drop": d, "config": cfg_json, "axis": axis,
             "x": tuple(xs), "methods": tuple(methods), "w_step": cfg.w_step}
            for d in range(drops)]
    for k in keys:  # only when on, so that analytical-only stores keep their identity
        if m_symbols > 0:
            k["measured_symbols"] = m_symbols
        if e_samples > 0:
            k["ergodic_samples"] = e_samples
    res = _run_tasks(rate_task, keys, workers, f"fig{n} drops", out_dir=Path(out_dir),
                     name=f"fig{n}", scheduler=scheduler)
    rates = np.stack([r["rates"] for r in res])  # [D, X, M]
    seconds = np.stack([r["seconds"] for r in res])
    iterations = np.stack([r["iterations"] for r in res])
    mean = rates.mean(axis=0)
    stderr = fm.stderr(rates)
    measured = np.stack([r["measured"] for r in res]) if m_symbols > 0 else None
    ergo = np.stack([r["ergodic"] for r in res]) if e_samples > 0 else None
    extra_arrays: dict[str, np.ndarray] = {}
    if measured is not None:
        extra_arrays.update(measured_rates=measured, mean_measured_sum_rate=measured.mean(0),
                            stderr_measured=fm.stderr(measured),
                            mean_measured_minus_analytical=(measured - rates).mean(0),
                            stderr_measured_minus_analytical=fm.stderr(measured - rates))
    if ergo is not None:
        extra_arrays.update(ergodic_rates=ergo, mean_ergodic_sum_rate=ergo.mean(0),
                            stderr_ergodic=fm.stderr(ergo))
    from linksim.runtime.provenance import h5_attrs, provenance

    prov = provenance(cfg, seed, figure=f"fig{n}", drops=drops, workers=int(workers),
                      measured_symbols=m_symbols, ergodic_samples=e_samples)

    files = _files(out_dir, n)
    write_arrays_h5(files["h5"], {"x": np.asarray(xs, dtype=float), "rates": rates,
                                  "seconds": seconds, "iterations": iterations,
                                  "mean_sum_rate": mean, "stderr": stderr, **extra_arrays},
                    {"figure": f"fig{n}", "x_name": axis, "methods": methods, "seed": int(seed),
                     "drops": drops, "w_step": cfg.w_step, "config": cfg.to_dict(),
                     "metric": "expected sum rate, eq. (19), bit/s/Hz",
                     "measured_metric": "waveform-measured sum rate (linksim.emulator.measure, "
                     f"{m_symbols} OFDM symbols per drop), bit/s/Hz; [drop, x, method]",
                     **h5_attrs(prov)})
    header = [axis] + [f"{m}_{q}" for m in methods for q in ("mean", "stderr")]
    cols = [mean, stderr]
    for arr, tag in ((measured, "measured"), (ergo, "ergodic")):
        if arr is not None:
            header += [f"{m}_{tag}_{q}" for m in methods for q in ("mean", "stderr")]
            cols += [arr.mean(0), fm.stderr(arr)]
    # columns: per series (analytical, then measured, then ergodic) each method's mean, stderr
    _write_csv(files["csv"], header,
               [[xs[j]] + [v for c in range(0, len(cols), 2) for m in range(len(methods))
                           for v in (cols[c][j, m], cols[c + 1][j, m])]
                for j in range(len(xs))], prov)

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for m, name in enumerate(methods):
        color, marker, ls = STYLES.get(name, ("k", ".", "-"))
        if measured is None:
            ax.errorbar(xs, mean[:, m], yerr=stderr[:, m], color=color, marker=marker, ls=ls,
                        capsize=2, label=LABELS.get(name, name))
            continue
        # measured solid, (19) dashed; error bars: 1 standard error over the same drops
        ax.errorbar(xs, measured.mean(0)[:, m], yerr=np.nan_to_num(fm.stderr(measured)[:, m]),
                    color=color, marker=marker, ls="-", capsize=2,
                    label=f"{LABELS.get(name, name)} measured")
        ax.errorbar(xs, mean[:, m], yerr=np.nan_to_num(stderr[:, m]), color=color,
                    marker=marker, mfc="none", ls="--", capsize=2, alpha=0.8,
                    label=f"{LABELS.get(name, name)} (19)")
        if ergo is not None and name in SINGLE:
            ax.errorbar(xs, ergo.mean(0)[:, m], yerr=np.nan_to_num(fm.stderr(ergo)[:, m]),
                        color=color, marker=marker, ls=":", lw=2, capsize=2,
                        label=f"{LABELS.get(name, name)} ergodic")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Sum rate [bit/s/Hz]: measured (solid), (19) (dashed)"
                  if measured is not None else "Expected sum rate (19) [bit/s/Hz]")
    ax.set_title(f"{title} ({drops} drop{'s' if drops != 1 else ''}, seed {seed})", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6 if measured is not None else 8, ncol=2 if measured is not None else 1)
    _save_png(fig, files["png"], prov)

    checks = _ordering_checks(mean[check_from:], methods)
    idx = {m: i for i, m in enumerate(methods)}
    gap = mean[:, idx["ms-jocdwm"]] - mean[:, idx["ms-jowm"]]
    rel_gap = gap / np.maximum(mean[:, idx["ms-jowm"]], 1e-300)
    if gap_trend == "decreasing":
        checks["gap_grows_as_x_falls"] = bool(rel_gap[0] > rel_gap[-1])
    elif gap_trend == "increasing":
        checks["gap_grows_with_x"] = bool(rel_gap[-1] > rel_gap[0])
    summary = {
        "figure": f"fig{n}", "x_name": axis, "x": xs, "methods": methods,
        "mean_sum_rate": {m: [float(v) for v in mean[:, i]] for i, m in enumerate(methods)},
        "stderr": {m: [float(v) for v in stderr[:, i]] for i, m in enumerate(methods)},
        "mean_seconds": {m: float(seconds[..., i].mean()) for i, m in enumerate(methods)},
        "jocdwm_minus_jowm": [float(v) for v in gap],
        "jocdwm_over_jowm_relative_gap": [float(v) for v in rel_gap],
        "checks": checks, "drops": drops, "seed": int(seed), "workers": int(workers),
        "w_step": cfg.w_step, "files": {k: str(v) for k, v in files.items()},
        "elapsed_s": round(time.monotonic() - t0, 3)}
    summary["measured_symbols"] = m_symbols
    if measured is not None:
        summary["mean_measured_sum_rate"] = {m: [float(v) for v in measured.mean(0)[:, i]]
                                             for i, m in enumerate(methods)}
        summary["stderr_measured"] = {m: [float(v) for v in fm.stderr(measured)[:, i]]
                                      for i, m in enumerate(methods)}
        summary["measured_minus_analytical"] = {
            m: [float(v) for v in (measured - rates).mean(0)[:, i]]
            for i, m in enumerate(methods)}
        summary["measured_checks"] = fm.paired_ordering(measured, methods, MULTI, SINGLE,
                                                        check_from)
    if ergo is not None:
        summary["mean_ergodic_sum_rate"] = {m: [float(v) for v in ergo.mean(0)[:, i]]
                                            for i, m in enumerate(methods) if m in SINGLE}
        summary["stderr_ergodic"] = {m: [float(v) for v in fm.stderr(ergo)[:, i]]
                                     for i, m in enumerate(methods) if m in SINGLE}
    summary["provenance"] = prov
    best = mean[:, idx["ms-jocdwm"]]
    summary["headline"] = (
        f"MS-JoCDWM {best[0]:.2f}..{best[-1]:.2f} bit/s/Hz over {axis} {xs[0]}..{xs[-1]}; "
        f"gap to MS-JoWM {gap[0]:+.2f}..{gap[-1]:+.2f}; checks "
        + ", ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in checks.items()))
    if measured is not None:
        summary["headline"] += "; measured: " + ", ".join(
            f"{k} {v['verdict']}" for k, v in summary["measured_checks"].items())
    json.dumps(summary)
    return summary


# ----------------------------------------------------------------------------- figures
def fig5(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
         *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 5: sum rate vs per-satellite power (cfg.power_levels_dbw), K = FIG5_USERS."""
    return _rate_figure(5, cfg.replace(num_users=FIG5_USERS), out_dir, drops, seed, workers,
                        "power_dbw", cfg.power_levels_dbw, "Per-satellite power P [dBW]",
                        f"Fig. 5: sum rate vs power, K = {FIG5_USERS}, S = {cfg.num_sats}",
                        gap_trend="increasing",
                        scheduler=scheduler, measured_symbols=measured_symbols)


def fig6(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
         *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 6: sum rate vs per-satellite power (cfg.power_levels_dbw), K = FIG6_USERS."""
    return _rate_figure(6, cfg.replace(num_users=FIG6_USERS), out_dir, drops, seed, workers,
                        "power_dbw", cfg.power_levels_dbw, "Per-satellite power P [dBW]",
                        f"Fig. 6: sum rate vs power, K = {FIG6_USERS}, S = {cfg.num_sats}",
                        gap_trend="increasing",
                        scheduler=scheduler, measured_symbols=measured_symbols)


def fig7(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
         *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 7: sum rate vs the Rician factor, forced on every link (kappa_model = 'fixed')."""
    return _rate_figure(7, cfg, out_dir, drops, seed, workers, "kappa_db", FIG7_KAPPA_DB,
                        "Rician factor kappa [dB]",
                        f"Fig. 7: sum rate vs kappa, K = {cfg.num_users}, P = {cfg.power_dbw} dBW",
                        gap_trend="decreasing",
                        scheduler=scheduler, measured_symbols=measured_symbols, ergodic=True)


def fig8(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
         *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 8: sum rate vs the phase-error variance sigma_theta^2 (rho = e^{-var/2})."""
    return _rate_figure(8, cfg, out_dir, drops, seed, workers, "phase_error_var_rad2",
                        FIG8_PHASE_VAR_RAD2, "Phase-error variance [rad^2]",
                        f"Fig. 8: sum rate vs phase-error variance, K = {cfg.num_users}, "
                        f"P = {cfg.power_dbw} dBW", gap_trend="increasing",
                        scheduler=scheduler, measured_symbols=measured_symbols, ergodic=True)


def fig9(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
         *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 9: sum rate vs the number of cooperating satellites S (the S nearest).

    The ordering checks skip S = 1, where every multi-satellite method is a single-satellite one.
    """
    return _rate_figure(9, cfg, out_dir, drops, seed, workers, "num_sats", FIG9_SATS,
                        "Cooperating satellites S",
                        f"Fig. 9: sum rate vs S, K = {cfg.num_users}, P = {cfg.power_dbw} dBW",
                        check_from=sum(1 for s in FIG9_SATS if s < 2),
                        scheduler=scheduler, measured_symbols=measured_symbols)


def fig10(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
          *, scheduler: str | None = None,
         measured_symbols: int | None = None) -> dict[str, Any]:
    """Fig. 10: sum rate vs the number of users K (the first K of a max(K)-user drop)."""
    return _rate_figure(10, cfg, out_dir, drops, seed, workers, "num_users", FIG10_USERS,
                        "Users K",
                        f"Fig. 10: sum rate vs K, S = {cfg.num_sats}, P = {cfg.power_dbw} dBW",
                        scheduler=scheduler, measured_symbols=measured_symbols)


def fig11(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
          *, scheduler: str | None = None) -> dict[str, Any]:
    """Fig. 11: convergence of MS-JoCDWM and MS-JoWM, both W-step variants.

    Per iteration the true expected sum rate R (19) and each method's surrogate: R^CDWM =
    sum_k -log2 eps_k (33) and R^WM = sum_k -log2 e_k (29), evaluated with the receivers that
    produced the iterate; FIG11_ITERATIONS iterations, no early stop, mean over drops.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linksim.runtime.io import write_arrays_h5

    t0 = time.monotonic()
    drops = DEFAULT_DROPS[11] if drops is None else int(drops)
    if drops < 1 or workers < 1:
        raise ValueError(f"drops and workers must be >= 1 (got {drops}, {workers})")
    T = min(FIG11_ITERATIONS, int(cfg.max_iterations))
    cfg_json = json.dumps(cfg.to_dict(), sort_keys=True)
    keys = [{"figure": 11, "seed": int(seed), "drop": d, "config": cfg_json, "iterations": T}
            for d in range(drops)]
    res = _run_tasks(convergence_task, keys, workers, "fig11 drops", out_dir=Path(out_dir),
                     name="fig11", scheduler=scheduler)
    rate = np.stack([r["rate"] for r in res])  # [D, 2, 2, T+1]
    sur = np.stack([r["surrogate"] for r in res])
    mrate, msur = rate.mean(axis=0), sur.mean(axis=0)
    it = np.arange(T + 1)

    files = _files(out_dir, 11)
    from linksim.runtime.provenance import h5_attrs, provenance

    prov = provenance(cfg, seed, figure="fig11", drops=drops, workers=int(workers))
    write_arrays_h5(files["h5"], {"iteration": it, "rate": rate, "surrogate": sur,
                                  "mean_rate": mrate, "mean_surrogate": msur},
                    {"figure": "fig11", "axes": "[drop, w_step (paper, exact), method "
                     "(ms-jocdwm, ms-jowm), iteration]", "seed": int(seed), "drops": drops,
                     "power_dbw": float(cfg.power_dbw), "config": cfg.to_dict(),
                     **h5_attrs(prov)})
    names = [(v, m) for v in ("paper", "exact") for m in ("ms-jocdwm", "ms-jowm")]
    header = ["iteration"] + [f"{m}_{v}_{q}" for v, m in names for q in ("rate", "surrogate")]
    _write_csv(files["csv"], header,
               [[t] + [x for vi in range(2) for mi in range(2)
                       for x in (mrate[vi, mi, t], msur[vi, mi, t])] for t in it], prov)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for vi, (ax, v) in enumerate(zip(axes, ("paper", "exact"))):
        for mi, (name, sname) in enumerate((("ms-jocdwm", "R^CDWM"), ("ms-jowm", "R^WM"))):
            color = STYLES[name][0]
            ax.plot(it, mrate[vi, mi], color=color, ls="-", label=f"{LABELS[name]}: R (19)")
            ax.plot(it, msur[vi, mi], color=color, ls="--", label=f"{LABELS[name]}: {sname}")
        ax.set_title(f"W-step '{v}'" + (" (43)-(44) + scaling" if v == "paper"
                                        else " (exact multipliers)"), fontsize=10)
        ax.set_xlabel("Iteration")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("Sum rate [bit/s/Hz]")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Fig. 11: convergence of MS-JoCDWM and MS-JoWM (mean over "
                 f"{drops} drop{'s' if drops != 1 else ''}), K = {cfg.num_users}, "
                 f"S = {cfg.num_sats}, P = {cfg.power_dbw} dBW, seed {seed}", fontsize=10)
    _save_png(fig, files["png"], prov)

    final_rate, final_sur = mrate[:, :, -1], msur[:, :, -1]
    rel = np.abs(final_sur - final_rate) / final_rate
    mono = np.diff(rate[:, 1, 0, :], axis=-1) >= -1e-9 * np.abs(rate[:, 1, 0, 1:])
    checks = {"cdwm_surrogate_matches_rate": bool(rel[1, 0] < 1e-3),
              "wm_surrogate_below_rate": bool(np.all(final_sur[:, 1] < final_rate[:, 1])),
              "exact_cdwm_monotone": bool(np.all(mono)),
              # per W-step variant: the paper's step can leave MS-JoCDWM below MS-JoWM
              "ms-jocdwm>=ms-jowm (paper step)": bool(final_rate[0, 0] >= final_rate[0, 1]),
              "ms-jocdwm>=ms-jowm (exact step)": bool(final_rate[1, 0] >= final_rate[1, 1])}
    summary = {
        "figure": "fig11", "iterations": T, "power_dbw": float(cfg.power_dbw),
        "final": {f"{m}/{v}": {"rate": float(mrate[vi, mi, -1]),
                               "surrogate": float(msur[vi, mi, -1])}
                  for vi, v in enumerate(("paper", "exact"))
                  for mi, m in enumerate(("ms-jocdwm", "ms-jowm"))},
        "checks": checks, "drops": drops, "seed": int(seed), "workers": int(workers),
        "files": {k: str(v) for k, v in files.items()},
        "elapsed_s": round(time.monotonic() - t0, 3), "provenance": prov}
    summary["headline"] = (
        f"after {T} iterations (exact W-step): R = {mrate[1, 0, -1]:.2f}, R^CDWM = "
        f"{msur[1, 0, -1]:.2f} (MS-JoCDWM); R = {mrate[1, 1, -1]:.2f}, R^WM = "
        f"{msur[1, 1, -1]:.2f} (MS-JoWM); checks "
        + ", ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in checks.items()))
    json.dumps(summary)
    return summary


#: repeats per (drop, K, method) of Fig. 12 and the number of independent timing runs
FIG12_REPEATS = 3
FIG12_RUNS = 2


def time_designs(cfg: LinkConfig, methods: Sequence[str], Ks: Sequence[int], drops: int, seed: int,
                 repeats: int = FIG12_REPEATS) -> dict[str, np.ndarray]:
    """Wall time of single designs, in this process, one at a time, warm.

    Warm-up: before any timing, every method designs once at every K on drop 0 (not timed:
    imports, the DTN model load and first-call costs such as numba/torch initialisation).
    Then for every drop, K and method ``repeats`` timed designs (methods interleaved per drop
    so that machine-load drifts hit them alike). Returns seconds float64 [D, X, M, R] and
    iterations float64 [D, X, M].
    """
    scsi_of = {}
    for d in range(drops):
        for j, (scsi, _) in enumerate(_scsi_points(cfg, "num_users", Ks, seed, d)):
            scsi_of[d, j] = scsi
    power = 10 ** (cfg.power_dbw / 10)
    for j in range(len(Ks)):
        for name in methods:
            _timed_design(name, scsi_of[0, j], power, cfg, cfg.w_step)
    seconds = np.zeros((drops, len(Ks), len(methods), repeats))
    iterations = np.zeros((drops, len(Ks), len(methods)))
    for d in range(drops):
        for j in range(len(Ks)):
            for r in range(repeats):
                for m, name in enumerate(methods):
                    res, dt = _timed_design(name, scsi_of[d, j], power, cfg, cfg.w_step)
                    seconds[d, j, m, r] = dt
                    iterations[d, j, m] = res.iterations
    return {"seconds": seconds, "iterations": iterations}


def _ordering(median: np.ndarray, methods: Sequence[str]) -> list[list[str]]:
    """Per K, the methods from fastest to slowest by median time ([X, M] -> X lists)."""
    return [[methods[i] for i in np.argsort(row, kind="stable")] for row in median]


def fig12(cfg: LinkConfig, out_dir: Path, drops: int | None, seed: int, workers: int, as_json: bool,
          *, scheduler: str | None = None, repeats: int = FIG12_REPEATS,
          runs: int = FIG12_RUNS) -> dict[str, Any]:
    """Fig. 12: wall time of one design per method vs K (FIG12_USERS), as a benchmark.

    ``runs`` independent timing runs (:func:`time_designs`, each with its own warm-up) of
    ``drops`` drops x ``repeats`` repeats. Per method and K: the median over all runs, drops
    and repeats, the 25-75 % spread and min/max (the bars show the median with the 25-75 %
    range); the ordering checks compare the per-K ordering of the medians of each run: all of
    it (``ordering_stable_across_runs``), and every pair of methods whose pooled 25-75 % ranges
    do not overlap (``separated_pairs_keep_order``; near-ties may swap on a loaded machine).
    Timings always run in this process, one design at a time (``workers`` is recorded but not
    used, so that parallel drops do not distort them).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linksim.runtime.io import write_arrays_h5

    t0 = time.monotonic()
    drops = DEFAULT_DROPS[12] if drops is None else int(drops)
    if drops < 1 or workers < 1 or repeats < 1 or runs < 1:
        raise ValueError(f"drops, workers, repeats and runs must be >= 1 (got {drops}, "
                         f"{workers}, {repeats}, {runs})")
    methods = figure_methods()
    xs = list(FIG12_USERS)
    per_run = [time_designs(cfg, methods, xs, drops, seed, repeats) for _ in range(runs)]
    seconds = np.stack([r["seconds"] for r in per_run])  # [runs, D, X, M, R]
    iterations = per_run[0]["iterations"]
    flat = np.moveaxis(seconds, (2, 3), (0, 1)).reshape(len(xs), len(methods), -1)
    med = np.median(flat, axis=-1)
    q25, q75 = np.percentile(flat, 25, axis=-1), np.percentile(flat, 75, axis=-1)
    run_med = np.median(seconds.transpose(0, 2, 3, 1, 4).reshape(runs, len(xs), len(methods),
                                                                 -1), axis=-1)
    orders = [_ordering(run_med[r], methods) for r in range(runs)]
    stable = all(o == orders[0] for o in orders)
    # pairs whose pooled 25-75 % ranges do not overlap must keep their order in every run
    separated_ok = True
    for j in range(len(xs)):
        for a in range(len(methods)):
            for b in range(len(methods)):
                if q75[j, a] < q25[j, b]:
                    separated_ok &= bool(np.all(run_med[:, j, a] < run_med[:, j, b]))
    per_it = np.median(seconds / np.maximum(iterations, 1)[None, ..., None],
                       axis=(0, 1, 4))

    from linksim.runtime.provenance import h5_attrs, provenance

    # timings always run here, one design at a time: workers is 1 whatever was asked
    prov = provenance(cfg, seed, figure="fig12", drops=drops, workers=1, repeats=int(repeats),
                      runs=int(runs), num_users_swept=[int(k) for k in xs])
    files = _files(out_dir, 12)
    write_arrays_h5(files["h5"], {"K": np.asarray(xs), "seconds": seconds,
                                  "iterations": iterations, "median_seconds": med,
                                  "p25_seconds": q25, "p75_seconds": q75,
                                  "median_seconds_per_iteration": per_it},
                    {"figure": "fig12", "methods": methods, "seed": int(seed), "drops": drops,
                     "repeats": int(repeats), "runs": int(runs), "w_step": cfg.w_step,
                     "config": cfg.to_dict(), "power_dbw": float(cfg.power_dbw),
                     "seconds_axes": "run, drop, K, method, repeat (warm: warm-up excluded)",
                     **h5_attrs(prov)})
    header = ["K"] + [f"{m}_{q}" for m in methods
                      for q in ("median_s", "p25_s", "p75_s", "median_s_per_iteration")]
    _write_csv(files["csv"], header,
               [[xs[j]] + [v for m in range(len(methods))
                           for v in (med[j, m], q25[j, m], q75[j, m], per_it[j, m])]
                for j in range(len(xs))], prov)

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    width = 0.8 / len(methods)
    for m, name in enumerate(methods):
        pos = np.arange(len(xs)) + (m - (len(methods) - 1) / 2) * width
        ax.bar(pos, med[:, m], width=width, color=STYLES.get(name, ("k",))[0],
               label=LABELS.get(name, name))
        ax.errorbar(pos, med[:, m], yerr=[med[:, m] - q25[:, m], q75[:, m] - med[:, m]],
                    fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(xs)), [f"K = {k}" for k in xs])
    ax.set_yscale("log")
    ax.set_ylabel("Running time per design [s] (median, 25-75 %)")
    ax.set_title(f"Fig. 12: running time, S = {cfg.num_sats}, N_t = {cfg.num_antennas}, "
                 f"P = {cfg.power_dbw} dBW ({runs} runs x {drops} drops x {repeats})",
                 fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    _save_png(fig, files["png"], prov)

    idx = {m: i for i, m in enumerate(methods)}
    ratio = per_it[:, idx["ms-jocdwm"]] / per_it[:, idx["ms-jowm"]]
    summary = {
        "figure": "fig12", "K": xs, "methods": methods,
        "median_seconds": {m: [float(v) for v in med[:, i]] for i, m in enumerate(methods)},
        "p25_seconds": {m: [float(v) for v in q25[:, i]] for i, m in enumerate(methods)},
        "p75_seconds": {m: [float(v) for v in q75[:, i]] for i, m in enumerate(methods)},
        "min_seconds": {m: [float(v) for v in flat[:, i].min(-1)] for i, m in enumerate(methods)},
        "max_seconds": {m: [float(v) for v in flat[:, i].max(-1)] for i, m in enumerate(methods)},
        "median_seconds_per_iteration": {m: [float(v) for v in per_it[:, i]]
                                         for i, m in enumerate(methods)},
        "jocdwm_over_jowm_per_iteration": [float(v) for v in ratio],
        "ordering_per_run": orders,
        "checks": {"ordering_stable_across_runs": bool(stable),
                   "separated_pairs_keep_order": bool(separated_ok)},
        "drops": drops, "repeats": int(repeats), "runs": int(runs), "seed": int(seed),
        "workers": 1, "w_step": cfg.w_step, "files": {k: str(v) for k, v in files.items()},
        "elapsed_s": round(time.monotonic() - t0, 3), "provenance": prov}
    if DL_METHOD in idx:
        summary["dl_speedup_over_jocdwm"] = [
            float(v) for v in med[:, idx["ms-jocdwm"]] / med[:, idx[DL_METHOD]]]
    summary["headline"] = (
        f"median MS-JoCDWM {med[-1, idx['ms-jocdwm']]:.3f} s, MS-JoWM "
        f"{med[-1, idx['ms-jowm']]:.3f} s per design at K = {xs[-1]}; ordering "
        f"{'stable' if stable else 'NOT stable'} across {runs} runs, separated pairs "
        f"{'keep' if separated_ok else 'do NOT keep'} their order")
    json.dumps(summary)
    return summary
