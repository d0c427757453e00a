"""Byte-identical numbers of ``linksim figure``, ``linksim validate`` and ``linksim dataset``
for ``--workers 1`` (this process, the machine's default numba/BLAS/torch thread counts),
``--workers 2`` (two processes, their share of the threads each) and a 2-worker Dask
LocalCluster, for every precoder including the DTN (ms-jocdwm-dl).

What is compared: every numeric dataset of the files the commands write (fig5.h5, the dataset
HDF5) and every array of the validation run (:func:`validation.report.run_validation`, from
which report.html, validation.h5 and summary.json are built), byte for byte. Left out: the
design wall-clock times of a figure (``seconds``: a measurement, not a result).

The parts of ``linksim validate`` that are not sweep tasks (validation.multipath,
validation.orbit) run in the calling process whatever --workers says, so the worker count
cannot reach them; the sweep tasks are the part checked here.

Tiny sizes (N = 128, S = 2, 4x4 arrays, two power levels, at most 20 iterations; Fig. 5's
own K = 12; one or two drops (one per worker at least); one to three OFDM symbols): the point
is the bits, not the rates. Most of the ~50 s (2 cores) is the start of the worker processes
(torch and scipy imports), not the numbers.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import precoders
from linksim.config import build_config

# the small NR-like numerology of tests/factories.py (N = 128), S = 2, 4x4 arrays
# (two power levels and at most 20 iterations keep the three runs of each command short)
SMALL = {"fft_size": 128, "cyclic_prefix_length": 9, "num_used_subcarriers": 72,
         "timing_backoff_samples": 4, "num_sats": 2, "antenna_size": [4, 4],
         "power_levels_dbw": [-10.0, 0.0], "max_iterations": 20}
SEED = 3


@pytest.fixture(scope="module")
def runs_of():
    """The worker settings compared with the first (this process): --workers 2 (a fresh
    process pool per command, as the command makes) and a 2-worker Dask LocalCluster
    (started once for the module, each worker 1 thread, reached by its address as
    ``--scheduler tcp://...``; ``--scheduler local`` itself: tests/test_workers_identical.py)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        yield {"workers 1": {"workers": 1, "scheduler": None},
               "workers 2": {"workers": 2, "scheduler": None},
               "dask LocalCluster": {"workers": 2, "scheduler": cluster.scheduler_address}}


def _h5_arrays(path: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every dataset of an HDF5 file (groups walked) as (dtype, shape, bytes)."""
    out: dict[str, bytes] = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and name.split("/")[-1] not in skip:
            arr = obj[()]
            out[name] = (str(np.asarray(arr).dtype), np.shape(arr), np.asarray(arr).tobytes())

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def _assert_same(runs: dict[str, dict], what: str) -> None:
    (ref_name, ref), *others = runs.items()
    assert ref, f"{what}: nothing to compare"
    for name, got in others:
        assert list(got) == list(ref), f"{what}: {name} has other arrays than {ref_name}"
        differ = [k for k in ref if got[k] != ref[k]]
        assert not differ, f"{what}: {name} differs from {ref_name} in {differ}"


def test_figure_identical_across_workers(tmp_path, runs_of):
    """``linksim figure fig5`` (every figure method, the DTN included, the analytical and the
    waveform-measured series) on two drops."""
    from validation import figures

    assert figures.dl_available(), "the shipped DTN model must join the figures"
    methods = figures.figure_methods()
    assert set(methods) == set(precoders.PRECODERS) - figures.NOT_IN_FIGURES
    assert "ms-jocdwm-dl" in methods
    cfg = build_config(SMALL)
    runs = {}
    for name, how in runs_of.items():
        out = tmp_path / name.replace(" ", "-")
        figures.fig5(cfg, out, 2, SEED, how["workers"], True, scheduler=how["scheduler"],
                     measured_symbols=1)  # two drops: both workers get one
        runs[name] = _h5_arrays(out / "fig5.h5", skip=("seconds",))
    assert {"rates", "measured_rates", "iterations"} <= set(runs["workers 1"])
    _assert_same(runs, "fig5.h5")


def test_validate_identical_across_workers(runs_of):
    """The sweep tasks of ``linksim validate`` (waveform drops with the rate comparison of
    every precoder and the DTN, the DMRS receiver, phase-error drops, the single-link sweeps,
    geometry drops) at a reduced size."""
    from validation import rates
    from validation.report import ValidationSettings, run_validation

    names = rates.available_precoders(True)
    assert "ms-jocdwm-dl" in names and "ms-jocdwm" in names
    cfg = build_config(SMALL | {"num_users": 3})
    # one observed symbol past the first DMRS symbol, so that the receiver part runs
    settings = ValidationSettings(drops=1, phase_drops=1, geometry_drops=2,
                                  num_symbols=min(cfg.dmrs_symbols) + 1, ergodic_samples=20,
                                  receiver_levels=1)
    runs = {}
    for name, how in runs_of.items():
        res = run_validation(cfg, SEED, settings, progress=False, workers=how["workers"],
                             scheduler=how["scheduler"])
        runs[name] = {k: (str(np.asarray(v).dtype), np.shape(v), np.asarray(v).tobytes())
                      for k, v in sorted(res["arrays"].items())}
    assert any(k.startswith("rates/") for k in runs["workers 1"])
    assert any(k.startswith("receiver/") for k in runs["workers 1"])
    _assert_same(runs, "validation arrays")


def test_dataset_identical_across_workers(tmp_path, runs_of):
    """``linksim dataset`` (features and the MS-JoCDWM labels of every power level)."""
    from precoders.dtn.dataset import generate_dataset

    cfg = build_config(SMALL | {"num_users": 3})
    runs = {}
    for name, how in runs_of.items():
        out = tmp_path / f"{name.replace(' ', '-')}.h5"
        summary = generate_dataset(out, cfg, 2, seed=SEED, workers=how["workers"],
                                   progress=False, scheduler=how["scheduler"])
        assert summary["complete"]
        runs[name] = _h5_arrays(out)
    assert {"features", "U", "omega", "wsr"} <= set(runs["workers 1"])
    _assert_same(runs, "dataset")
