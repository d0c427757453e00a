"""``linksim emulate``: waveform-level emulation, measured vs analytical sum rate per SNR."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from linksim.app.commands.common import (
    PrecoderListChoice,
    check_geometry,
    config_options,
    given,
    json_option,
    load_cfg,
    out_option,
    scheduler_callback,
    seed_option,
)

if TYPE_CHECKING:
    from linksim.config import LinkConfig

#: the default of --precoder (see the README: every method side by side)
DEFAULT_PRECODER = "all"


@click.command()
@click.option("--snr", "snr_spec", default=None, metavar="A:B:STEP|LIST",
              help="Reference SNR sweep in dB [default: 0:30:5]: per-satellite transmit power "
                   "per subcarrier x the drop's mean per-element link gain (path loss and "
                   "antenna gains, mean over all satellite-user links) / the mean noise power "
                   "per subcarrier.")
@click.option("--power-dbw", "power_spec", default=None, metavar="A:B:STEP|LIST",
              help="Per-satellite power per subcarrier in dBW instead of --snr.")
@click.option("--users", type=click.IntRange(1, 1024), default=None, help="Users K.")
@click.option("--sats", type=click.IntRange(1, 64), default=None, help="Satellites S.")
@click.option("--precoder", type=PrecoderListChoice(), default=DEFAULT_PRECODER,
              show_default=True, metavar="NAME[,NAME...]|all",
              help="A method of the precoder registry (mrt, ss-m, ss-wm, ms-sepwm, ms-jowm, "
                   "ms-jocdwm, ms-jocdwm-dl, or one added with precoders.register; an unknown "
                   "name lists them all), a comma list of them, or 'all' (every registered "
                   "method; ms-jocdwm-dl when its model exists; ss-m/ss-wm when K <= N_t). "
                   "Several methods run on the same drops, errors, data and noise (common "
                   "random numbers): one table per SNR point with each method's paired "
                   "difference to the best.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="DTN model for --precoder ms-jocdwm-dl (default: the shipped one).")
@click.option("--drops", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--symbols", type=click.IntRange(min=1, max=100_000), default=None,
              help="Observed OFDM symbols per drop (default: config num_observed_symbols).")
@click.option("--scenario", type=click.Choice(["drop", "single-path"]), default="drop",
              show_default=True, help="'single-path': one satellite, one user, given errors.")
@click.option("--delay-error-ns", type=float, default=0.0, show_default=True,
              help="single-path: residual delay error Delta tau in ns.")
@click.option("--doppler-error-hz", type=float, default=0.0, show_default=True,
              help="single-path: residual Doppler error Delta nu in Hz.")
@click.option("--phase-error-rad", type=float, default=0.0, show_default=True,
              help="single-path: extra carrier phase error in rad.")
@click.option("-v", "--verbose", is_flag=True, help="Also print per-user rates.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
@click.option("--scheduler", default=None, callback=scheduler_callback,
              help="Dask scheduler address, or 'local'.")
@seed_option
@out_option("emulate")
@json_option
@config_options
@click.pass_context
def emulate(ctx, snr_spec, power_spec, users, sats, precoder, model_path, drops, symbols, scenario,
            delay_error_ns, doppler_error_hz, phase_error_rad, verbose, workers, scheduler, seed,
            out_dir, as_json, config_path, sets) -> None:
    """Emulate real OFDM waveforms through precompensation, the multi-satellite channel and
    the receivers; print the measured and the analytical (eq. 19) sum rate per SNR point of
    every chosen precoder (default: all, on common random numbers)."""
    cfg = load_cfg(config_path, sets, num_users=users, num_sats=sats)
    if scenario == "single-path":
        for name in ("snr_spec", "power_spec", "precoder", "model_path", "drops", "workers",
                     "scheduler", "verbose", "users", "sats"):
            if given(ctx, name):
                opt = next(o for o in ctx.command.params if o.name == name).opts[-1]
                raise click.BadParameter("is not used with --scenario single-path (one "
                                         "satellite, one user, no precoder)", param_hint=opt)
        _single_path(cfg, delay_error_ns, doppler_error_hz, phase_error_rad, symbols, seed,
                     as_json)
        return
    for name, opt in (("delay_error_ns", "--delay-error-ns"),
                      ("doppler_error_hz", "--doppler-error-hz"),
                      ("phase_error_rad", "--phase-error-rad")):
        if given(ctx, name):
            raise click.BadParameter("is used only with --scenario single-path",
                                     param_hint=opt)
    if model_path is not None and precoder != "all" and \
            "ms-jocdwm-dl" not in precoder.split(","):
        raise click.BadParameter(f"is used only with --precoder ms-jocdwm-dl (got --precoder "
                                 f"{precoder})", param_hint="--model")
    levels, kind = _levels(snr_spec, power_spec)
    if precoder in ("ss-m", "ss-wm") and cfg.num_users > cfg.num_antennas:
        raise click.BadParameter(f"must be <= N_t = {cfg.num_antennas} for {precoder} "
                                 f"(got {cfg.num_users})", param_hint="--users")
    _check_memory(cfg, symbols or cfg.num_observed_symbols, workers, len(levels) * drops,
                  scheduler)
    check_geometry(cfg, seed)              # an impossible constellation: one line, no output
    if cfg.receiver != "genie" and symbols is not None and symbols <= min(cfg.dmrs_symbols):
        raise click.BadParameter(f"must be in [{min(cfg.dmrs_symbols) + 1}, 100000] to observe "
                                 f"a DMRS symbol with receiver={cfg.receiver} (got {symbols})",
                                 param_hint="--symbols")
    from linksim.runtime.provenance import provenance

    prov = provenance(cfg, seed, drops=drops, num_symbols=symbols or cfg.num_observed_symbols,
                      workers=workers, scheduler=scheduler, precoder=precoder)
    if precoder == "all" or "," in precoder:
        from linksim.app.emulate_compare import MethodError, resolve_methods, run_compare

        try:
            methods = resolve_methods(precoder, cfg, model_path)
        except MethodError as exc:
            hint = "--users" if "K <= N_t" in str(exc) else "--precoder"
            raise click.BadParameter(str(exc), param_hint=hint) from None
        summary = run_compare(cfg, methods, levels, kind, drops, symbols or
                              cfg.num_observed_symbols, seed, out_dir, model_path, workers,
                              scheduler, verbose=verbose, quiet=as_json, provenance=prov)
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        return
    from linksim.app.emulate_output import run_and_write

    summary = run_and_write(cfg, precoder, levels, kind, drops, symbols or
                            cfg.num_observed_symbols, seed, out_dir, model_path, workers,
                            scheduler, verbose=verbose, quiet=as_json, provenance=prov)
    if as_json:
        click.echo(json.dumps(summary, indent=2))


#: reference SNR sweep bounds (dB); --power-dbw takes the bounds of the config's power_dbw
SNR_RANGE_DB = (-100.0, 100.0)


def _levels(snr_spec: str | None, power_spec: str | None) -> tuple[list[float], str]:
    """The parsed, bounded levels of --snr or --power-dbw and their kind ('snr' | 'power')."""
    from linksim.app.emulation_run import LevelError, parse_levels
    from linksim.config import FIELDS

    if snr_spec is not None and power_spec is not None:
        raise click.UsageError("give either --snr or --power-dbw, not both")
    if power_spec is not None:
        meta = FIELDS["power_dbw"].metadata
        option, spec, (lo, hi), kind = "--power-dbw", power_spec, (meta["lo"], meta["hi"]), \
            "power"
    else:
        option, spec, (lo, hi), kind = "--snr", snr_spec, SNR_RANGE_DB, "snr"
        if spec is None:
            spec = "0:30:5"
    if not spec.strip():
        raise click.BadParameter("must not be empty (a:b:step or a comma list)",
                                 param_hint=option)
    try:
        levels = parse_levels(spec)
    except LevelError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    bad = [v for v in levels if not lo <= v <= hi]
    if bad:
        raise click.BadParameter(f"values must be in [{lo:g}, {hi:g}] dB (got {bad[0]:g})",
                                 param_hint=option)
    return levels, kind


def _check_memory(cfg: LinkConfig, num_symbols: int, workers: int, num_tasks: int,
                  scheduler: str | None) -> None:
    """Refuse a run whose tasks in flight cannot fit in this machine's free memory."""
    from linksim.app.commands.common import memory_available_bytes
    from linksim.app.emulation_run import task_memory_bytes

    free = memory_available_bytes()
    if free is None or (scheduler is not None and scheduler != "local"):
        return
    per_task = task_memory_bytes(cfg, num_symbols)
    in_flight = max(1, min(workers, num_tasks))
    if per_task > free:
        raise click.BadParameter(
            f"one drop needs about {per_task / 1e9:.1f} GB (S K (M + 4) (N + N_cp) samples), "
            f"{free / 1e9:.1f} GB are free: lower --symbols (now {num_symbols}) or --users "
            f"(now {cfg.num_users})", param_hint="--symbols")
    if per_task * in_flight > free:
        raise click.BadParameter(
            f"{in_flight} workers need about {per_task * in_flight / 1e9:.1f} GB, "
            f"{free / 1e9:.1f} GB are free: lower --workers to {int(free // per_task)}",
            param_hint="--workers")


