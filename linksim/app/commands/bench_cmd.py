"""``linksim bench``: kernel and drop throughput (numba vs numpy reference) and precoder timing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from linksim.app.commands.common import config_options, json_option, load_cfg

if TYPE_CHECKING:
    from linksim.config import LinkConfig


@click.command()
@click.option("--precoders", "with_precoders", is_flag=True,
              help="Time every precoder design at K = 12, 24, 48 instead.")
@click.option("--quick", is_flag=True, help="Smaller jobs (a smoke run).")
@click.option("--no-reference", is_flag=True, help="Skip the slow numpy reference of (b).")
@click.option("--torch-only", is_flag=True,
              help="Only the drop resident on the torch device (LINKSIM_TORCH_DEVICE, e.g. "
                   "cuda; default cpu): one drop and drops per second.")
@click.option("--drops", type=click.IntRange(1, 100000), default=None,
              help="Drops back to back in the torch drops-per-second run, 1..100000 "
                   "(default 4, 2 with --quick; 64 with --torch-only on a GPU).")
@click.option("--batch", type=click.IntRange(1, 1024), default=None,
              help="Drops per device call in that run, 1..1024 (default 8 on a CUDA "
                   "device, 1 elsewhere).")
@json_option
@config_options
def bench(with_precoders, quick, no_reference, torch_only, drops, batch, as_json,
          config_path, sets) -> None:
    """(a) fractional delay + Doppler on 48 streams x 64 symbols; (b) one full drop, S = 5,
    K = 48, 14 symbols. Both against their numpy references, in one run. (c) that drop with
    the NTN-TDL-C profile (3 paths per link) against the flat drop, time per path. The speed
    section ends with that drop resident on the torch device (--torch-only: that alone)."""
    cfg = load_cfg(config_path, sets)
    if with_precoders and no_reference:
        raise click.BadParameter("is used only without --precoders (it skips the numpy "
                                 "reference of the waveform bench)", param_hint="--no-reference")
    if with_precoders and (torch_only or drops is not None or batch is not None):
        raise click.BadParameter("is used only without --precoders (the waveform bench)",
                                 param_hint="--torch-only / --drops / --batch")
    if torch_only and no_reference:
        raise click.BadParameter("is used only without --torch-only (which runs no numpy "
                                 "reference)", param_hint="--no-reference")
    if torch_only:
        result = _bench_torch(cfg, quick, drops, as_json, batch)
    elif with_precoders:
        result = _bench_precoders(cfg, quick, as_json)
    else:
        result = _bench_waveforms(cfg, quick, no_reference, as_json, drops, batch)
    if as_json:
        from linksim.runtime.provenance import provenance

        result["provenance"] = provenance(cfg, None, quick=bool(quick))  # the machine's settings
        click.echo(json.dumps(result, indent=2, default=float))


def _bench_waveforms(cfg: LinkConfig, quick, no_reference, as_json, drops=None,
                     batch=None) -> dict:
    from linksim.app.bench import bench_full_drop
    from waveforms.bench import bench_delay_doppler

    streams, symbols = (12, 16) if quick else (48, 64)
    a = bench_delay_doppler(num_streams=streams, num_symbols=symbols,
                            num_taps=cfg.fractional_delay_taps,
                            repeats=3 if quick else 15)   # best of 15: a 15 ms job is noisy
    if not as_json:
        click.echo(f"(a) delay+Doppler, {streams} streams x {symbols} symbols, "
                   f"{cfg.fractional_delay_taps} taps:")
        click.echo("    " + ", ".join(f"{k}={_fmt(v)}" for k, v in a.items()))
    k = 12 if quick else 48
    b = bench_full_drop(cfg, num_users=k, reference=not no_reference)
    if not as_json:
        click.echo(f"(b) {b['job']}: numba {b['numba_s']:.3f} s "
                   f"({b['numba_rx_samples_per_s'] / 1e6:.2f} M rx samples/s)" +
                   (f", numpy reference {b['numpy_s']:.2f} s, ratio {b['ratio']:.1f}x, "
                    f"max rel diff {b['max_rel_diff']:.1e}" if "numpy_s" in b else ""))
        click.echo(f"    threads={b['numba_threads']} cpus={b['cpu_count']} "
                   f"MALLOC_MMAP_THRESHOLD_={b['MALLOC_MMAP_THRESHOLD_']}")
    c = _bench_multipath(cfg, k, as_json)
    d = _bench_orbit(cfg, k, as_json)
    return {"delay_doppler": a, "full_drop": b, "multipath_drop": c, "orbit_drop": d} | \
        _bench_speed(cfg, quick, as_json, a, drops, batch)


def _bench_orbit(cfg: LinkConfig, num_users: int, as_json: bool) -> dict:
    """(d) the same drop with moving satellites (time-varying delays) against static."""
    from linksim.app.bench_motion import bench_orbit_drop

    d = bench_orbit_drop(cfg, num_users=num_users)
    if not as_json:
        click.echo(f"(d) {d['job']}: static {d['static_s']:.3f} s, orbit (time-varying "
                   f"delays) {d['orbit_s']:.3f} s, ratio {d['ratio']:.2f}x (target <= 2), "
                   f"orbit paths set-up {d['orbit_paths_s']:.3f} s")
    return d


def _bench_multipath(cfg: LinkConfig, num_users: int, as_json: bool) -> dict:
    """(c) the same drop with NTN-TDL-C (3 paths per link) against flat, in this run."""
    from linksim.app.bench_multipath import bench_multipath_drop

    c = bench_multipath_drop(cfg, num_users=num_users)
    if not as_json:
        click.echo(f"(c) {c['job']}: flat {c['flat_s']:.3f} s, {c['paths']} paths "
                   f"{c['tdl_s']:.3f} s ({c['tdl_over_flat']:.2f}x); per path "
                   f"{c['tdl_s_per_path']:.3f} s vs flat {c['flat_s_per_path']:.3f} s, "
                   f"marginal {c['marginal_s_per_extra_path']:.3f} s per extra path")
    return c


def _bench_torch(cfg: LinkConfig, quick, drops, as_json, batch=None) -> dict:
    """The drop resident on the torch device alone (a short run for a lent GPU)."""
    from linksim.app.bench_speed import machine_settings
    from linksim.app.bench_torch import bench_torch_drops, format_torch
    from waveforms.torch_kernels import torch_device

    sizes = dict(num_users=12, num_sats=2, num_symbols=4) if quick else {}
    if drops is None:
        drops = 2 if quick else (64 if torch_device().startswith("cuda") else 4)
    r = bench_torch_drops(cfg, drops=drops, repeats=1 if quick else 3, batch=batch, **sizes)
    if not as_json:
        click.echo(format_torch(r).strip())
    return {"machine": machine_settings(), "torch_resident": r}


def _bench_speed(cfg, quick, as_json, delay, drops=None, batch=None) -> dict:
    from linksim.app.bench_speed import bench_speed, format_speed

    c = bench_speed(cfg, quick=quick, delay=delay, drops=drops, batch=batch)
    if not as_json:
        click.echo("\n".join(format_speed(c)))
    return {"speed": c}


def _bench_precoders(cfg: LinkConfig, quick, as_json) -> dict:
    from precoders.bench import bench_precoders

    ks = (12,) if quick else (12, 24, 48)
    rows = bench_precoders(Ks=ks, S=cfg.num_sats, antenna_size=tuple(cfg.antenna_size))
    try:
        from precoders.dtn.bench import bench_dtn
        rows = list(rows) + list(bench_dtn(Ks=ks, S=cfg.num_sats,
                                           antenna_size=tuple(cfg.antenna_size)))
    except (ImportError, FileNotFoundError) as exc:   # no torch or no DTN model file
        if not as_json:
            click.echo(f"(DTN skipped: {exc})", err=True)
    if not as_json:
        _print_precoder_table(rows)
    return {"precoders": rows}


def _print_precoder_table(rows: list[dict]) -> None:
    designs = [r for r in rows if "method" in r]
    dtn = [r for r in rows if "precoder" in r]
    if designs:
        r0 = designs[0]
        click.echo(f"precoder design times, S={r0.get('S')}, N_t={r0.get('N_t')}, "
                   f"{r0.get('power_dbw')} dBW (synthetic sCSI)")
        click.echo(f"{'K':>4} {'method':<11}{'w_step':<8}{'iters':>6}{'ms/design':>11}"
                   f"{'ms/iter':>9}{'sum rate':>10}")
        for r in designs:
            click.echo(f"{r['K']:>4} {r['method']:<11}{r['w_step']:<8}{r['iterations']:>6}"
                       f"{1e3 * r['seconds']:>11.2f}{1e3 * r['seconds_per_iteration']:>9.3f}"
                       f"{r['sum_rate']:>10.2f}")
        per_iter = {(r["K"], r["method"], r["w_step"]): r["seconds_per_iteration"]
                    for r in designs}
        for (k, method, step), t in per_iter.items():
            if method == "ms-jocdwm" and (k, "ms-jowm", step) in per_iter:
                ratio = t / per_iter[(k, "ms-jowm", step)]
                click.echo(f"K={k} {step}: MS-JoCDWM / MS-JoWM time per iteration = "
                           f"{ratio:.2f} (paper's claim: about 1, limit 1.5)")
    if dtn:
        click.echo(f"{'K':>4} {'design':<14}{'ms/drop':>9}{'speed-up':>10}{'sum rate':>10}")
        for r in dtn:
            speedup = f"{r['speedup']:.1f}x" if "speedup" in r else ""
            click.echo(f"{r['K']:>4} {r['precoder']:<14}{1e3 * r['seconds_per_drop']:>9.2f}"
                       f"{speedup:>10}{r['sum_rate']:>10.2f}")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
