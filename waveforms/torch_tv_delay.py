"""The time-varying fractional delay of :mod:`waveforms.tv_delay` (moving satellites) in
torch: the ``tv_delay_doppler`` of the ``torch`` kernel set, so a drop with moving
satellites on ``backend = torch`` runs its FIRs on the torch device too.

Same discrete model as :func:`waveforms.tv_delay.tv_delay_doppler_reference`: per block of
``block`` output samples the integer delay fixed at the block's first sample and the
Kaiser-sinc taps interpolated quadratically, h(u) = c0 + u c1 + u^2 c2, u = e / (nb - 1)
(the coefficients of :func:`waveforms.tv_delay._prepare`); the phase
nu t - kappa v(t) exact at every sample. On the device:

* each (op, block) reads one input segment of ``block + num_taps - 1`` samples: one flat
  gather from the rows padded with the zeros the segments reach (as the static torch FIR);
* the three FIR passes are one grouped ``conv1d``: per (op, block) and real/imaginary plane,
  one input channel and the three filters c0, c1, c2;
* a = A + u (B + u C), then times gain e^{j 2 pi (nu t - kappa v(t))}, the phase in float64
  from float64 absolute times (Horner for v, the exact-product reduction of nu t).

Numbers: equal to the numpy reference to rounding (the reference forms the taps per sample
and takes one dot product; here three FIR sums are combined: ~1e-15 relative in double,
~1e-7 in single); to the numba kernel within its phase recurrence (~1e-13). Precision
follows the samples (complex64 in -> float32 FIR, complex64 out), as in
:mod:`waveforms.torch_kernels`, whose device it uses.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .delay import DEFAULT_NUM_TAPS
from .torch_kernels import (
    _cdtype,
    _chunk_bytes,
    _numpy,
    _reduced_cycles,
    _to,
    full_float32,
    segment_gather,
)
from .tv_delay import TV_BLOCK, _prepare

__all__ = ["tv_delay_doppler_torch"]


def tv_delay_doppler_torch(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                           doppler_cps, gain, out_start, out_len, num_taps=DEFAULT_NUM_TAPS,
                           beta=None, block=TV_BLOCK) -> np.ndarray:
    """:func:`waveforms.tv_delay.tv_delay_doppler` in torch (same signature and semantics);
    complex64 ``x`` stays complex64, anything else is complex128."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be complex [num_in, num_samples] (2-D), got {x.ndim}-D")
    job = _prepare(x[:, :0], x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                   doppler_cps, gain, out_start, out_len, num_taps, beta, block)
    cdt, rdt = _cdtype(x)                # complex64 stays, anything else complex128
    num_ops = job.src.shape[0]
    if num_ops == 0 or job.out_len == 0:
        return np.zeros((num_ops, job.out_len),
                        dtype=np.complex64 if cdt == torch.complex64 else np.complex128)
    return _numpy(_tv(job, _to(x, cdt), cdt, rdt))


def _tv(job, xt: torch.Tensor, cdt, rdt) -> torch.Tensor:
    dev = xt.device
    num_ops, n_out, block = job.src.shape[0], job.out_len, job.block
    taps = job.coef.shape[3]
    nblocks = job.coef.shape[1]
    seg = block + taps - 1
    b0 = np.arange(nblocks, dtype=np.int64) * block
    # (op, block) reads xt[src, lo : lo + seg] (zeros outside the row)
    xp, first, planes = segment_gather(
        xt, job.src[:, None],
        job.out_start[:, None] + b0[None, :] - job.base - job.x_start - taps // 2, seg)
    # filters: reversed taps (conv1d correlates), per (op, block) the planes share c0..c2
    g = torch.as_tensor(np.ascontiguousarray(job.coef[..., ::-1]), device=dev, dtype=rdt)
    nb = np.minimum(block, n_out - b0)                     # samples of every block
    inv = np.where(nb > 1, 1.0 / np.maximum(nb - 1, 1), 0.0)
    u = (torch.arange(block, device=dev, dtype=torch.float64)[None, :]
         * torch.as_tensor(inv, device=dev)[:, None]).to(rdt)            # [blocks, block]
    # bytes per op: segments, FIR outputs and their combination, phase (float64 times,
    # delay, cycles, complex128 phasor)
    per_op = nblocks * ((2 * seg + 8 * block) * (4 if rdt == torch.float32 else 8)
                        + block * 56)
    chunk = max(1, _chunk_bytes(dev) // per_op)
    y = torch.empty((num_ops, nblocks * block), dtype=cdt, device=dev)
    for a in range(0, num_ops, chunk):
        b = min(a + chunk, num_ops)
        c = b - a
        groups = c * nblocks
        inp = xp[first[a:b, :, None, None] + planes].reshape(1, 2 * groups, seg)
        w = g[a:b].reshape(groups, 1, 3, taps).expand(groups, 2, 3, taps)
        with full_float32():
            fir = torch.nn.functional.conv1d(inp, w.reshape(6 * groups, 1, taps),
                                             groups=2 * groups)
        fir = fir.reshape(c, nblocks, 2, 3, block)
        acc = fir[:, :, :, 0] + u[None, :, None] * (fir[:, :, :, 1]
                                                   + u[None, :, None] * fir[:, :, :, 2])
        a_c = torch.complex(acc[:, :, 0], acc[:, :, 1]).reshape(c, nblocks * block)
        torch.mul(a_c, _phasors(job, a, b, nblocks * block, dev).to(cdt), out=y[a:b])
    return y[:, :n_out]


def _phasors(job, a: int, b: int, n: int, dev) -> torch.Tensor:
    """complex128 [b - a, n]: gain e^{j 2 pi (nu t - kappa v(t))} of ops a..b-1 at t =
    out_start + 0..n-1, reduced as the numpy reference reduces it."""
    f64 = torch.float64
    t = (torch.as_tensor(job.out_start[a:b], device=dev, dtype=f64)[:, None]
         + torch.arange(n, device=dev, dtype=f64)[None, :])
    dt = t - torch.as_tensor(job.t_ref[a:b], device=dev, dtype=f64)[:, None]
    poly = torch.as_tensor(job.poly[a:b], device=dev, dtype=f64)
    v = torch.zeros_like(dt)
    for q in range(poly.shape[1] - 1, -1, -1):             # Horner, as tv_delay.poly_delay
        v = (v + poly[:, q, None]) * dt
    nu = torch.as_tensor(job.doppler[a:b], device=dev, dtype=f64)[:, None]
    kappa = torch.as_tensor(job.carrier[a:b], device=dev, dtype=f64)[:, None]
    cyc = _reduced_cycles(nu, t) - kappa * v
    cyc = cyc - torch.round(cyc)
    gain = torch.as_tensor(job.gain[a:b], device=dev, dtype=torch.complex128)[:, None]
    return gain * torch.polar(torch.ones_like(cyc), (2.0 * math.pi) * cyc)
