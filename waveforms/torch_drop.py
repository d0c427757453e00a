"""A whole time-constant drop on one torch device (:class:`waveforms.drop_job.StaticDropJob`):
the symbols go to the device once, the three received subcarrier grids come back once, and
every stage in between stays there.

Per satellite (the order of :func:`waveforms.drop_job.static_drop_reference`):

* modulation, precompensation and propagation: the torch kernels of
  :mod:`waveforms.torch_kernels` on device tensors (``torch.fft``, the FIR as a grouped
  ``conv1d`` of gathered segments, the Doppler phase in float64 from absolute times);
* combine as a batched matmul over time tiles: the buffer of the K precompensated streams,
  computed ``ceil(tx_len / L)`` tiles of L samples long, is viewed (no copy) as
  [tiles, K, L]; each tile is multiplied by the coupling rows of the C receivers whose window
  meets it (C the most any tile has; absent rows are a zero row), [tiles, C, K] @ [tiles, K,
  L], and every window is gathered from the tile products. The work is C / J of the whole
  [J, K] x [K, tx_len] product (C <= J), and no receiver's [K, win_len] window is copied;
* the own-stream windows are a gather of the buffer times A[s, j, j].

Numbers: equal to the numpy reference to rounding (the sums run in other orders), double
~1e-15 relative, single ~1e-7. The device is :func:`waveforms.torch_kernels.torch_device`.
"""

from __future__ import annotations

import numpy as np
import torch

from . import delay as _d
from .drop_job import StaticDropJob
from .ofdm_fast import demodulate_args, modulate_args
from .torch_kernels import (
    _cdtype,
    _delay_doppler,
    _demodulate,
    _modulate,
    _numpy,
    _to,
    full_float32,
)

__all__ = ["static_drop_torch", "static_drops_torch", "combine_tiles_torch", "tile_rows",
           "satellite_groups", "DEFAULT_TILE", "GROUP_BYTES"]

DEFAULT_TILE = 2048      # samples per time tile of the combine (a multiple of 64)


