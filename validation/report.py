"""The model-vs-waveform validation report (``linksim validate``).

Runs the four checks on drops of the configured scenario and writes one self-contained HTML
report (figures embedded as base64 PNG), its numbers (``validation.h5``) and a JSON summary
(``summary.json``), all atomically:

1. desired-signal phase-error model (eqs. 13-16): validation.phase_model on the drops, and
   the single-link sweeps of residual Doppler and delay (where (16) stops holding);
2. expected phase error (eq. 25): validation.phase_model.expected_phase_check per Fig. 8
   variance;
3. inter-satellite independence (Remark 1, Fig. 2): validation.independence;
4. achieved vs analytical rates (eq. 19, Fig. 5 sweep): validation.rates.

The work runs through the shared sweep runner (linksim.runtime.sweep): one task per waveform drop,
per (phase-error variance, drop), per geometry drop and per single-link sweep
(:func:`validation_tasks`), on any back end, with the results kept in
``<out>/validate.store-<hash>.sqlite`` (:func:`linksim.runtime.sweep.store_path_for`) so that an
interrupted run resumes with the missing tasks.

Thresholds (docs/model.md, "Validation") are the module constants below. Every random draw
comes from the drop SeedSequences (linksim.scenario.drop_rng) and the tasks' results are
merged in task order, so a rerun with the same seed and settings gives identical numbers for
any back end and worker count; the JSON summary holds no timings or paths.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from validation.phase_model import NMSE_THRESHOLD_DB
from validation.report_numbers import num

if TYPE_CHECKING:
    from linksim.config import LinkConfig


#: rms error of the measured desired gain against (13)-(15) for "holds"
PHASE_RMS_DEG_MAX = 1.0
MAG_RMS_DB_MAX = 0.1
#: E e^{j theta}: |empirical - closed form| <= Z_MAX std errors + the emulator floor
Z_MAX = 3.0
RHO_FLOOR = 1e-3
#: summed-vs-separate interference power: |mean| and 99th percentile of |ratio| (dB)
POWER_RATIO_MEAN_DB_MAX = 0.1
POWER_RATIO_P99_DB_MAX = 0.5
#: per-subcarrier swing of the total interference around the sum of powers, 90th pct (dB)
SWING_USER_DB_MAX = 1.0
#: measured vs analytical sum rate: largest relative gap over precoders and levels
RATE_REL_GAP_MAX = 0.10
#: term diagnostic: measured / model power ratios within this many dB
TERM_DB_MAX = 1.0
#: components memory above which the run is refused (bytes)
MAX_COMPONENT_BYTES = 1.5e9
#: peak memory of one waveform-drop task in multiples of its components (default_workers)
WORKER_MEMORY_FACTOR = 4.0
#: the sweep store of a run, under its output directory
STORE_NAME = "validate"  # the store: <out>/validate.store-<hash of the sweep identity>.sqlite


@dataclass(frozen=True)
class ValidationSettings:
    """Sizes of one validation run.

    drops : drops with full waveforms (items 1, 3, 4); phase_drops : drops per variance of
    item 2; geometry_drops : drops of the Fig. 2 geometric fraction; num_symbols : observed
    OFDM symbols; ergodic_samples : Monte Carlo samples of the ergodic rate; include_dl :
    also the DTN precoder when its model is available; receiver_levels : power levels of the
    genie-vs-DMRS-receiver comparison (validation.receiver; 0: all).
    """

    drops: int = 12
    phase_drops: int = 24
    geometry_drops: int = 200
    num_symbols: int = 14
    ergodic_samples: int = 4000
    include_dl: bool = True
    receiver_levels: int = 0

    @classmethod
    def quick(cls) -> "ValidationSettings":
        return cls(drops=2, phase_drops=4, geometry_drops=50, ergodic_samples=1000,
                   receiver_levels=3)


def component_bytes(cfg: LinkConfig, num_symbols: int) -> float:
    """Memory of one drop's unit-coupling components, S K^2 M Q complex128 (bytes)."""
    return 16.0 * cfg.num_sats * cfg.num_users ** 2 * num_symbols * cfg.num_used_subcarriers


# --------------------------------------------------------------------------- running
#: the parts of a validation run, one task each per drop (sweeps: one task per axis)
PARTS = ("drop", "phase", "sweep", "geometry", "receiver")


def validation_tasks(seed: int, settings: ValidationSettings,
                     variances: tuple[float, ...]) -> list[dict[str, Any]]:
    """The sweep task keys of one run (linksim.runtime.sweep): per waveform drop ("drop"), per
    (variance, drop) of item 2 ("phase"), the two single-link sweeps ("sweep") and per
    geometry drop ("geometry"); the heavy waveform drops first."""
    keys: list[dict[str, Any]] = [{"seed": seed, "part": "drop", "drop": d}
                                  for d in range(settings.drops)]
    keys += [{"seed": seed, "part": "receiver", "drop": d, "levels": settings.receiver_levels}
             for d in range(settings.drops)]
    keys += [{"seed": seed, "part": "phase", "variance": float(v), "drop": d}
             for v in variances for d in range(settings.phase_drops)]
    keys += [{"seed": seed, "part": "sweep", "axis": axis} for axis in ("doppler", "delay")]
    keys += [{"seed": seed, "part": "geometry", "drop": d}
             for d in range(settings.geometry_drops)]
    return keys


