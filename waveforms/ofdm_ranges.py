"""CP-OFDM modulation of one range of symbols per stream, zeros elsewhere.

A burst holds every symbol that some satellite's stream buffer covers, but a stream is read
only where a receiver's window needs it: at S = 5, K = 48 and 14 symbols a user's needed
symbols are 98 to 154 of the burst's 182. Modulating only those removes the IFFTs of the
rest; the samples that are read are the same numbers.

Contract, for ``ranges`` int64 [K, 2] (stream i: symbols ``ranges[i, 0] <= m <
ranges[i, 1]``, ``0 <= ranges[i, 0] <= ranges[i, 1] <= B``):

    x = ofdm_modulate(X, N, N_cp, bins)   on the samples of symbols m in the range of stream i
    x = 0                                  on the other symbols

(:func:`ofdm_modulate_ranges_reference`). The kernels modulate each stream's range as one
batch of the same transform, so the samples in range are those of the full modulation of
the same kernel: bit-identical for the numpy reference and the scipy.fft path (pocketfft
transforms each symbol alone), tested.
"""

from __future__ import annotations

import numpy as np

from .combine_gemm import run_tiles
from .ofdm import ofdm_modulate
from .ofdm_fast import _complex_dtype, fft_workers, modulate_args, modulate_into

__all__ = ["check_ranges", "ofdm_modulate_ranges_reference", "ofdm_modulate_ranges_fast"]


def check_ranges(ranges, num_streams: int, num_symbols: int) -> np.ndarray:
    """``ranges`` as int64 [K, 2] with ``0 <= start <= stop <= B`` per stream (ValueError)."""
    ranges = np.asarray(ranges)
    if ranges.shape != (num_streams, 2) or not np.issubdtype(ranges.dtype, np.integer):
        raise ValueError(f"ranges must be integer [num_streams={num_streams}, 2] (got "
                         f"{ranges.dtype} {ranges.shape})")
    ranges = ranges.astype(np.int64)
    if np.any(ranges[:, 0] < 0) or np.any(ranges[:, 0] > ranges[:, 1]) or \
            np.any(ranges[:, 1] > num_symbols):
        raise ValueError(f"ranges must satisfy 0 <= start <= stop <= num_symbols="
                         f"{num_symbols} for every stream")
    return ranges


def _zero_outside(x: np.ndarray, ranges: np.ndarray, sym_len: int) -> np.ndarray:
    for i, (b0, b1) in enumerate(ranges):
        x[i, :b0 * sym_len] = 0
        x[i, b1 * sym_len:] = 0
    return x


def ofdm_modulate_ranges_reference(X, fft_size, cyclic_prefix_length, used_bins, ranges):
    """The contract (module docstring) as written: the numpy modulation of every symbol,
    then zeros outside each stream's range. complex128 [K, B (N + N_cp)]."""
    X, n, ncp, bins = modulate_args(X, fft_size, cyclic_prefix_length, used_bins)
    ranges = check_ranges(ranges, X.shape[0], X.shape[1])
    return _zero_outside(ofdm_modulate(X, n, ncp, bins), ranges, n + ncp)


def ofdm_modulate_ranges_fast(X, fft_size, cyclic_prefix_length, used_bins, ranges):
    """The contract with :func:`waveforms.ofdm_fast.ofdm_modulate_fast`'s transform, each
    stream's range modulated in place in the output (no copy); keeps X's precision."""
    X, n, ncp, bins = modulate_args(X, fft_size, cyclic_prefix_length, used_bins)
    ranges = check_ranges(ranges, X.shape[0], X.shape[1])
    k, b, _ = X.shape
    # zeros written only outside the ranges (np.zeros would zero a reused buffer whole)
    x = _zero_outside(np.empty((k, b * (n + ncp)), dtype=_complex_dtype(X)), ranges, n + ncp)
    x = x.reshape(k, b, n + ncp)

    def work(take):          # a stream's range per call, single-threaded FFT, streams in
        for i in take:       # parallel (one small batch splits badly over FFT threads)
            b0, b1 = ranges[i]
            modulate_into(x[i:i + 1, b0:b1], X[i:i + 1, b0:b1], n, ncp, bins, workers=1)

    run_tiles([i for i in range(k) if ranges[i, 1] > ranges[i, 0]], work, fft_workers())
    return x.reshape(k, b * (n + ncp))
