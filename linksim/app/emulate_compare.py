"""``linksim emulate --precoder a,b,c`` / ``--precoder all``: several precoders on the same
drops, compensation errors, data and noise (common random numbers), side by side.

One sweep task = (drop, SNR point); it runs :func:`linksim.app.emulation_run.emulate_point`
once per method with the same seed and drop index, so every method sees the same geometry,
fading, errors (streams 1-2 of the drop's SeedSequence) and the same data symbols and noise
(stream 3): each method's numbers are bit-identical to a single-method run
(``--precoder NAME``) with the same seed, and the differences between methods are paired.

Per SNR point and method: the mean measured and analytical (eq. 19) sum rates over the
drops, the measured sum rate's standard error, and the paired difference of the method to the
best one (the largest mean measured sum rate at that point) with its standard error
sd(per-drop differences) / sqrt(D) (nan for one drop: no spread can be estimated from one).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig

#: the per-user results of emulation_run.emulate_point kept per method
FIELDS = ("rate_measured", "rate_analytical", "sinr_measured_db")
#: per-user fields of a DMRS receiver (emulation_run.receiver_point), when receiver != genie
RECEIVER_FIELDS = ("rate_receiver", "rate_receiver_net", "evm_db", "ber")
DL_METHOD = "ms-jocdwm-dl"


class MethodError(ValueError):
    """A --precoder list that cannot be used; the message names the problem."""


def resolve_methods(spec: str, cfg: LinkConfig, model_path: str | None = None) -> list[str]:
    """``all`` or a comma list -> registry names, in the registry's order for ``all``.

    ``all``: every method of :data:`precoders.PRECODERS`; the DTN ('ms-jocdwm-dl') when
    ``model_path`` is given or its default model file exists; the single-satellite methods
    (ss-m, ss-wm) only when K <= N_t. A listed name must be registered, appear once, and
    (ss-m, ss-wm) fit K <= N_t, else MethodError.
    """
    import precoders

    names = list(precoders.PRECODERS)
    k_ok = cfg.num_users <= cfg.num_antennas
    if spec.strip() == "all":
        out = []
        for n in names:
            if n == DL_METHOD and model_path is None and not _dl_model_exists():
                continue
            if n in ("ss-m", "ss-wm") and not k_ok:
                continue
            out.append(n)
        return out
    chosen = [p.strip() for p in spec.split(",") if p.strip()]
    if not chosen:
        raise MethodError("expects a method name, a comma list of them, or 'all'")
    for n in chosen:
        if n not in names:
            raise MethodError(f"unknown method {n!r}; choose from {', '.join(names)} or 'all'")
        if n in ("ss-m", "ss-wm") and not k_ok:
            raise MethodError(f"{n} needs users K <= N_t = {cfg.num_antennas} "
                              f"(got {cfg.num_users})")
    if len(set(chosen)) != len(chosen):
        raise MethodError(f"lists a method twice (got {spec!r})")
    return chosen


def _dl_model_exists() -> bool:
    try:
        from precoders.dtn.infer import DEFAULT_MODEL_PATH
    except Exception:  # noqa: BLE001 - torch missing: the DTN is optional
        return False
    return Path(DEFAULT_MODEL_PATH).is_file()


def compare_task(key: dict, *, cfg_dict: dict, methods: tuple[str, ...], seed: int, kind: str,
                 num_symbols: int, model_path: str | None) -> dict[str, Any]:
    """One (drop, level): every method via emulate_point; results ``<method>.<field>``."""
    from linksim.app.emulation_run import emulate_point

    out: dict[str, Any] = {}
    for name in methods:
        res = emulate_point(cfg_dict, name, seed, key["drop"], key["level_db"], kind,
                            num_symbols, model_path if name == DL_METHOD else None)
        for field in FIELDS + RECEIVER_FIELDS:
            if field in res:                      # receiver fields: receiver != 'genie'
                out[f"{name}.{field}"] = res[field]
        out["power_dbw"], out["snr_db"] = res["power_dbw"], res["snr_db"]
        if "sats_set" in res:                     # sCSI aging: the drop's, same for every method
            out["sats_set"] = res["sats_set"]
    return out


def _se(x: np.ndarray) -> float:
    """Standard error of the mean over the last axis; nan for one sample."""
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def summarise(methods: list[str], levels: list[float], arrays: dict[str, np.ndarray],
              power: np.ndarray, snr: np.ndarray) -> list[dict[str, Any]]:
    """Per level: the methods' mean sum rates and paired differences to the best.

    arrays : "<field>" -> float64 [M, L, D, K]; power, snr : [L, D]. Returns one dict per level.
    """
    meas = arrays["rate_measured"].sum(-1)          # [M, L, D]
    anal = arrays["rate_analytical"].sum(-1)
    points = []
    for li, level in enumerate(levels):
        mean_m = meas[:, li].mean(-1)
        best = int(np.argmax(mean_m))
        best_a = int(np.argmax(anal[:, li].mean(-1)))
        rows = {}
        for m, name in enumerate(methods):
            d_m = meas[m, li] - meas[best, li]
            d_a = anal[m, li] - anal[best_a, li]
            rows[name] = {
                "sum_rate_measured": float(mean_m[m]),
                "sum_rate_measured_std_err": _se(meas[m, li]),
                "sum_rate_analytical": float(anal[m, li].mean()),
                "diff_to_best_measured": float(d_m.mean()),
                # the best's difference to itself is exactly 0 on every drop (nan for one drop,
                # as every standard error over one drop)
                "diff_to_best_measured_std_err": _se(d_m) if m != best or d_m.size < 2
                else 0.0,
                "diff_to_best_analytical": float(d_a.mean()),
                "per_user_measured": arrays["rate_measured"][m, li].mean(0).tolist(),
                "per_user_analytical": arrays["rate_analytical"][m, li].mean(0).tolist()}
            if "rate_receiver" in arrays:         # the DMRS receiver next to the genie
                rec = arrays["rate_receiver"][m, li].sum(-1)
                rows[name] |= {
                    "sum_rate_receiver": float(rec.mean()),
                    "sum_rate_receiver_std_err": _se(rec),
                    "sum_rate_receiver_net": float(arrays["rate_receiver_net"][m, li]
                                                   .sum(-1).mean()),
                    "per_user_evm_db": arrays["evm_db"][m, li].mean(0).tolist(),
                    "per_user_ber": arrays["ber"][m, li].mean(0).tolist()}
        points.append({"level_db": float(level), "snr_db_mean": float(snr[li].mean()),
                       "power_dbw_mean": float(power[li].mean()),
                       "best_measured": methods[best], "best_analytical": methods[best_a],
                       "methods": rows})
    return points


def run_compare(cfg: LinkConfig, methods: list[str], levels: list[float], kind: str, drops: int,
                num_symbols: int, seed: int, out_dir: str, model_path: str | None, workers: int,
                scheduler: str | None, verbose: bool = False, quiet: bool = False,
                provenance: dict | None = None) -> dict[str, Any]:
    """Run every method on the same drops, write ``emulate.h5`` (one group per method, arrays
    [level, drop, user]); print one table per level unless ``quiet``; return the summary."""
    from linksim import __version__
    from linksim.runtime.sweep import run_sweep, store_path_for

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_dict = cfg.to_dict()
    func = functools.partial(compare_task, cfg_dict=cfg_dict, methods=tuple(methods), seed=seed,
                             kind=kind, num_symbols=num_symbols, model_path=model_path)
    keys = [{"drop": d, "level_db": float(level)} for level in levels for d in range(drops)]
    sweep_id = {"name": "emulate-compare", "seed": seed, "precoders": list(methods),
                "kind": kind, "num_symbols": num_symbols, "config": cfg_dict,
                "version": __version__}
    results = run_sweep(func, keys, store_path=store_path_for(out, "emulate", sweep_id),
                        sweep_id=sweep_id, workers=workers, scheduler=scheduler,
                        label=f"emulate {len(methods)} precoders")
    k = cfg.num_users
    fields = FIELDS + (RECEIVER_FIELDS if cfg.receiver != "genie" else ())
    arrays = {f: np.zeros((len(methods), len(levels), drops, k)) for f in fields}
    power = np.zeros((len(levels), drops))
    snr = np.zeros_like(power)
    for key, res in zip(keys, results.values()):
        li, d = levels.index(key["level_db"]), key["drop"]
        for m, name in enumerate(methods):
            for f in fields:
                arrays[f][m, li, d] = res[f"{name}.{f}"]
        power[li, d], snr[li, d] = res["power_dbw"], res["snr_db"]
    root = {}
    if "sats_set" in next(iter(results.values()), {}):     # sCSI aging (linksim.orbit)
        below = np.zeros((len(levels), drops), dtype=np.int64)
        for key, res in zip(keys, results.values()):
            below[levels.index(key["level_db"]), key["drop"]] = res["sats_set"]
        root["sats_below_min_elevation"] = below
        if below.any() and not quiet:
            print(f"warning: at scsi_age_s={cfg.scsi_age_s:g} s, satellites are below "
                  f"min_elevation_deg for some user in {int(np.count_nonzero(below[0]))} of "
                  f"{drops} drop(s) (kept in the emulation; dataset sats_below_min_elevation)")
    points = summarise(methods, levels, arrays, power, snr)
    summary = {"precoders": list(methods), "seed": seed, "drops": drops,
               "num_symbols": num_symbols, "level_kind": kind,
               "output": str(out / "emulate.h5"), "points": points,
               "receiver": cfg.receiver}
    if provenance is not None:
        summary["provenance"] = provenance
    _write_h5(out / "emulate.h5", methods, arrays, power, snr, levels, kind, cfg_dict,
              {"seed": seed, "precoders": ",".join(methods), "drops": drops,
               "num_symbols": num_symbols, "level_kind": kind, "linksim_version": __version__},
              provenance, root)
    if not quiet:
        print_tables(summary, verbose)
    return summary


def _write_h5(path: Path, methods, arrays, power, snr, levels, kind, cfg_dict, attrs,
              provenance, root: dict | None = None) -> None:
    """emulate.h5 of a comparison: one group per method (built in memory, renamed when
    complete, like every output: linksim.runtime.atomic.atomic_h5)."""
    from linksim.app.emulate_output import write_level_axes
    from linksim.runtime.atomic import atomic_h5

    with atomic_h5(path) as f:
        for m, name in enumerate(methods):
            g = f.create_group(name)
            for field, value in arrays.items():
                g.create_dataset(field, data=value[m])
        for name, value in (root or {}).items():     # per (level, drop), not per method
            f.create_dataset(name, data=value)
        write_level_axes(f, power, snr, levels, cfg_dict, attrs, provenance,
                         axes="<method>/<field>: [level, drop, user]")


def _fmt_se(x: float) -> str:
    return "nan" if x != x else f"{x:.3f}"


def print_tables(summary: dict, verbose: bool) -> None:
    """One table per SNR point: measured / analytical sum rate, paired difference to the best."""
    print(f"precoders {', '.join(summary['precoders'])}; {summary['drops']} drop(s), "
          f"{summary['num_symbols']} symbols, seed {summary['seed']}; common random numbers "
          f"(same drops, errors, data, noise)")
    for p in summary["points"]:
        print(f"\nSNR {p['snr_db_mean']:.2f} dB (P = {p['power_dbw_mean']:.2f} dBW); sum rate "
              f"bit/s/Hz; diff = paired difference to the best measured "
              f"({p['best_measured']}) +- 1 s.e.")
        print(f"{'method':<14}{'measured':>10}{'+-s.e.':>8}{'analytical':>12}"
              f"{'diff':>9}{'+-s.e.':>8}")
        for name, r in p["methods"].items():
            print(f"{name:<14}{r['sum_rate_measured']:>10.3f}"
                  f"{_fmt_se(r['sum_rate_measured_std_err']):>8}"
                  f"{r['sum_rate_analytical']:>12.3f}{r['diff_to_best_measured']:>+9.3f}"
                  f"{_fmt_se(r['diff_to_best_measured_std_err']):>8}")
            if "sum_rate_receiver" in r:
                print(f"{'':<14}{summary['receiver']}: {r['sum_rate_receiver']:.3f}"
                      f" +-{_fmt_se(r['sum_rate_receiver_std_err']).strip()} (net of pilots "
                      f"{r['sum_rate_receiver_net']:.3f})")
            if verbose and "per_user_evm_db" in r:
                print(f"{'':<14}per user EVM dB: "
                      + " ".join(f"{v:.1f}" for v in r["per_user_evm_db"]))
                print(f"{'':<14}per user BER: " + " ".join(f"{v:.2e}" for v in r["per_user_ber"]))
            if verbose:
                meas = " ".join(f"{v:.2f}" for v in r["per_user_measured"])
                anal = " ".join(f"{v:.2f}" for v in r["per_user_analytical"])
                print(f"{'':<14}per user measured:   {meas}")
                print(f"{'':<14}per user analytical: {anal}")
    print(f"results: {summary['output']}")