def validation_task(key: dict[str, Any], *, cfg_dict: dict[str, Any], num_symbols: int,
                    names: tuple[str, ...], ergodic_samples: int) -> dict[str, Any]:
    """One task of :func:`validation_tasks` (top-level, so it runs on any worker).

    key : {"seed", "part", ...} (see validation_tasks); cfg_dict : LinkConfig.to_dict();
    names : the precoders of the rate comparison. Returns a flat dict of arrays/scalars
    (result names ``<group>.<field>``, merged by :func:`run_validation`); depends only on
    its arguments.
    """
    from linksim.config import build_config
    from validation import independence, phase_model

    cfg = build_config(cfg_dict)
    seed, part = int(key["seed"]), key["part"]
    if part == "drop":
        return drop_task(cfg, seed, int(key["drop"]), num_symbols, list(names), ergodic_samples)
    if part == "phase":
        return {"links": phase_model.phase_factor_means(cfg, seed, key["variance"],
                                                        int(key["drop"]), num_symbols)}
    if part == "sweep":
        sweep = phase_model.sweep_doppler if key["axis"] == "doppler" else phase_model.sweep_delay
        return sweep(cfg, num_symbols=num_symbols, seed=seed)
    if part == "receiver":
        from validation.receiver import receiver_task

        return receiver_task(cfg, seed, int(key["drop"]), num_symbols, list(names),
                             int(key["levels"]))
    if part == "geometry":
        pairs, hits = independence.geometric_counts(cfg, seed, int(key["drop"]))
        return {"pairs": pairs, "hits": hits}
    raise ValueError(f"unknown validation task part {part!r}")


def drop_task(cfg: LinkConfig, seed: int, drop_index: int, num_symbols: int, names: list[str],
              ergodic_samples: int) -> dict[str, Any]:
    """Items 1, 3 and 4 on one drop (one waveform run, released on return).

    Returns the drop's desired-gain errors (``gain.*``, [1, ...] arrays), copy-pair
    correlations (``pairs.*``), summed-vs-separate powers with MRT at cfg.power_dbw
    (``power.*``), its worst (receiver, interferer) range (``worst.*``, scalars) and the rate
    comparison (``rates.*``, [P, L, 1, K] arrays and power_dbw [L]).
    """
    from linksim.ratemodel import coupling
    from validation import independence, phase_model, rates
    from validation.drop_response import drop_response

    r = drop_response(cfg, seed, drop_index, num_symbols)
    pairs = independence.pair_correlations([r])
    mrt = coupling(r.scsi.steering, rates.design_precoder(
        "mrt", r.scsi, 10 ** (cfg.power_dbw / 10), cfg))
    power = independence.summed_vs_separate_power([r], [mrt])
    out: dict[str, Any] = {}
    parts = {"gain": asdict(phase_model.desired_gain_errors([r])), "pairs": asdict(pairs),
             "power": power, "worst": _worst_pair_range(r, mrt, pairs, power),
             "rates": rates.compare_rates([r], names, tuple(cfg.power_levels_dbw), seed,
                                          ergodic_samples)}
    for group, values in parts.items():
        for name, value in values.items():
            out[f"{group}.{name}"] = value
    return out


def _group(result: dict[str, Any], group: str) -> dict[str, Any]:
    """The entries ``<group>.<name>`` of a flat task result, as {name: value}."""
    prefix = group + "."
    return {k[len(prefix):]: v for k, v in result.items() if k.startswith(prefix)}


def validation_sweep_id(cfg: LinkConfig, seed: int, settings: ValidationSettings, names: list[str],
                        variances: tuple[float, ...]) -> dict[str, Any]:
    """Identity of a run's sweep store: everything that changes its numbers (seed, config,
    settings, precoders, variances, code version and, with the DTN, its model file's hash)."""
    import hashlib

    from linksim import __version__

    sid: dict[str, Any] = {"name": "validate", "seed": seed, "config": cfg.to_dict(),
                           "settings": asdict(settings), "precoders": list(names),
                           "variances": [float(v) for v in variances], "version": __version__}
    if "ms-jocdwm-dl" in names:
        from precoders.dtn.infer import DEFAULT_MODEL_PATH

        sid["dtn_model_sha256"] = hashlib.sha256(Path(DEFAULT_MODEL_PATH).read_bytes()
                                                 ).hexdigest()
    return sid


