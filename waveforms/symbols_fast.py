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

__all__ = ["qam_symbols_fast"]

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
