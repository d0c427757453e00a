"""CP-OFDM modulation and demodulation on the common absolute sample grid.

Conventions (shared by the whole emulator):

* sample rate ``fs = fft_size * subcarrier_spacing``; samples are complex128;
* logical subcarrier ``q`` in ``-num_used//2 ... num_used - num_used//2 - 1`` (DC included,
  as in NR) sits in FFT bin ``q mod fft_size`` (:func:`used_subcarrier_bins`);
* unitary DFT pair: ``x[n] = 1/sqrt(N) sum_q X[q] e^{j 2 pi q n / N}``, so one unit-power
  symbol per loaded subcarrier gives ``num_used / N`` power per time sample, and white noise
  of power ``P`` per time sample has power ``P`` per subcarrier after the DFT;
* symbol ``m`` of a burst starts (first CP sample) at sample ``m * (N + Ncp)`` of the burst.

This is the per-user transmitter of math.md Sec. 2.2 (the unnumbered equation before (4),
with the precoder applied outside) and the receiver of (10)-(15): CP removal and DFT.
The FFTs use numpy's batched pocketfft; the sample-domain kernels are in
:mod:`waveforms.delay` and :mod:`waveforms.doppler`.
"""

from __future__ import annotations

import numpy as np

from .checks import check_integer

__all__ = [
    "MODULATIONS",
    "used_subcarrier_bins",
    "qam_symbols",
    "ofdm_modulate",
    "ofdm_demodulate",
]

MODULATIONS = ("qpsk", "16qam", "64qam", "gaussian")

_BITS_PER_AXIS = {"qpsk": 1, "16qam": 2, "64qam": 3}


