"""Precision casts of large sample arrays on all cores, with numpy's numbers.

Why: single precision casts the drawn data symbols (S = 5, K = 48, 14 symbols: 5.3 M complex
values) and the noise from complex128 to complex64 once per drop; numpy's ``astype`` does it
on one core (5 ms here), a serial share of the host's work that the torch back end's
drops-per-second on a GPU host with many cores would wait for. The cast is element by
element, so it splits over threads without changing a bit: every part is rounded to the
nearest float32 (ties to even), as numpy's cast rounds it (tested bit for bit, overflow to
infinity and float32 subnormals included).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["as_dtype", "MIN_PARALLEL"]

#: below this many elements numpy casts (the threads' start costs more than they save)
MIN_PARALLEL = 1 << 16
_CHUNK = 1 << 14


@njit(cache=True, parallel=True)
def _to_complex64(src, dst):
    """dst[i] = src[i] (complex128 -> complex64, each part rounded to nearest), 1-D."""
    n = src.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            dst[i] = src[i]


def as_dtype(a: np.ndarray, dtype) -> np.ndarray:
    """``a.astype(dtype, copy=False)``, the same numbers; a large C-contiguous complex128 array
    cast to complex64 is cast on numba's threads (module docstring)."""
    dtype = np.dtype(dtype)
    if (a.dtype == np.complex128 and dtype == np.complex64 and a.size >= MIN_PARALLEL
            and a.flags.c_contiguous and numba.get_num_threads() > 1):
        out = np.empty(a.shape, dtype=np.complex64)
        _to_complex64(a.reshape(-1), out.reshape(-1))
        return out
    return a.astype(dtype, copy=False)
