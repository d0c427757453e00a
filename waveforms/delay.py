"""Fractional delay with Doppler, on the common absolute sample grid.

The hot kernel of the emulator, :func:`delay_doppler`, applies one path (math.md (6), (9)):
a complex gain, a delay (integer part by an exact index offset on the absolute grid,
fractional part by a Kaiser-windowed sinc FIR) and a Doppler rotation whose phase is
continuous in absolute time.

Filter convention (used by both :func:`fractional_delay_filter` and the kernels): for a
delay ``D = floor(D) + frac`` samples, ``frac`` in [0, 1), the output is

    y[t] = sum_i h[i] x[t - floor(D) - k_i],   k_i = i - (num_taps//2 - 1),  i = 0..num_taps-1,

i.e. tap ``i`` multiplies the input sample ``k_i`` samples *before* ``t - floor(D)``; the lags
run from ``-(num_taps/2 - 1)`` to ``num_taps/2`` and are centred on ``1/2``, so the filter is
symmetric about the middle of the delay range [0, 1).
``h[i] = sinc(k_i - frac) * kaiser(k_i - frac)`` normalised to unit DC gain; ``frac == 0``
gives exactly a unit impulse at ``k = 0`` (integer delays are exact).

The filter reaches ``num_taps/2`` samples to either side: a delayed OFDM symbol is free of
filter-borne ISI only if its DFT window lies that far inside the symbol's CP + body.

Accuracy with the default Kaiser beta (:func:`default_kaiser_beta`): worst-case error power
``max |H(f) - e^{-j 2 pi f frac}|^2`` over ``|f| <= 0.3`` (the 612-of-1024 used band) and
``frac`` in (0, 1), relative to the signal:

    num_taps     8      10     12     16     24      32      48
    error dB   -40.3  -55.6  -63.2  -84.5  -127.8  -174.3  -262.5

so the -50 dB requirement needs 10 taps; 48 taps are accurate to float64 rounding (a delayed
OFDM burst, demodulated, matches the exact phase ramp to about -265 dB).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.signal import kaiser_atten, kaiser_beta
from scipy.special import i0

from . import bessel_i0 as _b
from .checks import check_integer, is_integer
from .doppler import _reduced_cycles_nb, reduced_cycles

__all__ = [
    "DEFAULT_NUM_TAPS",
    "DEFAULT_BAND_EDGE_CPS",
    "default_kaiser_beta",
    "fractional_delay_filter",
    "delay_doppler",
    "delay_doppler_reference",
]

DEFAULT_NUM_TAPS = 48
# Used band of NR at 20 MHz: 612 of 1024 subcarriers, |f| <= 0.299 fs.
DEFAULT_BAND_EDGE_CPS = 0.3


def default_kaiser_beta(num_taps: int, band_edge_cps: float = DEFAULT_BAND_EDGE_CPS) -> float:
    """Kaiser beta for an interpolator flat on ``|f| <= band_edge_cps`` (cycles/sample).

    Kaiser's design rule with the transition band ``[band_edge, 1 - band_edge]`` (the
    interpolator's image of the used band): attenuation ``A`` reachable with ``num_taps``
    taps, then ``beta(A)``. At 48 taps and band edge 0.3 this is A = 278 dB, beta = 29.7.
    """
    width_nyq = 2.0 * (1.0 - 2.0 * band_edge_cps)
    return float(kaiser_beta(kaiser_atten(int(num_taps), width_nyq)))


def _check_num_taps(num_taps: int) -> int:
    check_integer(num_taps, f"num_taps must be an even integer >= 2, got {num_taps!r}")
    if num_taps < 2 or num_taps % 2:
        raise ValueError(f"num_taps must be an even integer >= 2, got {num_taps}")
    return int(num_taps)


@numba.njit(cache=True, nogil=True)
def _windowed_sinc(frac, num_taps, beta, i0_beta, h):
    """h[r, i] = sinc(x) I0(beta sqrt(max(1 - (x / (num_taps / 2))^2, 0))) / i0_beta, x =
    k_i - frac[r] (the unnormalised filters of :func:`_taps_matrix`), in the operations and
    order of its numpy original ``np.sinc(x) * (i0(beta * np.sqrt(np.clip(1 - (x / half) **
    2, 0, None))) / i0(beta))``: np.sinc's sin(pi x') / (pi x') with x' = 1e-20 at x = 0, the
    C library's sin and sqrt, and scipy's I0 (waveforms.bessel_i0) on chunks of elements:
    the same numbers, without the array temporaries. h: float64 [len(frac), num_taps]."""
    half = num_taps / 2.0
    flat = h.reshape(-1)
    n = flat.shape[0]
    z = np.empty(_b.CHUNK)
    w = np.empty(_b.CHUNK)
    work = np.empty((5, _b.CHUNK))
    at = np.empty(_b.CHUNK, dtype=np.int64)
    r = 0
    i = 0
    for c0 in range(0, n, _b.CHUNK):
        m = min(_b.CHUNK, n - c0)
        for e in range(m):                 # element c0 + e is tap i of row r
            x = (np.float64(i) - np.float64(num_taps // 2 - 1)) - frac[r]
            i += 1
            if i == num_taps:
                i = 0
                r += 1
            q = x / half
            arg = 1.0 - q * q
            z[e] = beta * math.sqrt(arg if arg > 0.0 else 0.0)
            y = np.pi * (x if x != 0.0 else 1.0e-20)
            flat[c0 + e] = math.sin(y) / y
        _b.i0_chunk(z[:m], w[:m], work, at)
        for e in range(m):
            flat[c0 + e] = flat[c0 + e] * (w[e] / i0_beta)


def _taps_matrix_reference(frac: np.ndarray, num_taps: int, beta: float) -> np.ndarray:
    """Numpy reference of :func:`_taps_matrix` (its numbers bit for bit, tested)."""
    k = np.arange(num_taps, dtype=np.float64) - (num_taps // 2 - 1)
    x = k[None, :] - frac[:, None]
    half = num_taps / 2.0
    arg = np.clip(1.0 - (x / half) ** 2, 0.0, None)
    h = np.sinc(x) * (i0(beta * np.sqrt(arg)) / i0(beta))
    return _normalised(h, frac, num_taps)


def _normalised(h: np.ndarray, frac: np.ndarray, num_taps: int) -> np.ndarray:
    """h [rows, num_taps] scaled to unit DC gain in place; rows with frac == 0 the unit
    impulse at k = 0 (integer delays exact)."""
    h /= h.sum(axis=1, keepdims=True)
    exact = frac == 0.0
    if np.any(exact):
        h[exact] = 0.0
        h[exact, num_taps // 2 - 1] = 1.0
    return h


def _taps_matrix(frac: np.ndarray, num_taps: int, beta: float) -> np.ndarray:
    """Filters for many fractional delays: float64 [len(frac), num_taps] (convention above);
    the windowed sincs in one pass (:func:`_windowed_sinc`)."""
    frac = np.ascontiguousarray(frac, dtype=np.float64)
    h = np.empty((frac.shape[0], num_taps))
    _windowed_sinc(frac, num_taps, float(beta), float(_b.i0(np.float64(beta))), h)
    return _normalised(h, frac, num_taps)


#: rows of :func:`taps_matrix_threads` per thread task
_TAPS_ROWS = 8192


def taps_matrix_threads(frac: np.ndarray, num_taps: int, beta: float) -> np.ndarray:
    """:func:`_taps_matrix` on blocks of rows in parallel threads (its numba kernel and numpy's
    ufuncs release the GIL): every operation is row by row (the sum over a row's taps included), so
    each row is the serial call's number bit for bit (tested). For the moving satellites'
    three taps per block and op (~150 k rows a satellite at the default size)."""
    frac = np.asarray(frac, dtype=np.float64).ravel()
    if frac.size <= _TAPS_ROWS:
        return _taps_matrix(frac, num_taps, beta)
    from .combine_gemm import run_tiles

    out = np.empty((frac.size, num_taps))
    tiles = [slice(a, a + _TAPS_ROWS) for a in range(0, frac.size, _TAPS_ROWS)]

    def work(take):
        for rows in take:
            out[rows] = _taps_matrix(frac[rows], num_taps, beta)

    run_tiles(tiles, work)
    return out


def fractional_delay_filter(
    frac: float,
    num_taps: int = DEFAULT_NUM_TAPS,
    beta: float | None = None,
    band_edge_cps: float = DEFAULT_BAND_EDGE_CPS,
) -> np.ndarray:
    """Kaiser-windowed sinc for a fractional delay.

    Parameters
    ----------
    frac : fractional delay in samples, 0 <= frac < 1.
    num_taps : even, >= 2.
    beta : Kaiser beta; default :func:`default_kaiser_beta` (num_taps, band_edge_cps).
    band_edge_cps : edge of the band that must be flat, cycles/sample (only sets beta).

    Returns
    -------
    h : float64 [num_taps], unit DC gain; tap ``i`` is the weight of input lag
        ``k_i = i - (num_taps//2 - 1)`` samples (module docstring).

    Example
    -------
    >>> fractional_delay_filter(0.0, 4).tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    num_taps = _check_num_taps(num_taps)
    frac = float(frac)
    if not 0.0 <= frac < 1.0:
        raise ValueError(f"frac must be in [0, 1), got {frac}")
    if not 0.0 < band_edge_cps < 0.5:
        raise ValueError(f"band_edge_cps must be in (0, 0.5), got {band_edge_cps}")
    if beta is None:
        beta = default_kaiser_beta(num_taps, band_edge_cps)
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be finite and >= 0, got {beta}")
    return _taps_matrix(np.array([frac]), num_taps, float(beta))[0]


class _Job:
    """Validated, normalised arguments of one delay_doppler call."""

    __slots__ = ("x", "x_start", "src", "dint", "taps", "doppler", "gain", "out_start", "out_len")


def _prepare(
    x: np.ndarray,
    x_start: int,
    src: np.ndarray,
    delay_samples: np.ndarray,
    doppler_cps: np.ndarray,
    gain: np.ndarray,
    out_start: np.ndarray,
    out_len: int,
    num_taps: int,
    beta: float | None,
) -> _Job:
    num_taps = _check_num_taps(num_taps)
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be complex [num_in, num_samples] (2-D), got {x.ndim}-D")
    if not is_integer(out_len) or out_len < 0:
        raise ValueError(f"out_len must be an integer >= 0, got {out_len!r}")
    check_integer(x_start, f"x_start must be an integer sample index, got {x_start!r}")
    src = np.asarray(src)
    out_start = np.asarray(out_start)
    delay_samples = np.asarray(delay_samples, dtype=np.float64)
    doppler_cps = np.asarray(doppler_cps, dtype=np.float64)
    gain = np.asarray(gain, dtype=np.complex128)
    for name, arr in (
        ("src", src),
        ("delay_samples", delay_samples),
        ("doppler_cps", doppler_cps),
        ("gain", gain),
        ("out_start", out_start),
    ):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D [num_ops], got shape {arr.shape}")
    num_ops = src.shape[0]
    for name, arr in (
        ("delay_samples", delay_samples),
        ("doppler_cps", doppler_cps),
        ("gain", gain),
        ("out_start", out_start),
    ):
        if arr.shape[0] != num_ops:
            raise ValueError(f"{name} has {arr.shape[0]} entries but src has {num_ops} (num_ops)")
    if num_ops and not np.issubdtype(src.dtype, np.integer):
        raise ValueError("src must be an integer array of rows of x")
    if num_ops and not np.issubdtype(out_start.dtype, np.integer):
        raise ValueError("out_start must be an integer array of absolute sample indices")
    if num_ops and (src.min() < 0 or src.max() >= x.shape[0]):
        raise ValueError(f"src must index rows of x, i.e. lie in [0, {x.shape[0]})")
    if not np.all(np.isfinite(delay_samples)):
        raise ValueError("delay_samples must be finite")
    if np.any(np.abs(delay_samples) > 2.0**40):
        raise ValueError("|delay_samples| must be below 2**40 samples")
    if not np.all(np.isfinite(doppler_cps)):
        raise ValueError("doppler_cps must be finite (cycles/sample)")
    if not np.all(np.isfinite(gain)):
        raise ValueError("gain must be finite")
    if beta is None:
        beta = default_kaiser_beta(num_taps)
    job = _Job()
    job.x = np.ascontiguousarray(x, dtype=np.complex128)
    job.x_start = int(x_start)
    job.src = src.astype(np.int64)
    dfloor = np.floor(delay_samples)
    job.dint = dfloor.astype(np.int64)
    frac = delay_samples - dfloor  # exact for |delay| < 2**52
    job.taps = _taps_matrix(frac, num_taps, float(beta))
    job.doppler = doppler_cps
    job.gain = gain
    job.out_start = out_start.astype(np.int64)
    job.out_len = int(out_len)
    return job


def _output(out: np.ndarray | None, num_ops: int, out_len: int) -> np.ndarray:
    if out is None:
        return np.empty((num_ops, out_len), dtype=np.complex128)
    if (
        not isinstance(out, np.ndarray)
        or out.shape != (num_ops, out_len)
        or out.dtype != np.complex128
        or not out.flags.c_contiguous
    ):
        raise ValueError(
            f"out must be a C-contiguous complex128 array [{num_ops}, {out_len}], got "
            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        )
    return out


@numba.njit(cache=True)
def _rotation(doppler: float, t: np.int64) -> complex:
    cyc = _reduced_cycles_nb(doppler, np.float64(t))
    ang = 2.0 * np.pi * cyc
    return complex(np.cos(ang), np.sin(ang))


_BLOCK = 512


@numba.njit(cache=True)
def _edge_sample(xrow, g, k0):
    """sum_j g[j] x[k0 + j] with zero outside the row; returns (re, im)."""
    num_in_samples = xrow.shape[0] // 2
    s_re = 0.0
    s_im = 0.0
    for j in range(g.shape[0]):
        k = k0 + j
        if 0 <= k < num_in_samples:
            s_re += g[j] * xrow[2 * k]
            s_im += g[j] * xrow[2 * k + 1]
    return s_re, s_im


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir_tail(xrow, g, base, acc, m, j):
    """The taps j.. that a blocked pass left, one at a time: acc[0:m] += g[j'] xrow[base +
    2 j' : base + 2 j' + m] (the last pass of :func:`_fir_block` and :func:`_fir_block8`)."""
    while j < g.shape[0]:
        gj = g[j]
        s0 = xrow[base + 2 * j: base + 2 * j + m]
        for e in range(m):
            acc[e] += gj * s0[e]
        j += 1


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir_block(xrow, g, base, acc, m):
    """acc[0:m] = sum_j g[j] * xrow[base + 2 j : base + 2 j + m] (interleaved re/im).

    Taps are taken four at a time so each pass over the L1-resident accumulator does four
    multiply-adds per element (an axpy per tap is load/store bound).
    """
    num_taps = g.shape[0]
    for e in range(m):
        acc[e] = 0.0
    j = 0
    while j + 4 <= num_taps:
        g0 = g[j]
        g1 = g[j + 1]
        g2 = g[j + 2]
        g3 = g[j + 3]
        o = base + 2 * j
        s0 = xrow[o: o + m]
        s1 = xrow[o + 2: o + 2 + m]
        s2 = xrow[o + 4: o + 4 + m]
        s3 = xrow[o + 6: o + 6 + m]
        for e in range(m):
            acc[e] += (g0 * s0[e] + g1 * s1[e]) + (g2 * s2[e] + g3 * s3[e])
        j += 4
    _fir_tail(xrow, g, base, acc, m, j)


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir_block8(xrow, g, base, acc, m):
    """:func:`_fir_block` taking the taps eight at a time (three passes over the L1-resident
    accumulator at 24 taps instead of six; measured single-threaded on the development VM:
    48 against 39 GFLOP/s in float32). Another summation order than the double kernel's, so
    only the single-precision kernels use it (their results are float32-rounded anyway)."""
    num_taps = g.shape[0]
    for e in range(m):
        acc[e] = 0.0
    j = 0
    while j + 8 <= num_taps:
        g0, g1, g2, g3 = g[j], g[j + 1], g[j + 2], g[j + 3]
        g4, g5, g6, g7 = g[j + 4], g[j + 5], g[j + 6], g[j + 7]
        o = base + 2 * j
        s0, s1 = xrow[o: o + m], xrow[o + 2: o + 2 + m]
        s2, s3 = xrow[o + 4: o + 4 + m], xrow[o + 6: o + 6 + m]
        s4, s5 = xrow[o + 8: o + 8 + m], xrow[o + 10: o + 10 + m]
        s6, s7 = xrow[o + 12: o + 12 + m], xrow[o + 14: o + 14 + m]
        for e in range(m):
            acc[e] += (((g0 * s0[e] + g1 * s1[e]) + (g2 * s2[e] + g3 * s3[e]))
                       + ((g4 * s4[e] + g5 * s5[e]) + (g6 * s6[e] + g7 * s7[e])))
        j += 8
    _fir_tail(xrow, g, base, acc, m, j)


@numba.njit(cache=True)
def _block_steps(doppler: float, block: int) -> np.ndarray:
    """complex128 [block]: the Doppler rotation of sample e inside a block (exact phasor at
    the block start times step[e])."""
    step = np.empty(block, dtype=np.complex128)
    for e in range(block):
        step[e] = _rotation(doppler, np.int64(e))
    return step


@numba.njit(cache=True)
def _planar_steps(doppler: float, block: int, like: np.ndarray) -> np.ndarray:
    """:func:`_block_steps` as planar [2, block] (row 0 the real parts, row 1 the imaginary
    ones) in the real type of ``like``: float64, or rounded to float32 for the
    single-precision rotation (:func:`_rotate_block32`)."""
    step = _block_steps(doppler, block)
    out = np.empty((2, block), dtype=like.dtype)
    for e in range(block):
        out[0, e] = step[e].real
        out[1, e] = step[e].imag
    return out


@numba.njit(cache=True)
def _rotate_block(acc, c, step, yr, o, nb, k):
    """yr[o + e] = (c step[k + e]) (acc[2 e] + j acc[2 e + 1]) for e < nb (step: planar
    float64, :func:`_planar_steps`; c the phasor of the block's first sample, k the offset of
    these samples in the block), in float64 and rounded once into yr's precision: the complex
    multiplies written out as real ones, the same operations in the same order as numba's
    complex multiply (so the same numbers), on planar reads the compiler vectorises."""
    cr = c.real
    ci = c.imag
    sr, si, a, y = step[0, k:k + nb], step[1, k:k + nb], acc[:2 * nb], yr[o:o + nb]
    for e in range(nb):                      # indices >= 0 by range: no wraparound checks
        pr = cr * sr[e] - ci * si[e]
        pi = cr * si[e] + ci * sr[e]
        ar = np.float64(a[2 * e])
        ai = np.float64(a[2 * e + 1])
        y[e] = complex(pr * ar - pi * ai, pr * ai + pi * ar)


@numba.njit(cache=True)
def _rotate_block32(acc, c, step, yf, o, nb, k):
    """:func:`_rotate_block` in float32 into the float view yf of a complex64 row (step:
    planar float32): the block's phasor c (float64, from absolute time) rounded to float32,
    its product with the step and with the FIR output in float32 (a few float32 roundings per
    sample, ~1e-7 relative; the phase stays anchored in float64 at every block)."""
    cr = np.float32(c.real)
    ci = np.float32(c.imag)
    sr, si, a, y = step[0, k:k + nb], step[1, k:k + nb], acc[:2 * nb], yf[2 * o:2 * (o + nb)]
    for e in range(nb):
        pr = cr * sr[e] - ci * si[e]
        pi = cr * si[e] + ci * sr[e]
        ar = a[2 * e]
        ai = a[2 * e + 1]
        y[2 * e] = pr * ar - pi * ai
        y[2 * e + 1] = pr * ai + pi * ar


@numba.njit(cache=True)
def _grid_origin(num_in_samples, num_taps, lo, out_len):
    """Where the blocked FIR of an op over the outputs [0, out_len) starts (its blocks, and
    their Doppler phasors' anchors, at this sample plus multiples of the block): the first
    output whose taps all lie inside the input row (:func:`_fir_row`'s n_a for n0 = 0)."""
    n_z0 = min(max(0, -lo - num_taps + 1), out_len)
    n_z1 = max(min(out_len, num_in_samples - lo), n_z0)
    return min(max(n_z0, -lo), n_z1)


@numba.njit(cache=True)
def _fir_row(xrow, g, lo, f, gain, t0, n0, n1, step, acc, yr, eight, grid):
    """Output samples n in [n0, n1) of one op into yr[n - n0]: y[n] = gain e^{j 2 pi f (t0 +
    n)} sum_j g[j] x[lo + n + j] with zeros outside the row (xrow: float view of the input
    row, g: reversed taps in its real precision, step: :func:`_planar_steps` in that
    precision). ``eight``: the single-precision kernels: taps eight at a time
    (:func:`_fir_block8`) and the float32 rotation (:func:`_rotate_block32`); else taps four
    at a time and the float64 rotation (:func:`_rotate_block`). ``grid``: the op's block
    origin over its whole output range (:func:`_grid_origin`): the blocks, and the samples
    whose Doppler phasor is computed exactly, sit at grid + multiples of the block whatever
    [n0, n1) is, so a range cut into tiles gives the numbers of one call over the whole
    range, bit for bit."""
    num_in_samples = xrow.shape[0] // 2
    num_taps = g.shape[0]
    block = step.shape[1]
    yf = yr.view(xrow.dtype)
    # n < n_z0 or n >= n_z1: every tap outside x (zero); [n_z0, n_a) and [n_b, n_z1):
    # some taps outside (checked per tap); [n_a, n_b): all taps inside (blocked FIR)
    n_z0 = min(max(n0, -lo - num_taps + 1), n1)
    n_z1 = max(min(n1, num_in_samples - lo), n_z0)
    n_a = min(max(n_z0, -lo), n_z1)
    n_b = max(min(n_z1, num_in_samples - num_taps + 1 - lo), n_a)
    for n in range(n0, n_z0):
        yr[n - n0] = 0.0
    for n in range(n_z1, n1):
        yr[n - n0] = 0.0
    for n in range(n_z0, n_a):
        s_re, s_im = _edge_sample(xrow, g, lo + n)
        yr[n - n0] = gain * _rotation(f, t0 + n) * complex(s_re, s_im)
    b0 = n_a
    while b0 < n_b:
        gb = grid + ((b0 - grid) // block) * block        # the block b0 lies in
        nb = min(gb + block, n_b) - b0
        if eight:
            _fir_block8(xrow, g, 2 * (lo + b0), acc, 2 * nb)
        else:
            _fir_block(xrow, g, 2 * (lo + b0), acc, 2 * nb)
        c = gain * _rotation(f, t0 + gb)
        if eight:
            _rotate_block32(acc, c, step, yf, b0 - n0, nb, b0 - gb)
        else:
            _rotate_block(acc, c, step, yr, b0 - n0, nb, b0 - gb)
        b0 += nb
    for n in range(n_b, n_z1):
        s_re, s_im = _edge_sample(xrow, g, lo + n)
        yr[n - n0] = gain * _rotation(f, t0 + n) * complex(s_re, s_im)


@numba.njit(cache=True, parallel=True)
def _delay_doppler_kernel(xf, x_start, src, dint, taps, doppler, gain, out_start, y, eight):
    """xf: float view [num_in, 2 L] of x, taps in the same real type; y: complex [num_ops,
    out_len] (written); eight: taps eight at a time (the single-precision kernel)."""
    num_ops = src.shape[0]
    out_len = y.shape[1]
    half = taps.shape[1] // 2
    for r in numba.prange(num_ops):
        # reversed taps: y[n] = sum_j g[j] x[lo + n + j]
        g = taps[r, ::-1].copy()
        lo = out_start[r] - dint[r] - x_start - half
        acc = np.empty(2 * _BLOCK, dtype=xf.dtype)
        grid = _grid_origin(xf.shape[1] // 2, g.shape[0], lo, out_len)
        _fir_row(xf[src[r]], g, lo, doppler[r], gain[r], out_start[r], 0, out_len,
                 _planar_steps(doppler[r], _BLOCK, acc), acc, y[r], eight, grid)


def delay_doppler(
    x: np.ndarray,
    x_start: int,
    src: np.ndarray,
    delay_samples: np.ndarray,
    doppler_cps: np.ndarray,
    gain: np.ndarray,
    out_start: np.ndarray,
    out_len: int,
    num_taps: int = DEFAULT_NUM_TAPS,
    beta: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply delay, Doppler and gain to rows of ``x`` (numba, parallel over ops).

    For op ``r`` and ``n = 0..out_len-1``, with ``t = out_start[r] + n`` (absolute sample):

        y[r, n] = gain[r] * exp(j 2 pi doppler_cps[r] * t)
                  * x[src[r]](t - delay_samples[r] - x_start)

    where ``x[row](u)`` is the band-limited (FIR, module docstring) interpolation of that row
    of ``x`` at position ``u`` in the row, and samples outside ``[0, num_samples)`` are zero.
    The integer part of the delay is an exact index offset (any ``|delay| < 2**40``, negative
    = advance); the Doppler phase is continuous in absolute time. This is one path of
    math.md (6)/(9): ``g e^{j 2 pi nu t} s(t - tau)`` on the sampled grid.

    Parameters
    ----------
    x : complex128 [num_in, num_samples]; ``x[:, 0]`` is at absolute sample ``x_start``.
    x_start : int, absolute index of ``x[:, 0]``.
    src : int64 [num_ops], row of ``x`` used by each op.
    delay_samples : float64 [num_ops], delay in samples (seconds * fs).
    doppler_cps : float64 [num_ops], Doppler in cycles/sample (doppler_hz / fs).
    gain : complex128 [num_ops].
    out_start : int64 [num_ops], absolute index of ``y[r, 0]``.
    out_len : int, samples per op.
    num_taps : even FIR length >= 2 (default 48).
    beta : Kaiser beta (default :func:`default_kaiser_beta`).
    out : optional complex128 [num_ops, out_len] C-contiguous buffer to write into.

    Returns
    -------
    y : complex128 [num_ops, out_len]
    """
    job = _prepare(x, x_start, src, delay_samples, doppler_cps, gain, out_start, out_len,
                   num_taps, beta)
    num_ops = job.src.shape[0]
    y = _output(out, num_ops, job.out_len)
    if num_ops == 0 or job.out_len == 0:
        return y
    xf = job.x.view(np.float64)
    _delay_doppler_kernel(xf, job.x_start, job.src, job.dint, job.taps, job.doppler,
                          job.gain, job.out_start, y, False)
    return y


def _rotation_reference(doppler: float, t: np.ndarray) -> np.ndarray:
    cyc = reduced_cycles(doppler, t.astype(np.float64))
    return np.exp(2j * np.pi * cyc)


def delay_doppler_reference(
    x: np.ndarray,
    x_start: int,
    src: np.ndarray,
    delay_samples: np.ndarray,
    doppler_cps: np.ndarray,
    gain: np.ndarray,
    out_start: np.ndarray,
    out_len: int,
    num_taps: int = DEFAULT_NUM_TAPS,
    beta: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Numpy reference of :func:`delay_doppler` (same signature and semantics).

    Vectorised per op and tap: each tap is one scaled slice add (``out=`` buffers, no
    per-sample Python loop) over the real/imaginary-interleaved view of the input row.
    """
    job = _prepare(x, x_start, src, delay_samples, doppler_cps, gain, out_start, out_len,
                   num_taps, beta)
    num_ops = job.src.shape[0]
    out_len = job.out_len
    y = _output(out, num_ops, out_len)
    y[...] = 0.0
    if num_ops == 0 or out_len == 0:
        return y
    xf = job.x.view(np.float64)
    num_in_samples = job.x.shape[1]
    half = job.taps.shape[1] // 2
    tmp = np.empty(2 * out_len, dtype=np.float64)
    n_abs = np.arange(out_len, dtype=np.int64)
    for r in range(num_ops):
        acc = y[r].view(np.float64)
        row = xf[job.src[r]]
        g = job.taps[r, ::-1]
        lo = int(job.out_start[r] - job.dint[r] - job.x_start - half)
        for j in range(g.shape[0]):
            n0 = min(max(0, -(lo + j)), out_len)
            n1 = max(min(out_len, num_in_samples - (lo + j)), n0)
            if n1 == n0:
                continue
            seg = row[2 * (lo + j + n0): 2 * (lo + j + n1)]
            part = tmp[: 2 * (n1 - n0)]
            np.multiply(seg, g[j], out=part)
            np.add(acc[2 * n0: 2 * n1], part, out=acc[2 * n0: 2 * n1])
        y[r] *= job.gain[r] * _rotation_reference(job.doppler[r], job.out_start[r] + n_abs)
    return y
