"""``linksim scenario``: draw one drop (geometry and sCSI) and write it to HDF5."""

from __future__ import annotations

import json
from pathlib import Path

import click

from linksim.app.commands.common import (
    config_options,
    json_option,
    load_cfg,
    out_file_callback,
    seed_option,
)


@click.command()
@click.option("--users", type=click.IntRange(min=1, max=1024), default=None,
              help="Users K (overrides num_users).")
@click.option("--sats", type=click.IntRange(min=1, max=64), default=None,
              help="Cooperating satellites S (overrides num_sats).")
@seed_option
@click.option("--drop-index", type=click.IntRange(min=0, max=2**63 - 1), default=0,
              show_default=True,
              help="Index of the drop under the root seed.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              default="linksim-out/scenario/drop.h5", show_default=True,
              callback=out_file_callback, help="Output HDF5 file.")
@config_options
@json_option
def scenario(users: int | None, sats: int | None, seed: int, drop_index: int, out_file: str,
             config_path: str | None, sets: tuple[str, ...], as_json: bool) -> None:
    """Draw one drop: region centre, K users in the coverage disc, the S nearest satellites
    above the minimum elevation for every user; write geometry and sCSI to HDF5."""
    import numpy as np

    from linksim.runtime.io import write_drop
    from linksim.scenario import draw_drop, great_circle_distance_m
    from linksim.scsi import scsi_from_drop

    cfg = load_cfg(config_path, sets, num_users=users, num_sats=sats)
    drop = draw_drop(cfg, seed, drop_index)
    scsi = scsi_from_drop(drop, cfg)
    path = write_drop(Path(out_file), drop, cfg, scsi)

    center = drop.center_ecef_m
    lat = float(np.degrees(np.arcsin(center[2] / np.linalg.norm(center))))
    lon = float(np.degrees(np.arctan2(center[1], center[0])))
    user_dist = great_circle_distance_m(drop.user_ecef_m, center)
    summary = {
        "file": str(path),
        "seed": seed,
        "drop_index": drop_index,
        "num_users": drop.num_users,
        "num_sats": drop.num_sats,
        "time_s": drop.time_s,
        "center_lat_deg": lat,
        "center_lon_deg": lon,
        "sat_index": [int(v) for v in drop.sat_index],
        "max_user_distance_from_center_m": float(user_dist.max()),
        "delay_s": _stats(drop.delay_s),
        "doppler_hz": _stats(drop.doppler_hz),
        "elevation_deg": _stats(drop.elevation_deg),
        "slant_range_m": _stats(drop.slant_range_m),
        "gamma_db": _stats(10.0 * np.log10(scsi.gamma)),
    }
    from linksim.runtime.provenance import provenance

    summary["provenance"] = provenance(cfg, seed, drop_index=drop_index)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"wrote {path}: K={drop.num_users} users, S={drop.num_sats} satellites "
               f"{summary['sat_index']}, centre ({lat:.2f}, {lon:.2f}) deg, t={drop.time_s:.1f} s")
    for name, unit, scale in (("delay_s", "ms", 1e3), ("doppler_hz", "kHz", 1e-3),
                              ("elevation_deg", "deg", 1.0), ("gamma_db", "dB", 1.0)):
        st = summary[name]
        click.echo(f"  {name:14s} min {st['min'] * scale:10.3f}  mean {st['mean'] * scale:10.3f}"
                   f"  max {st['max'] * scale:10.3f} {unit}")


def _stats(values) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    return {"min": float(v.min()), "mean": float(v.mean()), "max": float(v.max())}
