"""The multipath and orbit sections of ``linksim validate`` as resumable sweep tasks.

Each section is a few independent computations (validation.multipath.multipath_parts,
validation.orbit.orbit_parts), every one a task of its own sweep store
``<out>/validate-<section>.store-<hash>.sqlite`` beside the main one (linksim.runtime.sweep:
each finished task committed as it completes, checksum verified on load), so an interrupted
validate keeps every finished part and a rerun computes only the missing ones. The parts run
on the same back end as the main tasks (workers, Dask scheduler); their values depend only
on the seed and the config, not on where they ran.

A part's value is a nested structure of numpy arrays and scalars; it travels through the
store as its pickle (a uint8 array, the store's checksum over it).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: the layout of the parts' values, in every section store's identity: bump it when a part
#: returns another structure, so a store of the old layout is not read as the new one
PARTS_FORMAT = 2


def part_task(key: dict[str, Any], *, parts: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Sweep task: run part ``key['part']``; its value pickled as {'value': uint8 array}."""
    value = parts[key["part"]]()
    return {"value": np.frombuffer(pickle.dumps(value, protocol=5), dtype=np.uint8)}


def run_parts(section: str, parts: dict[str, Callable[[], Any]], sweep_id: dict[str, Any],
              store_dir: str | Path | None, workers: int | None = 1,
              scheduler: str | None = None, progress: bool = True) -> dict[str, Any]:
    """{name: value} of every part, through the section's store in ``store_dir`` (None: no
    store, computed here). ``sweep_id``: the identity of the run (validate's sweep id); the
    section's name is added to it."""
    from linksim.runtime.sweep import run_sweep, store_path_for

    sid = dict(sweep_id) | {"section": section, "parts_format": PARTS_FORMAT}
    name = f"validate-{section}"
    keys = [{"part": p} for p in parts]
    results = run_sweep(functools.partial(part_task, parts=parts), keys,
                        store_path=None if store_dir is None
                        else store_path_for(store_dir, name, sid),
                        sweep_id=sid if store_dir is not None else None, workers=workers,
                        scheduler=scheduler, progress=progress, label=name)
    return {k["part"]: pickle.loads(np.asarray(v["value"], dtype=np.uint8).tobytes())
            for k, v in zip(keys, results.values())}