def _single_path(cfg: LinkConfig, delay_error_ns, doppler_error_hz, phase_error_rad, symbols,
                 seed, as_json) -> None:
    import math

    from linksim.single_path import run_single_path

    for name, value in (("--delay-error-ns", delay_error_ns),
                        ("--doppler-error-hz", doppler_error_hz),
                        ("--phase-error-rad", phase_error_rad)):
        if not math.isfinite(value):
            raise click.BadParameter(f"must be finite (got {value})", param_hint=name)
    if abs(delay_error_ns) > 1e6:
        raise click.BadParameter(f"must be in [-1e6, 1e6] ns (got {delay_error_ns})",
                                 param_hint="--delay-error-ns")
    if abs(doppler_error_hz) > cfg.subcarrier_spacing_hz * 10:
        raise click.BadParameter(f"must be in [-{cfg.subcarrier_spacing_hz * 10:g}, "
                                 f"{cfg.subcarrier_spacing_hz * 10:g}] Hz "
                                 f"(got {doppler_error_hz})", param_hint="--doppler-error-hz")
    rep = run_single_path(cfg, delay_error_ns * 1e-9, doppler_error_hz, phase_error_rad,
                          symbols or 64, seed)
    d = rep.to_dict()
    from linksim.runtime.provenance import provenance

    d["provenance"] = provenance(cfg, seed, scenario="single-path")
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"single path: eps = Delta nu / Delta f = {rep.eps:.4f}, "
               f"residual delay {delay_error_ns:g} ns, phase {phase_error_rad:g} rad")
    click.echo(f"{'quantity':<34}{'measured':>12}{'closed form':>14}")
    click.echo(f"{'desired gain |G| (dB)':<34}{rep.gain_measured_db:>12.4f}"
               f"{rep.gain_closed_db:>14.4f}")
    click.echo(f"{'ICI(+ISI) power rel. signal (dB)':<34}{rep.ici_measured_db:>12.2f}"
               f"{rep.ici_closed_db:>14.2f}")
    click.echo(f"{'rms phase error vs (13)-(16) (deg)':<34}{rep.phase_error_deg_rms:>12.4f}"
               f"{0.0:>14.4f}")
    if rep.isi_expected:
        click.echo("note: the residual delay leaves the CP: ISI is present, which (16) ignores")
