"""``linksim train-dtn``: train the DTN (Adam, eq. 65) on a ``linksim dataset`` file.

Checkpoints after every epoch to ``<out>.ckpt`` (atomic); rerunning resumes from it.
``<out>`` holds the best-validation model for ``ms-jocdwm-dl``.
"""

from __future__ import annotations

import json

import click

from linksim.app.commands.common import (
    check_finite,
    json_option,
    out_file_callback,
    seed_option,
)


def _lr_callback(ctx: click.Context, param: click.Parameter, value: float) -> float:
    check_finite(value, "--lr", 0.0, 1.0)
    if value <= 0:
        raise click.BadParameter(f"must be in (0, 1] (got {value})", param_hint="--lr")
    return value


def _data_callback(ctx: click.Context, param: click.Parameter,
                   value: tuple[str, ...]) -> tuple[str, ...]:
    """Every --data must be a file written by ``linksim dataset`` (checked read-only)."""
    for path in value:
        _check_dataset_file(path)
    return value


def _check_dataset_file(value: str) -> None:
    import h5py

    try:
        ok = h5py.is_hdf5(value)
        if ok:
            with h5py.File(value, "r") as h5:
                ok = "features" in h5 and "U" in h5 and "feature_version" in h5.attrs
    except OSError:
        ok = False
    if not ok:
        raise click.BadParameter(f"{value} is not a dataset written by 'linksim dataset'",
                                 param_hint="--data")


def check_device(value: str | None) -> str | None:
    """None, 'cpu', or an available accelerator ('cuda', 'cuda:N', 'mps')."""
    if value is None:
        return value
    import torch

    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError):
        raise click.BadParameter(f"unknown torch device {value!r} (cpu, cuda, cuda:N, mps)",
                                 param_hint="--device") from None
    if dev.type == "cpu":
        return value
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise click.BadParameter(f"{value}: CUDA is not available here",
                                     param_hint="--device")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise click.BadParameter(f"{value}: only {torch.cuda.device_count()} CUDA "
                                     "device(s)", param_hint="--device")
        return value
    if dev.type == "mps" and getattr(torch.backends, "mps", None) is not None and \
            torch.backends.mps.is_available():
        return value
    raise click.BadParameter(f"{value}: device type {dev.type!r} is not available here",
                             param_hint="--device")


@click.command("train-dtn")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), required=True,
              multiple=True, callback=_data_callback,
              help="Dataset from 'linksim dataset'; repeat for several (any K and S: each "
                   "mini-batch holds one shape).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              default="linksim-out/train-dtn/model.pt", show_default=True,
              callback=out_file_callback, help="Model file (checkpoint: <out>.ckpt).")
@click.option("--epochs", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, callback=_lr_callback,
              show_default=True, help="Adam learning rate in (0, 1] (cosine-decayed to 5%).")
@click.option("--size", type=click.Choice(["small", "paper"]), default="small", show_default=True,
              help="Network size: small (d=64, N_b=2) or paper (d=128, N_b=4).")
@click.option("--loss", "loss_kind", type=click.Choice(["si-nmse", "cosine"]), default="si-nmse",
              show_default=True, help="Eq. (63) or eq. (64).")
@click.option("--device", default=None, help="torch device (default: cuda if available, else cpu).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="CPU threads for torch.")
@seed_option
@json_option
def train_dtn(data_file: tuple[str, ...], out_file: str, epochs: int, batch_size: int,
              lr: float, size: str, loss_kind: str, device: str | None, threads: int,
              seed: int, as_json: bool) -> None:
    """Train the dense Transformer network of MS-JoCDWM-DL (resumes from <out>.ckpt)."""
    import torch

    from linksim.app.commands.dataset_cmd import terminate_as_interrupt
    from precoders.dtn.train import TrainConfig
    from precoders.dtn.train import train_dtn as run

    check_device(device)
    terminate_as_interrupt()

    torch.set_num_threads(threads)
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, size=size, loss=loss_kind,
                       seed=seed)
    try:
        summary = run(list(data_file), out_file, tcfg, device=device)
    except RuntimeError as exc:
        raise _torch_write_error(exc, out_file) from None
    if as_json:
        click.echo(json.dumps({k: v for k, v in summary.items()}))
    else:
        click.echo(f"{summary['out']}: best val loss {summary['best_val_loss']:.4f} at epoch "
                   f"{summary['best_epoch']}, {summary['num_parameters']} parameters, "
                   f"{summary['seconds']:.0f} s", err=True)



def _torch_write_error(exc: RuntimeError, out_file: str) -> BaseException:
    """torch.save reports a failed write (a full disk) as a RuntimeError from its zip writer;
    turn it into the one-line OutputWriteError naming the model file (the checkpoint and the
    model are written atomically, so nothing half written is left). Other errors pass."""
    import errno
    import os
    from pathlib import Path

    from linksim.runtime.atomic import OutputWriteError

    text = str(exc)
    if "inline_container" not in text and "file write failed" not in text:
        return exc
    folder = Path(out_file).resolve().parent
    try:
        full = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize < 1 << 20
    except OSError:
        full = False
    code = errno.ENOSPC if full else errno.EIO
    err = OutputWriteError(code, os.strerror(code))
    err.filename = f"{out_file} (or its checkpoint {out_file}.ckpt)"
    return err
