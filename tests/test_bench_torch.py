"""linksim.app.bench_torch: the drops-per-second run takes `drops` different drops, each with
its own draws, in calls of `batch` drops."""

import numpy as np
from test_torch_drop import _calls

from linksim.app.bench_case import drop_case
from linksim.app.bench_torch import bench_torch_drops
from linksim.config import build_config
from linksim.emulator import stages
from linksim.scenario import Stream, drop_rng

CFG = build_config({"num_observed_symbols": 2})


def _drop_data(d: int) -> np.ndarray:
    """The data symbols the bench's drop d draws (S = 2, K = 3, counter streams, single)."""
    case = drop_case(CFG, 3, 2)
    st = case.settings.replace(backend="torch", precision="single", data_stream="counter",
                               noise_stream="counter")
    plan = stages.plan_burst(st, case.links.channel(), case.links.estimates(), 2)
    return stages.burst_data(st, drop_rng(0, d, Stream.DATA_NOISE), 3, plan).astype(
        np.complex64)


def test_back_to_back_drops_are_distinct_drops_with_their_own_draws(monkeypatch):
    jobs = _calls(monkeypatch)
    r = bench_torch_drops(CFG, num_users=3, num_sats=2, num_symbols=2, drops=3, repeats=2)
    # the warm-up and the two timed repeats run drop 0, then drops 1, 2, 3 back to back
    assert len(jobs) == 1 + 2 + 3 and r["drops"] == 3 and r["batch"] == 1
    first = jobs[0]
    for job in jobs[1:3]:
        assert np.array_equal(job.data, first.data) and np.array_equal(job.noise, first.noise)
    for d, job in zip((1, 2, 3), jobs[3:]):
        assert np.array_equal(job.data, _drop_data(d))                   # drop d's draws
        assert not np.array_equal(job.data, first.data)
        assert job.symbol_ranges is not None
    assert r["drops_per_s"] > 0 and r["nmse_db_vs_numba"] < -60


def test_batched_calls_take_their_drops_in_order(monkeypatch):
    # 5 drops, 2 a call: calls of drops (1, 2) and (3, 4) batched, drop 5 alone
    from waveforms import torch_drop

    single = _calls(monkeypatch)
    batched = []
    original = torch_drop.static_drops_torch

    def recorded(jobs, *args, **kw):
        batched.append(list(jobs))
        return original(jobs, *args, **kw)

    monkeypatch.setattr(torch_drop, "static_drops_torch", recorded)
    r = bench_torch_drops(CFG, num_users=3, num_sats=2, num_symbols=2, drops=5, repeats=1,
                          batch=2)
    assert r["batch"] == 2 and r["drops"] == 5
    batched = [b for b in batched if len(b) > 1]      # (a single drop runs through it too)
    assert [len(b) for b in batched] == [2, 2] and len(single) == 1 + 1 + 1
    for d, job in zip(range(1, 6), batched[0] + batched[1] + [single[-1]]):
        assert np.array_equal(job.data, _drop_data(d))
