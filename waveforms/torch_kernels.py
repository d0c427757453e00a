"""The ``torch`` kernel set: every waveform kernel in PyTorch, with the contracts of the numpy
references (numpy arrays in and out; see :mod:`waveforms.kernels`).

* OFDM: subcarrier runs written into the symbol bodies, ``torch.fft.ifft`` on the bodies,
  CP copy; demodulation ``torch.fft.fft`` on a strided view of the DFT windows;
* fractional delay with Doppler: per op the input segment is one flat gather from the row
  padded with the zeros it reaches, the windowed-sinc FIR is a grouped ``conv1d`` (real and
  imaginary parts as two channels per op, one filter per op), and gain times Doppler phasor
  is formed in float64 from float64 absolute times as the numba kernel forms it (the
  exact-product phase reduction of :func:`waveforms.doppler.reduced_cycles` at every
  512-sample block start, times the exact phasor inside the block) and applied once per
  sample;
* combine: the tiled GEMMs of :mod:`waveforms.combine_gemm` as ``torch.matmul``;
* the time-varying delay of moving satellites: :mod:`waveforms.torch_tv_delay`.

Precision follows the samples: complex64 in -> complex64/float32 arithmetic and out,
otherwise complex128/float64; the convolutions and matmuls run with TF32 off
(:func:`full_float32`), so float32 means float32 on a GPU too. The device is ``cpu``
unless :func:`set_torch_device` (or the environment variable ``LINKSIM_TORCH_DEVICE``) names
another; these kernels move their arrays to it per call and back, so on an accelerator the
transfers are part of each kernel call (the whole static drop, :mod:`waveforms.torch_drop`,
moves them once).
torch is imported when this module is (the kernel set's loader imports it on first use).
"""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np
import torch

from . import delay as _d
from .combine import _check as _check_combine
from .doppler import reduced_cycles_with
from .kernels import KernelSet
from .ofdm_fast import bin_runs, demodulate_args, modulate_args

__all__ = ["kernel_set", "set_torch_device", "torch_device", "delay_doppler_torch",
           "combine_streams_torch", "ofdm_modulate_torch", "ofdm_demodulate_torch"]

_DEVICE = [os.environ.get("LINKSIM_TORCH_DEVICE", "").strip() or "cpu"]
_CHUNK_BYTES = 32 * 2**20          # bound on the gathered segments of one delay chunk


def set_torch_device(device: str) -> None:
    """Device of the torch kernels ('cpu', 'cuda', 'cuda:1', ...)."""
    torch.empty(0, device=device)          # fails early on an unknown device
    _DEVICE[0] = str(device)


def torch_device() -> str:
    return _DEVICE[0]


def _chunk_bytes(device) -> int:
    """Bound on the gathered segments of one delay chunk: 32 MiB on a CPU (cache-sized
    work), 16 times that on an accelerator (fewer, larger kernel launches)."""
    return _CHUNK_BYTES if torch.device(device).type == "cpu" else 16 * _CHUNK_BYTES


@contextlib.contextmanager
def full_float32():
    """float32 products in full precision inside: no TF32 in cuDNN convolutions (on by
    default in torch) or cuBLAS matmuls (off by default; a user may turn it on), so single
    precision keeps its stated accuracy on a GPU. The previous flags come back after."""
    conv, mm = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm


def _cdtype(a: np.ndarray) -> tuple[torch.dtype, torch.dtype]:
    return ((torch.complex64, torch.float32) if a.dtype == np.complex64
            else (torch.complex128, torch.float64))


def _to(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a)).to(device=_DEVICE[0], dtype=dtype)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


