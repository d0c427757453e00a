"""Beam combining: the precoded far-field channel collapses to one gain per (sat, rx, stream).

In the far field every antenna of satellite s sees the same delay towards receiver j, so the
signal that leaves satellite s towards j is z_{s,j}(t) = sum_i A[s, j, i] x_{s,i}(t), with
A[s, j, i] = v_{s,j}^H w_{s,i} (the precoded array gain) and x_{s,i} the precompensated
stream of user i at satellite s. Per-antenna signals are never materialised.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def _check(streams: np.ndarray, gains: np.ndarray, offsets: np.ndarray,
           out_len: int) -> None:
    if streams.ndim != 3 or gains.ndim != 3:
        raise ValueError("streams must be [S, K, L] and gains [S, J, K]")
    s, k, length = streams.shape
    if gains.shape[0] != s or gains.shape[2] != k:
        raise ValueError(f"gains must have shape ({s}, J, {k}) (got {gains.shape})")
    if offsets.shape != gains.shape[:2]:
        raise ValueError(f"offsets must have shape {gains.shape[:2]} (got {offsets.shape})")
    if out_len < 1:
        raise ValueError(f"out_len must be >= 1 (got {out_len})")
    if offsets.size and (offsets.min() < 0 or offsets.max() + out_len > length):
        raise ValueError("offsets + out_len must lie inside the streams' sample range "
                         f"[0, {length}] (got [{offsets.min()}, {offsets.max() + out_len}])")


def combine_streams_reference(streams: np.ndarray, gains: np.ndarray, offsets: np.ndarray,
                              out_len: int) -> np.ndarray:
    """Numpy reference of :func:`combine_streams`.

    streams : complex128 [S, K, L]  precompensated streams of each satellite, common grid
    gains : complex128 [S, J, K]    A[s, j, i] = v_{s,j}^H w_{s,i}
    offsets : int64 [S, J]          first sample of z_{s,j} inside the stream buffer
    returns z : complex128 [S, J, out_len],
        z[s, j, n] = sum_i gains[s,j,i] streams[s,i,offsets[s,j]+n]
    """
    _check(streams, gains, offsets, out_len)
    s_count, j_count, _ = gains.shape
    out = np.empty((s_count, j_count, out_len), dtype=np.complex128)
    for s in range(s_count):
        for j in range(j_count):
            o = int(offsets[s, j])
            out[s, j] = gains[s, j] @ streams[s, :, o:o + out_len]
    return out


#: samples per accumulator block of :func:`_combine_kernel`: its planar running sums
#: (2 x 4 KiB) and four streams' blocks stay in L1 while the K streams are summed
BLOCK = 256
#: stream-buffer samples per task: the K streams' tile (K x 1024 x 16 B, 768 KiB at K = 48)
#: stays in L2 while every receiver window that meets it is summed from it
BUFFER_TILE = 1024


def window_tiles(o_sorted: np.ndarray, win_len: int, tile: int,
                 align: int = 1) -> list[tuple[int, ...]]:
    """(t0, t1, lo, hi) of every tile [t0, t1) of ``tile`` buffer samples in [o_0, o_last +
    win_len) that some window meets: the receivers lo..hi-1 (sorted by offset, o_sorted)
    are those with o_j < t1 and o_j + win_len > t0. ``align``: the first tile starts at
    o_0 rounded down to a multiple of it (with ``tile`` a multiple too, every t0 is)."""
    end = int(o_sorted[-1]) + win_len
    tiles = []
    for t0 in range((int(o_sorted[0]) // align) * align, end, tile):
        t1 = min(t0 + tile, end)
        lo = int(np.searchsorted(o_sorted, t0 - win_len, side="right"))   # o_j + W > t0
        hi = int(np.searchsorted(o_sorted, t1, side="left"))              # o_j < t1
        if hi > lo:
            tiles.append((t0, t1, lo, hi))
    return tiles


def combine_tasks(offsets: np.ndarray, out_len: int, tile: int = BUFFER_TILE
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(order int64 [S, J]: receivers sorted by offset per satellite, tasks int64 [T, 5]: (s,
    t0, t1, lo, hi) for every tile [t0, t1) of satellite s's buffer that windows meet
    (:func:`window_tiles`), the receivers order[s, lo:hi] being those whose window [o_j, o_j +
    out_len) meets it)."""
    order = np.argsort(offsets, axis=1, kind="stable").astype(np.int64)
    tasks = [(s, *t) for s in range(offsets.shape[0])
             for t in window_tiles(offsets[s, order[s]], out_len, tile)]
    return order, np.array(tasks, dtype=np.int64).reshape(-1, 5)


@njit(cache=True, nogil=True)
def nonzero_streams(gains_row, nz):
    """nz[:count] = the i with gains_row[i] != 0, ascending; returns count."""
    count = 0
    for i in range(gains_row.shape[0]):
        if gains_row[i] != 0:
            nz[count] = i
            count += 1
    return count


