"""MS-JoCDWM-DL inference, Algorithm 2: sCSI -> DTN -> (U, omega) -> closed form (45) -> W.

The network predicts the virtual receivers U and weights omega (eqs. 59-61); the precoder is
W = Phi(U, omega; sCSI, P, sigma^2) of eq. (45), i.e. (43) with lambda_s from (44) and the
per-satellite power scaling, computed by :func:`precoders.cdwmmse.closed_form_precoder`.
No iterations; N_t enters only the closed form (the network never sees it).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from linksim.scsi import Scsi
from precoders.dtn.features import FEATURE_VERSION, batch_features
from precoders.dtn.network import DTN, DTNConfig, default_device

#: torch intra-op threads of every CPU inference pass. float32 reductions are split by the
#: thread count, so a fixed count makes the DTN's numbers independent of the machine's cores,
#: the worker count and OMP_NUM_THREADS; one thread because the network is tiny and on a
#: loaded 2-core machine a second OpenMP thread made a K = 48 forward pass ~30x slower (1.2 s
#: instead of 38 ms). LINKSIM_DTN_THREADS overrides it, for experiments only.
INFERENCE_THREADS = int(os.environ.get("LINKSIM_DTN_THREADS", "1"))

#: The shipped small model (trained over K 8..48, S 2..7 and mixed links; see model_small.json).
DEFAULT_MODEL_PATH = Path(__file__).with_name("model_small.pt")
METHOD_NAME = "ms-jocdwm-dl"


def load_model(path: str | Path | None = None, device: str | None = None) -> DTN:
    """Load a DTN model file written by :mod:`precoders.dtn.train` (eval mode, float32).

    path : default :data:`DEFAULT_MODEL_PATH`; device : default CUDA when available, else CPU.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if not path.exists():
        raise FileNotFoundError(f"DTN model file not found: {path} (train one with "
                                f"'linksim train-dtn')")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or "model_config" not in ck or "model_state" not in ck:
        raise ValueError(f"{path} is not a DTN model file")
    cfg = DTNConfig(**ck["model_config"])
    if cfg.feature_version != FEATURE_VERSION:
        raise ValueError(f"{path} was trained on feature_version {cfg.feature_version}, "
                         f"this code computes {FEATURE_VERSION}")
    model = DTN(cfg)
    model.load_state_dict(ck["model_state"])
    model.train_info = {k: ck.get(k) for k in ("train_config", "data", "best_epoch",
                                                "best_val_loss")}
    return model.to(default_device(device)).eval()


@functools.lru_cache(maxsize=4)
def _cached_model(path: str, device: str | None) -> DTN:
    model = load_model(path, device)
    if next(model.parameters()).device.type == "cpu":
        torch.set_num_threads(INFERENCE_THREADS)
    return model



@contextlib.contextmanager
def fixed_threads(threads: int = INFERENCE_THREADS) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads, then restore the count."""
    previous = torch.get_num_threads()
    if previous == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@torch.no_grad()
def predict(model: DTN, scsis: Sequence[Scsi], power_w: float | Sequence[float] | np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Network outputs for B drops with equal (S, K) (Algorithm 2, steps 2-5).

    power_w : scalar, float64 [B] or [B, S]. Returns U complex128 [B, K, S+1] (column 0 =
    u_{k,0}) and omega float64 [B, K] in (0, 1). On the CPU the pass runs with
    :data:`INFERENCE_THREADS` torch threads (:func:`fixed_threads`), so the float32 numbers
    do not depend on the thread count of the process.
    """
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    x = torch.from_numpy(batch_features(scsis, power_w)).to(device=dev, dtype=dtype)
    with fixed_threads() if dev.type == "cpu" else contextlib.nullcontext():
        out = model(x)
    return (out.U.to(torch.complex128).cpu().numpy(),
            out.omega.to(torch.float64).cpu().numpy())


