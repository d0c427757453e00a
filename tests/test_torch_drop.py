"""The whole time-constant drop on one torch device (waveforms.torch_drop, issue 17 item 6):
the tile-matmul combine and the resident drop against the numpy references, and the
emulator's use of it (backend torch) against the numba back end."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from linksim.config import build_config  # noqa: E402
from linksim.emulator import EmulatorSettings, draw_link_state, emulate_links, measure  # noqa: E402
from waveforms.combine import combine_streams_reference  # noqa: E402
from waveforms.drop_job import StaticDropJob, static_drop_reference  # noqa: E402
from waveforms.ofdm import used_subcarrier_bins  # noqa: E402
from waveforms.torch_drop import combine_tiles_torch, static_drop_torch, tile_rows  # noqa: E402


def cn(rng, *shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("tile", [64, 128, 1024])
def test_tile_rows_list_exactly_the_windows_that_meet_each_tile(tile):
    rng = np.random.default_rng(3)
    win, tiles = 150, 8
    offsets = np.concatenate(([0, tiles * tile - win, tile - win // 2, 2 * tile],
                              rng.integers(0, tiles * tile - win, 6)))
    rows, slot = tile_rows(offsets, win, tiles, tile)
    j_count = offsets.size
    for t in range(tiles):
        want = [j for j in range(j_count)
                if offsets[j] < (t + 1) * tile and offsets[j] + win > t * tile]
        got = [j for j in rows[t] if j != j_count]
        assert got == want                                      # ascending, each once
        assert all(rows[t, len(want):] == j_count)              # padded with the zero row
        for j in range(j_count):
            assert slot[j, t] == (want.index(j) if j in want else -1)
    assert rows.shape[1] == max(1, max(np.sum((offsets < (t + 1) * tile)
                                              & (offsets + win > t * tile))
                                       for t in range(tiles)))


@pytest.mark.parametrize("dtype,bound", [(np.complex128, 1e-13), (np.complex64, 1e-6)])
@pytest.mark.parametrize("tile,win", [(64, 150), (256, 150), (64, 40)])
def test_tile_combine_equals_the_reference(dtype, bound, tile, win):
    # windows shorter and longer than a tile, at the buffer's first and last samples and on
    # tile edges; float32 rounding of a K = 5 sum: a few 1e-8 of the peak
    rng = np.random.default_rng(5)
    k, length = 5, 8 * tile
    xt = cn(rng, k, length)
    a = cn(rng, 6, k)
    offsets = np.array([0, length - win, tile, tile - 1, 3 * tile + 7,
                        int(rng.integers(0, length - win))])
    # two satellites in one batched call: the second with other windows (other C)
    xt = np.stack((xt, cn(rng, k, length)))
    a = np.stack((a, cn(rng, 6, k)))
    offsets = np.stack((offsets, np.sort(rng.integers(0, length - win, 6))))
    ref = combine_streams_reference(xt, a, offsets, win)
    got = combine_tiles_torch(torch.as_tensor(xt.astype(dtype)),
                              torch.as_tensor(a.astype(dtype)), offsets, win, tile).numpy()
    assert got.dtype == dtype
    assert rel(got, ref) < bound


def test_tile_combine_refuses_a_ragged_buffer():
    with pytest.raises(ValueError, match="multiple of the tile"):
        combine_tiles_torch(torch.zeros((1, 2, 100), dtype=torch.complex128),
                            torch.zeros((1, 2, 2), dtype=torch.complex128),
                            np.array([[0, 1]]), 10, 64)


def _job(dtype, num_paths=2, backoff=3):
    """S = 2, K = 3, N = 64 (N_cp 8, 40 used bins), 2 observed symbols: the precompensated
    buffers start 10 samples into the burst and read past its end (the FIR's zero and edge
    regions), windows anywhere in the buffer, paths anywhere inside the window margins."""
    rng = np.random.default_rng(7)
    s, k, n, ncp, m = 2, 3, 64, 8, 2
    bins = used_subcarrier_bins(n, 40)
    b = 12
    x_start = -4 * (n + ncp)
    rx_len = m * (n + ncp)
    win_len = rx_len + 60
    tx_len = b * (n + ncp) - 40
    return StaticDropJob(
        data=cn(rng, k, b, bins.size).astype(dtype), x_start=x_start, fft_size=n,
        cyclic_prefix_length=ncp, used_bins=bins, backoff_samples=backoff,
        pre_delay_samples=-rng.uniform(3, 30, (s, k)),
        pre_doppler_cps=rng.uniform(-2e-3, 2e-3, (s, k)),
        pre_gain=np.exp(2j * np.pi * rng.uniform(size=(s, k))),
        tx_start=np.array([x_start + 10, x_start + 25]), tx_len=tx_len,
        coupling=cn(rng, s, k, k).astype(dtype),
        offsets=rng.integers(0, tx_len - win_len, (s, k)), win_len=win_len,
        prop_delay_samples=rng.uniform(15, win_len - rx_len - 15, (s, k, num_paths)),
        prop_doppler_cps=rng.uniform(-1e-3, 1e-3, (s, k, num_paths)),
        prop_gain=cn(rng, s, k, num_paths),
        noise=(0.1 * cn(rng, k, rx_len)).astype(dtype), num_symbols=m, num_taps=10)


@pytest.mark.parametrize("dtype,bound", [(np.complex128, 1e-12), (np.complex64, 1e-6)])
@pytest.mark.parametrize("num_paths", [1, 2])
@pytest.mark.parametrize("group_bytes", [1, 2**30])
def test_resident_drop_equals_the_reference_kernels(monkeypatch, dtype, bound, num_paths,
                                                    group_bytes):
    # double: every stage equal to rounding (~1e-15, the sums in other orders); single:
    # float32 samples through ~100 rounding steps (a few 1e-7 of the peak); one satellite
    # per call (a small budget) and both in one batched call (a GPU's budget)
    from waveforms import torch_drop

    monkeypatch.setitem(torch_drop.GROUP_BYTES, "cpu", group_bytes)
    assert len(torch_drop.satellite_groups(2, 100, "cpu")) == (2 if group_bytes == 1 else 1)
    job = _job(dtype, num_paths)
    ref = static_drop_reference(job)
    got = static_drop_torch(job, tile=64)              # many tiles for a short buffer
    for g, r in zip(got, ref):
        assert g.dtype == dtype and g.shape == (3, 2, 40)
        assert rel(g, r) < bound
    assert rel(ref[0], ref[1] + ref[2]) > 1e-3         # interference is really there


@pytest.mark.parametrize("dtype,bound", [(np.complex128, 1e-12), (np.complex64, 1e-6)])
def test_resident_drop_with_symbol_ranges_equals_the_reference(dtype, bound):
    # only the symbols in each user's range go to the device (zeros elsewhere): the
    # reference modulates with waveforms.ofdm_ranges; an empty range and a full one included
    job = _job(dtype)
    ranges = np.array([[2, 10], [0, 12], [5, 5]])
    cut = StaticDropJob(**{**job.__dict__, "symbol_ranges": ranges})
    ref = static_drop_reference(cut)
    got = static_drop_torch(cut, tile=64)
    for g, r in zip(got, ref):
        assert rel(g, r) < bound
    assert rel(ref[0], static_drop_reference(job)[0]) > 1e-3     # the cut symbols were read
    bad = StaticDropJob(**{**job.__dict__, "symbol_ranges": np.array([[0, 13]] * 3)})
    with pytest.raises(ValueError, match="ranges must"):
        static_drop_torch(bad)


@pytest.mark.parametrize("dtype,bound", [(np.complex128, 1e-12), (np.complex64, 1e-6)])
@pytest.mark.parametrize("group_bytes", [1, 2**30])
def test_batched_drops_equal_each_drop_alone(monkeypatch, dtype, bound, group_bytes):
    # three drops of one geometry (other data and noise) in one call per stage: each equals
    # its own single-drop call to rounding (batched kernels may sum in other orders)
    from waveforms import torch_drop
    from waveforms.torch_drop import static_drops_torch

    monkeypatch.setitem(torch_drop.GROUP_BYTES, "cpu", group_bytes)
    base = StaticDropJob(**{**_job(dtype).__dict__,
                            "symbol_ranges": np.array([[1, 12], [0, 12], [2, 9]])})
    rng = np.random.default_rng(11)
    jobs = [StaticDropJob(**{**base.__dict__, "data": cn(rng, *base.data.shape).astype(dtype),
                             "noise": (0.1 * cn(rng, *base.noise.shape)).astype(dtype)})
            for _ in range(3)]
    batched = static_drops_torch(jobs, tile=64)
    assert len(batched) == 3
    for job, got in zip(jobs, batched):
        alone = static_drop_torch(job, tile=64)
        for g, a in zip(got, alone):
            assert g.dtype == dtype and g.shape == a.shape and rel(g, a) < bound
    assert rel(batched[0][0], batched[1][0]) > 0.1            # the drops really differ


def test_batched_drops_must_share_their_geometry():
    from waveforms.torch_drop import static_drops_torch

    job = _job(np.complex128)
    other = StaticDropJob(**{**job.__dict__, "pre_gain": job.pre_gain * 1j})
    with pytest.raises(ValueError, match="must share pre_gain"):
        static_drops_torch([job, other])
    with pytest.raises(ValueError, match="at least one job"):
        static_drops_torch([])


def test_resident_drop_refuses_inconsistent_shapes():
    job = _job(np.complex128)
    bad = StaticDropJob(**{**job.__dict__, "coupling": job.coupling[:, :2]})
    with pytest.raises(ValueError, match="coupling must have shape"):
        static_drop_torch(bad)


def _drop(**cfg_changes):
    from linksim.ratemodel import coupling
    from linksim.scenario import draw_drop, drop_rng
    from linksim.scsi import scsi_from_drop
    from precoders import design

    cfg = build_config({"num_users": 3, "num_sats": 2, "num_observed_symbols": 2}
                       | cfg_changes)
    m = cfg.num_observed_symbols
    drop = draw_drop(cfg, 0, 0)
    scsi = scsi_from_drop(drop, cfg)
    links = draw_link_state(cfg, drop, scsi, 0, 0)
    a = coupling(scsi.steering, design("mrt", scsi, 10 ** (cfg.power_dbw / 10)).W)
    channel, estimates = links.channel(), links.estimates()
    if cfg.channel_profile != "flat":
        from linksim.multipath import multipath_channel
        channel = multipath_channel(cfg, links, scsi, 0, 0)
    settings = EmulatorSettings.from_config(cfg)

    def run(components=False, **changes):
        return emulate_links(settings.replace(**changes), channel, estimates, a,
                             scsi.noise_power_w, drop_rng(0, 0, 3), m, components)

    return run


def _calls(monkeypatch):
    """Count the calls of the torch set's static_drop."""
    from dataclasses import replace

    from waveforms import kernels

    ks = kernels.kernel_set("torch")
    calls = []

    def counted(job):
        calls.append(job)
        return ks.static_drop(job)

    monkeypatch.setitem(kernels._LOADED, "torch", replace(ks, static_drop=counted))
    return calls


