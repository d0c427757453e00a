"""Refuse a ``linksim figure`` / ``linksim dataset`` run that cannot fit in this machine's free
memory, before any work: one line naming the option to lower and what would fit (the
estimates and their derivation: :mod:`linksim.app.memory_estimate`).

Counted: the tasks in flight (``min(workers, drops)``; each new worker process adds
BASE_PROCESS_BYTES) and, for the dataset, the assembly of the file in the calling process.
On a remote Dask scheduler the workers' memory is not this machine's: only what the calling
process holds is checked there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import click

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f}"


def _value(cfg: LinkConfig, field: str) -> object:
    value = getattr(cfg, field)
    return list(value) if isinstance(value, tuple) else value


def _free() -> float | None:
    from linksim.app.commands.common import memory_available_bytes

    return memory_available_bytes()


def _largest_fitting(need: Callable[[int], float], hi: int, free: float) -> int:
    """The largest n in [0, hi] with need(n) <= free (need increasing in n), -1 if none."""
    if need(0) > free:
        return -1
    lo = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need(mid) <= free:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _check_workers(per_task: float, in_flight: int, new_processes: bool, free: float,
                   extra: float = 0.0) -> None:
    """Refuse ``in_flight`` tasks of ``per_task`` bytes (plus ``extra`` in the caller)."""
    from linksim.app.memory_estimate import BASE_PROCESS_BYTES

    per_worker = per_task + (BASE_PROCESS_BYTES if new_processes else 0.0)
    if extra + per_worker * in_flight > free:
        fit = max(1, int((free - extra) // per_worker))
        raise click.BadParameter(
            f"{in_flight} workers need about {_gb(per_worker * in_flight + extra)} GB "
            f"({_gb(per_worker)} GB each), {_gb(free)} GB are free: lower --workers to "
            f"{fit} or fewer", param_hint="--workers")


def figure_config(name: str, cfg: LinkConfig) -> LinkConfig:
    """The configuration of the largest x point of figure ``name`` (the one that decides its
    memory): its own K (Figs. 5, 6, 10, 12) or S (Fig. 9)."""
    from validation import figures as f

    users = {"fig5": f.FIG5_USERS, "fig6": f.FIG6_USERS, "fig10": max(f.FIG10_USERS),
             "fig12": max(f.FIG12_USERS)}
    if name in users:
        return cfg.replace(num_users=int(users[name]))
    if name == "fig9":
        return cfg.replace(num_sats=int(max(f.FIG9_SATS)))
    return cfg


def check_figure_memory(name: str, cfg: LinkConfig, drops: int | None, workers: int,
                        scheduler: str | None, measured_symbols: int | None,
                        owned: tuple[str, ...] = ()) -> None:
    """Refuse figure ``name`` (figs. 5-12; Fig. 2 is geometry only) when its drops in flight
    cannot fit in the free memory; ``owned``: the config fields the figure sets itself."""
    from linksim.app.memory_estimate import figure_task_bytes

    if name == "fig2":
        return
    free = _free()
    if free is None or (scheduler is not None and scheduler != "local"):
        return
    from validation import figure_measured as fm
    from validation import figures as f

    n = int(name[3:])
    measured = name in {f"fig{i}" for i in range(5, 11)}
    m = (fm.FIGURE_MEASURED_SYMBOLS if measured_symbols is None else int(measured_symbols)) \
        if measured else 0
    big = figure_config(name, cfg)
    task = figure_task_bytes(big, name, m)
    if task > free:
        fields = [fld for fld in ("num_users", "num_sats", "antenna_size") if fld not in owned]
        now = ", ".join(f"{fld} {_value(big, fld)}" for fld in fields)
        if m > 0 and figure_task_bytes(big, name, 0) <= free:
            fit = _largest_fitting(lambda x: figure_task_bytes(big, name, x), m, free)
            raise click.BadParameter(
                f"one drop of {name} needs about {_gb(task)} GB (its waveform-measured series, "
                f"S K^2 M (N + N_cp) samples), {_gb(free)} GB are free: lower "
                f"--measured-symbols (now {m}; at most {fit} fits; 0 plots the analytical "
                f"rate (19) only) or --set {', '.join(fields)} (now {now})",
                param_hint="--measured-symbols")
        raise click.BadParameter(
            f"one drop of {name} needs about {_gb(task)} GB (designs on S K N_t antennas"
            f"{' and its measured series' if m else ''}), {_gb(free)} GB are free: lower "
            f"--set {', '.join(fields)} (now {now})"
            f"{' or --measured-symbols (now %d)' % m if m else ''}", param_hint="--set")
    num_drops = f.DEFAULT_DROPS[n] if drops is None else int(drops)
    in_flight = 1 if n == 12 else max(1, min(int(workers), num_drops))
    _check_workers(task, in_flight, in_flight > 1 or scheduler is not None, free)


def check_dataset_memory(cfg: LinkConfig, drops: int, workers: int, scheduler: str | None,
                         mix: bool = False) -> None:
    """Refuse ``linksim dataset`` when the file's assembly or the drops in flight cannot fit
    in the free memory (with ``mix``: the largest antenna array of the mix)."""
    from linksim.app.memory_estimate import (
        dataset_assembly_bytes,
        dataset_drop_result_bytes,
        dataset_task_bytes,
    )

    free = _free()
    if free is None:
        return
    label_cfg = cfg
    if mix:
        from precoders.dtn.dataset import MIX_ANTENNA_SIZES

        nx, ny = max(MIX_ANTENNA_SIZES, key=lambda a: a[0] * a[1])
        if nx * ny > cfg.antenna_size[0] * cfg.antenna_size[1]:
            label_cfg = cfg.replace(antenna_size=(nx, ny))
    assembly = dataset_assembly_bytes(cfg, drops)
    if assembly > free:
        per_drop = dataset_assembly_bytes(cfg, 1)
        raise click.BadParameter(
            f"{drops} drops need about {_gb(assembly)} GB to assemble the file "
            f"({dataset_drop_result_bytes(cfg):.0f} bytes per drop, held about 3 times), "
            f"{_gb(free)} GB are free: lower --drops to at most {int(free // per_drop)} "
            "(or make several datasets)", param_hint="--drops")
    local = scheduler is None or scheduler == "local"
    if not local:
        return
    task = dataset_task_bytes(label_cfg)
    if task + assembly > free:
        raise click.BadParameter(
            f"one drop's labels need about {_gb(task)} GB (designs on S K N_t antennas), "
            f"{_gb(free)} GB are free: lower --users (now {cfg.num_users}), --sats (now "
            f"{cfg.num_sats}) or antenna_size (now {list(label_cfg.antenna_size)})",
            param_hint="--users")
    in_flight = max(1, min(int(workers), int(drops)))
    _check_workers(task, in_flight, in_flight > 1 or scheduler is not None, free, assembly)
