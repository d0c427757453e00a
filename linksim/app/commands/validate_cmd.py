"""``linksim validate``: the model-vs-waveform validation report (validation.report)."""

from __future__ import annotations

import json

import click

from linksim.app.commands.common import (
    check_geometry,
    config_options,
    json_option,
    load_cfg,
    out_option,
    seed_option,
    sweep_options,
)


@click.command()
@click.option("--drops", type=click.IntRange(1, 10_000), default=None,
              help="Drops with full waveforms (default 12; --quick 2).")
@click.option("--quick", is_flag=True, help="Small run for CI smoke tests (under 2 minutes).")
@click.option("--symbols", type=click.IntRange(1, 1000), default=None,
              help="Observed OFDM symbols per drop (default: config num_observed_symbols).")
@click.option("--no-dl", "no_dl", is_flag=True, help="Leave out the DTN precoder.")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when an assumption fails (any summary row whose "
                   "verdict is not 'holds'); the report is written first. For CI.")
@sweep_options
@seed_option
@out_option("validate")
@json_option
@config_options
def validate(drops: int | None, quick: bool, symbols: int | None, no_dl: bool, strict: bool,
             workers: int | None, scheduler: str | None, seed: int, out_dir: str,
             as_json: bool, config_path: str | None, sets: tuple[str, ...]) -> None:
    """Test the paper's analytical model against the waveforms: phase-error model (13)-(16),
    E e^{j theta} (25), inter-satellite independence (Remark 1, Fig. 2), achieved vs
    analytical rates (19). Writes report.html, validation.h5 and summary.json under --out;
    the drops' results are kept in validate.store-<hash>.sqlite there, so a rerun after an
    interruption computes only the missing ones. The numbers do not depend on --workers /
    --scheduler (default workers: one per core, fewer if the drops' waveforms would not fit
    in memory)."""
    import dataclasses

    from validation.report import (
        MAX_COMPONENT_BYTES,
        ValidationSettings,
        component_bytes,
        write_report,
    )

    cfg = load_cfg(config_path, sets)
    settings = ValidationSettings.quick() if quick else ValidationSettings()
    changes = {"num_symbols": symbols or cfg.num_observed_symbols, "include_dl": not no_dl}
    if drops is not None:
        changes["drops"] = drops
    settings = dataclasses.replace(settings, **changes)
    need = component_bytes(cfg, settings.num_symbols)
    if need > MAX_COMPONENT_BYTES:
        raise click.BadParameter(
            f"needs {need / 1e9:.1f} GB of waveform components per drop (S K^2 M Q); at most "
            f"{MAX_COMPONENT_BYTES / 1e9:.1f} GB: lower num_users (now {cfg.num_users}) or "
            f"--symbols", param_hint="--set num_users")
    if cfg.num_users > cfg.num_antennas:
        raise click.BadParameter(f"num_users must be <= N_t = {cfg.num_antennas} for the "
                                 f"single-satellite precoders (got {cfg.num_users})",
                                 param_hint="--set num_users")
    check_geometry(cfg, seed)              # an impossible constellation: one line, no output
    from linksim.runtime.atomic import atomic_group

    with atomic_group():  # report.html, validation.h5 and summary.json appear together
        summary = write_report(out_dir, cfg, seed, settings, workers=workers,
                               scheduler=scheduler, quick=quick)
    from validation.report_citable import failed_rows

    failed = failed_rows(summary)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        if strict and failed:
            raise SystemExit(1)
        return
    click.echo(f"wrote {out_dir}/report.html, validation.h5, summary.json")
    width = max(len(r["assumption"]) for r in summary["table"])
    for row in summary["table"]:
        click.echo(f"{row['assumption']:<{width}}  {row['verdict']:<6}  {row['value']}")
    if summary.get("evidence", {}).get("smoke_run"):
        click.echo("note: a smoke run, not evidence (" + "; ".join(
            summary["evidence"]["reasons"]) + ")")
    if strict and failed:
        click.echo(f"linksim: --strict: {len(failed)} assumption(s) fail: " + "; ".join(failed),
                   err=True)
        raise SystemExit(1)