#: f t mod 1 in [-1/2, 1/2] with Dekker's exact product (float64 tensors): the body of
#: waveforms.doppler.reduced_cycles with torch's rounding (half to even, as numpy's)
_reduced_cycles = reduced_cycles_with(torch.round)


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
    # op r reads xt[src_r, lo_r : lo_r + seg_len], zeros outside the row
    xp, base, planes = segment_gather(
        xt, job.src, job.out_start - job.dint - job.x_start - taps // 2, seg_len)
    g = torch.as_tensor(np.ascontiguousarray(job.taps[:, ::-1]), device=dev, dtype=rdt)
    chunk = max(1, _chunk_bytes(dev) // (seg_len * 16))
    y = torch.empty((num_ops, n_out), dtype=cdt, device=dev)
    for a in range(0, num_ops, chunk):
        b = min(a + chunk, num_ops)
        c = b - a
        inp = xp[base[a:b, None, None] + planes].reshape(1, 2 * c, seg_len)
        w = g[a:b].repeat_interleave(2, dim=0)[:, None, :]
        with full_float32():
            fir = torch.nn.functional.conv1d(inp, w, groups=2 * c).reshape(c, 2, n_out)
        rot = _rotations(job.doppler[a:b], job.out_start[a:b], job.gain[a:b], n_out, dev,
                         cdt)
        torch.mul(torch.complex(fir[:, 0], fir[:, 1]), rot, out=y[a:b])
    return y


def segment_gather(xt: torch.Tensor, src: np.ndarray, lo: np.ndarray, seg_len: int
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """How to read the segments xt[src, lo : lo + seg_len] (zeros outside the row) with one
    flat gather each, as conv1d input: (xp, base, planes), ``xp[base[..., None, None] +
    planes]`` being the segments [..., 2 (re, im), seg_len]. ``src`` and ``lo`` int64 of one
    (broadcast) shape. A segment wholly outside its row reads only zeros, so lo is clamped to
    [-seg_len, length] and the rows (a planar copy [rows, 2, width]) are padded with just
    the zeros the segments reach."""
    dev = xt.device
    length = xt.shape[1]
    lo = np.clip(lo, -seg_len, length)
    pad_lo = int(max(0, -lo.min()))
    pad_hi = int(max(0, (lo + seg_len).max() - length))
    width = length + pad_lo + pad_hi
    xp = torch.nn.functional.pad(torch.view_as_real(xt).permute(0, 2, 1), (pad_lo, pad_hi))
    base = torch.as_tensor(2 * width * src + lo + pad_lo, device=dev)
    planes = torch.tensor([0, width], device=dev)[:, None] + torch.arange(seg_len, device=dev)
    return xp.contiguous().reshape(-1), base, planes


def _rotations(doppler: np.ndarray, out_start: np.ndarray, gain: np.ndarray, n_out: int,
               dev, cdt) -> torch.Tensor:
    """[ops, n_out] in ``cdt``: gain_r e^{j 2 pi f_r (out_start_r + n)}, as the numba kernel
    forms it: the exact phasor (float64 times, exact-product reduction) at every block start
    b times the exact phasor of the offset e inside the block, (gain e^{j2pi f b}) e^{j2pi f e}
    (waveforms.delay._fir_row; cos/sin on ops (blocks + block) values, not ops n_out). Both
    factors are formed in complex128 and rounded to ``cdt`` before their product: in single
    precision an error of a few float32 ulps, in double none."""
    block = _d._BLOCK
    nb = -(-n_out // block)
    f = torch.as_tensor(doppler, device=dev, dtype=torch.float64)[:, None]
    t0 = torch.as_tensor(out_start, device=dev, dtype=torch.float64)[:, None]
    starts = t0 + block * torch.arange(nb, device=dev, dtype=torch.float64)[None, :]
    offsets = torch.arange(block, device=dev, dtype=torch.float64)[None, :]

    def phasor(t):
        turns = _reduced_cycles(f, t)
        return torch.polar(torch.ones_like(turns), (2.0 * math.pi) * turns)

    g = torch.as_tensor(gain, device=dev, dtype=torch.complex128)[:, None]
    rot = ((g * phasor(starts)).to(cdt)[:, :, None]
           * phasor(offsets.expand(f.shape[0], block)).to(cdt)[:, None])
    return rot.reshape(f.shape[0], nb * block)[:, :n_out]


def combine_streams_torch(streams, gains, offsets, out_len) -> np.ndarray:
    """:func:`waveforms.combine_gemm.combine_streams_gemm` with torch.matmul."""
    from .combine import window_tiles
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
        for t0, t1, lo, hi in window_tiles(o, out_len, DEFAULT_TILE):
            with full_float32():
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
    return _numpy(_modulate(_to(X, cdt), n, ncp, bins))


def _modulate(xs: torch.Tensor, n: int, ncp: int, bins: np.ndarray) -> torch.Tensor:
    """[K, B, Q] subcarrier symbols -> [K, B (N + N_cp)] CP-OFDM samples (checked args)."""
    k, b, _ = xs.shape
    grid = torch.zeros((k, b, n), dtype=xs.dtype, device=xs.device)
    for b0, q0, length in bin_runs(bins):
        grid[:, :, b0:b0 + length] = xs[:, :, q0:q0 + length]
    body = torch.fft.ifft(grid, dim=-1, norm="ortho")
    x = torch.cat((body[:, :, n - ncp:], body), dim=-1) if ncp else body
    return x.reshape(k, b * (n + ncp))


def ofdm_demodulate_torch(y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length,
                          used_bins, backoff_samples=0) -> np.ndarray:
    """:func:`waveforms.ofdm.ofdm_demodulate` with torch.fft (complex64 stays complex64)."""
    y, n, ncp, bins, m, backoff, first = demodulate_args(
        y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length, used_bins,
        backoff_samples)
    cdt, _ = _cdtype(y if y.dtype == np.complex64 else y.astype(np.complex128))
    return _numpy(_demodulate(_to(y, cdt), first, m, n, ncp, bins, backoff))


def _demodulate(ys: torch.Tensor, first: int, m: int, n: int, ncp: int, bins: np.ndarray,
                backoff: int) -> torch.Tensor:
    """[R, length] samples -> [R, M, Q] subcarriers of the M DFT windows from sample
    ``first`` (checked args), the back-off phase ramp de-rotated."""
    sym_len = n + ncp
    ys = ys.contiguous()
    r, length = ys.shape
    windows = ys.as_strided((r, m, n), (length, sym_len, 1), ys.storage_offset() + first)
    full = torch.fft.fft(windows, dim=-1, norm="ortho")
    Y = torch.empty((r, m, bins.size), dtype=ys.dtype, device=ys.device)
    for b0, q0, run in bin_runs(bins):
        Y[:, :, q0:q0 + run] = full[:, :, b0:b0 + run]
    if backoff:
        turns = np.mod(bins * backoff, n) / n
        Y *= _to(np.exp(2j * np.pi * turns), ys.dtype)
    return Y


def kernel_set() -> KernelSet:
    from .torch_drop import static_drop_torch
    from .torch_tv_delay import tv_delay_doppler_torch

    return KernelSet("torch", delay_doppler_torch, combine_streams_torch, ofdm_modulate_torch,
                     ofdm_demodulate_torch, tv_delay_doppler=tv_delay_doppler_torch,
                     static_drop=static_drop_torch)
