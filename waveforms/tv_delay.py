"""Time-varying fractional delay with carrier phase, on the common absolute sample grid.

The kernel of moving satellites, :func:`tv_delay_doppler`, applies one path whose delay is a
polynomial of the output time: for op ``r`` and absolute output sample ``t``

    d(t) = d0 + v(t),      v(t) = sum_{q=1..R} p_q (t - t_ref)^q        (samples)
    y(t) = gain e^{j 2 pi nu t} e^{-j 2 pi kappa v(t)} x(t - d(t))

with ``kappa`` the carrier cycles per sample of delay (f_c / f_s for a channel path: the
carrier phase -2 pi f_c tau(t); the constant part -2 pi f_c d0 / f_s is in ``gain``, as for
the static kernel :func:`waveforms.delay.delay_doppler`). The Doppler -f_c tau', the Doppler
rate and the time compression of the baseband all follow from d(t).

Interpolator [choice]: the output is cut in blocks of :data:`TV_BLOCK` samples. In every
block the integer part of the delay is fixed at floor(d) of the block's first sample, and the
Kaiser-windowed sinc taps of :mod:`waveforms.delay` (same convention, same beta) are computed
exactly at three nodes of the block (first, middle, last sample, at the true fractional delay
there) and interpolated quadratically in time between them (a Farrow structure of order 2:
y = A + u B + u^2 C, three FIR passes per block, u = position in the block in [0, 1]). The
phase follows the exact d(t) (below), so the output is phase continuous; a constant delay
(v = 0) reproduces the static kernel's taps exactly.

Accuracy (stated, and tested in tests/test_waveforms_tv_delay.py): the quadratic tap
interpolation error grows as (|d'| L)^3 in amplitude (L = block span). Measured on a multitone
over the used band |f| <= 0.3 with d(t) = d0 + a t + 2e-10 t^2 (error power / signal power):

    a (samples/sample)      0        2e-5     3e-5     1e-4
    24 taps (default)    -134.0   -132.9   -132.6   -114.4   dB
    48 taps              -172.8   -149.2   -142.9   -114.4   dB

LEO delay rates are |d'| <= 2e-5 (20 us/s), so at the default 24 taps the total error is that
of the static FIR (-128 dB worst case per tone). Blocks are processed in chunks of
:data:`_CHUNK` samples (L1-resident accumulators); the phase is exact every :data:`_SUB`
samples and follows the cubic recurrence of its Taylor terms in between.
"""

from __future__ import annotations

import numba
import numpy as np

from .delay import (
    DEFAULT_NUM_TAPS,
    _check_num_taps,
    _fir_tail,
    default_kaiser_beta,
    taps_matrix_threads,
)
from .doppler import _reduced_cycles_nb, reduced_cycles

__all__ = ["TV_BLOCK", "tv_delay_doppler", "tv_delay_doppler_many",
           "tv_delay_doppler_reference", "poly_delay", "read_spans"]

TV_BLOCK = 512
_CHUNK = 256
_SUB = 32


def poly_delay(poly: np.ndarray, t_ref: np.ndarray, t: np.ndarray) -> np.ndarray:
    """v(t) = sum_q poly[..., q-1] (t - t_ref)^q (Horner), float64.

    poly : float64 [num_ops, R]; t_ref : float64 [num_ops]; t : float64 [num_ops, ...].
    """
    dt = t - t_ref.reshape(t_ref.shape + (1,) * (t.ndim - 1))
    acc = np.zeros_like(dt)
    for q in range(poly.shape[1] - 1, -1, -1):
        acc = (acc + poly[:, q].reshape(poly.shape[:1] + (1,) * (t.ndim - 1))) * dt
    return acc


class _TvJob:
    __slots__ = ("x", "x_start", "src", "base", "coef", "poly", "t_ref", "carrier", "doppler",
                 "gain", "out_start", "out_len", "block")


