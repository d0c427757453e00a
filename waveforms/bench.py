"""Throughput of the fused delay/Doppler kernel against its numpy reference.

FLOP count: per output sample and tap, one real tap times one complex sample plus the
accumulation = 2 multiplies + 2 adds = **4 real flops** (a complex*real multiply-accumulate;
8 would be the count for a complex*complex MAC, which this kernel does not do). The per-sample
gain/Doppler rotation (one complex*complex product, 6 flops, plus the phasor) is not counted.
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np

from .delay import DEFAULT_NUM_TAPS, delay_doppler, delay_doppler_reference

__all__ = ["FLOPS_PER_TAP_MAC", "bench_delay_doppler"]

FLOPS_PER_TAP_MAC = 4


def bench_delay_doppler(
    num_streams: int = 48,
    num_symbols: int = 64,
    num_taps: int = DEFAULT_NUM_TAPS,
    repeats: int = 3,
    seed: int = 0,
) -> dict:
    """Time :func:`delay_doppler` (numba) and :func:`delay_doppler_reference` on one job.

    The job: ``num_streams`` input rows of ``num_symbols`` NR symbols (1096 samples each),
    one op per stream with a random delay (0.1-3 ms, fractional), Doppler (|nu| <= 45 kHz at
    30.72 Msps) and gain, output as long as the input. Both paths write into a pre-allocated
    ``out`` (so page faults of a fresh 50 MB buffer are not timed); the numba path gets one
    warm-up call first (compilation excluded). Best of ``repeats`` (``*_median``: their
    median, the same runs).
    ``seconds_numba_fresh_output`` times the numba path allocating its output instead: the
    difference is the page-fault cost of a fresh buffer, which glibc's ``MALLOC_MMAP_THRESHOLD_``
    (with ``MALLOC_TRIM_THRESHOLD_``) decides.

    Returns
    -------
    dict with ``samples_per_s_numba``, ``samples_per_s_numpy``, ``speedup``,
    ``gflops_numba`` (4 flops per tap MAC, module docstring), ``seconds_numba``,
    ``gflops_numba_single`` / ``seconds_numba_single`` / ``max_rel_diff_single`` (the
    complex64 kernel on the same job, against the double reference),
    ``seconds_numpy``, ``max_rel_diff``, ``num_threads``, ``malloc_mmap_threshold``
    (the ``MALLOC_MMAP_THRESHOLD_`` environment setting or None) and the job size.
    """
    if num_streams < 1 or num_symbols < 1 or repeats < 1:
        raise ValueError("num_streams, num_symbols and repeats must be >= 1")
    rng = np.random.default_rng(seed)
    sym_len = 1024 + 72
    num_samples = num_symbols * sym_len
    x = (rng.standard_normal((num_streams, num_samples))
         + 1j * rng.standard_normal((num_streams, num_samples))) * np.sqrt(0.5)
    x_start = 10_000_000
    src = np.arange(num_streams, dtype=np.int64)
    delay = rng.uniform(3072.0, 92160.0, num_streams)
    doppler = rng.uniform(-45e3, 45e3, num_streams) / 30.72e6
    gain = (rng.standard_normal(num_streams) + 1j * rng.standard_normal(num_streams))
    out_start = x_start + np.floor(delay).astype(np.int64) - rng.integers(0, 200, num_streams)
    args = (x, x_start, src, delay, doppler, gain, out_start, num_samples, num_taps)
    y_nb = np.empty((num_streams, num_samples), dtype=np.complex128)
    y_np = np.empty_like(y_nb)
    delay_doppler(*args, out=y_nb)

    medians = {}

    def best(fn, out, name=None):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(*args, out=out)
            times.append(time.perf_counter() - t0)
        if name:
            medians[name] = float(np.median(times))
        return min(times)

    t_nb = best(delay_doppler, y_nb, "double")
    t_np = best(delay_doppler_reference, y_np)
    t_nb_alloc = best(lambda *a, out: delay_doppler(*a), None)
    from .delay_single import delay_doppler_single

    args = (x.astype(np.complex64),) + args[1:]
    y_32 = np.empty((num_streams, num_samples), dtype=np.complex64)
    delay_doppler_single(*args, out=y_32)                        # warm-up
    t_32 = best(delay_doppler_single, y_32, "single")
    n_out = num_streams * num_samples
    rel = float(np.max(np.abs(y_nb - y_np)) / np.max(np.abs(y_np)))
    rel_32 = float(np.max(np.abs(y_32 - y_np)) / np.max(np.abs(y_np)))
    return {
        "num_ops": num_streams,
        "samples_per_op": num_samples,
        "num_taps": num_taps,
        "seconds_numba": t_nb,
        "seconds_numpy": t_np,
        "seconds_numba_fresh_output": t_nb_alloc,
        "samples_per_s_numba": n_out / t_nb,
        "samples_per_s_numpy": n_out / t_np,
        "speedup": t_np / t_nb,
        "gflops_numba": n_out * num_taps * FLOPS_PER_TAP_MAC / t_nb / 1e9,
        "seconds_numba_single": t_32,
        "gflops_numba_single": n_out * num_taps * FLOPS_PER_TAP_MAC / t_32 / 1e9,
        "max_rel_diff_single": rel_32,
        "gflops_numba_median": n_out * num_taps * FLOPS_PER_TAP_MAC / medians["double"] / 1e9,
        "gflops_numba_single_median": n_out * num_taps * FLOPS_PER_TAP_MAC
        / medians["single"] / 1e9,
        "flops_per_tap_mac": FLOPS_PER_TAP_MAC,
        "max_rel_diff": rel,
        "num_threads": numba.get_num_threads(),
        "threading_layer": numba.config.THREADING_LAYER,
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }


if __name__ == "__main__":
    for key, value in bench_delay_doppler().items():
        print(f"{key}: {value}")
