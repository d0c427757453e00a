"""Quality and speed of MS-JoCDWM-DL against MS-JoCDWM and MS-JoWM (Figs. 5-6, 9-10, 12).

* :func:`evaluate_quality`: the analytical expected sum rate (eq. 19, linksim.ratemodel) of each
  method on drops drawn exactly like the training drops but from another seed, per power level.
* :func:`bench_dtn`: design time per drop, DTN (features + network + closed form (45)) vs
  MS-JoCDWM (Algorithm 1), for ``linksim bench --precoders``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np


def _thread_settings() -> dict:
    import torch

    return {"torch_threads": int(torch.get_num_threads()), "cpu_count": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}


def evaluate_quality(model, cfg, seed: int, num_drops: int,
                     baselines: Sequence[str] = ("ms-jocdwm", "ms-jowm"),
                     power_levels_dbw: Sequence[float] | None = None) -> dict:
    """Mean sum rate (eq. 19, bit/s/Hz) per power level of the DTN and the baselines.

    model : a loaded DTN (:func:`precoders.dtn.infer.load_model`); cfg : LinkConfig giving K, S,
    N_t and the drop geometry; drops 0..num_drops-1 of ``seed`` (use a seed other than the
    training seed). Returns dict with power_levels_dbw [L], rates {method: float64 [L]}
    (mean over drops), ratio_to {baseline: mean over levels of DTN / baseline}, and
    per_drop {method: float64 [D, L]}.
    """
    from precoders import design
    from precoders.dtn.dataset import drop_scsi
    from precoders.dtn.infer import design_dl_batch

    levels = np.asarray(power_levels_dbw if power_levels_dbw is not None
                        else cfg.power_levels_dbw, dtype=np.float64)
    methods = ("ms-jocdwm-dl", *baselines)
    per = {m: np.zeros((num_drops, len(levels))) for m in methods}
    for d in range(num_drops):
        scsi = drop_scsi(cfg, seed, d)
        powers = 10.0 ** (levels / 10.0)
        dl = design_dl_batch(model, [scsi] * len(levels), powers)
        for li, p in enumerate(powers):
            per["ms-jocdwm-dl"][d, li] = dl[li].history["sum_rate"][-1]
            for name in baselines:
                res = design(name, scsi, p, max_iterations=cfg.max_iterations,
                             rate_threshold=cfg.rate_threshold)
                per[name][d, li] = _sum_rate(scsi, res.W)
    rates = {m: v.mean(axis=0) for m, v in per.items()}
    ratio = {b: float(np.mean(rates["ms-jocdwm-dl"] / rates[b])) for b in baselines}
    return {"power_levels_dbw": levels, "rates": rates, "ratio_to": ratio, "per_drop": per,
            "num_users": cfg.num_users, "num_sats": cfg.num_sats,
            "antenna_size": tuple(cfg.antenna_size), "seed": seed, "num_drops": num_drops}


def _sum_rate(scsi, W) -> float:
    from linksim.ratemodel import weighted_sum_rate

    return weighted_sum_rate(scsi, W)


def bench_dtn(Ks: Sequence[int] = (12, 24, 48), S: int = 5,
              antenna_size: tuple[int, int] = (16, 16), drops: int = 3, seed: int = 0,
              power_dbw: float = -10.0, model_path: str | Path | None = None,
              baseline: str = "ms-jocdwm") -> list[dict]:
    """Design time per drop of MS-JoCDWM-DL vs ``baseline`` at each K (S satellites, N_t).

    The DTN time covers features, the network forward pass and the closed form (45)
    (model loading and a warm-up call excluded); the baseline runs Algorithm 1 with the
    config defaults (I_max = 100, threshold 1e-4). One row per (method, K) with
    seconds_per_drop, sum_rate (eq. 19, mean over the drops) and, for the DTN,
    speedup (baseline time / DTN time); thread settings are included in every row.
    """
    from linksim.config import build_config
    from precoders import design
    from precoders.dtn.dataset import drop_scsi
    from precoders.dtn.infer import design_dl, load_model

    model = load_model(model_path, device="cpu")
    settings = _thread_settings()
    rows = []
    for K in Ks:
        cfg = build_config({"num_users": int(K), "num_sats": int(S),
                            "antenna_size": list(antenna_size)})
        scsis = [drop_scsi(cfg, seed, d) for d in range(drops)]
        p = 10.0 ** (power_dbw / 10.0)
        design_dl(model, scsis[0], p)
        t0 = time.perf_counter()
        dl_rates = [_sum_rate(s, design_dl(model, s, p).W) for s in scsis]
        t_dl = (time.perf_counter() - t0) / drops
        t0 = time.perf_counter()
        base_rates = [_sum_rate(s, design(baseline, s, p).W) for s in scsis]
        t_base = (time.perf_counter() - t0) / drops
        common = {"K": int(K), "S": int(S), "N_t": int(np.prod(antenna_size)),
                  "power_dbw": power_dbw, "drops": drops, **settings}
        rows.append({"precoder": baseline, "seconds_per_drop": t_base,
                     "sum_rate": float(np.mean(base_rates)), **common})
        rows.append({"precoder": "ms-jocdwm-dl", "seconds_per_drop": t_dl,
                     "sum_rate": float(np.mean(dl_rates)), "speedup": t_base / t_dl, **common})
    return rows
