"""Beam combining as blocked complex GEMMs (contract of
:func:`waveforms.combine.combine_streams_reference`).

z[s, j, n] = sum_i A[s, j, i] x[s, i, o_{s,j} + n],  n = 0..W-1

Every receiver j of satellite s reads its own window [o_j, o_j + W) of the common stream
buffer, so the whole job is not one matrix product. In absolute buffer time t = o_j + n it
is: Z[j, t] = (A[s] X[s])[j, t] for the t inside j's window. The buffer is cut into tiles
of ``tile`` samples; for each tile, the receivers whose window meets it (a contiguous range
once the receivers are sorted by offset) get one GEMM ``A[s, rows] @ X[s, :, tile]``
(complex [r, K] x [K, tile], BLAS zgemm/cgemm on a strided view, no copy), and each row's
part inside its window is copied out. Extra work: a row computes whole tiles at both ends
of its window, at most ``tile / W`` of the useful work.

Summation order inside BLAS differs from the sequential reference: agreement is to
rounding (relative ~1e-16 in double, ~1e-7 in single). complex64 streams and gains give a
complex64 result (cgemm), otherwise complex128.

Threads: the tiles' GEMMs are small (r ~ J W / L rows), and a multi-threaded BLAS splitting
each of them loses most of its time synchronising (on a loaded 2-core machine the combine
ran at 0.2 GFLOP/s against 7 GFLOP/s single-threaded). So the tiles run on a kept pool of
numba's thread count of Python threads (a sweep worker's share of the cores), handed out one
at a time from a shared counter (BLAS releases the GIL),
with numpy's bundled OpenBLAS set to one thread for the duration (restored after; without
that library the BLAS keeps its own setting). Every output element is computed by one GEMM
call whatever the thread count, so results do not depend on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .combine import _check, window_tiles

__all__ = ["combine_streams_gemm", "combine_streams_any", "combine_flops", "DEFAULT_TILE",
           "run_tiles", "kept_pool"]

DEFAULT_TILE = 1024


def combine_flops(num_sats: int, num_rx: int, num_streams: int, out_len: int) -> float:
    """Useful real flops of the combine: 8 per complex multiply-accumulate."""
    return 8.0 * num_sats * num_rx * num_streams * out_len


_BLAS: list = []


def _openblas():
    """numpy's bundled OpenBLAS (set/get thread count) or None."""
    if not _BLAS:
        lib = None
        pattern = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*")
        for path in glob.glob(pattern):
            try:
                cand = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    if hasattr(cand, f"{prefix}set_num_threads{suffix}"):
                        lib = (getattr(cand, f"{prefix}set_num_threads{suffix}"),
                               getattr(cand, f"{prefix}get_num_threads{suffix}"))
                        break
                if lib:
                    break
        _BLAS.append(lib)
    return _BLAS[0]


@contextlib.contextmanager
def single_threaded_blas():
    """numpy's OpenBLAS on one thread inside the block (no-op if it cannot be found)."""
    lib = _openblas()
    if lib is None:
        yield
        return
    set_threads, get_threads = lib
    before = int(get_threads())
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)


def combine_streams_gemm(streams: np.ndarray, gains: np.ndarray, offsets: np.ndarray,
                         out_len: int, tile: int = DEFAULT_TILE,
                         workers: int | None = None) -> np.ndarray:
    """z_{s,j} = sum_i A[s,j,i] x_{s,i} over receiver j's window, as tiled GEMMs.

    streams : complex [S, K, L]; gains : complex [S, J, K]; offsets : int64 [S, J]
    returns complex [S, J, out_len] (complex64 if streams and gains are, else complex128).
    """
    streams = np.asarray(streams)
    gains = np.asarray(gains)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check(streams, gains, offsets, out_len)
    single = streams.dtype == np.complex64 and gains.dtype in (np.complex64,)
    dtype = np.complex64 if single else np.complex128
    streams = streams.astype(dtype, copy=False)
    gains = gains.astype(dtype, copy=False)
    s_count, j_count, _ = gains.shape
    out = np.empty((s_count, j_count, out_len), dtype=dtype)
    tile = max(int(tile), 1)

    sats = []
    for s in range(s_count):
        order = np.argsort(offsets[s], kind="stable")
        o = offsets[s, order]
        sats.append((order, o, np.ascontiguousarray(gains[s, order])))   # rows by offset
    tiles = [(s,) + t for s, (_, o, _) in enumerate(sats)
             for t in window_tiles(o, out_len, tile)]

    def work(take) -> None:
        for s, t0, t1, lo, hi in take:
            order, o, a = sats[s]
            zt = a[lo:hi] @ streams[s][:, t0:t1]
            for r in range(lo, hi):
                oj = int(o[r])
                n0 = max(t0 - oj, 0)
                n1 = min(t1 - oj, out_len)
                out[s, order[r], n0:n1] = zt[r - lo, oj + n0 - t0:oj + n1 - t0]

    run_tiles(tiles, work, workers)      # tiles write disjoint (row, sample) ranges
    return out


def run_tiles(tiles: list, work, workers: int | None = None) -> list:
    """``work(take)`` on ``workers`` threads (default numba's thread count, at most one per
    tile), ``take`` an iterator that hands each thread the next tile not yet taken from a
    shared counter (no thread waits on another); numpy's OpenBLAS on one thread meanwhile.
    Returns the threads' return values. Every tile is done once, by whichever thread takes
    it, so results that depend only on the tile do not depend on the threads."""
    claim = itertools.count()

    def take():
        for i in iter(claim.__next__, None):
            if i >= len(tiles):
                return
            yield tiles[i]

    workers = max(1, min(workers or numba.get_num_threads(), len(tiles)))
    with single_threaded_blas():
        if workers == 1:
            return [work(take())]
        return list(kept_pool(workers).map(lambda _: work(take()), range(workers)))


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def kept_pool(workers: int) -> ThreadPoolExecutor:
    """A kept pool of ``workers`` threads, made once per count and process (a drop calls the
    tiled kernels once per satellite; a forked child, whose copy of the parent's pool has no
    threads, makes its own)."""
    key = (os.getpid(), workers)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="linksim_tiles")
    return _POOLS[key]


def combine_streams_any(streams: np.ndarray, gains: np.ndarray, offsets: np.ndarray,
                        out_len: int) -> np.ndarray:
    """complex64 streams -> :func:`combine_streams_gemm` (cgemm, complex64 out); otherwise the
    sequential numba kernel :func:`waveforms.combine.combine_streams` (its double-precision
    numbers are the pinned ones, which BLAS's summation order changes in the last bits)."""
    if np.asarray(streams).dtype == np.complex64:
        return combine_streams_gemm(streams, np.asarray(gains).astype(np.complex64), offsets,
                                    out_len)
    from .combine import combine_streams

    return combine_streams(streams, gains, offsets, out_len)
