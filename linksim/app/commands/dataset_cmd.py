"""``linksim dataset``: generate the DTN training dataset (features + MS-JoCDWM labels, HDF5).

One linksim.runtime.sweep task per drop; finished drops are kept in the sweep store
``<out stem>.store.sqlite`` (resumable: rerunning the same command continues with the drops not
yet done) and ``<out>`` is written atomically when every drop is finished.
"""

from __future__ import annotations

import json
import sys

import click

from linksim.app.commands.common import (
    check_geometry,
    config_options,
    json_option,
    load_cfg,
    out_file_callback,
    scheduler_callback,
    seed_option,
)


@click.command("dataset")
@click.option("--drops", type=click.IntRange(min=1), required=True,
              help="Number of drops N (each gives one sample per power level).")
@click.option("--users", type=click.IntRange(min=1), default=None,
              help="Users K (default: config num_users).")
@click.option("--sats", type=click.IntRange(min=1), default=None,
              help="Satellites S (default: config num_sats).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              default="linksim-out/dataset/data.h5", show_default=True,
              callback=out_file_callback,
              help="Output HDF5 file (written when complete; finished drops are kept in "
                   "<out stem>.store.sqlite until then).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (with --scheduler local: Dask workers); the arrays "
                   "are identical for any count and back end (the provenance attributes "
                   "record the run).")
@click.option("--scheduler", default=None, metavar="ADDR|local", callback=scheduler_callback,
              help="Run on a Dask cluster: scheduler address tcp://host:port, or 'local' to "
                   "start a LocalCluster of --workers processes.")
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help="Stop after this many new drops (kept in the store; rerun to continue).")
@click.option("--mix", is_flag=True, default=False,
              help="Vary the link per drop: each of phase_error_var_rad2 (0..3 rad^2), a fixed "
                   "kappa_db (-10..30 dB) and antenna_size (8x8, 16x16, 32x32) is drawn with "
                   "probability 1/2, else the config value.")
@seed_option
@config_options
@json_option
def dataset(drops: int, users: int | None, sats: int | None, out_file: str, workers: int,
            scheduler: str | None, limit: int | None, mix: bool, seed: int,
            config_path: str | None, sets: tuple[str, ...], as_json: bool) -> None:
    """Generate the DTN training dataset: per drop, the features (eq. 56-57) at each of the
    seven power levels and the MS-JoCDWM labels (U, omega) of the config's w_step (default
    'exact'). The label array size is the config's antenna_size (e.g. --set
    antenna_size=[8,8]); --mix varies the link per drop."""
    from precoders.dtn.dataset import generate_dataset, label_drop, label_drop_mixed

    terminate_as_interrupt()

    cfg = load_cfg(config_path, sets, num_users=users, num_sats=sats)
    from linksim.app.commands.memory_check import check_dataset_memory

    check_dataset_memory(cfg, drops, workers, scheduler, mix)  # refuse what cannot fit
    if not mix:                            # --mix draws its own (K, S) per drop
        check_geometry(cfg, seed)
    summary = generate_dataset(out_file, cfg, drops, seed=seed, workers=workers,
                               max_new_drops=limit, scheduler=scheduler,
                               label_fn=label_drop_mixed if mix else label_drop)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        state = "complete" if summary["complete"] else "partial (rerun to continue)"
        print(f"{summary['path']}: {summary['done']}/{summary['num_drops']} drops done, "
              f"{summary['computed']} computed now, {state}", file=sys.stderr)


def terminate_as_interrupt() -> None:
    """Treat SIGTERM like Ctrl-C, so that ``kill`` keeps the finished work (files closed)."""
    import signal
    from types import FrameType

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
