"""CP-OFDM at FFT-library speed: the contracts of :func:`waveforms.ofdm.ofdm_modulate` and
:func:`waveforms.ofdm.ofdm_demodulate`, with the FFTs done by ``scipy.fft`` (pocketfft, the
same algorithm numpy uses) on all cores and no extra passes over the samples:

Double precision is bit-identical to numpy's ``norm="ortho"`` FFT: the same pocketfft
transform unscaled, then the same multiply by ``1/sqrt(N)`` (numpy applies the scale to the
unscaled transform; scipy's own ``ortho`` scaling differs in the last bit when 1/sqrt(N) is
not a power of two).

* modulation writes the subcarriers straight into the body of each symbol of the output
  buffer ``[K, B, N_cp + N]`` (zeros only in the unused bins), transforms the bodies in place
  (a strided batched IFFT) and copies the last ``N_cp`` samples of each body in front of it:
  one scatter, one FFT, one CP copy (``N_cp / N`` of the data); in single precision the
  1/sqrt(N) is applied inside the FFT, in double afterwards (numpy's order, bit-identical);
* demodulation transforms the DFT windows as a strided view of ``y`` (no gather copy) and
  keeps only the used bins.

Both keep the input's precision: complex64 in, complex64 out (single precision, the FFT
runs in float32), otherwise complex128. ``workers`` defaults to the number of threads
:func:`set_fft_workers` set (default: environment ``LINKSIM_FFT_WORKERS``, else
``os.cpu_count()``); results do not depend on it.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.fft as sfft

from .ofdm import _check_bins as _bins  # the one used-bin check of the package

__all__ = ["bin_runs", "ofdm_modulate_fast", "ofdm_demodulate_fast", "modulate_into",
           "set_fft_workers", "fft_workers", "parse_fft_workers"]

def parse_fft_workers(text: str | None) -> int:
    """The FFT thread count of ``LINKSIM_FFT_WORKERS``: an integer >= 1, or unset / empty /
    0 for every core (ValueError naming the variable otherwise)."""
    text = (text or "").strip()
    try:
        value = int(text) if text else 0
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"LINKSIM_FFT_WORKERS must be an integer >= 1, or 0 / unset for "
                         f"every core (got {text!r})")
    return value or os.cpu_count() or 1


_WORKERS: list[int | None] = [None]          # None: LINKSIM_FFT_WORKERS, read on first use


def set_fft_workers(workers: int) -> None:
    """Threads of the batched FFTs (>= 1). Results are identical for every count."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 (got {workers!r})")
    _WORKERS[0] = int(workers)


def fft_workers() -> int:
    """The FFT threads: :func:`set_fft_workers`, else ``LINKSIM_FFT_WORKERS``, else every
    core."""
    if _WORKERS[0] is None:
        _WORKERS[0] = parse_fft_workers(os.environ.get("LINKSIM_FFT_WORKERS"))
    return _WORKERS[0]


def _complex_dtype(a: np.ndarray) -> np.dtype:
    return np.dtype(np.complex64) if a.dtype in (np.complex64, np.float32) else \
        np.dtype(np.complex128)


