"""``linksim train-dtn``: train the DTN (Adam, eq. 65) on a ``linksim dataset`` file.

Checkpoints after every epoch to ``<out>.ckpt`` (atomic); rerunning resumes from it.
``<out>`` holds the best-validation model for ``ms-jocdwm-dl``.
"""

from __future__ import annotations

import json

import click

from linksim.app.commands.common import json_option, seed_option


@click.command("train-dtn")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False), required=True,
              multiple=True,
              help="Dataset from 'linksim dataset'; repeat for several (any K and S: each "
                   "mini-batch holds one shape).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              default="linksim-out/train-dtn/model.pt", show_default=True,
              help="Model file (checkpoint: <out>.ckpt).")
@click.option("--epochs", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3,
              show_default=True, help="Adam learning rate (cosine-decayed to 5%).")
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

    terminate_as_interrupt()

    torch.set_num_threads(threads)
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, size=size, loss=loss_kind,
                       seed=seed)
    summary = run(list(data_file), out_file, tcfg, device=device)
    if as_json:
        click.echo(json.dumps({k: v for k, v in summary.items()}))
    else:
        click.echo(f"{summary['out']}: best val loss {summary['best_val_loss']:.4f} at epoch "
                   f"{summary['best_epoch']}, {summary['num_parameters']} parameters, "
                   f"{summary['seconds']:.0f} s", err=True)

