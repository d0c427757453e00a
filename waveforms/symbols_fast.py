"""Data symbols with the values of :func:`waveforms.ofdm.qam_symbols`, drawn with fewer
passes over memory.

The reference builds the Gaussian symbols as ``(a + 1j b) * sqrt(1/2)`` with
``a = rng.standard_normal(shape)`` then ``b = rng.standard_normal(shape)``: five full-size
temporaries. Here ``a`` and ``b`` are drawn from the same generator in the same order into
the real and imaginary parts of the complex output, scaled as they are written: the same
random stream and, because ``(a + 0j)(c + 0j)`` has the exact parts ``a c`` and ``b c``, the
same values bit for bit. The normals themselves are numpy's, computed on all cores
(:func:`waveforms.pcg64_normal.standard_normal_into`: bit for bit, the generator left as
numpy leaves it).

QAM symbols draw the same in-phase then quadrature Gray indices as the reference
(``rng.integers``; on all cores, bit for bit: :mod:`waveforms.pcg64_integers`) and map them
in one compiled pass (:func:`qam_from_gray`), instead of the
reference's dozen int64 and complex temporaries. The reference's value is
``(level_i + 1j level_q) / norm``: numpy divides a complex by a real with Smith's algorithm,
which for a zero imaginary divisor is ``level * (1 / norm)`` per part (exactly, the levels
being odd integers), so a table ``level(g) * (1 / norm)`` per Gray index gives the same
numbers bit for bit (tested against the reference).
"""

from __future__ import annotations

import numba
import numpy as np

from .ofdm import _BITS_PER_AXIS, MODULATIONS, _gray_to_binary
from .pcg64_normal import standard_normal_into

__all__ = ["qam_symbols_fast", "qam_symbols_per_stream", "qam_level_table", "qam_from_gray",
           "qam_from_words", "qam_from_words_reference"]

_SQRT_HALF = np.sqrt(0.5)


def qam_level_table(modulation: str) -> np.ndarray:
    """float64 [2^k]: the coordinate of Gray index g on one axis of the square QAM of
    :func:`waveforms.ofdm.qam_symbols`, (2 binary(g) - (2^k - 1)) * (1 / norm), norm the
    unit-average-power scale (module docstring: the reference's numbers)."""
    if modulation not in _BITS_PER_AXIS:
        raise ValueError(f"modulation must be one of {', '.join(_BITS_PER_AXIS)} "
                         f"(got {modulation!r})")
    side = 1 << _BITS_PER_AXIS[modulation]
    levels = 2 * _gray_to_binary(np.arange(side, dtype=np.int64)) - (side - 1)
    norm = np.sqrt(2.0 * (side * side - 1) / 3.0)
    return levels.astype(np.float64) * (1.0 / norm)


@numba.njit(cache=True, parallel=True)
def _map_gray(gray_i, gray_q, table, out):
    for n in numba.prange(out.size):
        out[n] = complex(table[gray_i[n]], table[gray_q[n]])


@numba.njit(cache=True, parallel=True)
def _map_words(words, bits, table, out):
    side_mask = np.uint64((1 << bits) - 1)
    shift_i = np.uint64(64 - bits)
    shift_q = np.uint64(64 - 2 * bits)
    for n in numba.prange(out.size):
        w = words[n]
        out[n] = complex(table[np.int64(w >> shift_i)],
                         table[np.int64((w >> shift_q) & side_mask)])


def qam_from_gray(gray_i: np.ndarray, gray_q: np.ndarray, modulation: str) -> np.ndarray:
    """complex128 [shape]: the QAM symbols of in-phase / quadrature Gray indices (int64 in
    [0, 2^k), one shape): the values of the reference's mapping bit for bit, elementwise on
    numba's threads (the same values for any thread count)."""
    table = qam_level_table(modulation)
    gi = np.ascontiguousarray(gray_i, dtype=np.int64)
    gq = np.ascontiguousarray(gray_q, dtype=np.int64)
    if gi.shape != gq.shape:
        raise ValueError(f"gray_i and gray_q must have one shape (got {gi.shape}, {gq.shape})")
    if gi.size and (min(gi.min(), gq.min()) < 0 or max(gi.max(), gq.max()) >= table.size):
        raise ValueError(f"Gray indices of {modulation} must lie in [0, {table.size})")
    out = np.empty(gi.shape, dtype=np.complex128)
    _map_gray(gi.ravel(), gq.ravel(), table, out.ravel())
    return out


