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


@njit(cache=True, parallel=True)
def _combine_kernel(streams, gains, offsets, out):
    s_count, j_count, out_len = out.shape
    k_count = streams.shape[1]
    for sj in prange(s_count * j_count):
        s = sj // j_count
        j = sj - s * j_count
        o = offsets[s, j]
        row = out[s, j]
        for n in range(out_len):
            row[n] = 0.0
        for i in range(k_count):
            a = gains[s, j, i]
            if a == 0:
                continue
            src = streams[s, i]
            for n in range(out_len):
                row[n] += a * src[o + n]


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
    _combine_kernel(streams, gains, offsets, out)
    return out