def _check_positive_int(value: int, name: str) -> int:
    check_integer(value, f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def used_subcarrier_bins(fft_size: int, num_used: int) -> np.ndarray:
    """FFT bins of the used subcarriers, in ascending logical order.

    Logical subcarriers ``q = -num_used//2, ..., num_used - num_used//2 - 1`` (DC included,
    as in NR) are mapped to bins ``q mod fft_size``.

    Returns
    -------
    bins : int64 [num_used]

    Example
    -------
    >>> used_subcarrier_bins(8, 4).tolist()
    [6, 7, 0, 1]
    """
    fft_size = _check_positive_int(fft_size, "fft_size")
    num_used = _check_positive_int(num_used, "num_used")
    if num_used > fft_size:
        raise ValueError(f"num_used must be in [1, fft_size={fft_size}], got {num_used}")
    q = np.arange(-(num_used // 2), num_used - num_used // 2, dtype=np.int64)
    return np.mod(q, fft_size).astype(np.int64)


def _gray_to_binary(g: np.ndarray) -> np.ndarray:
    b = g.copy()
    shift = g >> 1
    while np.any(shift):
        b ^= shift
        shift >>= 1
    return b


def qam_symbols(
    rng: np.random.Generator, modulation: str, shape: int | tuple[int, ...]
) -> np.ndarray:
    """Random unit-average-power data symbols.

    Parameters
    ----------
    rng : numpy Generator
    modulation : 'qpsk', '16qam', '64qam' (square, Gray mapped per axis) or 'gaussian'
        (CN(0, 1)).
    shape : output shape, e.g. ``(num_streams, num_symbols, num_used)``.

    Returns
    -------
    X : complex128 [shape], E|X|^2 = 1.
    """
    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    if modulation == "gaussian":
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return (z * np.sqrt(0.5)).astype(np.complex128)
    k = _BITS_PER_AXIS[modulation]
    side = 1 << k
    gray_i = rng.integers(0, side, size=shape, dtype=np.int64)
    gray_q = rng.integers(0, side, size=shape, dtype=np.int64)
    level_i = 2 * _gray_to_binary(gray_i) - (side - 1)
    level_q = 2 * _gray_to_binary(gray_q) - (side - 1)
    norm = np.sqrt(2.0 * (side * side - 1) / 3.0)
    return ((level_i + 1j * level_q) / norm).astype(np.complex128)


def _check_bins(used_bins: np.ndarray, fft_size: int) -> np.ndarray:
    bins = np.asarray(used_bins)
    if bins.ndim != 1 or not np.issubdtype(bins.dtype, np.integer):
        raise ValueError("used_bins must be a 1-D integer array of FFT bins")
    if bins.size == 0 or bins.size > fft_size:
        raise ValueError(f"used_bins must hold 1..fft_size={fft_size} bins, got {bins.size}")
    if np.any(bins < 0) or np.any(bins >= fft_size):
        raise ValueError(f"used_bins must lie in [0, fft_size={fft_size})")
    if np.unique(bins).size != bins.size:
        raise ValueError("used_bins must not repeat a bin")
    return bins.astype(np.int64)


def _check_cp(cyclic_prefix_length: int, fft_size: int) -> int:
    check_integer(cyclic_prefix_length, "cyclic_prefix_length must be an integer")
    if not 0 <= cyclic_prefix_length <= fft_size:
        raise ValueError(
            f"cyclic_prefix_length must be in [0, fft_size={fft_size}], got {cyclic_prefix_length}"
        )
    return int(cyclic_prefix_length)


def ofdm_modulate(
    X: np.ndarray, fft_size: int, cyclic_prefix_length: int, used_bins: np.ndarray
) -> np.ndarray:
    """CP-OFDM modulation (math.md, equation before (4)).

    ``x[m(N+Ncp) + Ncp + n] = 1/sqrt(N) sum_q X[m, q] e^{j 2 pi q n / N}`` for
    ``n = -Ncp, ..., N-1`` (the CP is the last ``Ncp`` samples, prepended).

    Parameters
    ----------
    X : complex128 [num_streams, num_symbols, num_used]
        Subcarrier symbols in ascending logical order (as ``used_bins``).
    fft_size : N.
    cyclic_prefix_length : Ncp in samples, 0 <= Ncp <= N.
    used_bins : int64 [num_used], from :func:`used_subcarrier_bins`.

    Returns
    -------
    x : complex128 [num_streams, num_symbols * (N + Ncp)]
        Symbol ``m`` starts (first CP sample) at sample ``m * (N + Ncp)``.
    """
    fft_size = _check_positive_int(fft_size, "fft_size")
    ncp = _check_cp(cyclic_prefix_length, fft_size)
    bins = _check_bins(used_bins, fft_size)
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"X must be [num_streams, num_symbols, num_used] (3-D), got {X.ndim}-D"
        )
    if X.shape[2] != bins.size:
        raise ValueError(
            f"X has {X.shape[2]} subcarriers but used_bins has {bins.size}"
        )
    num_streams, num_symbols, _ = X.shape
    grid = np.zeros((num_streams, num_symbols, fft_size), dtype=np.complex128)
    grid[:, :, bins] = X
    body = np.fft.ifft(grid, axis=-1, norm="ortho")
    sym_len = fft_size + ncp
    x = np.empty((num_streams, num_symbols, sym_len), dtype=np.complex128)
    x[:, :, ncp:] = body
    x[:, :, :ncp] = body[:, :, fft_size - ncp:]
    return x.reshape(num_streams, num_symbols * sym_len)


def ofdm_demodulate(
    y: np.ndarray,
    first_symbol_start: int,
    num_symbols: int,
    fft_size: int,
    cyclic_prefix_length: int,
    used_bins: np.ndarray,
    backoff_samples: int = 0,
) -> np.ndarray:
    """CP removal and unitary DFT (math.md (10)-(15)).

    For symbol ``m`` the DFT window is
    ``y[:, s + m(N+Ncp) + Ncp - b : s + m(N+Ncp) + Ncp - b + N]`` with
    ``s = first_symbol_start`` (index into ``y``) and ``b = backoff_samples`` (the receiver's
    timing back-off into the CP). The DFT output is de-rotated by ``e^{+j 2 pi q b / N}``,
    so that an undistorted signal returns exactly the transmitted symbols. A signal delayed
    by ``d`` samples with ``-b <= d <= Ncp - b`` (and its interpolation filter support) gives
    ``X[q] e^{-j 2 pi q d / N}`` without ISI; outside that range the window overlaps the
    neighbouring symbols.

    Parameters
    ----------
    y : complex128 [num_streams, num_samples]
    first_symbol_start : index in ``y`` of the first CP sample of the first symbol.
    num_symbols : number of symbols to demodulate.
    fft_size, cyclic_prefix_length : N, Ncp.
    used_bins : int64 [num_used] FFT bins to return, in this order.
    backoff_samples : b, 0 <= b <= Ncp.

    Returns
    -------
    Y : complex128 [num_streams, num_symbols, num_used]
    """
    fft_size = _check_positive_int(fft_size, "fft_size")
    ncp = _check_cp(cyclic_prefix_length, fft_size)
    bins = _check_bins(used_bins, fft_size)
    num_symbols = _check_positive_int(num_symbols, "num_symbols")
    check_integer(backoff_samples, "backoff_samples must be an integer")
    if not 0 <= backoff_samples <= ncp:
        raise ValueError(
            f"backoff_samples must be in [0, cyclic_prefix_length={ncp}], got {backoff_samples}"
        )
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must be [num_streams, num_samples] (2-D), got {y.ndim}-D")
    sym_len = fft_size + ncp
    first = int(first_symbol_start) + ncp - int(backoff_samples)
    last = first + (num_symbols - 1) * sym_len + fft_size
    if first < 0 or last > y.shape[1]:
        raise ValueError(
            f"DFT windows span samples [{first}, {last}) but y has {y.shape[1]} samples"
        )
    starts = first + sym_len * np.arange(num_symbols, dtype=np.int64)
    idx = starts[:, None] + np.arange(fft_size, dtype=np.int64)[None, :]
    Y = np.fft.fft(y[:, idx], axis=-1, norm="ortho")[:, :, bins]
    if backoff_samples:
        turns = np.mod(bins * int(backoff_samples), fft_size) / fft_size
        Y *= np.exp(2j * np.pi * turns)
    return Y