def design_dl_batch(model: DTN, scsis: Sequence[Scsi],
                    power_w: float | Sequence[float] | np.ndarray,
                    weights: np.ndarray | None = None) -> list:
    """MS-JoCDWM-DL for several drops: one network pass per (S, K) group, then eq. (45) per drop.

    power_w : scalar, float64 [B] or [B, S] (per-satellite P_s). Returns a list of
    :class:`precoders.common.DesignResult` (W complex128 [S, K, N_t], U, omega, iterations = 0).
    """
    from precoders.common import DesignResult

    scsis = list(scsis)
    p = np.asarray(power_w, dtype=np.float64)
    if p.ndim == 0:
        p = np.full(len(scsis), float(p))
    if p.shape[0] != len(scsis):
        raise ValueError(f"power_w must be a scalar or have one entry per drop ({len(scsis)}), "
                         f"got shape {p.shape}")
    groups: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(scsis):
        groups.setdefault(s.gamma.shape, []).append(i)
    results: list = [None] * len(scsis)
    for idx in groups.values():
        U, omega = predict(model, [scsis[i] for i in idx], p[idx])
        for j, i in enumerate(idx):
            W, rate, wrate = _closed_form_with_rate(scsis[i], U[j], omega[j], p[i], weights)
            results[i] = DesignResult(
                W=W, history={"sum_rate": np.array([rate]),
                              "weighted_sum_rate": np.array([wrate])},
                iterations=0, converged=True, name=METHOD_NAME, U=U[j], omega=omega[j])
    return results


def _closed_form_with_rate(scsi: Scsi, U: np.ndarray, omega: np.ndarray, power_w, weights
                           ) -> tuple[np.ndarray, float, float]:
    """W of the closed form (45) (as :func:`precoders.cdwmmse.closed_form_precoder`, same
    operations) and its sum rate and weighted sum rate (19), evaluated on the reduced model
    as the iterative designs evaluate theirs (the full-N_t evaluation took 0.24 s at K = 48,
    four times the design itself)."""
    from precoders.cdwmmse import cdwmmse_problem
    from precoders.common import (
        ReducedModel,
        check_scsi,
        link_stats,
        per_satellite_power,
        scale_to_power,
        single_thread_blas,
        user_weights,
    )
    from precoders.wstep import WStepSolver, paper_multipliers

    with single_thread_blas():
        check_scsi(scsi)
        power = per_satellite_power(power_w, scsi.num_sats)
        alpha = user_weights(weights, scsi.num_users)
        model = ReducedModel.from_scsi(scsi)
        prob, lam_num = cdwmmse_problem(model, U.astype(np.complex128), omega, alpha, power > 0)
        Wt = WStepSolver(model, prob).precoder(paper_multipliers(lam_num, power))
        Wt = scale_to_power(Wt, power)
        rates = link_stats(model, Wt).rates
        return model.expand(Wt), float(np.sum(rates)), float(np.sum(alpha * rates))


def design_dl(model: DTN, scsi: Scsi, power_w: float | np.ndarray,
              weights: np.ndarray | None = None):
    """MS-JoCDWM-DL (Algorithm 2) for one drop; power_w scalar or float64 [S]. See
    :func:`design_dl_batch`."""
    return design_dl_batch(model, [scsi], np.asarray(power_w, dtype=np.float64)[None],
                           weights)[0]


def design(scsi: Scsi, power_w: float | np.ndarray, weights: np.ndarray | None = None,
           model_path: str | Path | None = None, device: str | None = None, **_: object):
    """Registry entry 'ms-jocdwm-dl': :func:`design_dl` with a cached model loaded from
    ``model_path`` (default the shipped :data:`DEFAULT_MODEL_PATH`); the first load on the CPU
    sets torch to :data:`INFERENCE_THREADS` thread(s) for the process."""
    path = str(Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH)
    return design_dl(_cached_model(path, device), scsi, power_w, weights)