@njit(cache=True, nogil=True)
def nonzero_table(gains):
    """(nz int64 [R, K], count int64 [R]): :func:`nonzero_streams` of every row of gains
    [R, K], made once per call rather than once per tile."""
    rows, k_count = gains.shape
    nz = np.empty((rows, k_count), dtype=np.int64)
    count = np.empty(rows, dtype=np.int64)
    for r in range(rows):
        count[r] = nonzero_streams(gains[r], nz[r])
    return nz, count


@njit(cache=True, inline="always")
def _mac(re, im, a, v):
    """(re, im) + a v: numba's complex multiply written out, then the complex add."""
    return re + (a.real * v.real - a.imag * v.imag), im + (a.real * v.imag + a.imag * v.real)


@njit(cache=True, nogil=True)
def sum_streams(streams, p, gains_row, nz, count, acc_r, acc_i, dst):
    """dst[e] = sum over i = nz[0], nz[1], .. nz[count - 1] (in that order) of gains_row[i]
    streams[i, p + e], e < dst.size, each term a complex multiply then a complex add onto
    the running sum from 0 (the numbers of a plain ``dst[e] += a * src[p + e]`` loop over i):
    per block of acc_r.size samples the running sums stay in L1 (planar float64, the
    complex products written out as numba computes them), four streams per pass."""
    n = dst.shape[0]
    for b0 in range(0, n, acc_r.shape[0]):
        m = min(acc_r.shape[0], n - b0)
        q = p + b0
        ar, ai = acc_r[:m], acc_i[:m]
        for e in range(m):
            ar[e] = 0.0
            ai[e] = 0.0
        g = 0
        while g + 4 <= count:
            a0, a1 = gains_row[nz[g]], gains_row[nz[g + 1]]
            a2, a3 = gains_row[nz[g + 2]], gains_row[nz[g + 3]]
            x0 = streams[nz[g], q:q + m]
            x1 = streams[nz[g + 1], q:q + m]
            x2 = streams[nz[g + 2], q:q + m]
            x3 = streams[nz[g + 3], q:q + m]
            for e in range(m):
                re, im = _mac(ar[e], ai[e], a0, x0[e])
                re, im = _mac(re, im, a1, x1[e])
                re, im = _mac(re, im, a2, x2[e])
                ar[e], ai[e] = _mac(re, im, a3, x3[e])
            g += 4
        while g < count:
            a0 = gains_row[nz[g]]
            x0 = streams[nz[g], q:q + m]
            for e in range(m):
                ar[e], ai[e] = _mac(ar[e], ai[e], a0, x0[e])
            g += 1
        d = dst[b0:b0 + m]
        for e in range(m):
            d[e] = complex(ar[e], ai[e])


@njit(cache=True, parallel=True)
def _combine_kernel(streams, gains, offsets, order, tasks, out):
    """out[s, j, n] = sum_i gains[s, j, i] streams[s, i, offsets[s, j] + n], the sum over i in
    ascending order from 0 with every term a complex multiply then a complex add (the zero
    gains skipped): each element is the number a plain ``row[n] += a * src[o + n]`` loop over
    i gives (the kernel's numbers before it was tiled, which the regression pins hold).

    Tiled for the caches (:func:`combine_tasks`): one task per tile of a satellite's stream
    buffer sums, for every window that meets the tile, the window's samples that lie in it
    (:func:`sum_streams`), so each stream sample comes from memory once and is reused from
    L2 by the ~7 windows over it. Parallel over the tasks: every element is made by one
    task."""
    s_count, j_count, win = out.shape
    nz, count = nonzero_table(gains.reshape(s_count * j_count, gains.shape[2]))
    for q in prange(tasks.shape[0]):
        s, t0, t1, lo, hi = tasks[q, 0], tasks[q, 1], tasks[q, 2], tasks[q, 3], tasks[q, 4]
        acc_r = np.empty(BLOCK)
        acc_i = np.empty(BLOCK)
        for r in range(lo, hi):
            j = order[s, r]
            o = offsets[s, j]
            sj = s * j_count + j
            n0, n1 = max(t0 - o, 0), min(t1 - o, win)
            sum_streams(streams[s], o + n0, gains[s, j], nz[sj], count[sj], acc_r, acc_i,
                        out[s, j, n0:n1])


def combine_streams(streams: np.ndarray, gains: np.ndarray, offsets: np.ndarray,
                    out_len: int) -> np.ndarray:
    """z_{s,j} = sum_i A[s,j,i] x_{s,i} over a window per (s, j) (numba, parallel over (s, j)).

    Same contract as :func:`combine_streams_reference`.
    """
    streams = np.ascontiguousarray(streams, dtype=np.complex128)
    gains = np.ascontiguousarray(gains, dtype=np.complex128)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check(streams, gains, offsets, out_len)
    out = np.empty((gains.shape[0], gains.shape[1], out_len), dtype=np.complex128)
    if out.size:
        order, tasks = combine_tasks(offsets, out_len)
        _combine_kernel(streams, gains, offsets, order, tasks, out)
    return out