@pytest.mark.parametrize("changes", [{}, {"channel_profile": "ntn-tdl-c"},
                                     {"receiver": "dmrs-ls", "timing_backoff_samples": 8,
                                      "num_observed_symbols": 3}])
def test_torch_backend_runs_the_drop_resident_and_equals_numba(monkeypatch, changes):
    # double precision on both sides: NMSE far below -200 dB (rounding only)
    run = _drop(**changes)
    calls = _calls(monkeypatch)
    ref = run()
    out = run(backend="torch")
    assert len(calls) == 1
    assert calls[0].symbol_ranges is not None            # only the needed symbols went
    for name in ("received", "desired", "noise"):
        got, want = getattr(out, name), getattr(ref, name)
        assert 10 * np.log10(np.sum(np.abs(got - want) ** 2) / np.sum(np.abs(want) ** 2)) < -200
    assert np.array_equal(out.burst_symbols, ref.burst_symbols)          # the same draws
    assert out.info == ref.info and out.first_symbol_index == ref.first_symbol_index
    assert np.max(np.abs(10 * np.log10(measure(out).sinr / measure(ref).sinr))) < 1e-9


def test_components_keep_the_staged_kernels(monkeypatch):
    run = _drop()
    calls = _calls(monkeypatch)
    ref = run(components=True)
    out = run(components=True, backend="torch")
    assert calls == []                                   # the per-(s, j, i) terms need stages
    assert rel(out.components, ref.components) < 1e-12
    assert rel(out.received, ref.received) < 1e-12


def test_full_float32_turns_tf32_off_inside_and_restores_the_flags():
    # cuDNN's TF32 (on by default) would round float32 conv products to 10 mantissa bits
    # (~1e-3), far outside the single-precision bound; the flags are process-wide
    from waveforms.torch_kernels import full_float32

    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with pytest.raises(RuntimeError):
            with full_float32():
                assert not torch.backends.cudnn.allow_tf32
                assert not torch.backends.cuda.matmul.allow_tf32
                raise RuntimeError
        assert torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 == before[0]
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
