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
phase is evaluated per sample from the exact d(t), so the output is phase continuous; a
constant delay (v = 0) reproduces the static kernel's taps exactly.

Accuracy (stated, and tested in tests/test_waveforms_tv_delay.py): the quadratic tap
interpolation error is about |h'''| (|d'| L)^3 / 72 with L the block span; for LEO delay
rates |d'| <= 3e-5 (about 2e-5 s/s) and L = 255 it is below -140 dB of the signal on the
used band, far below the 24-tap FIR's own -128 dB (module waveforms.delay), so the total
error is that of the static FIR at the same taps.
"""

from __future__ import annotations

import numba
import numpy as np

from .delay import DEFAULT_NUM_TAPS, _check_num_taps, _taps_matrix, default_kaiser_beta
from .doppler import _reduced_cycles_nb, reduced_cycles

__all__ = ["TV_BLOCK", "tv_delay_doppler", "tv_delay_doppler_reference", "poly_delay"]

TV_BLOCK = 256


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
    # block nodes: first, middle, last sample of every block (absolute, float64)
    nblocks = max(-(-job.out_len // job.block), 0)
    b0 = np.arange(nblocks, dtype=np.int64) * job.block
    span = (np.minimum(b0 + job.block, job.out_len) - 1 - b0).astype(np.float64)
    nodes = (out_start[:, None, None].astype(np.float64) + b0[None, :, None]
             + span[None, :, None] * np.array([0.0, 0.5, 1.0])[None, None, :])
    v = poly_delay(job.poly, t_ref, nodes)                         # [ops, blocks, 3]
    dfloor = np.floor(d0)
    frac0 = d0 - dfloor                                            # exact, as the static FIR
    shift = np.floor(frac0[:, None] + v[:, :, 0])                  # integer part moves
    job.base = (dfloor[:, None] + shift).astype(np.int64)          # [ops, blocks]
    f = (frac0[:, None, None] - shift[:, :, None]) + v             # [ops, blocks, 3]
    h = _taps_matrix(f.ravel(), num_taps, float(beta)).reshape(f.shape + (num_taps,))
    h0, h1, h2 = h[:, :, 0], h[:, :, 1], h[:, :, 2]
    job.coef = np.ascontiguousarray(
        np.stack([h0, 4.0 * h1 - 3.0 * h0 - h2, 2.0 * (h0 + h2) - 4.0 * h1], axis=2))
    return job


def _fill(job: _TvJob, kernel) -> np.ndarray:
    num_ops = job.src.shape[0]
    y = np.empty((num_ops, job.out_len), dtype=np.complex128)
    if num_ops == 0 or job.out_len == 0:
        return y
    kernel(job, y)
    return y


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir3(xrow, g, base, acc, m):
    """acc[k][0:m] = sum_j g[k, j] xrow[base + 2 j: base + 2 j + m] for k = 0, 1, 2."""
    num_taps = g.shape[1]
    for k in range(3):
        for e in range(m):
            acc[k, e] = 0.0
    for k in range(3):
        j = 0
        while j + 4 <= num_taps:
            g0 = g[k, j]
            g1 = g[k, j + 1]
            g2 = g[k, j + 2]
            g3 = g[k, j + 3]
            o = base + 2 * j
            s0 = xrow[o: o + m]
            s1 = xrow[o + 2: o + 2 + m]
            s2 = xrow[o + 4: o + 4 + m]
            s3 = xrow[o + 6: o + 6 + m]
            for e in range(m):
                acc[k, e] += (g0 * s0[e] + g1 * s1[e]) + (g2 * s2[e] + g3 * s3[e])
            j += 4
        while j < num_taps:
            gj = g[k, j]
            s0 = xrow[base + 2 * j: base + 2 * j + m]
            for e in range(m):
                acc[k, e] += gj * s0[e]
            j += 1


@numba.njit(cache=True, parallel=True)
def _tv_kernel(xf, x_start, src, base, coef, poly, t_ref, carrier, doppler, gain, out_start,
               block, y):
    num_ops = src.shape[0]
    out_len = y.shape[1]
    nin = xf.shape[1] // 2
    num_taps = coef.shape[3]
    half = num_taps // 2
    nblocks = coef.shape[1]
    order = poly.shape[1]
    for r in numba.prange(num_ops):
        xrow = xf[src[r]]
        acc = np.empty((3, 2 * block), dtype=np.float64)
        g = np.empty((3, num_taps), dtype=np.float64)
        yr = y[r]
        for b in range(nblocks):
            b0 = b * block
            nb = min(block, out_len - b0)
            for k in range(3):
                for j in range(num_taps):
                    g[k, j] = coef[r, b, k, num_taps - 1 - j]
            lo = out_start[r] + b0 - base[r, b] - x_start - half
            if lo >= 0 and lo + nb - 1 + num_taps - 1 < nin:
                _fir3(xrow, g, 2 * lo, acc, 2 * nb)
            else:
                for e in range(nb):
                    for k in range(3):
                        s_re = 0.0
                        s_im = 0.0
                        for j in range(num_taps):
                            i = lo + e + j
                            if 0 <= i < nin:
                                s_re += g[k, j] * xrow[2 * i]
                                s_im += g[k, j] * xrow[2 * i + 1]
                        acc[k, 2 * e] = s_re
                        acc[k, 2 * e + 1] = s_im
            inv = 1.0 / (nb - 1) if nb > 1 else 0.0
            for e in range(nb):
                t = out_start[r] + b0 + e
                dt = np.float64(t) - t_ref[r]
                v = 0.0
                for q in range(order - 1, -1, -1):
                    v = (v + poly[r, q]) * dt
                cyc = _reduced_cycles_nb(doppler[r], np.float64(t)) - carrier[r] * v
                cyc -= np.round(cyc)
                ang = 2.0 * np.pi * cyc
                u = e * inv
                a_re = acc[0, 2 * e] + u * (acc[1, 2 * e] + u * acc[2, 2 * e])
                a_im = acc[0, 2 * e + 1] + u * (acc[1, 2 * e + 1] + u * acc[2, 2 * e + 1])
                yr[b0 + e] = gain[r] * complex(np.cos(ang), np.sin(ang)) * complex(a_re, a_im)


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


def tv_delay_doppler_reference(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                               doppler_cps, gain, out_start, out_len, num_taps=DEFAULT_NUM_TAPS,
                               beta=None, block=TV_BLOCK) -> np.ndarray:
    """Numpy reference of :func:`tv_delay_doppler` (same signature and semantics)."""
    job = _prepare(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps, doppler_cps,
                   gain, out_start, out_len, num_taps, beta, block)
    return _fill(job, _run_reference)
