"""One satellite's transmit side in one pass over cache-sized tiles: precompensation (fractional
delay + Doppler of every user's stream), the beam combine and the desired-stream windows.

Contract (the unfused kernels of this package, to rounding), for one satellite with K streams
and J receivers:

    xt[i, t] = delay_doppler(x, x_start, i, delay_samples[i], doppler_cps[i], gain[i],
                             tx_start, tx_len)[t]                    t = 0..tx_len-1
    z[j, n]  = sum_i coupling[j, i] xt[i, offsets[j] + n]           n = 0..win_len-1
    zd[j, n] = coupling[j, j] xt[j, offsets[j] + n]                 (J = K)

i.e. :func:`waveforms.combine.combine_streams_reference` of the
:func:`waveforms.delay.delay_doppler_reference` streams, and the own-stream windows.

Why: unfused, the precompensated streams [K, tx_len] are written to memory by the FIR and
read back by the combine (7 receivers' windows meet every stream sample at S = 5, K = 48,
14 symbols): the combine's GEMMs then run on data streamed from memory at a few flop per
byte. Here the buffer is cut into tiles of ``tile`` samples; per tile, the K streams' FIR
outputs go to a per-thread scratch that stays in cache, the receivers whose window meets
the tile (a contiguous range once sorted by offset) get one GEMM ``A[rows] @ xt_tile`` (BLAS
cgemm/zgemm, numpy's OpenBLAS on one thread per worker), and each row's part inside its
window is copied out with its desired-stream part. The [K, tx_len] buffer is never made.

Arithmetic: every FIR output sample is computed by the unfused kernels' own row function
(:func:`waveforms.delay._fir_row`: float32 taps eight at a time, float64 four at a time)
for the tile's samples instead of the whole row, on the op's own block grid (the Doppler
phasors anchored where the unfused kernel anchors them): the samples of the unfused
kernel, bit for bit. The combine (``combine='gemm'``, the default) is BLAS, which orders
its sums differently: agreement with the unfused kernels to rounding (~1e-7 relative in
single, ~1e-15 in double). ``combine='ordered'`` (double only; :func:`transmit_fused_exact`,
the default ``numba`` set's double path) sums every window in the pinned combine's order
(:func:`waveforms.combine.sum_streams`) and multiplies the own-stream windows with numpy as
the unfused stage does: the unfused kernels' numbers bit for bit.

Threads: ``workers`` Python threads (default numba's thread count, a sweep worker's share of
the cores) take the tiles one at a time from a shared counter, so none idles while another
still has a queue; the FIR and copy kernels are serial numba functions that release the GIL,
BLAS releases it too. Every output element is computed by one tile, whichever thread runs
it, so the result does not depend on the thread count or the schedule.
"""

from __future__ import annotations

from time import perf_counter

import numba
import numpy as np

from . import combine as _c
from . import delay as _d
from .combine import window_tiles
from .combine_gemm import run_tiles

__all__ = ["transmit_fused", "transmit_fused_exact", "DEFAULT_TILE", "COMBINES"]

#: how a tile's windows are combined: BLAS GEMMs, or the pinned combine's summation order
COMBINES = ("gemm", "ordered")

DEFAULT_TILE = 2048


