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


def test_batched_calls_take_their_drops_in_order(monkeypatch):
    # 5 drops, 2 a call: calls of drops (1, 2) and (3, 4) batched, drop 5 alone
    from waveforms import torch_drop

    ks = kernels.kernel_set("torch")
    single, batched = [], []

    def one(job):
        single.append(job)
        return ks.static_drop(job)

    def many(jobs, *args, **kw):
        batched.append(list(jobs))
        return torch_drop.static_drops_torch.__wrapped__(jobs, *args, **kw)

    many.__wrapped__ = torch_drop.static_drops_torch
    monkeypatch.setitem(kernels._LOADED, "torch", replace(ks, static_drop=one))
    monkeypatch.setattr(torch_drop, "static_drops_torch", many)
    cfg = build_config({"num_observed_symbols": 2})
    r = bench_torch_drops(cfg, num_users=3, num_sats=2, num_symbols=2, drops=5, repeats=1,
                          batch=2)
    assert r["batch"] == 2 and r["drops"] == 5
    batched = [b for b in batched if len(b) > 1]      # (a single drop runs through it too)
    assert [len(b) for b in batched] == [2, 2] and len(single) == 1 + 1 + 1
    case = drop_case(cfg, 3, 2)
    st = case.settings.replace(backend="torch", precision="single", data_stream="counter",
                               noise_stream="counter")
    plan = stages.plan_burst(st, case.links.channel(), case.links.estimates(), 2)
    order = batched[0] + batched[1] + [single[-1]]
    for d, job in zip(range(1, 6), order):
        want = stages.burst_data(st, drop_rng(0, d, Stream.DATA_NOISE), 3, plan)
        assert np.array_equal(job.data, want.astype(np.complex64))