def qam_from_words(words: np.ndarray, modulation: str) -> np.ndarray:
    """complex128 [shape]: one QAM symbol per uint64 word, k bits per axis: in-phase Gray
    index = bits 63..64-k, quadrature = the next k bits (the counter streams' mapping,
    linksim.emulator.counter_streams), in one compiled pass."""
    table = qam_level_table(modulation)
    w = np.ascontiguousarray(words, dtype=np.uint64)
    out = np.empty(w.shape, dtype=np.complex128)
    _map_words(w.ravel(), _BITS_PER_AXIS[modulation], table, out.ravel())
    return out


def qam_from_words_reference(words: np.ndarray, modulation: str) -> np.ndarray:
    """Numpy reference of :func:`qam_from_words`, built as :func:`waveforms.ofdm.qam_symbols`
    builds its symbols."""
    if modulation not in _BITS_PER_AXIS:
        raise ValueError(f"modulation must be one of {', '.join(_BITS_PER_AXIS)} "
                         f"(got {modulation!r})")
    k = _BITS_PER_AXIS[modulation]
    side = 1 << k
    gray_i = (words >> np.uint64(64 - k)).astype(np.int64)
    gray_q = ((words >> np.uint64(64 - 2 * k)) & np.uint64(side - 1)).astype(np.int64)
    level_i = 2 * _gray_to_binary(gray_i) - (side - 1)
    level_q = 2 * _gray_to_binary(gray_q) - (side - 1)
    norm = np.sqrt(2.0 * (side * side - 1) / 3.0)
    return ((level_i + 1j * level_q) / norm).astype(np.complex128)


def _qam_symbols(rng: np.random.Generator, modulation: str, shape: tuple) -> np.ndarray:
    """:func:`waveforms.ofdm.qam_symbols` for a QAM: the same draws, the compiled mapping."""
    from .pcg64_integers import pow2_integers_into

    gray = np.empty((2,) + shape, dtype=np.int64)       # in-phase, then quadrature indices
    for axis in gray:
        pow2_integers_into(rng, _BITS_PER_AXIS[modulation], axis.reshape(-1))
    return qam_from_gray(gray[0], gray[1], modulation)


def qam_symbols_fast(rng: np.random.Generator, modulation: str,
                     shape: int | tuple[int, ...]) -> np.ndarray:
    """Same contract and values as :func:`waveforms.ofdm.qam_symbols` (complex128 [shape])."""
    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if modulation != "gaussian":
        return _qam_symbols(rng, modulation, shape)
    out = np.empty(shape, dtype=np.complex128)
    parts = out.reshape(-1).view(np.float64).reshape(-1, 2)
    for k in range(2):                     # real parts first, then imaginary (the stream)
        standard_normal_into(rng, parts[:, k], _SQRT_HALF)
    return out


def _fill_row(rng: np.random.Generator, modulation: str, row: np.ndarray) -> None:
    """row[...] = qam_symbols_fast(rng, modulation, row.shape), written in place."""
    if modulation != "gaussian":
        row[...] = _qam_symbols(rng, modulation, row.shape)
        return
    parts = row.view(np.float64).reshape(row.shape + (2,))
    scratch = np.empty(row.shape, dtype=np.float64)
    for k in range(2):
        rng.standard_normal(out=scratch)
        np.multiply(scratch, _SQRT_HALF, out=parts[..., k])


def qam_symbols_per_stream(rngs: list[np.random.Generator], modulation: str,
                           shape: int | tuple[int, ...], workers: int | None = None) -> np.ndarray:
    """Row i drawn from ``rngs[i]`` alone: complex128 [len(rngs), *shape].

    Each row has the values :func:`qam_symbols_fast` gives for its own generator, so the
    result does not depend on ``workers`` (threads; default numba's thread count, which a
    sweep worker limits to its share of the cores): numpy's generators release the GIL while
    they fill, and the rows run concurrently.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numba

    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    out = np.empty((len(rngs),) + shape, dtype=np.complex128)
    workers = max(1, min(len(rngs), workers or numba.get_num_threads()))
    if workers == 1:
        for rng, row in zip(rngs, out):
            _fill_row(rng, modulation, row)
        return out
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda pair: _fill_row(pair[0], modulation, pair[1]), zip(rngs, out)))
    return out
