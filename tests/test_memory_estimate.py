"""The memory estimates of ``linksim figure`` / ``linksim dataset``
(linksim.app.memory_estimate) against the peak the task really allocates (tracemalloc, numpy's
buffers included), and the bound on the delay span they rest on.

Tolerance: an estimate is useful to refuse runs if it is within a factor 2 of the truth
(the check compares it with the machine's free memory; a factor 2 either way neither lets a
run twice too large through nor refuses one that needs half the memory). Each case is sized
so that the estimated arrays dominate the task's fixed overheads (~0.5 MB).
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from linksim.app import memory_estimate as me
from linksim.config import build_config

SMALL = {"fft_size": 128, "cyclic_prefix_length": 9, "num_used_subcarriers": 72,
         "timing_backoff_samples": 4, "antenna_size": [4, 4],
         "power_levels_dbw": [-10.0, 0.0], "max_iterations": 10}
FACTOR = 2.0


def _peak(func, *args, **kwargs) -> int:
    """Peak traced bytes of one call, after a warm-up call (imports, caches, JIT)."""
    func(*args, **kwargs)
    tracemalloc.start()
    try:
        func(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _within(est: float, peak: float) -> None:
    assert peak / FACTOR <= est <= peak * FACTOR, f"estimate {est:.3g} B, peak {peak:.3g} B"


@pytest.mark.parametrize("figure, axis, xs, extra", [
    ("fig5", "power_dbw", (-10.0, 0.0), {"num_users": 12, "num_sats": 2}),
    # a small disc: the S K^2 components dominate, not the delay span
    ("fig5", "power_dbw", (-10.0, 0.0), {"num_users": 12, "num_sats": 3,
                                         "coverage_radius_m": 20e3}),
    # rerun per x point: two responses alive at once
    ("fig7", "kappa_db", (0.0, 10.0), {"num_users": 6, "num_sats": 2}),
])
def test_figure_task_estimate_within_factor_2_of_measured_peak(figure, axis, xs, extra):
    from validation import figures

    cfg = build_config(SMALL | extra)
    key = {"figure": int(figure[3:]), "seed": 1, "drop": 0,
           "config": json.dumps(cfg.to_dict(), sort_keys=True), "axis": axis, "x": xs,
           "methods": tuple(figures.figure_methods()), "w_step": cfg.w_step,
           "measured_symbols": 4}
    _within(me.figure_task_bytes(cfg, figure, 4), _peak(figures.rate_task, key))


def test_dataset_task_estimate_within_factor_2_of_measured_peak():
    from precoders.dtn.dataset import dataset_task

    cfg = build_config({"num_users": 24, "num_sats": 3, "antenna_size": [32, 32],
                        "power_levels_dbw": [-10.0, 0.0], "max_iterations": 5})
    _within(me.dataset_task_bytes(cfg),
            _peak(dataset_task, {"seed": 1, "drop": 0}, cfg_dict=cfg.to_dict()))


def test_dataset_assembly_estimate_within_factor_2_of_measured_peak(tmp_path):
    """The file of 1000 drops assembled from the drops' results (held while it is built)."""
    from precoders.dtn.dataset import _write_dataset, dataset_task

    cfg = build_config({"num_users": 12, "max_iterations": 3})
    one = dataset_task({"seed": 1, "drop": 0}, cfg_dict=cfg.to_dict())
    n = 1000
    tracemalloc.start()
    try:
        results = [{k: np.array(v, copy=True) for k, v in one.items()} for _ in range(n)]
        _write_dataset(tmp_path / "d.h5", cfg, 1, results)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _within(me.dataset_assembly_bytes(cfg, n), peak)


def test_delay_span_bound_holds_on_drops():
    """tx_len - win_len <= D = ceil(2 R f_s / c) on real drops (the bound of the estimate)."""
    from linksim.emulator import EmulatorSettings, draw_link_state, stages
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    cfg = build_config(SMALL | {"num_users": 12, "num_sats": 3})
    d = me.differential_delay_samples(cfg)
    spans = []
    for i in range(4):
        drop = draw_drop(cfg, 2, i)
        links = draw_link_state(cfg, drop, scsi_from_drop(drop, cfg), 2, i)
        plan = stages.plan_burst(EmulatorSettings.from_config(cfg), links.channel(),
                                 links.estimates(), 2)
        spans.append(plan.tx_len - plan.win_len)
    assert max(spans) <= d, (spans, d)
    assert max(spans) >= d / 4, (spans, d)  # and not so loose that the estimate is useless
