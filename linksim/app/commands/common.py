"""Options shared by every subcommand: --config, --set, --seed, --out, --json; the lazy
choice of a registered precoder; the checks of the bad-input contract (validate before any
work: one line naming the option, exit 2, nothing written)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

import click

SEED_MAX = 2**64 - 1


def config_options(func: Callable) -> Callable:
    """Add ``--config FILE`` and repeatable ``--set name=value``."""
    func = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                        help="Override one config field (TOML value syntax); repeatable.")(func)
    func = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                        default=None, help="TOML config file (defaults: Table I).")(func)
    return func


def seed_option(func: Callable) -> Callable:
    return click.option("--seed", type=click.IntRange(min=0, max=SEED_MAX), default=1,
                        show_default=True,
                        help="Root seed in [0, 2^64-1]; every drop gets its own SeedSequence "
                             "child.")(func)


def out_option(command: str) -> Callable:
    def deco(func: Callable) -> Callable:
        return click.option("--out", "out_dir", type=click.Path(file_okay=False),
                            default=f"linksim-out/{command}", show_default=True,
                            callback=out_dir_callback, help="Output directory.")(func)
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


def check_geometry(cfg, seed: int) -> None:
    """Refuse, before any work or output, a scenario no drop can have: draws drop 0 of
    ``seed`` (the run's own first draw, milliseconds) and lets its ConfigError (e.g.
    ``num_sats`` above what the disc sees above ``min_elevation_deg``) end the command with
    its one-line message and exit code 2."""
    from linksim.scenario import draw_drop

    draw_drop(cfg, seed, 0)


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
                        callback=scheduler_callback,
                        help="Run on a Dask cluster: scheduler address tcp://host:port, or "
                             "'local' to start a LocalCluster of --workers processes.")(func)
    func = click.option("--workers", "workers", type=click.IntRange(min=1), default=None,
                        help="Worker processes (default: one per core; 1 = in-process).")(func)
    return func



# ----------------------------------------------------------------------------- checks
def given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` (its parameter name) was given on the command line."""
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE


def check_writable_dir(path: str | Path, option: str) -> Path:
    """``path`` is (or can be created as) a writable directory; nothing is created here."""
    text = str(path)
    if not text.strip():
        raise click.BadParameter("must not be empty", param_hint=option)
    p = Path(text)
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe == p and p.exists() and not p.is_dir():
        raise click.BadParameter(f"{p} exists and is not a directory", param_hint=option)
    if probe != p and not probe.is_dir():
        raise click.BadParameter(f"cannot create {p}: {probe} is not a directory",
                                 param_hint=option)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write in {probe} (permission denied or read-only)",
                                 param_hint=option)
    return p


def check_writable_file(path: str | Path, option: str) -> Path:
    """``path`` can be written as a file (its directory exists or can be created)."""
    text = str(path)
    if not text.strip():
        raise click.BadParameter("must not be empty", param_hint=option)
    p = Path(text)
    if p.is_dir() or text.endswith(("/", os.sep)):
        raise click.BadParameter(f"{p} is a directory; give a file name", param_hint=option)
    check_writable_dir(p.parent if str(p.parent) else ".", option)
    return p


def out_dir_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return value
    check_writable_dir(value, "--out")
    return value


def out_file_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return value
    check_writable_file(value, "--out")
    return value


def check_scheduler(value: str | None, option: str = "--scheduler",
                    timeout_s: float = 2.5) -> str | None:
    """None, 'local' or a reachable Dask scheduler ``tcp://host:port``: a TCP connect within
    ``timeout_s``, then a Dask handshake within ``timeout_s`` (so at most about 5 s)."""
    if value is None or value == "local":
        return value
    import socket
    from urllib.parse import urlsplit

    text = value.strip()
    url = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme not in ("tcp", "tls") or not url.hostname or port is None:
        raise click.BadParameter(f"must be 'local' or tcp://HOST:PORT (got {value!r})",
                                 param_hint=option)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            reason = f"no answer within {timeout_s:g} s"
        raise click.BadParameter(f"cannot reach the Dask scheduler {value} ({reason})",
                                 param_hint=option) from None
    try:
        import asyncio

        from distributed.comm import connect
    except ImportError:
        raise click.BadParameter("needs 'dask' and 'distributed' (pip install dask "
                                 "distributed)", param_hint=option) from None

    async def handshake() -> None:
        comm = await asyncio.wait_for(
            connect(text if "://" in text else f"tcp://{text}", timeout=timeout_s),
            timeout_s + 0.5)
        await comm.close()

    try:
        asyncio.run(handshake())
    except Exception as exc:  # noqa: BLE001  (whatever answered, it is no Dask scheduler)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise click.BadParameter(f"{value} does not answer as a Dask scheduler ({reason})",
                                 param_hint=option) from None
    return value


def scheduler_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    return check_scheduler(value)


def check_finite(value: float, option: str, lo: float | None = None,
                 hi: float | None = None) -> float:
    """A finite float in [lo, hi]."""
    if not math.isfinite(value) or (lo is not None and value < lo) or \
            (hi is not None and value > hi):
        rng = f" in [{lo:g}, {hi:g}]" if lo is not None and hi is not None else ""
        raise click.BadParameter(f"must be a finite number{rng} (got {value})",
                                 param_hint=option)
    return value


def memory_available_bytes() -> float | None:
    """MemAvailable of this machine (bytes), None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


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
