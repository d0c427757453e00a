"""Single-precision fractional delay with Doppler: the contract of
:func:`waveforms.delay.delay_doppler` for complex64 samples.

The FIR runs in float32 (taps, samples and accumulator: twice the SIMD lanes of the double
kernel and half its memory traffic). The gain and Doppler phasor of each block of 512
samples is computed in float64 from float64 delays, Doppler and absolute times (the phase is
continuous in absolute time exactly as in double, and re-anchored at every block), then
rounded to float32; its product with the in-block rotation (float32) and with the FIR output
is done in float32 (waveforms.delay._rotate_block32: eight SIMD lanes where the float64
rotation had four). Error against the double kernel: float32 rounding of the 2 x
num_taps-term sums and of the phasor, relative ~1e-7 per sample (NMSE about -130 dB for
unit-power OFDM), far below the FIR's own design error.

:func:`delay_doppler_any` dispatches on the input's precision: complex64 -> this kernel
(complex64 out), anything else -> the double kernel.
"""

from __future__ import annotations

import numpy as np

from . import delay as _d

__all__ = ["delay_doppler_single", "delay_doppler_any"]



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
    _d._delay_doppler_kernel(x32.view(np.float32), job.x_start, job.src, job.dint,
                             job.taps.astype(np.float32), job.doppler, job.gain,
                             job.out_start, y, True)
    return y


def delay_doppler_any(x, *args, **kwargs):
    """complex64 ``x`` -> :func:`delay_doppler_single`, else the double kernel."""
    if np.asarray(x).dtype == np.complex64:
        return delay_doppler_single(x, *args, **kwargs)
    return _d.delay_doppler(x, *args, **kwargs)
