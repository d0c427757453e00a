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
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def _thread_settings() -> dict:
    import torch

    return {"torch_threads": int(torch.get_num_threads()), "cpu_count": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}


#: The control of :func:`evaluate_quality`: the closed form (45) with constant auxiliaries
#: u_k = e_0 (u_{k,0} = 1, satellite entries 0) and omega_k = 1, i.e. what a network that
#: ignores its input could reach. A DTN must beat it to show that it learned anything.
CONTROL = "closed-form-const"


def evaluate_quality(model, cfg: LinkConfig, seed: int, num_drops: int,
                     baselines: Sequence[str] = ("ms-jocdwm", "ms-jowm"),
                     power_levels_dbw: Sequence[float] | None = None,
                     control: bool = True) -> dict:
    """Mean sum rate (eq. 19, bit/s/Hz) per power level of the DTN, the baselines and the
    constant-auxiliary control :data:`CONTROL` (if ``control``).

    model : a loaded DTN (:func:`precoders.dtn.infer.load_model`); cfg : LinkConfig giving K, S,
    N_t and the drop geometry; drops 0..num_drops-1 of ``seed`` (use a seed other than the
    training seed). Returns dict with power_levels_dbw [L], rates {method: float64 [L]}
    (mean over drops), ratio_to {method: mean over levels of DTN / method}, and
    per_drop {method: float64 [D, L]}.
    """
    from precoders import closed_form_precoder, design
    from precoders.dtn.dataset import drop_scsi
    from precoders.dtn.infer import design_dl_batch

    levels = np.asarray(power_levels_dbw if power_levels_dbw is not None
                        else cfg.power_levels_dbw, dtype=np.float64)
    methods = ("ms-jocdwm-dl", *baselines, *((CONTROL,) if control else ()))
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
            if control:
                U0 = np.zeros((scsi.num_users, scsi.num_sats + 1), np.complex128)
                U0[:, 0] = 1.0
                W0 = closed_form_precoder(scsi, U0, np.ones(scsi.num_users), p)
                per[CONTROL][d, li] = _sum_rate(scsi, W0)
    rates = {m: v.mean(axis=0) for m, v in per.items()}
    ratio = {b: float(np.mean(rates["ms-jocdwm-dl"] / rates[b])) for b in methods[1:]}
    return {"power_levels_dbw": levels, "rates": rates, "ratio_to": ratio, "per_drop": per,
            "num_users": cfg.num_users, "num_sats": cfg.num_sats,
            "antenna_size": tuple(cfg.antenna_size), "seed": seed, "num_drops": num_drops}


def _sum_rate(scsi, W) -> float:
    from linksim.ratemodel import weighted_sum_rate

    return weighted_sum_rate(scsi, W)


def _spread(t: list[float]) -> dict:
    """Warm design times: mean (seconds_per_drop), median and the 25 / 75 % quantiles (s)."""
    a = np.asarray(t, dtype=np.float64)
    return {"seconds_per_drop": float(a.mean()), "median_s": float(np.median(a)),
            "p25_s": float(np.percentile(a, 25)), "p75_s": float(np.percentile(a, 75))}


def bench_dtn(Ks: Sequence[int] = (12, 24, 48), S: int = 5,
              antenna_size: tuple[int, int] = (16, 16), drops: int = 3, seed: int = 0,
              power_levels_dbw: Sequence[float] | None = None,
              model_path: str | Path | None = None, baseline: str = "ms-jocdwm") -> list[dict]:
    """Design time per drop and power level, MS-JoCDWM-DL vs ``baseline``, at each K.

    The DTN time covers features, the network forward pass and the closed form (45)
    (model loading and a warm-up call of each method excluded; one drop at a time, no
    batching); the baseline
    runs Algorithm 1 with the config defaults (I_max = 100, threshold 1e-4). Both are timed on
    the same drops at every level of ``power_levels_dbw`` (default: the config's seven levels).
    One row per (method, K) with seconds_per_drop (mean per design), median_s, p25_s, p75_s,
    sum_rate (eq. 19, mean) and, for the DTN, speedup (median baseline time / median DTN
    time); thread settings are in every row.
    """
    import torch

    from linksim.config import build_config
    from precoders import design
    from precoders.dtn.dataset import drop_scsi
    from precoders.dtn.infer import INFERENCE_THREADS, design_dl, load_model

    model = load_model(model_path, device="cpu")
    torch.set_num_threads(INFERENCE_THREADS)  # as the registry entry does
    settings = _thread_settings()
    rows = []
    for K in Ks:
        cfg = build_config({"num_users": int(K), "num_sats": int(S),
                            "antenna_size": list(antenna_size)})
        levels = np.asarray(power_levels_dbw if power_levels_dbw is not None
                            else cfg.power_levels_dbw, dtype=np.float64)
        powers = 10.0 ** (levels / 10.0)
        scsis = [drop_scsi(cfg, seed, d) for d in range(drops)]
        design_dl(model, scsis[0], powers[0])  # warm-up (not timed)
        design(baseline, scsis[0], powers[0])
        t_dl, t_base = [], []
        dl_rates, base_rates = [], []
        for scsi in scsis:
            for p in powers:
                t0 = time.perf_counter()
                W = design_dl(model, scsi, p).W
                t_dl.append(time.perf_counter() - t0)
                dl_rates.append(_sum_rate(scsi, W))
                t0 = time.perf_counter()
                W = design(baseline, scsi, p).W
                t_base.append(time.perf_counter() - t0)
                base_rates.append(_sum_rate(scsi, W))
        n = len(scsis) * len(powers)
        common = {"K": int(K), "S": int(S), "N_t": int(np.prod(antenna_size)),
                  "designs": n, **settings}
        rows.append({"precoder": baseline, **_spread(t_base),
                     "sum_rate": float(np.mean(base_rates)), **common})
        rows.append({"precoder": "ms-jocdwm-dl", **_spread(t_dl),
                     "sum_rate": float(np.mean(dl_rates)),
                     "speedup": float(np.median(t_base) / np.median(t_dl)), **common})
    return rows