def _int(value, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {rng}, got {value}")
    return int(value)


def _unitary_scale(n: int, dtype: np.dtype):
    """1/sqrt(N) as numpy's FFT computes it for norm='ortho' (in the samples' real type)."""
    real = np.float32 if np.dtype(dtype) == np.complex64 else np.float64
    return np.reciprocal(np.sqrt(real(n)))


def bin_runs(bins: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of consecutive FFT bins: (first bin, first index into ``bins``, length), so the
    subcarrier map is a few slice copies instead of a fancy-index scatter ([6, 7, 0, 1] ->
    [(6, 0, 2), (0, 2, 2)])."""
    breaks = np.flatnonzero(np.diff(bins) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [bins.size]))
    return [(int(bins[a]), int(a), int(b - a)) for a, b in zip(starts, ends)]


def _gaps(bins: np.ndarray, n: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of the FFT bins in [0, n) that ``bins`` does not use."""
    used = np.zeros(n + 2, dtype=bool)
    used[1:-1][bins] = True
    used[0] = used[-1] = True
    edges = np.flatnonzero(np.diff(used.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def modulate_args(X, fft_size, cyclic_prefix_length, used_bins):
    """Checked arguments of an OFDM modulation: (X [K, B, Q] array, N, N_cp, used bins)."""
    n = _int(fft_size, "fft_size", 1)
    ncp = _int(cyclic_prefix_length, "cyclic_prefix_length", 0, n)
    bins = _bins(used_bins, n)
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X must be [num_streams, num_symbols, num_used] (3-D), got {X.ndim}-D")
    if X.shape[2] != bins.size:
        raise ValueError(f"X has {X.shape[2]} subcarriers but used_bins has {bins.size}")
    return X, n, ncp, bins


def demodulate_args(y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length,
                    used_bins, backoff_samples):
    """Checked arguments of an OFDM demodulation: (y [R, L] array, N, N_cp, used bins, M,
    back-off, first DFT-window sample); every window must lie inside y."""
    n = _int(fft_size, "fft_size", 1)
    ncp = _int(cyclic_prefix_length, "cyclic_prefix_length", 0, n)
    bins = _bins(used_bins, n)
    m = _int(num_symbols, "num_symbols", 1)
    backoff = _int(backoff_samples, "backoff_samples", 0, ncp)
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must be [num_streams, num_samples] (2-D), got {y.ndim}-D")
    first = int(first_symbol_start) + ncp - backoff
    last = first + (m - 1) * (n + ncp) + n
    if first < 0 or last > y.shape[1]:
        raise ValueError(f"DFT windows span samples [{first}, {last}) but y has {y.shape[1]} "
                         "samples")
    return y, n, ncp, bins, m, backoff, first


def ofdm_modulate_fast(X: np.ndarray, fft_size: int, cyclic_prefix_length: int,
                       used_bins: np.ndarray) -> np.ndarray:
    """CP-OFDM modulation, contract of :func:`waveforms.ofdm.ofdm_modulate`.

    X : complex [K, B, Q] (complex64 stays complex64) -> x : [K, B (N + N_cp)].
    """
    X, n, ncp, bins = modulate_args(X, fft_size, cyclic_prefix_length, used_bins)
    k, b, _ = X.shape
    x = np.empty((k, b, n + ncp), dtype=_complex_dtype(X))   # every sample written below
    modulate_into(x, X, n, ncp, bins)
    return x.reshape(k, b * (n + ncp))


def modulate_into(x: np.ndarray, X: np.ndarray, n: int, ncp: int, bins: np.ndarray,
                  workers: int | None = None) -> None:
    """The modulation of :func:`ofdm_modulate_fast` written into ``x`` [k, b, N_cp + N] (a
    view whose symbols may be apart, e.g. one stream's range of a larger buffer; its dtype
    sets the precision) from X [k, b, Q] (checked arguments): every sample of ``x`` is
    written. ``workers``: the FFT's threads (default :func:`fft_workers`)."""
    body = x[:, :, ncp:]
    for g0, g1 in _gaps(bins, n):              # unused bins: zero (no pass over the rest)
        body[:, :, g0:g1] = 0
    for b0, q0, length in bin_runs(bins):
        body[:, :, b0:b0 + length] = X[:, :, q0:q0 + length]
    # double: numpy's order (unscaled FFT, then 1/sqrt(N)), bit-identical to the reference;
    # single: the 1/sqrt(N) inside pocketfft's last pass (one pass less; float32 rounding)
    single = x.dtype == np.complex64
    out = sfft.ifft(body, axis=-1, norm="ortho" if single else "forward", overwrite_x=True,
                    workers=workers or fft_workers())
    if not np.shares_memory(out, body):        # pocketfft declined the in-place transform
        body[...] = out
    if not single:
        body *= _unitary_scale(n, x.dtype)
    if ncp:
        x[:, :, :ncp] = x[:, :, n:]


def ofdm_demodulate_fast(y: np.ndarray, first_symbol_start: int, num_symbols: int,
                         fft_size: int, cyclic_prefix_length: int, used_bins: np.ndarray,
                         backoff_samples: int = 0) -> np.ndarray:
    """CP removal and unitary DFT, contract of :func:`waveforms.ofdm.ofdm_demodulate`.

    y : complex [R, L] (complex64 stays complex64) -> Y : [R, M, Q].
    """
    y, n, ncp, bins, m, backoff, first = demodulate_args(
        y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length, used_bins,
        backoff_samples)
    y = y.astype(_complex_dtype(y), copy=False)
    sym_len = n + ncp
    r = y.shape[0]
    stride_r, stride_t = y.strides
    windows = np.lib.stride_tricks.as_strided(
        y[:, first:], shape=(r, m, n), strides=(stride_r, sym_len * stride_t, stride_t),
        writeable=False)
    single = y.dtype == np.complex64           # as in modulation: scale inside the FFT
    full = sfft.fft(windows, axis=-1, norm="ortho" if single else "backward",
                    workers=fft_workers())
    # double: the reference's memory order too (its fancy-indexed result is F-ordered):
    # numpy's reductions downstream (the measure's) follow the memory order, and their
    # rounding with it, so the default set's numbers stay the reference's bit for bit
    Y = np.empty((r, m, bins.size), dtype=full.dtype, order="C" if single else "F")
    for b0, q0, length in bin_runs(bins):
        Y[:, :, q0:q0 + length] = full[:, :, b0:b0 + length]
    if not single:
        Y *= _unitary_scale(n, Y.dtype)
    if backoff:
        turns = np.mod(bins * backoff, n) / n
        Y *= np.exp(2j * np.pi * turns).astype(Y.dtype)
    return Y
