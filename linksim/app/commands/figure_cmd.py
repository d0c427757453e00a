"""``linksim figure NAME``: reproduce a figure of the paper (Figs. 2, 5-12).

Each figure is a function ``run(cfg, out_dir: Path, drops: int | None, seed: int, workers: int,
as_json: bool, *, scheduler=None) -> dict`` that writes the PNG and the numbers behind it
(CSV/HDF5) under ``out_dir`` and returns a JSON-able summary. The registry maps names to
``module:function``; the module is imported only when its figure runs, so
``linksim figure --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from linksim.app.commands.common import (
    check_geometry,
    check_writable_dir,
    config_options,
    given,
    json_option,
    load_cfg,
    scheduler_callback,
    seed_option,
)

FIGURES: dict[str, str] = {
    "fig2": "validation.fig2:run",
    **{f"fig{n}": f"validation.figures:fig{n}" for n in range(5, 13)},
}

#: config fields each figure sets itself (its sweep axis or its fixed K): --set of them would
#: be silently replaced, so it is refused
FIGURE_OWNS: dict[str, tuple[str, ...]] = {
    "fig2": ("num_users",), "fig5": ("num_users", "power_dbw"),
    "fig6": ("num_users", "power_dbw"), "fig7": ("kappa_model", "kappa_db"),
    "fig8": ("phase_error_var_rad2",), "fig9": ("num_sats",), "fig10": ("num_users",),
    "fig12": ("num_users",),
}

#: the figures with a waveform-measured series (validation.figure_measured)
MEASURED_FIGURES = tuple(f"fig{n}" for n in range(5, 11))


def _import(module_name: str):
    """Import ``module_name``; when the installed package map lacks the checkout's top-level
    package (an editable install made before it existed), retry from the checkout root."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        root = Path(__file__).resolve().parents[2]
        if exc.name != top or not (root / top / "__init__.py").is_file():
            raise
        sys.path.append(str(root))
        return importlib.import_module(module_name)


def resolve_figure(name: str) -> Callable[..., dict[str, Any]]:
    """The run function of figure ``name``; click.UsageError when it is not available yet."""
    module_name, attr = FIGURES[name].split(":")
    try:
        module = _import(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise click.UsageError(f"figure {name} is not available yet "
                                   f"(module {module_name} is missing)") from None
        raise
    func = getattr(module, attr, None)
    if func is None:
        raise click.UsageError(f"figure {name} is not available yet "
                               f"({module_name} has no {attr})")
    return func


@click.command()
@click.argument("name", type=click.Choice(list(FIGURES)), metavar="NAME")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: linksim-out/figure/NAME].")
@click.option("--drops", type=click.IntRange(min=1), default=None,
              help="Monte Carlo drops [default: the figure's own].")
@seed_option
@click.option("--workers", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Worker processes (results do not depend on it).")
@click.option("--scheduler", default=None, metavar="ADDR|local", callback=scheduler_callback,
              help="Run the drops on a Dask cluster (tcp://host:port, or 'local').")
@click.option("--measured-symbols", type=click.IntRange(0, 1000), default=None,
              help="Figs. 5-10: OFDM symbols per drop of the waveform-measured series "
                   "[default: 2]; 0 plots the analytical rate (19) only.")
@json_option
@config_options
@click.pass_context
def figure(ctx: click.Context, name: str, out_dir: str | None, drops: int | None, seed: int,
           workers: int, scheduler: str | None, measured_symbols: int | None, as_json: bool,
           config_path: str | None, sets: tuple[str, ...]) -> None:
    """Reproduce figure NAME (fig2, fig5 ... fig12): PNG plus CSV/HDF5 numbers under --out."""
    from linksim.config import parse_override

    cfg = load_cfg(config_path, sets)
    for text in sets:
        field = parse_override(text)[0]
        if field in FIGURE_OWNS.get(name, ()):
            raise click.BadParameter(f"{name} sets {field} itself (its sweep or fixed value); "
                                     f"drop --set {field}", param_hint="--set")
    if name == "fig12" and (given(ctx, "workers") or given(ctx, "scheduler")):
        raise click.BadParameter("fig12 times every design in this process, one at a time",
                                 param_hint="--scheduler" if given(ctx, "scheduler")
                                 else "--workers")
    out = Path(check_writable_dir(out_dir, "--out")) if out_dir is not None else \
        Path("linksim-out/figure") / name
    run = resolve_figure(name)
    extra = {}
    if measured_symbols is not None:
        if name not in MEASURED_FIGURES:
            raise click.BadParameter(f"applies to {', '.join(MEASURED_FIGURES)} only "
                                     f"(got {name})", param_hint="--measured-symbols")
        extra["measured_symbols"] = measured_symbols
    from linksim.app.commands.memory_check import check_figure_memory

    check_figure_memory(name, cfg, drops, workers, scheduler, measured_symbols,
                        FIGURE_OWNS.get(name, ()))  # before any work: refuse what cannot fit
    if "num_sats" not in FIGURE_OWNS.get(name, ()):
        check_geometry(cfg, seed)          # an impossible constellation: one line, no output
    from linksim.runtime.atomic import atomic_group

    with atomic_group():  # the PNG, CSV and HDF5 appear together or not at all
        summary = run(cfg, out, drops, seed, workers, as_json, scheduler=scheduler, **extra)
    if isinstance(summary, dict) and "provenance" not in summary:  # figures without their own
        from linksim.runtime.provenance import provenance

        summary["provenance"] = provenance(cfg, seed, figure=name, drops=drops,
                                           workers=workers)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if isinstance(summary, dict) and summary.get("headline"):
        click.echo(f"{name}: {summary['headline']}")
    files = summary.get("files", {}) if isinstance(summary, dict) else {}
    for path in (files.values() if isinstance(files, dict) else files):
        click.echo(f"wrote {path}")
