"""The ``linksim`` command line: a thin, lazily loaded click group.

Each subcommand lives in ``linksim/app/commands/<name>.py`` and is imported only when it runs
(or when its own ``--help`` is asked for), so ``linksim --help`` answers at once. Heavy
modules (numba, torch, matplotlib, h5py) are imported inside the command functions.

User errors (bad option values, invalid config) print one line on stderr and exit 2. A full
disk or an I/O error while writing prints one line naming the file and exits 1; finished work
is kept (the sweep store) and no incomplete file is left.
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module:attribute, one-line help shown by ``linksim --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("linksim.app.commands.config_cmd:config", "Show the effective configuration."),
    "scenario": ("linksim.app.commands.scenario_cmd:scenario",
                 "Draw one drop and write it to HDF5."),
    "emulate": ("linksim.app.commands.emulate_cmd:emulate",
                "Waveform-level emulation: measured vs analytical rates."),
    "figure": ("linksim.app.commands.figure_cmd:figure", "Reproduce a figure of the paper."),
    "validate": ("linksim.app.commands.validate_cmd:validate",
                 "Model-vs-waveform validation report."),
    "bench": ("linksim.app.commands.bench_cmd:bench",
              "Benchmarks: numba kernels vs numpy references."),
    "dataset": ("linksim.app.commands.dataset_cmd:dataset", "Generate the DTN training dataset."),
    "train-dtn": ("linksim.app.commands.train_dtn_cmd:train_dtn",
                  "Train the dense Transformer network."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _p, value: _print_version(ctx, value),
              help="Show the version and the git commit, and exit.")
def cli() -> None:
    """linksim: waveform-level OFDM link emulator for cooperative multi-satellite downlink
    with statistical-CSI precoding (arXiv 2505.08038)."""


def _print_version(ctx: click.Context, value: bool) -> None:
    """``linksim --version``: version and commit (linksim.runtime.provenance)."""
    if not value or ctx.resilient_parsing:
        return
    from linksim.runtime.provenance import version_string

    click.echo(f"linksim {version_string()}")
    ctx.exit()


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit with status ``code`` (2: bad input)."""
    click.echo(f"linksim: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    from linksim.config import ConfigError
    from linksim.runtime.allocator import keep_freed_memory
    from linksim.runtime.environment import EnvironmentSettingError, check_environment

    try:
        check_environment()    # LINKSIM_* values, before any work (runtime.environment)
    except EnvironmentSettingError as exc:
        fail(str(exc))
    keep_freed_memory()        # freed drop buffers stay in the process (LINKSIM_MALLOC=system)

    try:
        rv = cli.main(args=argv, prog_name="linksim", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=False)
        sys.exit(0)
    except click.UsageError as exc:
        fail(exc.format_message().replace("\n", " "))
    except ConfigError as exc:
        fail(str(exc))
    except click.exceptions.Abort as exc:
        # click turns a KeyboardInterrupt inside a command into Abort (cause: the interrupt)
        if isinstance(exc.__cause__, KeyboardInterrupt) or isinstance(exc.__context__,
                                                                      KeyboardInterrupt):
            click.echo("linksim: interrupted; finished results are kept", err=True)
        else:
            click.echo("linksim: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("linksim: interrupted; finished results are kept", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        fail(exc.format_message().replace("\n", " "))
    except OSError as exc:  # an output or input path that cannot be used, a full disk
        from linksim.runtime.atomic import OutputWriteError, describe_os_error, is_disk_error

        if isinstance(exc, OutputWriteError):
            fail(str(exc), 1 if is_disk_error(exc) else 2)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        fail(f"{describe_os_error(exc)}{where}", 1 if is_disk_error(exc) else 2)
    except Exception as exc:  # sweep-store and sweep errors are user-facing one-liners
        if type(exc).__name__ == "StoreWriteError":
            fail(str(exc), 1)
        if type(exc).__name__ in ("SweepStoreError", "SweepError"):
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
