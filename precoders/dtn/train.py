"""Supervised training of the DTN on MS-JoCDWM labels, eq. (65), with Adam (Sec. IV).

Samples are (drop, power level) pairs of a dataset written by :mod:`precoders.dtn.dataset`;
the validation set is the last ``val_fraction`` of the drops (never the same drop in both).
Labels are normalised to unit Frobenius norm per sample (the loss is scale invariant, eq. 62).

Files: ``<out>.ckpt`` is the full checkpoint (model, optimiser, LR schedule, RNG state, history),
written atomically after every epoch; a rerun with the same ``out`` resumes from it (and
``epochs`` may be raised to continue). ``<out>`` holds the model for inference: the weights
of the epoch with the lowest validation loss, the model config (d, N_b, heads, ...), the training
config and the history; it is rewritten atomically after every epoch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from linksim.runtime.atomic import atomic_path
from precoders.dtn.loss import LAMBDA, training_loss
from precoders.dtn.network import DTN, SIZES, DTNConfig, count_parameters, default_device

CHECKPOINT_KIND = "linksim-dtn"


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (stored in the checkpoint and the model file).

    epochs; batch_size; lr : Adam learning rate, cosine-decayed to lr * lr_final_ratio;
    weight_decay; grad_clip : max gradient norm (0 = off); lam : lambda of eq. (65);
    loss : 'si-nmse' (eq. 63) or 'cosine' (eq. 64); val_fraction : share of drops held out;
    seed : torch seed of init and shuffling; size : the DTNConfig preset name.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    lr_final_ratio: float = 0.05
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    lam: float = LAMBDA
    loss: str = "si-nmse"
    val_fraction: float = 0.1
    seed: int = 0
    size: str = "small"


def _normalise(x: np.ndarray) -> np.ndarray:
    axes = tuple(range(1, x.ndim))
    norm = np.sqrt(np.sum(np.abs(x) ** 2, axis=axes, keepdims=True))
    return x / np.maximum(norm, 1e-30)


def prepare_tensors(arrays: dict, val_fraction: float) -> tuple[dict, dict]:
    """Split a loaded dataset by drop into train / validation tensors.

    arrays : :func:`precoders.dtn.dataset.load_arrays` output. Returns two dicts with
    x float32 [M, S, K, F], U complex64 [M, K, S+1] and omega float32 [M, K] (unit norm).
    """
    done = arrays["done"]
    idx = np.flatnonzero(done)
    if len(idx) < 2:
        raise ValueError("the dataset needs at least 2 finished drops (train + validation)")
    n_val = min(len(idx) - 1, max(1, int(round(val_fraction * len(idx)))))
    parts = {"train": idx[:-n_val], "val": idx[-n_val:]}
    out = []
    for name in ("train", "val"):
        sel = parts[name]
        x = arrays["features"][sel]
        U = arrays["U"][sel]
        w = arrays["omega"][sel]
        x = x.reshape(-1, *x.shape[2:])
        U = _normalise(U.reshape(-1, *U.shape[2:]).astype(np.complex64))
        w = _normalise(w.reshape(-1, *w.shape[2:])).astype(np.float32)
        out.append({"x": torch.from_numpy(np.ascontiguousarray(x)),
                    "U": torch.from_numpy(np.ascontiguousarray(U)),
                    "omega": torch.from_numpy(np.ascontiguousarray(w))})
    return out[0], out[1]


def _lr_factor(step: int, total: int, final_ratio: float) -> float:
    t = min(step / max(total, 1), 1.0)
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


@torch.no_grad()
def evaluate(model: DTN, data: dict, tcfg: TrainConfig, device: torch.device,
             batch_size: int = 512) -> float:
    """Mean eq. (65) loss of ``model`` over ``data`` (dict of x, U, omega tensors)."""
    model.eval()
    total, n = 0.0, data["x"].shape[0]
    for a in range(0, n, batch_size):
        sl = slice(a, a + batch_size)
        out = model(data["x"][sl].to(device))
        loss = training_loss(out.U, data["U"][sl].to(device), out.omega,
                             data["omega"][sl].to(device), tcfg.lam, tcfg.loss)
        total += float(loss) * (min(n, a + batch_size) - a)
    return total / max(n, 1)


def checkpoint_path(out: str | Path) -> Path:
    """The full (resumable) checkpoint beside the model file: ``<out>.ckpt``."""
    out = Path(out)
    return out.with_name(out.name + ".ckpt")


def _save(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_training_arrays(data: str | Path | Sequence[str | Path]) -> dict:
    """:func:`precoders.dtn.dataset.load_arrays` of one file, or several files with equal
    (S, K) concatenated along the drop axis (attrs of the first, num_drops summed)."""
    from precoders.dtn.dataset import load_arrays

    paths = [data] if isinstance(data, (str, Path)) else list(data)
    parts = [load_arrays(p) for p in paths]
    if len(parts) == 1:
        return parts[0]
    shapes = {a["features"].shape[1:] for a in parts}
    if len(shapes) != 1:
        raise ValueError(f"datasets must share (levels, S, K, F) (got {sorted(shapes)})")
    out = {k: np.concatenate([a[k] for a in parts]) for k in ("features", "U", "omega", "wsr",
                                                               "done")}
    out["attrs"] = dict(parts[0]["attrs"])
    out["attrs"]["num_drops"] = int(sum(int(a["attrs"]["num_drops"]) for a in parts))
    out["attrs"]["seeds"] = [int(a["attrs"]["seed"]) for a in parts]
    return out


def load_groups(data: str | Path | Sequence[str | Path]) -> list[dict]:
    """The datasets ``data`` grouped by shape (levels, S, K, F): files of one shape are
    concatenated (:func:`load_training_arrays`), groups keep the order of first appearance."""
    from precoders.dtn.dataset import load_arrays

    paths = [data] if isinstance(data, (str, Path)) else list(data)
    by_shape: dict[tuple, list] = {}
    for p in paths:
        with_shape = load_arrays(p)["features"].shape[1:]
        by_shape.setdefault(with_shape, []).append(p)
    groups = []
    for files in by_shape.values():
        arrays = load_training_arrays(files)
        arrays["paths"] = [str(f) for f in files]
        groups.append(arrays)
    return groups


def _batches(groups: list[dict], batch_size: int, gen: torch.Generator
             ) -> list[tuple[int, torch.Tensor]]:
    """One epoch of mini-batches over shape groups: each group's samples shuffled and cut into
    batches of ``batch_size`` (one shape per batch), then the batches of all groups shuffled."""
    out = []
    for g, data in enumerate(groups):
        order = torch.randperm(data["x"].shape[0], generator=gen)
        out += [(g, order[a:a + batch_size]) for a in range(0, len(order), batch_size)]
    perm = torch.randperm(len(out), generator=gen).tolist()
    return [out[i] for i in perm]


def train_dtn(data: str | Path | Sequence[str | Path], out: str | Path,
              tcfg: TrainConfig | None = None,
              model_cfg: DTNConfig | None = None, device: str | None = None,
              progress: bool | None = None, max_epochs_this_run: int | None = None,
              log=None) -> dict:
    """Train (or resume training of) the DTN on dataset ``data``; write ``out`` and its checkpoint.

    Parameters
    ----------
    data : HDF5 dataset (:mod:`precoders.dtn.dataset`), or several, of any (S, K): files of
           one shape are concatenated, every mini-batch holds one shape (:func:`_batches`),
           the validation loss is the sample-weighted mean over the shapes' held-out drops
    out : model file; ``<out>.ckpt`` is the resumable checkpoint
    tcfg : TrainConfig (default TrainConfig()); model_cfg : default SIZES[tcfg.size]
    device : 'cpu', 'cuda', ...; default CUDA when available, else CPU
    max_epochs_this_run : stop after this many epochs in this call (resume later)
    log : callable(str) for one line per epoch (default: print to stderr)

    Returns
    -------
    dict: epochs_done, best_epoch, best_val_loss, history (list of per-epoch dicts),
    num_parameters, train_samples, val_samples, seconds (this run), device, out, provenance
    (linksim.runtime.provenance record of this run, also stored under "provenance" in the
    model file and the checkpoint; its config is {"train_config", "model_config"}).
    """
    from linksim.runtime.progress import Progress

    tcfg = tcfg or TrainConfig()
    if tcfg.size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)} (got {tcfg.size!r})")
    model_cfg = model_cfg or SIZES[tcfg.size]
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    dev = default_device(device)
    out = Path(out)
    ckpt_file = checkpoint_path(out)

    groups = load_groups(data)
    split = [prepare_tensors(a, tcfg.val_fraction) for a in groups]
    train_groups = [t for t, _ in split]
    val_groups = [v for _, v in split]
    paths = [data] if isinstance(data, (str, Path)) else list(data)
    n_train = sum(int(t["x"].shape[0]) for t in train_groups)
    n_val = sum(int(v["x"].shape[0]) for v in val_groups)
    first = groups[0]["attrs"]
    data_info = {"path": [str(p) for p in paths],
                 "num_drops": int(sum(int(a["attrs"]["num_drops"]) for a in groups)),
                 "num_users": int(first["num_users"]), "num_sats": int(first["num_sats"]),
                 "seed": int(first["seed"]), "config": first["config"],
                 "groups": [{"num_users": int(a["attrs"]["num_users"]),
                             "num_sats": int(a["attrs"]["num_sats"]),
                             "num_drops": int(a["attrs"]["num_drops"]),
                             "label_w_step": str(a["attrs"].get("label_w_step", "paper")),
                             "label_fn": str(a["attrs"].get("label_fn", "")),
                             "files": a["paths"]} for a in groups],
                 "train_samples": n_train, "val_samples": n_val}

    torch.manual_seed(tcfg.seed)
    model = DTN(model_cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    history: list[dict] = []
    start_epoch = 0
    best = {"val_loss": math.inf, "epoch": -1, "state": None}
    if ckpt_file.exists():
        ck = torch.load(ckpt_file, map_location=dev, weights_only=False)
        if ck.get("kind") != CHECKPOINT_KIND:
            raise ValueError(f"{ckpt_file} is not a DTN checkpoint")
        model_cfg = DTNConfig(**ck["model_config"])
        saved_t = TrainConfig(**ck["train_config"])
        tcfg = replace(saved_t, epochs=tcfg.epochs)
        model = DTN(model_cfg).to(dev)
        model.load_state_dict(ck["model_state"])
        opt = torch.optim.Adam(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
        opt.load_state_dict(ck["optimizer_state"])
        history = list(ck["history"])
        start_epoch = int(ck["epoch"])
        best = {"val_loss": ck["best_val_loss"], "epoch": ck["best_epoch"],
                "state": ck["best_state"]}
        torch.set_rng_state(ck["torch_rng_state"])
        log(f"resuming from {ckpt_file} after epoch {start_epoch}")

    from linksim.runtime.provenance import provenance

    # what produced the model: version, commit, command line, the effective training and
    # network configs, seed, date, numeric settings (torch threads, device)
    prov = provenance({"train_config": asdict(tcfg), "model_config": model_cfg.to_dict()},
                      tcfg.seed, data=[str(p) for p in paths], device=str(dev),
                      torch_threads=int(torch.get_num_threads()), torch=torch.__version__,
                      resumed_from_epoch=int(start_epoch))
    n = n_train
    steps_per_epoch = sum(max(1, math.ceil(int(t["x"].shape[0]) / tcfg.batch_size))
                          for t in train_groups)
    total_steps = tcfg.epochs * steps_per_epoch
    t_run = time.monotonic()
    last_epoch = tcfg.epochs
    if max_epochs_this_run is not None:
        last_epoch = min(last_epoch, start_epoch + max_epochs_this_run)
    for epoch in range(start_epoch, last_epoch):
        t0 = time.monotonic()
        model.train()
        gen = torch.Generator().manual_seed(tcfg.seed * 100_003 + epoch)
        batches = _batches(train_groups, tcfg.batch_size, gen)
        running, seen = 0.0, 0
        with Progress(steps_per_epoch, f"epoch {epoch + 1}/{tcfg.epochs}", enabled=progress) as bar:
            for b, (g, sel) in enumerate(batches):
                step = epoch * steps_per_epoch + b
                for group in opt.param_groups:
                    group["lr"] = tcfg.lr * _lr_factor(step, total_steps, tcfg.lr_final_ratio)
                x, U, w = (train_groups[g][k][sel].to(dev) for k in ("x", "U", "omega"))
                pred = model(x)
                loss = training_loss(pred.U, U, pred.omega, w, tcfg.lam, tcfg.loss)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if tcfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
                opt.step()
                running += float(loss.detach()) * len(sel)
                seen += len(sel)
                bar.label = f"epoch {epoch + 1}/{tcfg.epochs} train {running / seen:.4f}"
                bar.update()
        val_loss = sum(evaluate(model, v, tcfg, dev) * int(v["x"].shape[0])
                       for v in val_groups) / max(n_val, 1)
        rec = {"epoch": epoch + 1, "train_loss": running / max(seen, 1), "val_loss": val_loss,
               "lr": opt.param_groups[0]["lr"], "seconds": time.monotonic() - t0}
        history.append(rec)
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "epoch": epoch + 1,
                    "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        log(f"epoch {epoch + 1}/{tcfg.epochs}: train {rec['train_loss']:.4f}  "
            f"val {val_loss:.4f}  ({rec['seconds']:.1f} s)")
        common = {"kind": CHECKPOINT_KIND, "model_config": model_cfg.to_dict(),
                  "train_config": asdict(tcfg), "data": data_info, "history": history,
                  "best_epoch": best["epoch"], "best_val_loss": best["val_loss"],
                  "provenance": prov}
        _save(common | {"epoch": epoch + 1,
                        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                        "optimizer_state": opt.state_dict(), "best_state": best["state"],
                        "torch_rng_state": torch.get_rng_state()}, ckpt_file)
        _save(common | {"model_state": best["state"]}, out)
    return {"epochs_done": len(history), "best_epoch": best["epoch"],
            "best_val_loss": best["val_loss"], "history": history,
            "num_parameters": count_parameters(model), "train_samples": int(n),
            "val_samples": n_val, "seconds": time.monotonic() - t_run,
            "device": str(dev), "out": str(out), "provenance": prov}
