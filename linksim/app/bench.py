"""Benchmarks: (b) one full drop through the waveform emulator, numba path vs numpy reference.

Throughput is measured after a warm-up call (numba compilation is cached on disk), in one
run with the reference, so the ratio is read from the same machine state. The settings that
change such numbers (threads, allocator) are printed with them.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def machine_settings() -> dict:
    import numba

    return {"numba_threads": int(numba.get_num_threads()), "cpu_count": os.cpu_count(),
            "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def bench_full_drop(cfg: LinkConfig, num_users: int = 48, num_sats: int = 5, num_symbols: int = 14,
                    seed: int = 0, repeats: int = 2, reference: bool = True) -> dict:
    """Time one drop (S sats, K users, M symbols, every user's received subcarrier samples)."""
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links
    from linksim.scenario import Stream, drop_rng

    case = drop_case(cfg, num_users, num_sats, seed)
    links, a, scsi, settings = case.links, case.coupling, case.scsi, case.settings
    num = settings.numerology

    def run(backend: str):
        return emulate_links(settings.replace(backend=backend), links.channel(),
                             links.estimates(), a, scsi.noise_power_w,
                             drop_rng(seed, 0, Stream.DATA_NOISE), num_symbols)

    out = run("numba")                                  # warm-up (compilation is cached)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run("numba")
        times.append(time.perf_counter() - t0)
    t_numba = min(times)
    samples = num_users * num_symbols * num.symbol_length
    res = {"job": f"full drop S={num_sats} K={num_users} M={num_symbols}",
           "numba_s": t_numba, "numba_rx_samples_per_s": samples / t_numba,
           "tx_samples_per_stream": out.info["tx_samples_per_stream"],
           "burst_symbols": out.info["burst_symbols"]}
    if reference:
        t0 = time.perf_counter()
        ref = run("numpy")
        t_ref = time.perf_counter() - t0
        err = np.linalg.norm(ref.received - out.received) / np.linalg.norm(ref.received)
        res |= {"numpy_s": t_ref, "numpy_rx_samples_per_s": samples / t_ref,
                "ratio": t_ref / t_numba, "max_rel_diff": float(err)}
    return res | machine_settings()
