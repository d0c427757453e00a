"""Byte-identical emulate numbers for every registered precoder (the DTN included) in this
process (the machine's default thread counts), on 2 worker processes (1 numba/BLAS/torch
thread each on a 2-core machine) and on a 2-worker Dask LocalCluster.

Tiny sizes (N = 128, K = 3, S = 2, 6 observed symbols, 1 drop, one SNR point): the point is
the bits, not the rates.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import precoders
from linksim.config import build_config
from linksim.runtime import sweep
from linksim.runtime.sweep import Task, run_sweep

# the small NR-like numerology of tests/factories.py (N = 128), K = 3, S = 2, 4x4 arrays
CFG = build_config({"fft_size": 128, "cyclic_prefix_length": 9, "num_used_subcarriers": 72,
                    "timing_backoff_samples": 4, "num_users": 3, "num_sats": 2,
                    "antenna_size": [4, 4]}).to_dict()
SEED = 5


def emulate_task(key: dict, *, cfg_dict: dict) -> dict:
    """One (precoder, drop, SNR) point, through the task function of ``linksim emulate``."""
    from linksim.app.emulate_output import _task

    return _task({"drop": key["drop"], "level_db": key["snr_db"]}, cfg_dict=cfg_dict,
                 precoder=key["precoder"], seed=SEED, kind="snr", num_symbols=6,
                 model_path=None)


def _tasks() -> list[Task]:
    names = sorted(precoders.PRECODERS)
    assert "ms-jocdwm-dl" in names and "ms-jocdwm" in names
    return [Task({"precoder": p, "drop": 0, "snr_db": snr}) for p in names
            for snr in (20.0,)]


def _assert_bits_equal(a: dict, b: dict, where: str) -> None:
    assert list(a) == list(b)
    for task in a:
        for name, value in a[task].items():
            other = b[task][name]
            assert np.asarray(value).tobytes() == np.asarray(other).tobytes(), \
                f"{where}: {task} {name}: {value} != {other}"


@pytest.fixture(scope="module")
def reference() -> dict:
    func = functools.partial(emulate_task, cfg_dict=CFG)
    return run_sweep(func, _tasks(), backend="inprocess", progress=False)


def test_two_worker_processes_give_the_same_bytes(reference):
    func = functools.partial(emulate_task, cfg_dict=CFG)
    got = run_sweep(func, _tasks(), backend="processes", workers=2, progress=False)
    assert sweep.last_run_stats.workers == 2
    _assert_bits_equal(reference, got, "2 processes")


def test_dask_local_cluster_gives_the_same_bytes(reference):
    pytest.importorskip("distributed")
    func = functools.partial(emulate_task, cfg_dict=CFG)
    got = run_sweep(func, _tasks(), scheduler="local", workers=2, progress=False)
    assert sweep.last_run_stats.backend == "dask"
    _assert_bits_equal(reference, got, "dask LocalCluster")


def test_dtn_inference_does_not_depend_on_torch_threads(reference):
    """The DTN pass runs with a fixed thread count whatever the process has set."""
    import torch

    from precoders.dtn.infer import INFERENCE_THREADS

    before = torch.get_num_threads()
    other = 1 if INFERENCE_THREADS != 1 else 2
    torch.set_num_threads(other)
    try:
        func = functools.partial(emulate_task, cfg_dict=CFG)
        tasks = [t for t in _tasks() if t.key["precoder"] == "ms-jocdwm-dl"]
        got = run_sweep(func, tasks, backend="inprocess", progress=False)
        assert torch.get_num_threads() == other  # restored after every pass
    finally:
        torch.set_num_threads(before)
    _assert_bits_equal({t: reference[t] for t in tasks}, got, f"torch {other} threads")
