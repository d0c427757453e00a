"""numpy's ``Generator(PCG64).integers(0, 2^k, dtype=np.int64)``, the same numbers bit for
bit, on all cores (the Gray indices of the QAM data symbols).

For a range below 2^32 numpy draws 32-bit values: the low half of the generator's next
uint64 word, then its high half (kept in the bit generator's ``has_uint32``/``uinteger``
buffer, which a draw may start from and leave filled). Its bounded draw is Lemire's
multiply-shift, ``(x 2^k) >> 32``, whose rejection threshold ``2^32 mod 2^k`` is 0 for a power
of two: value j is the top k bits of the j-th 32-bit half, nothing is ever rejected. With the
words from :func:`waveforms.pcg64_normal.pcg64_words` every value is known in one parallel
pass, and the generator is left as numpy leaves it (tested against numpy itself, and checked
against numpy once per process before the first compiled draw: :func:`fast_path_agrees`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .pcg64_normal import MIN_PARALLEL, checked_once, pcg64_words

__all__ = ["pow2_integers_into"]

_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)


@njit(cache=True, parallel=True)
def _top_bits(words, shift, first, out):
    """out[j] = top bits (>> shift) of 32-bit half j - first of the words (low half first);
    out[0] = that of ``first``'s buffered half when first == 1 (written by the caller)."""
    n = out.size
    for j in prange(first, n):
        h = j - first
        w = words[h >> 1]
        half = (w & _M32) if (h & 1) == 0 else (w >> _S32)
        out[j] = np.int64(half >> shift)


#: the compiled path's check against numpy in this process: None before the first draw
_AGREES: list[bool | None] = [None]


def _indices_agree() -> bool:
    for bits in (1, 2, 3, 6):
        a = np.random.Generator(np.random.PCG64(20261202 + bits))
        b = np.random.Generator(np.random.PCG64(20261202 + bits))
        a.integers(0, 2**32, dtype=np.uint32)            # start from a buffered half
        b.integers(0, 2**32, dtype=np.uint32)
        got = np.empty(MIN_PARALLEL + 3, dtype=np.int64)
        pow2_integers_into(a, bits, got)
        if not (np.array_equal(got, b.integers(0, 1 << bits, size=got.size, dtype=np.int64))
                and a.bit_generator.state == b.bit_generator.state):
            return False
    return True


def fast_path_agrees() -> bool:
    """On the first call in the process: do the compiled indices of a draw starting from a
    buffered half (k = 1, 2, 3, 6) equal numpy's own, values and state? Otherwise numpy draws,
    with a warning (the numbers are numpy's either way)."""
    return checked_once(_AGREES, "waveforms.pcg64_integers: the compiled indices",
                        _indices_agree)


def pow2_integers_into(rng: np.random.Generator, bits: int, out: np.ndarray) -> bool:
    """out[:] = rng.integers(0, 2**bits, size=out.size, dtype=np.int64), bit for bit, and
    ``rng`` left as that draw leaves it.

    bits : 1 .. 31
    out : int64 [n], C-contiguous
    Returns True when the compiled path drew, False when numpy did (a small draw or not a
    plain PCG64).
    """
    if not 1 <= int(bits) <= 31:
        raise ValueError(f"bits must be in [1, 31] (got {bits})")
    if out.dtype != np.int64 or out.ndim != 1 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous 1-D int64 array (got {out.ndim}-D "
                         f"{out.dtype})")
    bg = rng.bit_generator
    n = out.size
    if type(bg) is not np.random.PCG64 or n < MIN_PARALLEL or not fast_path_agrees():
        out[:] = rng.integers(0, 1 << int(bits), size=n, dtype=np.int64)
        return False
    state = bg.state
    first = int(state["has_uint32"])              # a buffered high half comes first
    shift = np.uint64(32 - int(bits))
    if first:
        out[0] = np.int64(np.uint64(state["uinteger"]) >> shift)
    halves = n - first
    num_words = (halves + 1) // 2
    words = pcg64_words(bg, num_words)
    _top_bits(words, shift, first, out)
    probe = np.random.PCG64()
    probe.state = state
    probe.advance(num_words)
    new = probe.state
    if halves % 2:          # the last word's high half stays buffered
        new["has_uint32"], new["uinteger"] = 1, int(words[-1] >> _S32)
    else:                   # the last half drawn was a buffered one: numpy keeps its value
        new["has_uint32"] = 0
        new["uinteger"] = int(words[-1] >> _S32) if num_words else state["uinteger"]
    bg.state = new
    return True
