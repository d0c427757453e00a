"""Data symbols with the values of :func:`waveforms.ofdm.qam_symbols`, drawn with fewer
passes over memory.

The reference builds the Gaussian symbols as ``(a + 1j b) * sqrt(1/2)`` with
``a = rng.standard_normal(shape)`` then ``b = rng.standard_normal(shape)``: five full-size
temporaries. Here ``a`` and ``b`` are drawn from the same generator in the same order into
one float64 scratch buffer and scaled straight into the real and imaginary parts of the
complex output: the same random stream and, because ``(a + 0j)(c + 0j)`` has the exact parts
``a c`` and ``b c``, the same values bit for bit. QAM symbols use the reference.
"""

from __future__ import annotations

import numpy as np

from .ofdm import MODULATIONS, qam_symbols

__all__ = ["qam_symbols_fast", "qam_symbols_per_stream"]

_SQRT_HALF = np.sqrt(0.5)


def qam_symbols_fast(rng: np.random.Generator, modulation: str,
                     shape: int | tuple[int, ...]) -> np.ndarray:
    """Same contract and values as :func:`waveforms.ofdm.qam_symbols` (complex128 [shape])."""
    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    if modulation != "gaussian":
        return qam_symbols(rng, modulation, shape)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    out = np.empty(shape, dtype=np.complex128)
    parts = out.view(np.float64).reshape(shape + (2,))
    scratch = np.empty(shape, dtype=np.float64)
    for k in range(2):                     # real parts first, then imaginary (the stream)
        rng.standard_normal(out=scratch)
        np.multiply(scratch, _SQRT_HALF, out=parts[..., k])
    return out


def _fill_row(rng: np.random.Generator, modulation: str, row: np.ndarray) -> None:
    """row[...] = qam_symbols_fast(rng, modulation, row.shape), written in place."""
    if modulation != "gaussian":
        row[...] = qam_symbols(rng, modulation, row.shape)
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
