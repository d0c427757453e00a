"""Single-precision fractional delay with Doppler: the contract of
:func:`waveforms.delay.delay_doppler` for complex64 samples.

The FIR runs in float32 (taps, samples and accumulator: twice the SIMD lanes of the double
kernel and half its memory traffic); the per-sample gain and Doppler phasor are computed in
float64 from float64 delays, Doppler and absolute times (the phase is continuous in absolute
time exactly as in double) and rounded once when the sample is stored. Error against the
double kernel: float32 rounding of the 2 x num_taps-term sums, relative ~1e-7 per sample
(NMSE about -130 dB for unit-power OFDM), far below the FIR's own design error.

:func:`delay_doppler_any` dispatches on the input's precision: complex64 -> this kernel
(complex64 out), anything else -> the double kernel.
"""

from __future__ import annotations

import numba
import numpy as np

from . import delay as _d

__all__ = ["delay_doppler_single", "delay_doppler_any"]


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _fir_block8(xrow, g, base, acc, m):
    """:func:`waveforms.delay._fir_block` taking the taps eight at a time (three passes over
    the L1-resident accumulator at 24 taps instead of six; measured single-threaded on the
    development VM: 48 against 39 GFLOP/s in float32). Another summation order than the
    double kernel's, so only the single kernel uses it (its results are float32-rounded
    anyway)."""
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
    while j < num_taps:
        gj = g[j]
        s0 = xrow[base + 2 * j: base + 2 * j + m]
        for e in range(m):
            acc[e] += gj * s0[e]
        j += 1


@numba.njit(cache=True, parallel=True)
def _kernel32(xf, x_start, src, dint, taps, doppler, gain, out_start, y):
    """xf: float32 view [num_in, 2 L]; taps float32; y complex64 [num_ops, out_len]."""
    num_ops = src.shape[0]
    out_len = y.shape[1]
    num_in_samples = xf.shape[1] // 2
    num_taps = taps.shape[1]
    half = num_taps // 2
    block = _d._BLOCK
    for r in numba.prange(num_ops):
        xrow = xf[src[r]]
        g = taps[r, ::-1].copy()
        lo = out_start[r] - dint[r] - x_start - half
        acc = np.empty(2 * block, dtype=np.float32)
        f = doppler[r]
        t0 = out_start[r]
        step = np.empty(block, dtype=np.complex128)
        for e in range(block):
            step[e] = _d._rotation(f, np.int64(e))
        yr = y[r]
        n_z0 = min(max(0, -lo - num_taps + 1), out_len)
        n_z1 = max(min(out_len, num_in_samples - lo), n_z0)
        n_a = min(max(n_z0, -lo), n_z1)
        n_b = max(min(n_z1, num_in_samples - num_taps + 1 - lo), n_a)
        for n in range(n_z0):
            yr[n] = 0.0
        for n in range(n_z1, out_len):
            yr[n] = 0.0
        for n in range(n_z0, n_a):
            s_re, s_im = _d._edge_sample(xrow, g, lo + n)
            yr[n] = gain[r] * _d._rotation(f, t0 + n) * complex(s_re, s_im)
        for b0 in range(n_a, n_b, block):
            nb = min(block, n_b - b0)
            _fir_block8(xrow, g, 2 * (lo + b0), acc, 2 * nb)
            c = gain[r] * _d._rotation(f, t0 + b0)
            for e in range(nb):
                yr[b0 + e] = (c * step[e]) * complex(acc[2 * e], acc[2 * e + 1])
        for n in range(n_b, n_z1):
            s_re, s_im = _d._edge_sample(xrow, g, lo + n)
            yr[n] = gain[r] * _d._rotation(f, t0 + n) * complex(s_re, s_im)


def delay_doppler_single(x, x_start, src, delay_samples, doppler_cps, gain, out_start,
                         out_len, num_taps=_d.DEFAULT_NUM_TAPS, beta=None, out=None):
    """:func:`waveforms.delay.delay_doppler` in single precision: complex64 [num_ops, out_len].

    ``x`` is used as complex64; delays, Doppler, gains and times stay float64/complex128.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be complex [num_in, num_samples] (2-D), got {x.ndim}-D")
    # validation and taps from the double kernel's preparation (on an empty view of x)
    job = _d._prepare(x[:, :0], x_start, src, delay_samples, doppler_cps, gain, out_start,
                      out_len, num_taps, beta)
    x32 = np.ascontiguousarray(x, dtype=np.complex64)
    num_ops = job.src.shape[0]
    if out is None:
        y = np.empty((num_ops, job.out_len), dtype=np.complex64)
    elif (not isinstance(out, np.ndarray) or out.shape != (num_ops, job.out_len)
          or out.dtype != np.complex64 or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous complex64 array [{num_ops}, "
                         f"{job.out_len}]")
    else:
        y = out
    if num_ops == 0 or job.out_len == 0:
        return y
    _kernel32(x32.view(np.float32), job.x_start, job.src, job.dint,
              job.taps.astype(np.float32), job.doppler, job.gain, job.out_start, y)
    return y


def delay_doppler_any(x, *args, **kwargs):
    """complex64 ``x`` -> :func:`delay_doppler_single`, else the double kernel."""
    if np.asarray(x).dtype == np.complex64:
        return delay_doppler_single(x, *args, **kwargs)
    return _d.delay_doppler(x, *args, **kwargs)