@numba.njit(cache=True, nogil=True)
def _tile_fir(xf, x_start, dint, g_rev, doppler, gain, step, out_start, out_len, n0, n1,
              acc, yt, eight):
    """yt[r, n - n0] = op r's output sample n (n in [n0, n1)) of the delay kernel over the
    outputs [0, out_len), for every op r (op r reads row r of x): the row function of the
    unfused kernels (:func:`waveforms.delay._fir_row`) on that op's block grid, so the
    samples are those of the unfused kernel bit for bit. xf float view [K, 2 L] of x; g_rev
    [K, taps] reversed taps in x's real precision; step [K, 2, block] planar rotation inside
    a block (:func:`_steps`); eight: the float32 FIR (taps eight at a time) and rotation,
    else the float64 ones."""
    half = g_rev.shape[1] // 2
    for r in range(xf.shape[0]):
        lo = out_start - dint[r] - x_start - half
        grid = _d._grid_origin(xf.shape[1] // 2, g_rev.shape[1], lo, out_len)
        _d._fir_row(xf[r], g_rev[r], lo, doppler[r], gain[r], out_start, n0, n1, step[r],
                    acc, yt[r], eight, grid)


@numba.njit(cache=True, nogil=True)
def _scatter(zt, lo, hi, o_sorted, order, t0, t1, yt, a_diag, z, zd):
    """Rows lo..hi-1 (sorted by offset) of the tile [t0, t1): their window parts of the GEMM
    result zt and of their own stream times its coupling, into z and zd [J, W]."""
    win = z.shape[1]
    for r in range(lo, hi):
        j = order[r]
        oj = o_sorted[r]
        n0 = max(t0 - oj, 0)
        n1 = min(t1 - oj, win)
        shift = oj - t0
        src, own, dst, dst_own = zt[r - lo], yt[j], z[j], zd[j]      # 1-D rows: vector loops
        ajj = a_diag[j]
        for n in range(n0, n1):
            dst[n] = src[n + shift]
        for n in range(n0, n1):
            dst_own[n] = ajj * own[n + shift]


@numba.njit(cache=True, nogil=True)
def _ordered_tile(yt, t0, t1, lo, hi, o_sorted, order, coupling, nz, count, acc_r, acc_i, z,
                  own):
    """Rows lo..hi-1 (sorted by offset) of the tile [t0, t1): their window parts summed from
    the tile's streams yt in the order of :func:`waveforms.combine.sum_streams` (the pinned
    combine's numbers) into z, and their own stream's window part copied into own [J, W].
    nz, count: :func:`waveforms.combine.nonzero_table` of coupling. Returns the samples
    made."""
    win = z.shape[1]
    made = 0
    for r in range(lo, hi):
        j = order[r]
        o = o_sorted[r]
        n0 = max(t0 - o, 0)
        n1 = min(t1 - o, win)
        p = o + n0 - t0
        _c.sum_streams(yt, p, coupling[j], nz[j], count[j], acc_r, acc_i, z[j, n0:n1])
        src, dst = yt[j, p:p + n1 - n0], own[j, n0:n1]
        for n in range(n1 - n0):
            dst[n] = src[n]
        made += n1 - n0
    return made


def _steps(doppler: np.ndarray, block: int, single: bool) -> np.ndarray:
    """[K, 2, block]: every op's rotation inside a block, planar (waveforms.delay
    ._planar_steps: float32 for the single-precision rotation, else float64)."""
    real = np.float32 if single else np.float64
    like = np.empty(0, dtype=real)
    return np.stack([_d._planar_steps(f, block, like) for f in doppler]) if doppler.size \
        else np.empty((0, 2, block), dtype=real)


def _check(x, coupling, offsets, tx_len, win_len):
    if x.ndim != 2:
        raise ValueError(f"x must be complex [K, num_samples] (2-D), got {x.ndim}-D")
    k_count = x.shape[0]
    if coupling.shape != (k_count, k_count):
        raise ValueError(f"coupling must have shape ({k_count}, {k_count}) (got "
                         f"{coupling.shape})")
    if offsets.shape != (k_count,):
        raise ValueError(f"offsets must have shape ({k_count},) (got {offsets.shape})")
    if win_len < 1:
        raise ValueError(f"win_len must be >= 1 (got {win_len})")
    if offsets.min() < 0 or offsets.max() + win_len > tx_len:
        raise ValueError(f"offsets + win_len must lie inside the buffer [0, {tx_len}] "
                         f"(got [{offsets.min()}, {offsets.max() + win_len}])")


def transmit_fused(x: np.ndarray, x_start: int, delay_samples: np.ndarray,
                   doppler_cps: np.ndarray, gain: np.ndarray, tx_start: int, tx_len: int,
                   coupling: np.ndarray, offsets: np.ndarray, win_len: int,
                   num_taps: int = _d.DEFAULT_NUM_TAPS, beta: float | None = None,
                   tile: int = DEFAULT_TILE, workers: int | None = None,
                   profile: dict | None = None, combine: str = "gemm"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(z, zd) of one satellite (module docstring), complex [K, win_len] each.

    x : complex [K, num_samples], x[:, 0] at absolute sample x_start (complex64: single
        precision throughout, complex64 out; otherwise complex128)
    delay_samples, doppler_cps : float64 [K]; gain : complex128 [K]  (one op per stream)
    tx_start : int  absolute sample of buffer sample 0; tx_len : int  buffer length
    coupling : complex [J = K, K]  A[j, i]; offsets : int64 [K]  window starts in the buffer
    win_len : int  samples per window; num_taps, beta : the FIR (waveforms.delay)
    tile : buffer samples per tile; workers : threads (default numba.get_num_threads())
    profile : if a dict, thread-seconds of the parts are added to its keys 'fir', 'gemm'
        (the combine), 'copy' and the flops of the combine as computed (whole tiles for the
        GEMMs) to 'gemm_flops'
    combine : 'gemm' (BLAS, the default) or 'ordered' (complex128 only): each window summed
        in the pinned combine's order (waveforms.combine.sum_streams) and the own-stream
        windows multiplied by numpy as :func:`linksim.emulator.stages.precode_desired` does,
        so (z, zd) are the unfused kernels' numbers bit for bit (:func:`transmit_fused_exact`)
    """
    if combine not in COMBINES:
        raise ValueError(f"combine must be one of {', '.join(COMBINES)} (got {combine!r})")
    x = np.asarray(x)
    single = x.dtype == np.complex64
    dtype = np.complex64 if single else np.complex128
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    coupling = np.asarray(coupling)
    _check(x, coupling, offsets, int(tx_len), int(win_len))
    k_count = x.shape[0]
    job = _d._prepare(x[:, :0], x_start, np.arange(k_count), delay_samples, doppler_cps, gain,
                      np.full(k_count, tx_start, dtype=np.int64), tx_len, num_taps, beta)
    real = np.float32 if single else np.float64
    xf = np.ascontiguousarray(x, dtype=dtype).view(real)
    g_rev = np.ascontiguousarray(job.taps[:, ::-1], dtype=real)
    step = _steps(job.doppler, _d._BLOCK, single)
    order = np.argsort(offsets, kind="stable")
    o_sorted = np.ascontiguousarray(offsets[order])
    a_sorted = np.ascontiguousarray(coupling[order].astype(dtype, copy=False))
    a_diag = np.ascontiguousarray(np.diagonal(coupling).astype(dtype, copy=False))
    z = np.empty((k_count, win_len), dtype=dtype)
    zd = np.empty((k_count, win_len), dtype=dtype)
    tile = max(int(tile), 1)
    tiles = window_tiles(o_sorted, win_len, tile)
    if combine == "ordered":
        if single:
            raise ValueError("combine='ordered' is the double-precision path (complex128 x)")
        return _ordered(xf, job, g_rev, step, tx_start, tx_len, coupling, o_sorted, order,
                        a_diag, z, zd, tiles, tile, workers, profile)

    def work(take):
        yt = np.empty((k_count, tile), dtype=dtype)
        zt = np.empty((k_count, tile), dtype=dtype)
        acc = np.empty(2 * _d._BLOCK, dtype=real)
        parts = [0.0, 0.0, 0.0, 0.0]
        for t0, t1, lo, hi in take:
            n = t1 - t0
            c0 = perf_counter()
            _tile_fir(xf, job.x_start, job.dint, g_rev, job.doppler, job.gain, step,
                      np.int64(tx_start), np.int64(tx_len), np.int64(t0), np.int64(t1), acc,
                      yt, single)
            c1 = perf_counter()
            np.matmul(a_sorted[lo:hi], yt[:, :n], out=zt[:hi - lo, :n])
            c2 = perf_counter()
            _scatter(zt, lo, hi, o_sorted, order, t0, t1, yt, a_diag, z, zd)
            c3 = perf_counter()
            parts[0] += c1 - c0
            parts[1] += c2 - c1
            parts[2] += c3 - c2
            parts[3] += 8.0 * (hi - lo) * k_count * n
        return parts

    results = run_tiles(tiles, work, workers)
    if profile is not None:
        for key, value in zip(("fir", "gemm", "copy", "gemm_flops"), np.sum(results, axis=0)):
            profile[key] = profile.get(key, 0.0) + float(value)
    return z, zd


def _ordered(xf, job, g_rev, step, tx_start, tx_len, coupling, o_sorted, order, a_diag, z,
             zd, tiles, tile, workers, profile):
    """The tile loop of ``combine='ordered'`` (:func:`transmit_fused`)."""

    def filler():
        acc = np.empty(2 * _d._BLOCK)

        def fill(t0, t1, yt):
            _tile_fir(xf, job.x_start, job.dint, g_rev, job.doppler, job.gain, step,
                      np.int64(tx_start), np.int64(tx_len), np.int64(t0), np.int64(t1), acc,
                      yt, False)
        return fill

    return ordered_pass(tiles, filler, tile, o_sorted, order, coupling, a_diag, z, zd,
                        workers, profile)


def ordered_pass(tiles, filler, tile, o_sorted, order, coupling, a_diag, z, zd, workers,
                 profile):
    """The tiles' loop of an exact fused pass, (z, zd) complex128 [K, W] written: per tile
    (t0, t1, lo, hi) of ``tiles``, ``fill(t0, t1, yt)`` writes the K streams' buffer samples
    t0..t1-1 into yt [K, tile], then the windows that meet the tile are summed from it in
    the pinned combine's order and the own streams' parts kept (:func:`_ordered_tile`);
    zd = a_diag[j] own[j] by numpy's multiply at the end (precode_desired's numbers).
    ``filler()``, called once per thread, returns that thread's ``fill`` (its scratch
    apart). ``profile`` as :func:`transmit_fused` ('fir': the fills)."""
    k_count = z.shape[0]
    own = np.empty_like(z)
    coupling = np.ascontiguousarray(coupling, dtype=np.complex128)
    nz, count = _c.nonzero_table(coupling)

    def work(take):
        fill = filler()
        yt = np.empty((k_count, tile), dtype=np.complex128)
        acc_r, acc_i = np.empty(_c.BLOCK), np.empty(_c.BLOCK)
        parts = [0.0, 0.0, 0.0, 0.0]
        for t0, t1, lo, hi in take:
            c0 = perf_counter()
            fill(t0, t1, yt)
            c1 = perf_counter()
            made = _ordered_tile(yt, np.int64(t0), np.int64(t1), np.int64(lo), np.int64(hi),
                                 o_sorted, order, coupling, nz, count, acc_r, acc_i, z, own)
            parts[0] += c1 - c0
            parts[1] += perf_counter() - c1
            parts[3] += 8.0 * k_count * made
        return parts

    results = run_tiles(tiles, work, workers)
    c0 = perf_counter()
    for j in range(k_count):       # linksim.emulator.stages.precode_desired's multiply
        np.multiply(a_diag[j], own[j], out=zd[j])
    if profile is not None:
        total = np.sum(results, axis=0)
        total[2] += perf_counter() - c0
        for key, value in zip(("fir", "gemm", "copy", "gemm_flops"), total):
            profile[key] = profile.get(key, 0.0) + float(value)
    return z, zd


def transmit_fused_exact(*args, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """:func:`transmit_fused` with the unfused double-precision kernels' numbers: complex64
    samples take the BLAS combine (single precision is float32-rounded anyway), complex128
    ones ``combine='ordered'``, bit-identical to delay_doppler + combine_streams + the
    own-stream multiply (the pinned default path)."""
    x = np.asarray(args[0] if args else kwargs["x"])
    kwargs.setdefault("combine", "gemm" if x.dtype == np.complex64 else "ordered")
    return transmit_fused(*args, **kwargs)
