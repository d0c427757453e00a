"""linksim.app.bench_torch: the drops-per-second run takes `drops` different drops, each with
its own draws, and runs each on the device once."""

from dataclasses import replace

import numpy as np

from linksim.app.bench_case import drop_case
from linksim.app.bench_torch import bench_torch_drops
from linksim.config import build_config
from linksim.emulator import stages
from linksim.scenario import Stream, drop_rng
from waveforms import kernels


def test_back_to_back_drops_are_distinct_drops_with_their_own_draws(monkeypatch):
    ks = kernels.kernel_set("torch")
    jobs = []

    def recorded(job):
        jobs.append(job)
        return ks.static_drop(job)

    monkeypatch.setitem(kernels._LOADED, "torch", replace(ks, static_drop=recorded))
    cfg = build_config({"num_observed_symbols": 2})
    r = bench_torch_drops(cfg, num_users=3, num_sats=2, num_symbols=2, drops=3, repeats=2)
    # the warm-up and the two timed repeats run drop 0, then drops 1, 2, 3 back to back
    assert len(jobs) == 1 + 2 + 3 and r["drops"] == 3
    first = jobs[0]
    for job in jobs[1:3]:
        assert np.array_equal(job.data, first.data) and np.array_equal(job.noise, first.noise)
    case = drop_case(cfg, 3, 2)
    st = case.settings.replace(backend="torch", precision="single", data_stream="counter",
                               noise_stream="counter")
    plan = stages.plan_burst(st, case.links.channel(), case.links.estimates(), 2)
    for d, job in zip((1, 2, 3), jobs[3:]):
        want = stages.burst_data(st, drop_rng(0, d, Stream.DATA_NOISE), 3, plan)
        assert np.array_equal(job.data, want.astype(np.complex64))       # drop d's draws
        assert not np.array_equal(job.data, first.data)
        assert job.symbol_ranges is not None
    assert r["drops_per_s"] > 0 and r["nmse_db_vs_numba"] < -60
