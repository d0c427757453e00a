"""One moving satellite's transmit side in one pass over cache-sized tiles: the time-varying
precompensation of every user's stream (waveforms.tv_delay), the beam combine in the pinned
combine's order and the own-stream windows.

Contract (the unfused kernels, bit for bit), for one satellite with K streams and J = K
receivers and the ops of :func:`waveforms.tv_delay.tv_delay_doppler` (one per stream, op i
reading row i of x):

    xt[i, t] = tv_delay_doppler(x, x_start, i, ops_i, tx_len)[t]     t = 0..tx_len-1
    z[j, n]  = sum_i coupling[j, i] xt[i, offsets[j] + n]          (combine_streams' order)
    zd[j, n] = coupling[j, j] xt[j, offsets[j] + n]                (numpy's multiply)

Why: unfused, the K precompensated streams [K, tx_len] (81 MB a satellite at S = 5, K = 48,
14 symbols, complex128) are written to memory by the delay kernel and read back by the
combine. Here the buffer is cut into tiles of whole interpolation blocks (the kernel's
arithmetic in a block depends on nothing outside it: :func:`waveforms.tv_delay._tv_blocks`);
per tile the K streams' blocks go to a per-thread scratch that stays in cache, and the
windows that meet the tile are summed from it as the static fused pass does
(:func:`waveforms.transmit_fused._ordered_tile`). The [K, tx_len] buffer is never made.

Threads: as :func:`waveforms.transmit_fused.transmit_fused` (tiles from a shared counter on
``workers`` threads; every output element made by one tile): the result does not depend
on the thread count.
"""

from __future__ import annotations

import numba
import numpy as np

from . import tv_delay as _tv
from .combine import window_tiles
from .transmit_fused import _check, ordered_pass

__all__ = ["transmit_fused_tv", "DEFAULT_TILE"]

#: buffer samples per tile: four interpolation blocks
DEFAULT_TILE = 4 * _tv.TV_BLOCK


@numba.njit(cache=True, nogil=True)
def _tile_tv(xf, x_start, base, coef, poly, t_ref, carrier, doppler, gain, out_start,
             out_len, block, b_lo, b_hi, yt, y0, acc0, acc1, acc2, g0, g1, g2):
    """yt[r, n - y0] for the output samples n of blocks b_lo..b_hi-1 of every op r (op r
    reads row r of x): the delay kernel's own block function, so its numbers."""
    for r in range(xf.shape[0]):
        _tv._tv_blocks(xf[r], x_start, base[r], coef[r], poly[r], t_ref[r], carrier[r],
                       doppler[r], gain[r], out_start[r], out_len, block, b_lo, b_hi, yt[r],
                       y0, acc0, acc1, acc2, g0, g1, g2)


def transmit_fused_tv(x: np.ndarray, x_start: int, src: np.ndarray,
                      delay_samples: np.ndarray, delay_poly: np.ndarray, t_ref: np.ndarray,
                      carrier_cps: np.ndarray, doppler_cps: np.ndarray, gain: np.ndarray,
                      out_start: np.ndarray, tx_len: int, coupling: np.ndarray,
                      offsets: np.ndarray, win_len: int,
                      num_taps: int = _tv.DEFAULT_NUM_TAPS, beta: float | None = None,
                      tile: int = DEFAULT_TILE, workers: int | None = None,
                      profile: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(z, zd) of one moving satellite (module docstring), complex128 [K, win_len] each.

    x : complex128 [K, num_samples], x[:, 0] at absolute sample x_start
    src .. out_start : the K ops of waveforms.tv_delay.tv_delay_doppler (src[i] = i: op i
        precompensates stream i; out_start: the buffer's first absolute sample, one value)
    tx_len : buffer length; coupling : complex [K, K] A[j, i]; offsets : int64 [K] window
        starts in the buffer; win_len : samples per window; num_taps, beta : the FIR
    tile : buffer samples per tile (a multiple of waveforms.tv_delay.TV_BLOCK)
    workers : threads (default numba's thread count)
    profile : if a dict, thread-seconds of the parts are added to its keys 'fir' (the
        delay kernel), 'gemm' (the combine), 'copy' (the own-stream product) and the
        combine's flops to 'gemm_flops'
    """
    x = np.asarray(x)
    if x.dtype != np.complex128:
        raise ValueError(f"x must be complex128 (got {x.dtype}): the double-precision path")
    k_count = x.shape[0]
    src = np.asarray(src, dtype=np.int64)
    if not np.array_equal(src, np.arange(k_count)):
        raise ValueError("src must be 0..K-1: op i precompensates stream i")
    out_start = np.asarray(out_start, dtype=np.int64).reshape(k_count)
    if np.any(out_start != out_start[0]):
        raise ValueError("out_start must be one buffer start for every op")
    block = _tv.TV_BLOCK
    tile = int(tile)
    if tile < block or tile % block:
        raise ValueError(f"tile must be a positive multiple of {block} (got {tile})")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    coupling = np.ascontiguousarray(coupling, dtype=np.complex128)
    _check(x, coupling, offsets, int(tx_len), int(win_len))
    job = _tv._prepare(x, x_start, src, delay_samples, delay_poly, t_ref, carrier_cps,
                       doppler_cps, gain, out_start, int(tx_len), num_taps, beta, block)
    xf = job.x.view(np.float64)
    order = np.argsort(offsets, kind="stable")
    o_sorted = np.ascontiguousarray(offsets[order])
    a_diag = np.ascontiguousarray(np.diagonal(coupling))
    z = np.empty((k_count, win_len), dtype=np.complex128)
    zd = np.empty_like(z)
    tiles = window_tiles(o_sorted, int(win_len), tile, align=block)
    taps = job.coef.shape[3]
    nblocks = job.coef.shape[1]

    def filler():
        scratch = [np.empty(2 * _tv._CHUNK) for _ in range(3)] + [np.empty(taps)
                                                                   for _ in range(3)]

        def fill(t0, t1, yt):
            b_lo, b_hi = t0 // block, min(-(-t1 // block), nblocks)
            _tile_tv(xf, np.int64(job.x_start), job.base, job.coef, job.poly, job.t_ref,
                     job.carrier, job.doppler, job.gain, job.out_start, np.int64(job.out_len),
                     np.int64(block), np.int64(b_lo), np.int64(b_hi), yt, np.int64(t0),
                     *scratch)
        return fill

    return ordered_pass(tiles, filler, tile, o_sorted, order, coupling, a_diag, z, zd,
                        workers, profile)
