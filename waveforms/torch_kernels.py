"""The ``torch`` kernel set: every waveform kernel in PyTorch, with the contracts of the numpy
references (numpy arrays in and out; see :mod:`waveforms.kernels`).

* OFDM: subcarrier runs written into the symbol bodies, ``torch.fft.ifft`` on the bodies,
  CP copy; demodulation ``torch.fft.fft`` on a strided view of the DFT windows;
* fractional delay with Doppler: per op the input segment is gathered (zeros outside the
  row), the windowed-sinc FIR is a grouped ``conv1d`` (real and imaginary parts as two
  channels per op, one filter per op), and gain times Doppler phasor is computed in float64
  from float64 absolute times (the exact-product phase reduction of
  :func:`waveforms.doppler.reduced_cycles`) and applied once per sample;
* combine: the tiled GEMMs of :mod:`waveforms.combine_gemm` as ``torch.matmul``.

Precision follows the samples: complex64 in -> complex64/float32 arithmetic and out,
otherwise complex128/float64. The device is ``cpu`` unless :func:`set_torch_device` (or the
environment variable ``LINKSIM_TORCH_DEVICE``) names another; arrays are moved to it per
call and back, so on an accelerator the transfers are part of each kernel call.
torch is imported when this module is (the kernel set's loader imports it on first use).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from . import delay as _d
from .combine import _check as _check_combine
from .kernels import KernelSet
from .ofdm_fast import bin_runs, demodulate_args, modulate_args

__all__ = ["kernel_set", "set_torch_device", "torch_device", "delay_doppler_torch",
           "combine_streams_torch", "ofdm_modulate_torch", "ofdm_demodulate_torch"]

_DEVICE = [os.environ.get("LINKSIM_TORCH_DEVICE", "cpu")]
_CHUNK_BYTES = 32 * 2**20          # bound on the gathered segments of one delay chunk
_SPLIT = 134217729.0               # 2**27 + 1 (Veltkamp), as waveforms.doppler


def set_torch_device(device: str) -> None:
    """Device of the torch kernels ('cpu', 'cuda', 'cuda:1', ...)."""
    torch.empty(0, device=device)          # fails early on an unknown device
    _DEVICE[0] = str(device)


def torch_device() -> str:
    return _DEVICE[0]


def _cdtype(a: np.ndarray) -> tuple[torch.dtype, torch.dtype]:
    return ((torch.complex64, torch.float32) if a.dtype == np.complex64
            else (torch.complex128, torch.float64))


def _to(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a)).to(device=_DEVICE[0], dtype=dtype)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _reduced_cycles(f: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """f t mod 1 in [-1/2, 1/2] with Dekker's exact product (float64 tensors)."""
    p = f * t
    c = _SPLIT * f
    fh = c - (c - f)
    fl = f - fh
    c = _SPLIT * t
    th = c - (c - t)
    tl = t - th
    e = ((fh * th - p) + fh * tl + fl * th) + fl * tl
    return (p - torch.round(p)) + e