def tile_rows(offsets: np.ndarray, win_len: int, num_tiles: int,
              tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Which receivers meet which tile, for windows [o_j, o_j + win_len) of one satellite.

    Returns (rows int64 [num_tiles, C], slot int64 [J, num_tiles]): rows[t] lists the
    receivers whose window meets tile t = [t L, t L + L) in ascending order, padded with J
    (the zero row); slot[j, t] is j's place in rows[t] (-1 where j's window misses t).
    C >= 1 is the most receivers any tile has.
    """
    j_count = offsets.shape[0]
    t0 = np.arange(num_tiles, dtype=np.int64) * tile
    meets = (offsets[:, None] < t0 + tile) & (offsets[:, None] + win_len > t0)   # [J, T]
    count = meets.sum(axis=0)
    c = max(int(count.max(initial=0)), 1)
    order = np.argsort(~meets, axis=0, kind="stable")[:c]                         # [C, T]
    rows = np.where(np.arange(c)[:, None] < count[None, :], order, j_count).T
    slot = np.where(meets, np.cumsum(meets, axis=0) - 1, -1)
    return np.ascontiguousarray(rows), slot


def combine_tiles_torch(xt: torch.Tensor, coupling: torch.Tensor, offsets: np.ndarray,
                        win_len: int, tile: int = DEFAULT_TILE) -> torch.Tensor:
    """z[s, j, n] = sum_i coupling[s, j, i] xt[s, i, offsets[s, j] + n] (combine_streams)
    as tile matmuls (module docstring), all satellites in one batched matmul.

    xt : [S, K, T] tensor, T a multiple of ``tile``;  coupling : [S, J, K] tensor (xt's
    dtype);  offsets : int64 [S, J] with offsets + win_len <= T.  Returns [S, J, win_len] on
    xt's device.
    """
    s_count, k_count, length = xt.shape
    j_count = coupling.shape[1]
    if length % tile:
        raise ValueError(f"the stream buffer length {length} must be a multiple of the tile "
                         f"{tile}")
    if offsets.size and (offsets.min() < 0 or offsets.max() + win_len > length):
        raise ValueError(f"offsets + win_len must lie in [0, {length}]")
    num_tiles = length // tile
    tables = [tile_rows(o, win_len, num_tiles, tile) for o in offsets]
    c = max(rows.shape[1] for rows, _ in tables)            # padded with the zero row J
    rows = np.stack([np.pad(r, ((0, 0), (0, c - r.shape[1])), constant_values=j_count)
                     for r, _ in tables])                                   # [S, T, C]
    slot = np.stack([sl for _, sl in tables])                               # [S, J, T]
    dev = xt.device
    a = torch.cat((coupling, torch.zeros((s_count, 1, k_count), dtype=coupling.dtype,
                                         device=dev)), dim=1)               # [S, J + 1, K]
    sats = torch.arange(s_count, device=dev)[:, None, None]
    ag = a[sats, torch.as_tensor(rows, device=dev)]                         # [S, T, C, K]
    xv = xt.view(s_count, k_count, num_tiles, tile).transpose(1, 2)         # [S, T, K, L]
    with full_float32():
        zt = torch.matmul(ag, xv)                                           # [S, T, C, L]
    e = torch.as_tensor(offsets, device=dev)[:, :, None] + torch.arange(win_len, device=dev)
    t = torch.div(e, tile, rounding_mode="floor")                           # [S, J, W]
    sl = torch.as_tensor(slot, device=dev).gather(2, t)
    return zt.reshape(-1)[((sats * num_tiles + t) * c + sl) * tile + (e - t * tile)]


def _fir(x: torch.Tensor, x_start: int, src, delay, doppler, gain, out_start, out_len: int,
         num_taps: int, cdt, rdt) -> torch.Tensor:
    """delay_doppler on a device tensor x [rows, length] -> [ops, out_len] tensor."""
    job = _d._prepare(np.empty((x.shape[0], 0), dtype=np.complex128), x_start, src,
                      np.ravel(delay), np.ravel(doppler), np.ravel(gain), np.ravel(out_start),
                      out_len, num_taps, None)
    return _delay_doppler(job, x, cdt, rdt)


def _modulate_ranges(data: np.ndarray, ranges, n: int, ncp: int, bins: np.ndarray,
                     cdt) -> torch.Tensor:
    """x [K, B (N + N_cp)] on the device: every symbol (ranges None), or only the symbols in
    each user's range (waveforms.ofdm_ranges; zeros elsewhere): those symbols alone go to
    the device, as one batched FFT, and are placed by one index copy."""
    if ranges is None:
        return _modulate(_to(data, cdt), n, ncp, bins)
    k, b, q = data.shape
    sym = np.arange(b)
    keep = np.flatnonzero(((sym >= ranges[:, :1]) & (sym < ranges[:, 1:])).ravel())
    body = _modulate(_to(data.reshape(k * b, q)[keep][None], cdt), n, ncp, bins)
    x = torch.zeros((k * b, n + ncp), dtype=body.dtype, device=body.device)
    x.index_copy_(0, torch.as_tensor(keep, device=body.device), body.view(-1, n + ncp))
    return x.view(k, b * (n + ncp))


#: device memory per group of satellites (their K buffers and the tile products): a CPU
#: keeps one satellite's worth or so in cache-friendly sizes, an accelerator takes them all
GROUP_BYTES = {"cpu": 256 * 2**20, "other": 8 * 2**30}


def satellite_groups(s_count: int, per_satellite_bytes: int, device) -> list[range]:
    """Consecutive satellites run together within the device's GROUP_BYTES (at least one)."""
    budget = GROUP_BYTES["cpu" if torch.device(device).type == "cpu" else "other"]
    size = max(1, min(s_count, budget // max(per_satellite_bytes, 1)))
    return [range(a, min(a + size, s_count)) for a in range(0, s_count, size)]


def static_drop_torch(job: StaticDropJob, tile: int = DEFAULT_TILE,
                      as_tensors: bool = False):
    """(received, desired, noise) [K, M, Q] of ``job`` on the torch device, in the precision
    of ``job.data`` (numpy arrays; torch tensors on the device with ``as_tensors``).
    Satellites run in groups (:func:`satellite_groups`: all at once on a GPU), each group's
    precompensation, combine and channel one batched call each; the satellite sum in order."""
    return static_drops_torch([job], tile, as_tensors)[0]


#: the job fields that drops batched in one call must share (all but data and noise)
_GEOMETRY = ("x_start", "fft_size", "cyclic_prefix_length", "used_bins", "backoff_samples",
             "pre_delay_samples", "pre_doppler_cps", "pre_gain", "tx_start", "tx_len",
             "coupling", "offsets", "win_len", "prop_delay_samples", "prop_doppler_cps",
             "prop_gain", "num_symbols", "num_taps", "symbol_ranges")


def _check_batch(jobs: list[StaticDropJob]) -> StaticDropJob:
    if not jobs:
        raise ValueError("static_drops_torch needs at least one job")
    first = jobs[0]
    for job in jobs:
        job.check()
        if job.data.dtype != first.data.dtype or job.data.shape != first.data.shape \
                or job.noise.shape != first.noise.shape:
            raise ValueError("batched drops must have data and noise of one shape and dtype")
        for name in _GEOMETRY:
            a, b = getattr(job, name), getattr(first, name)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                raise ValueError(f"batched drops must share {name} (the same geometry and "
                                 "precoder; only data and noise differ)")
    return first


def static_drops_torch(jobs: list[StaticDropJob], tile: int = DEFAULT_TILE,
                       as_tensors: bool = False) -> list[tuple]:
    """:func:`static_drop_torch` of D drops that share their geometry and precoder (every
    field but ``data`` and ``noise``) in one device call per stage: the drops are one more
    batch dimension of every kernel (rows of the FIRs, matmul batches, FFT rows), so a GPU
    sees the launches of one drop for D. Returns one (received, desired, noise) per job, each
    as :func:`static_drop_torch` gives it; D = 1 is that function's computation."""
    job = _check_batch(jobs)
    d_count = len(jobs)
    cdt, rdt = _cdtype(job.data)
    s_count, k, p = job.shape
    _, n, ncp, bins = modulate_args(job.data, job.fft_size, job.cyclic_prefix_length,
                                    job.used_bins)
    *_, first = demodulate_args(np.empty((0, job.rx_len)), 0, job.num_symbols, n, ncp, bins,
                                job.backoff_samples)        # symbol 0 starts at sample 0
    length = -(-job.tx_len // tile) * tile                  # whole tiles (the rest unused)
    data = np.concatenate([j.data for j in jobs]) if d_count > 1 else job.data  # [D K, B, Q]
    ranges = None if job.symbol_ranges is None else np.tile(job.symbol_ranges, (d_count, 1))
    x = _modulate_ranges(data, ranges, n, ncp, bins, cdt)   # rows (drop, user)
    dev = x.device
    itemsize = 8 if cdt == torch.complex64 else 16
    rows_dk = np.arange(d_count * k, dtype=np.int64)
    r = r_des = None
    for grp in satellite_groups(s_count, 3 * d_count * k * length * itemsize, dev):
        g = slice(grp.start, grp.stop)
        sg = len(grp)
        b = sg * d_count                                     # batch (satellite, drop)

        def per_drop(v):                                     # [sg, ...] -> [sg D, ...]
            return np.repeat(v[g], d_count, axis=0)

        xt = _fir(x, job.x_start, np.tile(rows_dk, sg), per_drop(job.pre_delay_samples),
                  per_drop(job.pre_doppler_cps), per_drop(job.pre_gain),
                  np.repeat(job.tx_start[g], d_count * k), length, job.num_taps, cdt,
                  rdt).view(b, k, length)
        a = _to(per_drop(job.coupling), cdt)
        offsets = per_drop(job.offsets)
        z = combine_tiles_torch(xt, a, offsets, job.win_len, tile)          # [b, J, W]
        e = torch.as_tensor(offsets, device=dev)[:, :, None] + torch.arange(
            job.win_len, device=dev)
        z_des = torch.diagonal(a, dim1=1, dim2=2)[:, :, None] * xt.gather(2, e)
        del xt
        rows = np.repeat(np.arange(2 * b * k, dtype=np.int64), p)    # (z | z_des, s, d, j)
        ops = [np.tile(per_drop(v).reshape(-1), 2) for v in (job.prop_delay_samples,
                                                            job.prop_doppler_cps,
                                                            job.prop_gain)]
        y = _fir(torch.cat((z, z_des)).view(2 * b * k, job.win_len), 0, rows, *ops,
                 np.zeros(rows.size, dtype=np.int64), job.rx_len, job.num_taps, cdt,
                 rdt).view(2, sg, d_count * k, p, job.rx_len).sum(dim=3)
        for i in range(sg):                                 # the satellite sum in order
            if r is None:
                r, r_des = y[0, i].clone(), y[1, i].clone()
            else:
                r += y[0, i]
                r_des += y[1, i]
    noise = _to(np.concatenate([j.noise for j in jobs]) if d_count > 1 else job.noise, cdt)
    out = [_demodulate(v, first, job.num_symbols, n, ncp, bins, job.backoff_samples)
           for v in (r + noise, r_des, noise)]                       # [D K, M, Q] each
    drops = [tuple(v[d * k:(d + 1) * k] for v in out) for d in range(d_count)]
    if as_tensors:
        return drops
    return [tuple(_numpy(v) for v in drop) for drop in drops]