def _prepare(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps, doppler_cps,
             gain, out_start, out_len, num_taps, beta, block) -> _TvJob:
    num_taps = _check_num_taps(num_taps)
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be complex [num_in, num_samples] (2-D), got {x.ndim}-D")
    if isinstance(out_len, bool) or not isinstance(out_len, (int, np.integer)) or out_len < 0:
        raise ValueError(f"out_len must be an integer >= 0, got {out_len!r}")
    if not isinstance(block, (int, np.integer)) or block < 2:
        raise ValueError(f"block must be an integer >= 2, got {block!r}")
    src = np.asarray(src, dtype=np.int64)
    num_ops = src.shape[0]
    d0 = np.asarray(delay_samples, dtype=np.float64).reshape(num_ops)
    poly = np.asarray(delay_poly, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[0] != num_ops:
        raise ValueError(f"delay_poly must be float64 [num_ops={num_ops}, R] "
                         f"(got shape {poly.shape})")
    t_ref = np.asarray(t_ref, dtype=np.float64).reshape(num_ops)
    arrays = {"delay_samples": d0, "delay_poly": poly, "t_ref": t_ref,
              "carrier_cps": np.asarray(carrier_cps, dtype=np.float64).reshape(num_ops),
              "doppler_cps": np.asarray(doppler_cps, dtype=np.float64).reshape(num_ops)}
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if num_ops and (src.min() < 0 or src.max() >= x.shape[0]):
        raise ValueError(f"src must index rows of x, i.e. lie in [0, {x.shape[0]})")
    if beta is None:
        beta = default_kaiser_beta(num_taps)
    out_start = np.asarray(out_start, dtype=np.int64).reshape(num_ops)
    job = _TvJob()
    job.x = np.ascontiguousarray(x, dtype=np.complex128)
    job.x_start = int(x_start)
    job.src = src
    job.poly = np.ascontiguousarray(poly)
    job.t_ref = t_ref
    job.carrier = arrays["carrier_cps"]
    job.doppler = arrays["doppler_cps"]
    job.gain = np.asarray(gain, dtype=np.complex128).reshape(num_ops)
    job.out_start = out_start
    job.out_len = int(out_len)
    job.block = int(block)
    job.base, f = _block_delays(d0, job.poly, t_ref, out_start, job.out_len, job.block)
    h = taps_matrix_threads(f.ravel(), num_taps, float(beta)).reshape(f.shape + (num_taps,))
    h0, h1, h2 = h[:, :, 0], h[:, :, 1], h[:, :, 2]
    job.coef = np.ascontiguousarray(
        np.stack([h0, 4.0 * h1 - 3.0 * h0 - h2, 2.0 * (h0 + h2) - 4.0 * h1], axis=2))
    return job


def _block_delays(d0, poly, t_ref, out_start, out_len, block):
    """(base int64 [ops, blocks], frac float64 [ops, blocks, 3]): every block's integer delay
    (fixed over the block: floor(d) at its first sample) and the fractional delays at its
    first, middle and last sample (the nodes the taps are designed at), d = d0 + v(t)."""
    nblocks = max(-(-out_len // block), 0)
    b0 = np.arange(nblocks, dtype=np.int64) * block
    span = (np.minimum(b0 + block, out_len) - 1 - b0).astype(np.float64)
    nodes = (out_start[:, None, None].astype(np.float64) + b0[None, :, None]
             + span[None, :, None] * np.array([0.0, 0.5, 1.0])[None, None, :])
    v = poly_delay(poly, t_ref, nodes)                             # [ops, blocks, 3]
    dfloor = np.floor(d0)
    frac0 = d0 - dfloor                                            # exact, as the static FIR
    shift = np.floor(frac0[:, None] + v[:, :, 0])                  # integer part moves
    base = (dfloor[:, None] + shift).astype(np.int64)              # [ops, blocks]
    return base, (frac0[:, None, None] - shift[:, :, None]) + v    # [ops, blocks, 3]


def read_spans(delay_samples, delay_poly, t_ref, out_start, out_len, n0, n1,
               num_taps=DEFAULT_NUM_TAPS, block=TV_BLOCK) -> np.ndarray:
    """int64 [num_ops, 2]: the first and last absolute input sample (x's index + x_start) that
    the outputs n in [n0[r], n1[r]) of op r read in :func:`tv_delay_doppler` with these
    arguments (its blocks' integer delays; the taps reach num_taps/2 samples before the
    delayed sample and num_taps/2 - 1 after). An op with no output in its range gets
    (int64 max, int64 min)."""
    d0 = np.asarray(delay_samples, dtype=np.float64).ravel()
    num_ops = d0.shape[0]
    poly = np.asarray(delay_poly, dtype=np.float64).reshape(num_ops, -1)
    t_ref = np.asarray(t_ref, dtype=np.float64).reshape(num_ops)
    out_start = np.asarray(out_start, dtype=np.int64).reshape(num_ops)
    n0 = np.broadcast_to(np.asarray(n0, dtype=np.int64), (num_ops,))
    n1 = np.broadcast_to(np.asarray(n1, dtype=np.int64), (num_ops,))
    half = int(num_taps) // 2
    base, _ = _block_delays(d0, poly, t_ref, out_start, int(out_len), int(block))
    b0 = np.arange(base.shape[1], dtype=np.int64) * int(block)
    b1 = np.minimum(b0 + int(block), int(out_len))
    lo_n = np.maximum(n0[:, None], b0[None, :])                    # [ops, blocks]
    hi_n = np.minimum(n1[:, None], b1[None, :]) - 1
    inside = lo_n <= hi_n
    big = np.iinfo(np.int64)
    first = np.where(inside, out_start[:, None] + lo_n - base - half, big.max).min(axis=1,
                                                                               initial=big.max)
    last = np.where(inside, out_start[:, None] + hi_n - base - half + int(num_taps) - 1,
                    big.min).max(axis=1, initial=big.min)
    return np.stack([first, last], axis=1)


def _fill(job: _TvJob, kernel) -> np.ndarray:
    num_ops = job.src.shape[0]
    y = np.empty((num_ops, job.out_len), dtype=np.complex128)
    if num_ops == 0 or job.out_len == 0:
        return y
    kernel(job, y)
    return y


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir3(xrow, g0, g1, g2, base, acc0, acc1, acc2, m):
    """The three Farrow passes at once: acc_k[0:m] = sum_j g_k[j] xrow[base + 2 j : base + 2 j
    + m] (interleaved re/im), k = 0, 1, 2. Each input sample loaded once serves the three
    accumulators; per accumulator the taps are summed in the order of the static kernel's
    block, four at a time (:func:`waveforms.delay._fir_block`), so each acc_k is that block's
    number bit for bit (tested) with a third of the input loads."""
    num_taps = g0.shape[0]
    for e in range(m):
        acc0[e] = 0.0
        acc1[e] = 0.0
        acc2[e] = 0.0
    j = 0
    while j + 4 <= num_taps:
        a0, a1, a2, a3 = g0[j], g0[j + 1], g0[j + 2], g0[j + 3]
        b0, b1, b2, b3 = g1[j], g1[j + 1], g1[j + 2], g1[j + 3]
        c0, c1, c2, c3 = g2[j], g2[j + 1], g2[j + 2], g2[j + 3]
        o = base + 2 * j
        s0, s1 = xrow[o: o + m], xrow[o + 2: o + 2 + m]
        s2, s3 = xrow[o + 4: o + 4 + m], xrow[o + 6: o + 6 + m]
        for e in range(m):
            x0, x1, x2, x3 = s0[e], s1[e], s2[e], s3[e]
            acc0[e] += (a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3)
            acc1[e] += (b0 * x0 + b1 * x1) + (b2 * x2 + b3 * x3)
            acc2[e] += (c0 * x0 + c1 * x1) + (c2 * x2 + c3 * x3)
        j += 4
    _fir_tail(xrow, g0, base, acc0, m, j)
    _fir_tail(xrow, g1, base, acc1, m, j)
    _fir_tail(xrow, g2, base, acc2, m, j)


@numba.njit(cache=True)
def _phase_cycles(doppler, carrier, poly, t_ref, t):
    """nu t - kappa v(t), reduced to [-0.5, 0.5] (t an integer sample index as float64)."""
    dt = t - t_ref
    v = 0.0
    for q in range(poly.shape[0] - 1, -1, -1):
        v = (v + poly[q]) * dt
    cyc = _reduced_cycles_nb(doppler, t) - carrier * v
    return cyc - np.round(cyc)


@numba.njit(cache=True)
def _taylor123(poly, dt):
    """First, second/2 and third/6 derivatives of v(t) = sum_q poly[q-1] t^q at dt."""
    a = 0.0
    b = 0.0
    c = 0.0
    for q in range(1, poly.shape[0] + 1):
        pq = poly[q - 1]
        a += q * pq * dt ** (q - 1)
        if q >= 2:
            b += 0.5 * q * (q - 1) * pq * dt ** (q - 2)
        if q >= 3:
            c += q * (q - 1) * (q - 2) / 6.0 * pq * dt ** (q - 3)
    return a, b, c


@numba.njit(cache=True)
def _cis(cyc):
    ang = 2.0 * np.pi * cyc
    return complex(np.cos(ang), np.sin(ang))


@numba.njit(cache=True, nogil=True)
def _tv_blocks(xrow, x_start, base, coef, pr, t_ref, carrier, doppler, gain, out_start,
               out_len, block, b_lo, b_hi, yr, y0, acc0, acc1, acc2, g0, g1, g2):
    """Blocks b_lo..b_hi-1 of one op (its row of base [blocks] and coef [blocks, 3, taps],
    pr its delay polynomial) into yr[n - y0] for their output samples n: the kernel's
    arithmetic per block, which depends on nothing outside the block, so any cut of the
    blocks gives the numbers of one call over all of them. acc0..2 [2 _CHUNK], g0..2 [taps]:
    scratch."""
    nin = xrow.shape[0] // 2
    num_taps = coef.shape[2]
    half = num_taps // 2
    for b in range(b_lo, b_hi):
        b0 = b * block
        nb = min(block, out_len - b0)
        for j in range(num_taps):
            g0[j] = coef[b, 0, num_taps - 1 - j]
            g1[j] = coef[b, 1, num_taps - 1 - j]
            g2[j] = coef[b, 2, num_taps - 1 - j]
        inv = 1.0 / (nb - 1) if nb > 1 else 0.0
        for c0 in range(0, nb, _CHUNK):
            nc = min(_CHUNK, nb - c0)
            lo = out_start + b0 + c0 - base[b] - x_start - half
            if lo >= 0 and lo + nc - 1 + num_taps - 1 < nin:
                _fir3(xrow, g0, g1, g2, 2 * lo, acc0, acc1, acc2, 2 * nc)
            else:
                for e in range(nc):
                    a0r = a0i = a1r = a1i = a2r = a2i = 0.0
                    for j in range(num_taps):
                        i = lo + e + j
                        if 0 <= i < nin:
                            xr = xrow[2 * i]
                            xi = xrow[2 * i + 1]
                            a0r += g0[j] * xr
                            a0i += g0[j] * xi
                            a1r += g1[j] * xr
                            a1i += g1[j] * xi
                            a2r += g2[j] * xr
                            a2i += g2[j] * xi
                    acc0[2 * e] = a0r
                    acc0[2 * e + 1] = a0i
                    acc1[2 * e] = a1r
                    acc1[2 * e + 1] = a1i
                    acc2[2 * e] = a2r
                    acc2[2 * e + 1] = a2i
            # phase: exact every _SUB samples, in between the cubic recurrence of its
            # finite differences from the Taylor terms of v (phasor *= E1, E1 *= E2,
            # E2 *= E3); terms beyond the cubic (< 1e-20 cycles over _SUB samples for an
            # orbit) are resynchronised at the next exact point
            for s0 in range(0, nc, _SUB):
                ns = min(_SUB, nc - s0)
                ts = np.float64(out_start + b0 + c0 + s0)
                f0 = _phase_cycles(doppler, carrier, pr, t_ref, ts)
                ta, tb, tc = _taylor123(pr, ts - t_ref)
                ph = gain * _cis(f0)
                e1 = _cis(doppler - carrier * (ta + tb + tc))
                e2 = _cis(-carrier * (2.0 * tb + 6.0 * tc))
                e3 = _cis(-carrier * 6.0 * tc)
                for k in range(ns):
                    e = s0 + k
                    u = (c0 + e) * inv
                    a_re = acc0[2 * e] + u * (acc1[2 * e] + u * acc2[2 * e])
                    a_im = acc0[2 * e + 1] + u * (acc1[2 * e + 1] + u * acc2[2 * e + 1])
                    yr[b0 + c0 + e - y0] = ph * complex(a_re, a_im)
                    ph *= e1
                    e1 *= e2
                    e2 *= e3


@numba.njit(cache=True, parallel=True)
def _tv_kernel(xf, x_start, src, base, coef, poly, t_ref, carrier, doppler, gain, out_start,
               block, y):
    num_ops = src.shape[0]
    out_len = y.shape[1]
    num_taps = coef.shape[3]
    for r in numba.prange(num_ops):
        # accumulators of one chunk (L1-resident: 3 x 2 x _CHUNK doubles)
        acc0 = np.empty(2 * _CHUNK, dtype=np.float64)
        acc1 = np.empty(2 * _CHUNK, dtype=np.float64)
        acc2 = np.empty(2 * _CHUNK, dtype=np.float64)
        g0 = np.empty(num_taps, dtype=np.float64)
        g1 = np.empty(num_taps, dtype=np.float64)
        g2 = np.empty(num_taps, dtype=np.float64)
        _tv_blocks(xf[src[r]], x_start, base[r], coef[r], poly[r], t_ref[r], carrier[r],
                   doppler[r], gain[r], out_start[r], out_len, block, 0, coef.shape[1],
                   y[r], 0, acc0, acc1, acc2, g0, g1, g2)


def _run_numba(job: _TvJob, y: np.ndarray) -> None:
    _tv_kernel(job.x.view(np.float64), job.x_start, job.src, job.base, job.coef, job.poly,
               job.t_ref, job.carrier, job.doppler, job.gain, job.out_start, job.block, y)


def _run_reference(job: _TvJob, y: np.ndarray) -> None:
    """Plain numpy: per output sample, the taps h(u) = c0 + u c1 + u^2 c2 of its block and a
    dot product with the input window (zeros outside the row)."""
    num_taps = job.coef.shape[3]
    half = num_taps // 2
    nin = job.x.shape[1]
    n = np.arange(job.out_len, dtype=np.int64)
    b = n // job.block
    e = n - b * job.block
    nb = np.minimum(job.block, job.out_len - b * job.block)
    u = np.where(nb > 1, e / np.maximum(nb - 1, 1), 0.0)
    j = np.arange(num_taps)
    for r in range(job.src.shape[0]):
        c = job.coef[r, b]                                         # [out_len, 3, taps]
        taps = (c[:, 0] + u[:, None] * (c[:, 1] + u[:, None] * c[:, 2]))[:, ::-1]
        t = job.out_start[r] + n
        idx = (t - job.base[r, b] - job.x_start - half)[:, None] + j[None, :]
        inside = (idx >= 0) & (idx < nin)
        xs = np.where(inside, job.x[job.src[r]][np.clip(idx, 0, nin - 1)], 0.0)
        acc = np.sum(taps * xs, axis=1)
        v = poly_delay(job.poly[r:r + 1], job.t_ref[r:r + 1], t.astype(np.float64)[None, :])[0]
        cyc = reduced_cycles(job.doppler[r], t.astype(np.float64)) - job.carrier[r] * v
        y[r] = job.gain[r] * np.exp(2j * np.pi * (cyc - np.round(cyc))) * acc


def tv_delay_doppler(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                     doppler_cps, gain, out_start, out_len, num_taps=DEFAULT_NUM_TAPS,
                     beta=None, block=TV_BLOCK) -> np.ndarray:
    """Apply a time-varying delay, its carrier phase, a Doppler and a gain to rows of ``x``.

    For op ``r``, ``n = 0..out_len-1`` and ``t = out_start[r] + n`` (absolute sample):

        v = sum_q delay_poly[r, q-1] (t - t_ref[r])^q,   d = delay_samples[r] + v
        y[r, n] = gain[r] e^{j 2 pi (doppler_cps[r] t - carrier_cps[r] v)}
                  * x[src[r]](t - d - x_start)

    with ``x[row](u)`` the band-limited interpolation (module docstring), zero outside the row.

    Parameters
    ----------
    x : complex128 [num_in, num_samples]; x[:, 0] at absolute sample x_start (int).
    src : int64 [num_ops]; delay_samples : float64 [num_ops] (the delay at t_ref, samples).
    delay_poly : float64 [num_ops, R] (samples per sample^q); t_ref : float64 [num_ops].
    carrier_cps : float64 [num_ops], carrier cycles per sample of delay (f_c / f_s).
    doppler_cps : float64 [num_ops], an extra rotation in cycles/sample.
    gain : complex128 [num_ops]; out_start : int64 [num_ops]; out_len : int.
    num_taps : even FIR length; beta : Kaiser beta (default as waveforms.delay);
    block : samples per interpolation block (default :data:`TV_BLOCK`).

    Returns y : complex128 [num_ops, out_len]. Numba, parallel over ops.
    """
    job = _prepare(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps, doppler_cps,
                   gain, out_start, out_len, num_taps, beta, block)
    return _fill(job, _run_numba)


def tv_delay_doppler_many(xs, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                          doppler_cps, gain, out_start, out_len, num_taps=DEFAULT_NUM_TAPS,
                          beta=None, block=TV_BLOCK) -> list[np.ndarray]:
    """:func:`tv_delay_doppler` of every input of ``xs`` (arrays of one shape) through the
    same ops: the ops' taps and block delays made once, each output the number a call of its
    own gives."""
    xs = [np.asarray(x) for x in xs]
    if any(x.shape != xs[0].shape for x in xs):
        raise ValueError("every input of xs must have the shape of the first "
                         f"(got {[x.shape for x in xs]})")
    job = _prepare(xs[0], x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                   doppler_cps, gain, out_start, out_len, num_taps, beta, block)
    outs = []
    for x in xs:
        job.x = np.ascontiguousarray(x, dtype=np.complex128)
        outs.append(_fill(job, _run_numba))
    return outs


def tv_delay_doppler_reference(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                               doppler_cps, gain, out_start, out_len, num_taps=DEFAULT_NUM_TAPS,
                               beta=None, block=TV_BLOCK) -> np.ndarray:
    """Numpy reference of :func:`tv_delay_doppler` (same signature and semantics)."""
    job = _prepare(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps, doppler_cps,
                   gain, out_start, out_len, num_taps, beta, block)
    return _fill(job, _run_reference)
