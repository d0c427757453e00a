"""Options shared by every subcommand: --config, --set, --seed, --out, --json; the lazy
choice of a registered precoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click


def config_options(func: Callable) -> Callable:
    """Add ``--config FILE`` and repeatable ``--set name=value``."""
    func = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                        help="Override one config field (TOML value syntax); repeatable.")(func)
    func = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                        default=None, help="TOML config file (defaults: Table I).")(func)
    return func


def seed_option(func: Callable) -> Callable:
    return click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
                        help="Root seed; every drop gets its own SeedSequence child.")(func)


def out_option(command: str) -> Callable:
    def deco(func: Callable) -> Callable:
        return click.option("--out", "out_dir", type=click.Path(file_okay=False),
                            default=f"linksim-out/{command}", show_default=True,
                            help="Output directory.")(func)
    return deco


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON document on stdout (logs go to stderr).")(func)


class PrecoderChoice(click.Choice):
    """A click choice among the methods of the precoder registry :data:`precoders.PRECODERS`
    (methods added with :func:`precoders.register` included).

    The registry (numpy, scipy) is imported only when a value is checked or the choices are
    listed, never for ``--help`` (give the option a ``metavar``)."""

    name = "precoder"

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:
        import precoders

        return tuple(precoders.PRECODERS)

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns; the registry rules
        pass


def load_cfg(config_path: str | None, sets: tuple[str, ...], **overrides: Any):
    """The validated config from defaults, file, --set and command options (None = unset)."""
    from linksim.config import load_config

    return load_config(config_path, overrides=overrides, sets=sets)


def ensure_dir(path: str | Path) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def sweep_options(func: Callable) -> Callable:
    """Click decorator: ``--workers N`` and ``--scheduler ADDR|local`` for sweep commands.

    The command receives ``workers: int | None`` and ``scheduler: str | None`` and passes
    them to :func:`run_sweep`.
    """
    func = click.option("--scheduler", "scheduler", default=None, metavar="ADDR|local",
                        help="Run on a Dask cluster: scheduler address tcp://host:port, or "
                             "'local' to start a LocalCluster of --workers processes.")(func)
    func = click.option("--workers", "workers", type=click.IntRange(min=1), default=None,
                        help="Worker processes (default: one per core; 1 = in-process).")(func)
    return func



class PrecoderListChoice(PrecoderChoice):
    """A registered method, a comma list of them, or ``all`` (``linksim emulate --precoder``).

    Returns the text as given after checking every listed name against the registry
    (:attr:`choices` is the registry, as for :class:`PrecoderChoice`); ``all`` is resolved by
    :func:`linksim.app.emulate_compare.resolve_methods`."""

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if text == "all":
            return text
        names = [p.strip() for p in text.split(",")]
        if len(names) == 1:
            return super().convert(text, param, ctx)
        for name in names:
            super().convert(name, param, ctx)
        if len(set(names)) != len(names):
            self.fail(f"lists a method twice (got {text!r})", param, ctx)
        return ",".join(names)