def default_workers(cfg: LinkConfig, num_symbols: int) -> int:
    """Worker processes for a local run: one per core, fewer when the waveform components of
    the drops in flight (about WORKER_MEMORY_FACTOR x :func:`component_bytes` each) would not
    fit in the free memory."""
    import os

    from linksim.runtime.sweep import available_cores

    cores = available_cores()
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return cores
    per_worker = WORKER_MEMORY_FACTOR * component_bytes(cfg, num_symbols)
    return max(1, min(cores, int(free // per_worker)))


def run_validation(cfg: LinkConfig, seed: int, settings: ValidationSettings, progress: bool = True,
                   *,
                   store_dir: str | Path | None = None, workers: int | None = 1,
                   scheduler: str | None = None) -> dict[str, Any]:
    """Run all four checks; returns {"arrays": {group/name: ndarray}, "summary": dict}.

    The per-drop work runs as linksim.runtime.sweep tasks (:func:`validation_tasks`): in-process for
    ``workers == 1``, else on ``workers`` processes (None: :func:`default_workers`, also for
    a local Dask cluster) or the Dask ``scheduler``; the numbers are identical for any back
    end and worker count.
    store_dir : where the sweep store goes (``store_path_for(store_dir, STORE_NAME, id)``;
    resumable: an interrupted run computes only the missing tasks, a finished one none);
    None: results are not stored.
    """
    from linksim.runtime.sweep import run_sweep, store_path_for
    from validation import independence, phase_model, rates

    names = rates.available_precoders(settings.include_dl)
    variances = tuple(float(v) for v in phase_model.fig8_variances())
    keys = validation_tasks(seed, settings, variances)
    func = functools.partial(validation_task, cfg_dict=cfg.to_dict(),
                             num_symbols=settings.num_symbols, names=tuple(names),
                             ergodic_samples=settings.ergodic_samples)
    if workers is None and scheduler in (None, "local"):
        workers = default_workers(cfg, settings.num_symbols)
    sweep_id = validation_sweep_id(cfg, seed, settings, names, variances)
    results = list(run_sweep(
        func, keys,
        store_path=None if store_dir is None else store_path_for(store_dir, STORE_NAME, sweep_id),
        sweep_id=sweep_id if store_dir is not None else None,
        workers=workers, scheduler=scheduler, progress=progress, label="validate").values())
    by_part: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
    for key, res in zip(keys, results):
        by_part[key["part"]].append(res)
    drops = by_part["drop"]
    # 1. phase-error sweeps; 2. expected phase error per variance; Fig. 2 geometry
    sweep_eps, sweep_del = by_part["sweep"]
    n = settings.phase_drops
    rho = phase_model.expected_phase_summary(
        cfg, variances, [[res["links"] for res in by_part["phase"][v * n:(v + 1) * n]]
                         for v in range(len(variances))], settings.num_symbols)
    geo = independence.fraction_from_counts([res["pairs"] for res in by_part["geometry"]],
                                            [res["hits"] for res in by_part["geometry"]])
    # per drop: items 1, 3, 4, concatenated in drop order
    gain_err = phase_model.DesiredGainErrors(**{
        k: np.concatenate([_group(res, "gain")[k] for res in drops])
        for k in _group(drops[0], "gain")})
    pairs = independence.PairCorrelations(**{
        k: np.concatenate([_group(res, "pairs")[k] for res in drops])
        for k in _group(drops[0], "pairs")})
    power = {k: np.concatenate([_group(res, "power")[k] for res in drops])
             for k in _group(drops[0], "power")}
    power.update(independence.subcarrier_swing(pairs, power))
    worst = max((_group(res, "worst") for res in drops), key=lambda w: w["swing"])
    rate_res = {k: np.concatenate([_group(res, "rates")[k] for res in drops], axis=2)
                for k in _group(drops[0], "rates") if k != "power_dbw"}
    rate_res["power_dbw"] = _group(drops[0], "rates")["power_dbw"]
    arrays: dict[str, np.ndarray] = {}
    for key, value in asdict(gain_err).items():
        arrays[f"phase_model/drops/{key}"] = value
    for key, value in sweep_eps.items():
        arrays[f"phase_model/sweep_doppler/{key}"] = value
    for key, value in sweep_del.items():
        arrays[f"phase_model/sweep_delay/{key}"] = value
    for key, value in rho.items():
        arrays[f"expected_phase/{key}"] = value
    for key, value in asdict(pairs).items():
        arrays[f"independence/pairs/{key}"] = value
    for key, value in power.items():
        arrays[f"independence/power/{key}"] = value
    for key, value in rate_res.items():
        arrays[f"rates/{key}"] = value
    num_samples = settings.num_symbols * cfg.num_used_subcarriers
    summary = build_summary(cfg, seed, settings, names, gain_err.stats(), sweep_eps, sweep_del,
                            rho, independence.correlation_stats(
                                pairs, num_samples, cfg.cyclic_prefix_length / cfg.fft_size),
                            power, geo, pairs, rate_res, worst)
    add_receiver_part(arrays, summary, by_part["receiver"], names, cfg)
    return {"arrays": arrays, "summary": summary}


def add_receiver_part(arrays: dict, summary: dict, results: list, names: list[str],
                      cfg) -> None:
    """validation.receiver: arrays under receiver/, summary key "receiver", its verdict rows
    appended to the summary table."""
    from validation import receiver

    results = [res for res in results if res]
    if not results:
        return
    res = receiver.merge(results)
    for key, value in res.items():
        arrays[f"receiver/{key}"] = value
    part = receiver.summarise(res, names)
    part["dmrs_symbols"] = list(cfg.dmrs_symbols)
    summary["receiver"] = _clean(part)
    summary["table"] = summary["table"] + summary["receiver"]["table"]


def _worst_pair_range(response, A: np.ndarray, pairs, power: dict) -> dict[str, float]:
    """The (receiver, interferer) of one drop with the largest per-subcarrier swing bound
    (validation.independence.subcarrier_swing) and its measured per-subcarrier range: the
    power of the summed copies over the sum of their powers, each averaged over the symbols
    (dB, min and max over the subcarriers)."""
    from validation.independence import subcarrier_swing

    swing = subcarrier_swing(pairs, power)["swing"]
    n = int(np.argmax(swing))
    j, i = int(power["j"][n]), int(power["i"][n])
    comp = A[:, j, i, None, None] * response.unit[:, j, i]           # [S, M, Q]
    per_q = (np.mean(np.abs(comp.sum(axis=0)) ** 2, axis=0)
             / np.sum(np.mean(np.abs(comp) ** 2, axis=1), axis=0))
    return {"swing": float(swing[n]), "drop": int(power["drop"][n]), "j": j, "i": i,
            "measured_min_db": float(10 * np.log10(per_q.min())),
            "measured_max_db": float(10 * np.log10(per_q.max())),
            "bound_max_db": float(10 * np.log10(1 + swing[n]))}


# --------------------------------------------------------------------------- summary
def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _verdict(ok: bool) -> str:
    return "holds" if ok else "fails"


def build_summary(cfg: LinkConfig, seed: int, settings: ValidationSettings, names: list[str],
                  gain_stats: dict, sweep_eps: dict, sweep_del: dict, rho: dict,
                  corr_stats: dict, power: dict, geo: dict, pairs, rate_res: dict,
                  worst: dict) -> dict[str, Any]:
    """The JSON summary: settings, every number of the summary table, and the table rows."""
    from validation import phase_model, rates

    fs = cfg.sample_rate_hz
    margin_late = cfg.cyclic_prefix_length - cfg.timing_backoff_samples
    eps_meas = phase_model.crossing(sweep_eps["eps"], sweep_eps["nmse_16_db"], NMSE_THRESHOLD_DB)
    eps_closed = phase_model.crossing(sweep_eps["eps"], sweep_eps["nmse_closed_db"],
                                      NMSE_THRESHOLD_DB)
    late = sweep_del["delay_samples"] >= 0
    delay_meas = phase_model.crossing(sweep_del["delay_samples"][late],
                                      sweep_del["nmse_16_db"][late], NMSE_THRESHOLD_DB)
    delay_closed = margin_late + cfg.fft_size * 10 ** (NMSE_THRESHOLD_DB / 10) / 2
    nmse_10pct = float(np.interp(0.1, sweep_eps["eps"], sweep_eps["nmse_16_db"]))
    errors_cfg_eps = 3 * cfg.doppler_error_std_hz / cfg.subcarrier_spacing_hz
    sigma_tau = np.sqrt(cfg.phase_error_var_rad2) / (2 * np.pi * cfg.carrier_hz)
    errors_cfg_delay = 3 * sigma_tau * fs

    rho_dev = np.abs(rho["empirical_real"] - rho["closed_form"])
    rho_tol = Z_MAX * np.nan_to_num(rho["std_err"]) + RHO_FLOOR
    rho_ok = bool(np.all(rho_dev <= rho_tol) and np.all(
        np.abs(rho["empirical_imag"]) <= Z_MAX * np.nan_to_num(rho["std_err_imag"]) + RHO_FLOOR))

    ratio = power["ratio_db"]
    ratio_stats = {"mean_db": float(ratio.mean()), "p99_abs_db": float(np.percentile(
        np.abs(ratio), 99)), "max_abs_db": float(np.abs(ratio).max()),
        "user_mean_db": float(power["ratio_user_db"].mean()),
        "user_max_abs_db": float(np.abs(power["ratio_user_db"]).max()),
        "pairs_with_a_near_copy": int(np.sum(power["min_abs_delay_diff_symbols"] < 1.0)),
        "mean_abs_db_near": float(np.abs(ratio[power["min_abs_delay_diff_symbols"] < 1]).mean())
        if np.any(power["min_abs_delay_diff_symbols"] < 1) else float("nan")}
    near_pair = power["min_abs_delay_diff_symbols"] < 1.0
    swing_db = 10 * np.log10(1 + power["swing"])
    swing_user_db = 10 * np.log10(1 + power["swing_user"])
    swing_stats = {
        "pair_near_median_db": float(np.median(swing_db[near_pair])) if near_pair.any()
        else float("nan"),
        "pair_near_max_db": float(swing_db[near_pair].max()) if near_pair.any()
        else float("nan"),
        "pair_far_max_db": float(swing_db[~near_pair].max()) if (~near_pair).any()
        else float("nan"),
        "user_median_db": float(np.median(swing_user_db)),
        "user_p90_db": float(np.percentile(swing_user_db, 90)),
        "user_max_db": float(swing_user_db.max()),
        "receivers_above_1db": float(np.mean(swing_user_db > SWING_USER_DB_MAX)),
        "worst_pair": worst}
    near_d = np.array([np.mean(np.abs(pairs.delay_diff_symbols[pairs.drop == d]) < 1.0)
                       for d in np.unique(pairs.drop)])
    emu_se = float(near_d.std(ddof=1) / np.sqrt(near_d.size)) if near_d.size > 1 else float("nan")
    frac_diff = corr_stats["fraction_near"] - geo["fraction_near"]
    frac_tol = Z_MAX * np.sqrt(np.nan_to_num(emu_se) ** 2 + np.nan_to_num(geo["std_err"]) ** 2)
    corr_bound = corr_stats["cp_bound"] + 3 * corr_stats["estimation_floor"]

    rsum = rates.summarise(rate_res, names)
    swaps = rates.explain_swaps(rsum, names)
    sums = rsum["sum_rates"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_gap = np.abs(sums["rate_analytical"] - sums["rate_measured"]) / sums["rate_analytical"]
    term_max = {k: float(np.max(np.abs(v))) for k, v in rsum["terms"].items()
                if k.endswith("ratio_db")}
    waveform_gap = float(np.max(np.abs(rsum["gaps"]["waveform"])))

    rows = [
        {"assumption": "desired gain g e^{j theta} Psi(eps) e^{-j2 pi q Df Dtau} (13)-(15)",
         "metric": "rms phase / magnitude error of the measured per-subcarrier gain "
                   f"({gain_stats['samples']} satellite-user-subcarrier samples)",
         "value": f"{gain_stats['phase_err_deg_rms']:.2g} deg / "
                  f"{gain_stats['mag_err_db_rms']:.2g} dB",
         "numbers": [num("rms phase error of the measured gain",
                         gain_stats["phase_err_deg_rms"], "deg"),
                     num("rms magnitude error of the measured gain",
                         gain_stats["mag_err_db_rms"], "dB")],
         "threshold": f"< {PHASE_RMS_DEG_MAX} deg, < {MAG_RMS_DB_MAX} dB",
         "verdict": _verdict(gain_stats["phase_err_deg_rms"] < PHASE_RMS_DEG_MAX
                             and gain_stats["mag_err_db_rms"] < MAG_RMS_DB_MAX)},
        {"assumption": "(16): ICI/ISI negligible on the drops",
         "metric": "worst NMSE of Y ~ e^{j theta} g v^H w X over the drops' links",
         "value": f"{gain_stats['nmse_16_db_max']:.1f} dB",
         "numbers": [num("worst NMSE of (16) over the drops' links",
                         gain_stats["nmse_16_db_max"], "dB")],
         "threshold": f"< {NMSE_THRESHOLD_DB:g} dB",
         "verdict": _verdict(gain_stats["nmse_16_db_max"] < NMSE_THRESHOLD_DB)},
        {"assumption": "|Dnu| << Df (before (16))",
         "metric": f"eps = Dnu/Df where NMSE(16) reaches {NMSE_THRESHOLD_DB:g} dB "
                   "(closed form); configured 3 sigma eps",
         "value": f"{eps_meas:.4f} ({eps_closed:.4f}); {errors_cfg_eps:.1e}",
         "numbers": [num("eps = Dnu/Df where NMSE(16) reaches the threshold, measured",
                         eps_meas, "1"),
                     num("the same crossing, closed form", eps_closed, "1"),
                     num("configured 3 sigma eps", errors_cfg_eps, "1")],
         "threshold": "configured 3 sigma below the crossing",
         "verdict": _verdict(errors_cfg_eps < eps_meas)},
        {"assumption": "residual delay inside the CP margin (case (i))",
         "metric": f"late residual delay where NMSE(16) reaches {NMSE_THRESHOLD_DB:g} dB "
                   f"(closed form), samples; margin {margin_late}; configured 3 sigma",
         "value": f"{delay_meas:.1f} ({delay_closed:.1f}); {errors_cfg_delay:.1e}",
         "numbers": [num("late residual delay where NMSE(16) reaches the threshold, "
                         "measured", delay_meas, "samples"),
                     num("the same crossing, closed form", delay_closed, "samples"),
                     num("configured 3 sigma residual delay", errors_cfg_delay, "samples")],
         "threshold": "configured 3 sigma below the crossing",
         "verdict": _verdict(errors_cfg_delay < delay_meas)},
        {"assumption": "E e^{j theta} = exp(-sigma^2/2) (25)",
         "metric": "largest |Re empirical - closed form| over the Fig. 8 variances "
                   f"{[float(v) for v in rho['variance_rad2']]} (Im within the same tolerance)",
         "value": f"{rho_dev.max():.3f} (tolerance {rho_tol[np.argmax(rho_dev)]:.3f})",
         "numbers": [num("largest |Re empirical - closed form| of E e^{j theta}",
                         rho_dev.max(), "1"),
                     num("tolerance at that variance", rho_tol[np.argmax(rho_dev)], "1")],
         "threshold": f"{Z_MAX:g} std errors + {RHO_FLOOR:g}",
         "verdict": _verdict(rho_ok)},
        {"assumption": "copies >= 1 symbol apart are uncorrelated (Remark 1)",
         "metric": "99th percentile |corr| of copies with |delay diff| >= T_sym "
                   f"({corr_stats['pairs_far']} pairs); mean |corr| when < T_sym "
                   f"({corr_stats['pairs_near']} pairs)",
         "value": f"{corr_stats['corr_far_p99']:.3f}; {corr_stats['corr_near_mean']:.2f}",
         "numbers": [num("99th percentile |corr| of copies >= T_sym apart",
                         corr_stats["corr_far_p99"], "1"),
                     num("mean |corr| of copies < T_sym apart", corr_stats["corr_near_mean"],
                         "1")],
         "threshold": f"< N_cp/N + 3 x floor = {corr_bound:.3f}",
         "verdict": _verdict(corr_stats["corr_far_p99"] < corr_bound)},
        {"assumption": "interference copies add in power (block-diagonal Q_k, (19), (23))",
         "metric": "summed / separate power per (receiver, interferer): mean, 99th pct |.|",
         "value": f"{ratio_stats['mean_db']:+.3f} dB, {ratio_stats['p99_abs_db']:.3f} dB",
         "numbers": [num("mean summed / separate power", ratio_stats["mean_db"], "dB"),
                     num("99th percentile |summed / separate power|",
                         ratio_stats["p99_abs_db"], "dB")],
         "threshold": f"|mean| < {POWER_RATIO_MEAN_DB_MAX} dB, p99 < {POWER_RATIO_P99_DB_MAX} dB",
         "verdict": _verdict(abs(ratio_stats["mean_db"]) < POWER_RATIO_MEAN_DB_MAX
                             and ratio_stats["p99_abs_db"] < POWER_RATIO_P99_DB_MAX)},
        {"assumption": "copies add in power on every subcarrier (per-subcarrier (19))",
         "metric": "swing of the total interference power per subcarrier around the sum of "
                   "powers, bound 10 log10(1 + 2 sum c sqrt(p p') / sum p): 90th pct / max over "
                   "receivers; worst pair: bound vs measured per-subcarrier range",
         "value": f"{swing_stats['user_p90_db']:.2f} / {swing_stats['user_max_db']:.2f} dB; "
                  f"{worst['bound_max_db']:+.1f} dB vs [{worst['measured_min_db']:+.1f}, "
                  f"{worst['measured_max_db']:+.1f}] dB",
         "numbers": [num("90th percentile over receivers of the per-subcarrier swing",
                         swing_stats["user_p90_db"], "dB"),
                     num("largest per-subcarrier swing over receivers",
                         swing_stats["user_max_db"], "dB"),
                     num("worst pair: bound on the swing", worst["bound_max_db"], "dB"),
                     num("worst pair: measured swing, lowest", worst["measured_min_db"], "dB"),
                     num("worst pair: measured swing, highest", worst["measured_max_db"],
                         "dB")],
         "threshold": f"90th pct < {SWING_USER_DB_MAX:g} dB",
         "verdict": _verdict(swing_stats["user_p90_db"] < SWING_USER_DB_MAX)},
        {"assumption": "Fig. 2: pairs closer than one symbol are rare",
         "metric": "fraction of copy pairs with |delay diff| < T_sym: emulated drops vs "
                   f"geometry ({geo['drops']} drops, validation.fig2)",
         "value": f"{corr_stats['fraction_near']:.4f} vs {geo['fraction_near']:.4f}",
         "numbers": [num("fraction of copy pairs < T_sym apart, emulated drops",
                         corr_stats["fraction_near"], "1"),
                     num("the same fraction, geometry (validation.fig2)",
                         geo["fraction_near"], "1")],
         "threshold": f"agree within {Z_MAX:g} std errors ({frac_tol:.4f})",
         "verdict": _verdict(abs(frac_diff) <= frac_tol)},
        {"assumption": "analytical rate (19) predicts the achieved rate",
         "metric": "largest |analytical - measured| / analytical sum rate over precoders and "
                   "levels; waveform part (model (18) on the realisation - measured)",
         "value": f"{np.nanmax(rel_gap):.3f}; {waveform_gap:.3f} bit/s/Hz",
         "numbers": [num("largest |analytical - measured| / analytical sum rate",
                         np.nanmax(rel_gap), "1"),
                     num("largest waveform part of the gap", waveform_gap, "bit/s/Hz")],
         "threshold": f"< {RATE_REL_GAP_MAX:g}",
         "verdict": _verdict(bool(np.nanmax(rel_gap) < RATE_REL_GAP_MAX))},
        {"assumption": "model terms: signal w^H R w, interference sum w^H Q w, noise sigma^2",
         "metric": "largest |measured / model| over precoders and levels (dB)",
         "value": ", ".join(f"{k.replace('_ratio_db', '')} {v:.2f}" for k, v in
                            term_max.items()),
         "numbers": [num(f"largest |measured / model| of the "
                         f"{k.replace('_ratio_db', '')} term", v, "dB")
                     for k, v in term_max.items()],
         "threshold": f"< {TERM_DB_MAX:g} dB",
         "verdict": _verdict(max(term_max.values()) < TERM_DB_MAX)},
        {"assumption": "precoder ranking by (19) = ranking by measured rate",
         "metric": "order of the mean measured sum rate (overall); swapped pairs per level "
                   "(n.s.: measured difference within 2 paired std errors)",
         "value": " > ".join(rsum["overall_measured"]) + "; " + (
             "; ".join(f"{w['pair'][0]}/{w['pair'][1]} at {w['power_dbw']:g} dBW "
                       f"({'significant' if w['significant'] else 'n.s.'}, {w['dominant']})"
                       for w in swaps) if swaps else "no swaps"),
         "numbers": [num(f"power of the swap {w['pair'][0]}/{w['pair'][1]}", w["power_dbw"],
                         "dBW") for w in swaps]
                    + [num("swapped pairs", len(swaps), "pairs"),
                       num("significant swapped pairs",
                           sum(bool(w["significant"]) for w in swaps), "pairs")],
         "threshold": "same order, or swaps not significant",
         "verdict": _verdict(not any(w["significant"] for w in swaps)
                             and rsum["overall_measured"] == rsum["overall_analytical"])},
    ]
    return _clean({
        "seed": seed, "settings": asdict(settings),
        "scenario": {"num_users": cfg.num_users, "num_sats": cfg.num_sats,
                     "antenna_size": list(cfg.antenna_size),
                     "phase_error_var_rad2": cfg.phase_error_var_rad2,
                     "doppler_error_std_hz": cfg.doppler_error_std_hz,
                     "timing_backoff_samples": cfg.timing_backoff_samples,
                     "power_levels_dbw": list(cfg.power_levels_dbw),
                     "power_dbw": cfg.power_dbw},
        "precoders": names,
        "nmse_threshold_db": NMSE_THRESHOLD_DB,
        "phase_model": {"drops": gain_stats, "eps_threshold": eps_meas,
                        "eps_threshold_closed_form": eps_closed,
                        "eps_threshold_small_eps_formula": phase_model.eps_threshold_closed_form(),
                        "nmse_16_db_at_eps_0.1": nmse_10pct,
                        "late_delay_threshold_samples": delay_meas,
                        "late_delay_threshold_beyond_margin_us":
                            (delay_meas - margin_late) / fs * 1e6,
                        "late_delay_threshold_closed_form_samples": delay_closed,
                        "cp_margin_samples": [-cfg.timing_backoff_samples, margin_late],
                        "configured_3sigma_eps": errors_cfg_eps,
                        "configured_3sigma_delay_samples": errors_cfg_delay},
        "expected_phase": {k: v for k, v in rho.items()},
        "independence": {"correlation": corr_stats, "power_ratio": ratio_stats,
                         "subcarrier_swing": swing_stats,
                         "fraction_near_emulated": corr_stats["fraction_near"],
                         "fraction_near_emulated_std_err": emu_se,
                         "fraction_near_geometry": geo["fraction_near"],
                         "fraction_near_geometry_std_err": geo["std_err"],
                         "geometry_drops": geo["drops"]},
        "rates": {"power_dbw": list(levels_of(rate_res)),
                  "sum_rate": {k: v for k, v in sums.items()},
                  "sum_rate_measured_std_err": rsum["sum_rate_measured_se"],
                  "per_level_ranking": rsum["per_level"],
                  "overall_measured": rsum["overall_measured"],
                  "overall_analytical": rsum["overall_analytical"],
                  "ranking_same": rsum["ranking_same"],
                  "terms_db": rsum["terms"], "gaps": rsum["gaps"], "swaps": swaps},
        "table": rows,
    })


def levels_of(rate_res: dict) -> np.ndarray:
    return np.asarray(rate_res["power_dbw"], dtype=float)


# --------------------------------------------------------------------------- writing
def write_h5(path: Path, arrays: dict[str, np.ndarray], summary: dict, cfg: LinkConfig,
             provenance: dict | None = None) -> None:
    """All arrays under their group paths, the summary and config as JSON attributes (and
    the provenance attributes, linksim.runtime.provenance, when given)."""
    from linksim.runtime.atomic import atomic_h5

    with atomic_h5(path, track_order=True) as f:
        for key in sorted(arrays):
            f.create_dataset(key, data=np.asarray(arrays[key]), track_times=False)
        f.attrs["summary_json"] = json.dumps(summary, sort_keys=True)
        f.attrs["config_json"] = json.dumps(cfg.to_dict(), sort_keys=True)
        if provenance is not None:
            from linksim.runtime.provenance import write_h5_attrs

            write_h5_attrs(f, provenance)


def write_json(path: Path, summary: dict) -> None:
    from linksim.runtime.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def write_report(out_dir: str | Path, cfg: LinkConfig, seed: int, settings: ValidationSettings,
                 progress: bool = True, *, workers: int | None = 1,
                 scheduler: str | None = None, quick: bool = False) -> dict[str, Any]:
    """Run the validation and write report.html, validation.h5 and summary.json under out_dir.

    The tasks' results are kept in ``<out_dir>/validate.store-<hash>.sqlite``, so an
    interrupted run resumes with the missing tasks; workers / scheduler as in
    :func:`run_validation`. Returns the summary (the content of summary.json), with
    ``evidence`` (smoke run or not, validation.report_citable) and ``provenance`` (version,
    commit, command line, config, seed, date: the only entry that differs between reruns).
    """
    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import provenance
    from validation.report_citable import evidence, finish_html
    from validation.report_html import render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = run_validation(cfg, seed, settings, progress, store_dir=out,
                            workers=workers, scheduler=scheduler)
    prov = provenance(cfg, seed, settings=asdict(settings), workers=workers,
                      scheduler=scheduler)  # after the run: numba is loaded, its threads set
    _add_sections(result, cfg, seed, settings, out, prov, workers=workers,
                  scheduler=scheduler, progress=progress)
    summary = result["summary"]
    summary["evidence"] = evidence(settings, quick)
    summary["provenance"] = prov
    write_h5(out / "validation.h5", result["arrays"], summary, cfg, prov)
    write_json(out / "summary.json", summary)
    html = finish_html(render_html(result["arrays"], summary, cfg,
                                   result.get("multipath_figures")), summary, prov)
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(html)
    return summary


def _add_sections(result: dict[str, Any], cfg, seed: int, settings: ValidationSettings,
                  out: Path, prov: dict, **backend) -> None:
    """NTN-TDL (section 6, validation.multipath) and moving satellites (validation.orbit),
    their parts as resumable tasks in ``out`` (validation.sections) on ``backend``
    (workers, scheduler, progress as the main sweep)."""
    from validation import multipath, phase_model, rates
    from validation.sections import run_parts

    sid = validation_sweep_id(cfg, seed, settings, rates.available_precoders(
        settings.include_dl), tuple(float(v) for v in phase_model.fig8_variances()))
    quick = settings.drops <= ValidationSettings.quick().drops    # reduced sections
    mp = run_parts("multipath", multipath.multipath_parts(cfg, seed, quick,
                                                          settings.num_symbols), sid, out,
                   **backend)
    multipath.extend_report(result, multipath.multipath_result(mp, quick), out, prov)
    _add_orbit(result, cfg, seed, settings, quick,
               lambda parts: run_parts("orbit", parts, sid, out, **backend))


def _add_orbit(result: dict[str, Any], cfg, seed: int, settings: ValidationSettings,
               quick: bool, run) -> None:
    """Items a-d of validation.orbit, reduced (OrbitSettings.quick) when ``quick``; adds
    summary["orbit"] and the arrays "orbit/...". ``run(parts)`` computes the parts
    (validation.sections.run_parts)."""
    from validation import orbit, rates

    st = orbit.OrbitSettings.quick() if quick else orbit.OrbitSettings()
    names = rates.available_precoders(settings.include_dl)
    res = orbit.orbit_result(cfg, seed, st, names, run(orbit.orbit_parts(cfg, seed, st, names)))
    result["summary"]["orbit"] = _clean(res["summary"])
    result["summary"]["table"] += result["summary"]["orbit"]["table"]
    result["arrays"].update(res["arrays"])