def delay_doppler_torch(x, x_start, src, delay_samples, doppler_cps, gain, out_start, out_len,
                        num_taps=_d.DEFAULT_NUM_TAPS, beta=None, out=None) -> np.ndarray:
    """:func:`waveforms.delay.delay_doppler` in torch (complex64 stays complex64)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be complex [num_in, num_samples] (2-D), got {x.ndim}-D")
    job = _d._prepare(x[:, :0], x_start, src, delay_samples, doppler_cps, gain, out_start,
                      out_len, num_taps, beta)
    cdt, rdt = _cdtype(x)
    num_ops, n_out = job.src.shape[0], job.out_len
    np_dtype = np.complex64 if cdt == torch.complex64 else np.complex128
    if num_ops == 0 or n_out == 0:
        y = np.zeros((num_ops, n_out), dtype=np_dtype)
    else:
        y = _numpy(_delay_doppler(job, _to(x, cdt), cdt, rdt))
    if out is not None:
        out[...] = y
        return out
    return y


def _delay_doppler(job, xt: torch.Tensor, cdt, rdt) -> torch.Tensor:
    dev = xt.device
    num_ops, n_out = job.src.shape[0], job.out_len
    taps = job.taps.shape[1]
    seg_len = n_out + taps - 1
    length = xt.shape[1]
    lo = torch.as_tensor(job.out_start - job.dint - job.x_start - taps // 2, device=dev)
    src = torch.as_tensor(job.src, device=dev)
    g = torch.as_tensor(np.ascontiguousarray(job.taps[:, ::-1]), device=dev, dtype=rdt)
    f = torch.as_tensor(job.doppler, device=dev, dtype=torch.float64)
    t0 = torch.as_tensor(job.out_start, device=dev, dtype=torch.float64)
    gain = torch.as_tensor(job.gain, device=dev, dtype=torch.complex128)
    ar_seg = torch.arange(seg_len, device=dev)
    ar_out = torch.arange(n_out, device=dev, dtype=torch.float64)
    chunk = max(1, _CHUNK_BYTES // (seg_len * 16))
    y = torch.empty((num_ops, n_out), dtype=cdt, device=dev)
    for a in range(0, num_ops, chunk):
        b = min(a + chunk, num_ops)
        c = b - a
        idx = lo[a:b, None] + ar_seg[None, :]
        valid = (idx >= 0) & (idx < length)
        seg = xt[src[a:b, None], idx.clamp(0, length - 1)] * valid
        inp = torch.view_as_real(seg).permute(0, 2, 1).reshape(1, 2 * c, seg_len)
        w = g[a:b].repeat_interleave(2, dim=0)[:, None, :]
        fir = torch.nn.functional.conv1d(inp, w, groups=2 * c).reshape(c, 2, n_out)
        phase = _reduced_cycles(f[a:b, None], t0[a:b, None] + ar_out[None, :])
        rot = gain[a:b, None] * torch.polar(torch.ones_like(phase), (2.0 * math.pi) * phase)
        y[a:b] = torch.complex(fir[:, 0], fir[:, 1]) * rot.to(cdt)
    return y


def combine_streams_torch(streams, gains, offsets, out_len) -> np.ndarray:
    """:func:`waveforms.combine_gemm.combine_streams_gemm` with torch.matmul."""
    from .combine_gemm import DEFAULT_TILE

    streams = np.asarray(streams)
    gains = np.asarray(gains)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check_combine(streams, gains, offsets, out_len)
    cdt, _ = _cdtype(streams)
    xs = _to(streams, cdt)
    s_count, j_count, _ = gains.shape
    out = torch.empty((s_count, j_count, out_len), dtype=cdt, device=xs.device)
    for s in range(s_count):
        order = np.argsort(offsets[s], kind="stable")
        o = offsets[s, order]
        a = _to(gains[s, order], cdt)
        end = int(o[-1]) + out_len
        for t0 in range(int(o[0]), end, DEFAULT_TILE):
            t1 = min(t0 + DEFAULT_TILE, end)
            lo = int(np.searchsorted(o, t0 - out_len, side="right"))
            hi = int(np.searchsorted(o, t1, side="left"))
            if hi <= lo:
                continue
            zt = a[lo:hi] @ xs[s, :, t0:t1]
            for r in range(lo, hi):
                oj = int(o[r])
                n0, n1 = max(t0 - oj, 0), min(t1 - oj, out_len)
                out[s, int(order[r]), n0:n1] = zt[r - lo, oj + n0 - t0:oj + n1 - t0]
    return _numpy(out)


def ofdm_modulate_torch(X, fft_size, cyclic_prefix_length, used_bins) -> np.ndarray:
    """:func:`waveforms.ofdm.ofdm_modulate` with torch.fft (complex64 stays complex64)."""
    X, n, ncp, bins = modulate_args(X, fft_size, cyclic_prefix_length, used_bins)
    cdt, _ = _cdtype(X)
    xs = _to(X, cdt)
    k, b, _ = X.shape
    grid = torch.zeros((k, b, n), dtype=cdt, device=xs.device)
    for b0, q0, length in bin_runs(bins):
        grid[:, :, b0:b0 + length] = xs[:, :, q0:q0 + length]
    body = torch.fft.ifft(grid, dim=-1, norm="ortho")
    x = torch.cat((body[:, :, n - ncp:], body), dim=-1) if ncp else body
    return _numpy(x.reshape(k, b * (n + ncp)))


def ofdm_demodulate_torch(y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length,
                          used_bins, backoff_samples=0) -> np.ndarray:
    """:func:`waveforms.ofdm.ofdm_demodulate` with torch.fft (complex64 stays complex64)."""
    y, n, ncp, bins, m, backoff, first = demodulate_args(
        y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length, used_bins,
        backoff_samples)
    sym_len = n + ncp
    cdt, _ = _cdtype(y if y.dtype == np.complex64 else y.astype(np.complex128))
    ys = _to(y, cdt)
    r, length = ys.shape
    windows = ys.as_strided((r, m, n), (length, sym_len, 1), first)
    full = torch.fft.fft(windows, dim=-1, norm="ortho")
    Y = torch.empty((r, m, bins.size), dtype=cdt, device=ys.device)
    for b0, q0, run in bin_runs(bins):
        Y[:, :, q0:q0 + run] = full[:, :, b0:b0 + run]
    if backoff:
        turns = np.mod(bins * backoff, n) / n
        Y *= _to(np.exp(2j * np.pi * turns), cdt)
    return _numpy(Y)


def kernel_set() -> KernelSet:
    return KernelSet("torch", delay_doppler_torch, combine_streams_torch, ofdm_modulate_torch,
                     ofdm_demodulate_torch)
