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
    if cfg.receiver != "genie":
        arrays |= {name: np.zeros(shape + (k,)) for name in RECEIVER_ARRAYS}
    power = np.zeros(shape)
    snr = np.zeros(shape)
    for key, res in zip(keys, results.values()):
        li, d = levels.index(key["level_db"]), key["drop"]
        for name in arrays:
            arrays[name][li, d] = res[name]
        power[li, d] = res["power_dbw"]
        snr[li, d] = res["snr_db"]
    if "sats_set" in next(iter(results.values()), {}):     # sCSI aging (linksim.orbit)
        arrays["sats_below_min_elevation"] = np.zeros(shape, dtype=np.int64)
        for key, res in zip(keys, results.values()):
            arrays["sats_below_min_elevation"][levels.index(key["level_db"]), key["drop"]] = \
                res["sats_set"]
        if arrays["sats_below_min_elevation"].any() and not quiet:
            print(f"warning: at scsi_age_s={cfg.scsi_age_s:g} s, satellites are below "
                  f"min_elevation_deg for some user in "
                  f"{int(np.count_nonzero(arrays['sats_below_min_elevation'][0]))} of {drops} "
                  f"drop(s) (kept in the emulation; dataset sats_below_min_elevation)")
    sum_meas = arrays["rate_measured"].sum(-1)
    sum_anal = arrays["rate_analytical"].sum(-1)
    _write_h5(out / "emulate.h5", arrays, power, snr, levels, kind, cfg_dict,
              {"seed": seed, "precoder": precoder, "drops": drops, "num_symbols": num_symbols,
               "level_kind": kind, "linksim_version": __version__, "receiver": cfg.receiver},
              provenance)
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
    if cfg.receiver != "genie":
        add_receiver_summary(summary, arrays, cfg.receiver, drops)
    if provenance is not None:
        summary["provenance"] = provenance
    if not quiet:
        _print_table(summary, verbose)
    return summary


#: per-user arrays [level, drop, user] of a DMRS receiver (emulation_run.receiver_point)
RECEIVER_ARRAYS = ("rate_receiver", "rate_receiver_net", "rate_receiver_evm", "evm_db",
                   "sinr_post_db", "ber", "noise_var_est_w", "sinr_pilot_db",
                   "estimation_nmse_db")


def add_receiver_summary(summary: dict, arrays: dict, receiver: str, drops: int) -> None:
    """The DMRS receiver's sum rates next to the genie's, per point: mean over drops, their
    standard errors, and the estimation loss (genie - receiver) with its paired standard
    error over drops; per-user EVM (dB, mean) and BER (mean)."""
    summary["receiver"] = receiver
    genie = arrays["rate_measured"].sum(-1)
    for i, p in enumerate(summary["points"]):
        est = arrays["rate_receiver"][i].sum(-1)
        net = arrays["rate_receiver_net"][i].sum(-1)
        loss = genie[i] - est
        p["sum_rate_receiver"] = float(est.mean())
        p["sum_rate_receiver_net"] = float(net.mean())
        p["sum_rate_receiver_std_err"] = (float(est.std(ddof=1) / np.sqrt(drops))
                                          if drops > 1 else None)
        p["estimation_loss"] = float(loss.mean())
        p["estimation_loss_std_err"] = (float(loss.std(ddof=1) / np.sqrt(drops))
                                        if drops > 1 else None)
        p["per_user_receiver"] = arrays["rate_receiver"][i].mean(0).tolist()
        p["per_user_evm_db"] = arrays["evm_db"][i].mean(0).tolist()
        p["per_user_ber"] = arrays["ber"][i].mean(0).tolist()


def _task(key: dict, *, cfg_dict, precoder, seed, kind, num_symbols, model_path) -> dict:
    """One (drop, level) point, with one BLAS thread throughout (the designs already use one;
    the rate model and measurements then cannot depend on the worker's thread count either)."""
    from linksim.app.emulation_run import emulate_point
    from precoders.common import single_thread_blas

    with single_thread_blas():
        return emulate_point(cfg_dict, precoder, seed, key["drop"], key["level_db"], kind,
                             num_symbols, model_path)


def _write_h5(path: Path, arrays, power, snr, levels, kind, cfg_dict, attrs,
              provenance: dict | None = None) -> None:
    from linksim.runtime.atomic import atomic_h5

    with atomic_h5(path) as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
        write_level_axes(f, power, snr, levels, cfg_dict, attrs, provenance)


def write_level_axes(f, power, snr, levels, cfg_dict, attrs, provenance: dict | None,
                     axes: str = "[level, drop, user]") -> None:
    """What every emulate.h5 carries beside its rate arrays: power_dbw and snr_db [level, drop],
    levels_db, the config JSON, ``attrs`` and the provenance attributes."""
    import json

    f.create_dataset("power_dbw", data=power)
    f.create_dataset("snr_db", data=snr)
    f.create_dataset("levels_db", data=np.asarray(levels))
    f.attrs["config_json"] = json.dumps(cfg_dict)
    for k, v in attrs.items():
        f.attrs[k] = v
    f.attrs["axes"] = axes
    if provenance is not None:
        from linksim.runtime.provenance import write_h5_attrs

        write_h5_attrs(f, provenance)


def _print_table(summary: dict, verbose: bool) -> None:
    print(f"precoder {summary['precoder']}, {summary['drops']} drop(s), "
               f"{summary['num_symbols']} symbols, seed {summary['seed']}")
    rx = summary.get("receiver")
    if rx is not None:
        print(f"receiver {rx}: GMI with the estimated channel per data RE; 'net' with the "
              "pilot overhead; measured = genie")
    head = "" if rx is None else f"{rx:>12}{'net':>9}"
    print(f"{'SNR dB':>8}{'P dBW':>9}{'measured':>11}{'analytical':>12}{head}"
          "  (sum rate, bit/s/Hz)")
    for p in summary["points"]:
        tail = "" if rx is None else (f"{p['sum_rate_receiver']:>12.3f}"
                                      f"{p['sum_rate_receiver_net']:>9.3f}")
        print(f"{p['snr_db_mean']:>8.2f}{p['power_dbw_mean']:>9.2f}"
                   f"{p['sum_rate_measured']:>11.3f}{p['sum_rate_analytical']:>12.3f}{tail}")
        if verbose and rx is not None:
            rate = " ".join(f"{v:.2f}" for v in p["per_user_receiver"])
            evm = " ".join(f"{v:.1f}" for v in p["per_user_evm_db"])
            ber = " ".join("n/a" if v != v else f"{v:.1e}" for v in p["per_user_ber"])
            print(f"{'':>8}  per user {rx}:  {rate}")
            print(f"{'':>8}  per user EVM dB:    {evm}")
            print(f"{'':>8}  per user BER:       {ber}")
        if verbose:
            meas = " ".join(f"{v:.2f}" for v in p["per_user_measured"])
            anal = " ".join(f"{v:.2f}" for v in p["per_user_analytical"])
            print(f"{'':>8}  per user measured:   {meas}")
            print(f"{'':>8}  per user analytical: {anal}")
    print(f"results: {summary['output']}")
