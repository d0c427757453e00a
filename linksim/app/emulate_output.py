"""Run an emulation sweep, write its HDF5 results and print the per-SNR table."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def run_and_write(cfg: LinkConfig, precoder: str, levels: list[float], kind: str, drops: int,
                  num_symbols: int, seed: int, out_dir: str, model_path: str | None,
                  workers: int, scheduler: str | None, verbose: bool = False,
                  quiet: bool = False, provenance: dict | None = None) -> dict[str, Any]:
    """Emulate ``drops`` drops at every level, write ``emulate.h5``; return the summary.

    provenance : linksim.runtime.provenance record, written as HDF5 attributes and under the
    summary's key "provenance" (None: neither)."""
    from linksim import __version__
    from linksim.runtime.sweep import run_sweep, store_path_for

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_dict = cfg.to_dict()
    func = functools.partial(_task, cfg_dict=cfg_dict, precoder=precoder, seed=seed,
                             kind=kind, num_symbols=num_symbols, model_path=model_path)
    keys = [{"drop": d, "level_db": float(level)} for level in levels for d in range(drops)]
    sweep_id = {"name": "emulate", "seed": seed, "precoder": precoder, "kind": kind,
                "num_symbols": num_symbols, "config": cfg_dict, "version": __version__}
    results = run_sweep(func, keys, store_path=store_path_for(out, "emulate", sweep_id),
                        sweep_id=sweep_id,
                        workers=workers, scheduler=scheduler, label=f"emulate {precoder}")
    k = cfg.num_users
    shape = (len(levels), drops)
    arrays = {name: np.zeros(shape + (k,)) for name in
              ("rate_measured", "rate_analytical", "sinr_measured_db")}
    power = np.zeros(shape)
    snr = np.zeros(shape)
    for key, res in zip(keys, results.values()):
        li, d = levels.index(key["level_db"]), key["drop"]
        for name in arrays:
            arrays[name][li, d] = res[name]
        power[li, d] = res["power_dbw"]
        snr[li, d] = res["snr_db"]
    sum_meas = arrays["rate_measured"].sum(-1)
    sum_anal = arrays["rate_analytical"].sum(-1)
    _write_h5(out / "emulate.h5", arrays, power, snr, levels, kind, cfg_dict,
              {"seed": seed, "precoder": precoder, "drops": drops, "num_symbols": num_symbols,
               "level_kind": kind, "linksim_version": __version__}, provenance)
    summary = {
        "precoder": precoder, "seed": seed, "drops": drops, "num_symbols": num_symbols,
        "level_kind": kind, "output": str(out / "emulate.h5"),
        "points": [
            {"level_db": float(level),
             "snr_db_mean": float(snr[i].mean()), "power_dbw_mean": float(power[i].mean()),
             "sum_rate_measured": float(sum_meas[i].mean()),
             "sum_rate_analytical": float(sum_anal[i].mean()),
             "sum_rate_measured_std_err": float(sum_meas[i].std(ddof=1) / np.sqrt(drops))
             if drops > 1 else None,
             "per_user_measured": arrays["rate_measured"][i].mean(0).tolist(),
             "per_user_analytical": arrays["rate_analytical"][i].mean(0).tolist()}
            for i, level in enumerate(levels)],
    }
    if provenance is not None:
        summary["provenance"] = provenance
    if not quiet:
        _print_table(summary, verbose)
    return summary


def _task(key: dict, *, cfg_dict, precoder, seed, kind, num_symbols, model_path) -> dict:
    from linksim.app.emulation_run import emulate_point

    return emulate_point(cfg_dict, precoder, seed, key["drop"], key["level_db"], kind,
                         num_symbols, model_path)


def _write_h5(path: Path, arrays, power, snr, levels, kind, cfg_dict, attrs,
              provenance: dict | None = None) -> None:
    import json

    import h5py

    from linksim.runtime.atomic import atomic_path

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, value in arrays.items():
                f.create_dataset(name, data=value)
            f.create_dataset("power_dbw", data=power)
            f.create_dataset("snr_db", data=snr)
            f.create_dataset("levels_db", data=np.asarray(levels))
            f.attrs["config_json"] = json.dumps(cfg_dict)
            for k, v in attrs.items():
                f.attrs[k] = v
            f.attrs["axes"] = "[level, drop, user]"
            if provenance is not None:
                from linksim.runtime.provenance import write_h5_attrs

                write_h5_attrs(f, provenance)


def _print_table(summary: dict, verbose: bool) -> None:
    print(f"precoder {summary['precoder']}, {summary['drops']} drop(s), "
               f"{summary['num_symbols']} symbols, seed {summary['seed']}")
    print(f"{'SNR dB':>8}{'P dBW':>9}{'measured':>11}{'analytical':>12}  (sum rate, bit/s/Hz)")
    for p in summary["points"]:
        print(f"{p['snr_db_mean']:>8.2f}{p['power_dbw_mean']:>9.2f}"
                   f"{p['sum_rate_measured']:>11.3f}{p['sum_rate_analytical']:>12.3f}")
        if verbose:
            meas = " ".join(f"{v:.2f}" for v in p["per_user_measured"])
            anal = " ".join(f"{v:.2f}" for v in p["per_user_analytical"])
            print(f"{'':>8}  per user measured:   {meas}")
            print(f"{'':>8}  per user analytical: {anal}")
    print(f"results: {summary['output']}")
