"""The fused transmit pass (waveforms.transmit_fused, issue 17): one satellite's
precompensation, combine and own-stream windows in cache-sized tiles, against the numpy
references of the three unfused kernels, and where the emulator uses it."""

import numpy as np
import pytest

from linksim.config import build_config
from linksim.emulator import EmulatorSettings, draw_link_state, emulate_links, measure, stages
from waveforms.combine import combine_streams_reference
from waveforms.delay import delay_doppler_reference
from waveforms.kernels import kernel_set
from waveforms.transmit_fused import transmit_fused, transmit_fused_exact


def cn(rng, *shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _case(num_taps=10):
    """K = 4 streams of 700 samples starting at absolute sample -30; the buffer (900 samples
    from absolute 5) reaches past both ends of the bursts, so the all-zero and the edge
    regions of the FIR occur next to the blocked interior; windows anywhere in the buffer."""
    rng = np.random.default_rng(11)
    k = 4
    x = cn(rng, k, 700)
    delay = np.array([-20.25, 7.5, 130.1, -333.0])      # fractional and integer, both signs
    doppler = np.array([1e-3, -3e-4, 0.0, 2.5e-2])      # cycles/sample
    gain = np.exp(1j * rng.uniform(0, 2 * np.pi, k))
    a = cn(rng, k, k)
    offsets = np.array([0, 300, 37, 250])
    args = dict(x_start=-30, delay_samples=delay, doppler_cps=doppler, gain=gain, tx_start=5,
                tx_len=900, coupling=a, offsets=offsets, win_len=600, num_taps=num_taps)
    xt = delay_doppler_reference(x, -30, np.arange(k), delay, doppler, gain,
                                 np.full(k, 5), 900, num_taps)
    z = combine_streams_reference(xt[None], a[None], offsets[None], 600)[0]
    zd = np.stack([a[j, j] * xt[j, o:o + 600] for j, o in enumerate(offsets)])
    return x, args, z, zd


@pytest.mark.parametrize("tile", [1, 37, 512, 100_000])       # 100 000: one tile
@pytest.mark.parametrize("num_taps", [10, 24])
def test_double_equals_the_references(tile, num_taps):
    x, args, z_ref, zd_ref = _case(num_taps)
    z, zd = transmit_fused(x, **args, tile=tile)
    # the same FIR sums as the double kernel; the Doppler anchor and the 4-term GEMM sums
    # round differently: a few float64 eps (2.2e-16) relative to the peak
    assert z.dtype == np.complex128 and rel(z, z_ref) < 1e-13
    assert rel(zd, zd_ref) < 1e-13


@pytest.mark.parametrize("tile", [37, 2048])
def test_single_equals_the_references(tile):
    x, args, z_ref, zd_ref = _case(24)
    z, zd = transmit_fused(x.astype(np.complex64), **args, tile=tile)
    # float32 input rounding (6e-8), a 24-term float32 FIR sum and a 4-term float32 GEMM
    # sum: below 1e-6 of the peak, as the single delay kernel
    assert z.dtype == np.complex64 and zd.dtype == np.complex64
    assert rel(z, z_ref) < 1e-6 and rel(zd, zd_ref) < 1e-6


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_the_thread_count_changes_no_bit(dtype):
    x, args, _, _ = _case(24)
    one = transmit_fused(x.astype(dtype), **args, tile=64, workers=1)
    two = transmit_fused(x.astype(dtype), **args, tile=64, workers=2)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])


def test_bad_input_is_refused():
    x, args, _, _ = _case()
    with pytest.raises(ValueError, match="coupling must have shape"):
        transmit_fused(x, **{**args, "coupling": np.ones((3, 4))})
    with pytest.raises(ValueError, match="offsets \\+ win_len must lie inside the buffer"):
        transmit_fused(x, **{**args, "offsets": np.array([0, 300, 37, 301])})
    with pytest.raises(ValueError, match="offsets must have shape"):
        transmit_fused(x, **{**args, "offsets": np.array([0, 1])})
    with pytest.raises(ValueError, match="combine must be one of gemm, ordered"):
        transmit_fused(x, **args, combine="blas")
    with pytest.raises(ValueError, match="combine='ordered' is the double-precision path"):
        transmit_fused(x.astype(np.complex64), **args, combine="ordered")


def test_which_sets_use_it():
    # the default set fuses both precisions, double with the pinned combine's order; fast
    # takes BLAS in both
    numba_set, fast = kernel_set("numba"), kernel_set("fast")
    assert set(numba_set.transmit_fused_dtypes) == {"complex64", "complex128"}
    assert numba_set.transmit_fused is transmit_fused_exact
    assert set(fast.transmit_fused_dtypes) == {"complex64", "complex128"}
    assert fast.transmit_fused is transmit_fused
    assert kernel_set("numpy").transmit_fused is None


@pytest.mark.parametrize("tile", [1, 37, 512, 100_000])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_the_tiles_fir_is_the_unfused_kernels_bit_for_bit(tile, dtype):
    # with A = I every window is its own stream's FIR output, exactly (products with 1 and 0,
    # sums with 0): the tiles' FIR, on each op's block grid, gives the unfused delay
    # kernel's samples bit for bit, the zero and edge regions of _case included
    from waveforms.delay_single import delay_doppler_any

    x, args, _, _ = _case(24)
    x = x.astype(dtype)
    k = x.shape[0]
    xt = delay_doppler_any(x, args["x_start"], np.arange(k), args["delay_samples"],
                           args["doppler_cps"], args["gain"], np.full(k, args["tx_start"]),
                           args["tx_len"], 24)
    expect = np.stack([xt[j, o:o + args["win_len"]] for j, o in enumerate(args["offsets"])])
    for combine in ("gemm", "ordered") if dtype == np.complex128 else ("gemm",):
        z, zd = transmit_fused(x, **{**args, "coupling": np.eye(k)}, tile=tile,
                               combine=combine)
        np.testing.assert_array_equal(z.view(z.real.dtype), expect.view(z.real.dtype))
        np.testing.assert_array_equal(zd.view(z.real.dtype), expect.view(z.real.dtype))


@pytest.mark.parametrize("tile", [1, 37, 512, 100_000])
@pytest.mark.parametrize("workers", [1, 2])
def test_ordered_is_the_unfused_double_kernels_bit_for_bit(tile, workers):
    # combine='ordered': z = waveforms.combine.combine_streams of the unfused streams and
    # zd = numpy's multiply as linksim.emulator.stages.precode_desired does, bit for bit
    from waveforms.combine import combine_streams
    from waveforms.delay import delay_doppler

    x, args, _, _ = _case(24)
    k, w = x.shape[0], args["win_len"]
    a = args["coupling"].copy()
    a[1, 2] = 0                                   # a zero gain is skipped in both
    xt = delay_doppler(x, args["x_start"], np.arange(k), args["delay_samples"],
                       args["doppler_cps"], args["gain"], np.full(k, args["tx_start"]),
                       args["tx_len"], 24)
    z_ref = combine_streams(xt[None], a[None], args["offsets"][None], w)[0]
    zd_ref = np.empty_like(z_ref)
    for j, o in enumerate(args["offsets"]):
        np.multiply(a[j, j], xt[j, o:o + w], out=zd_ref[j])
    z, zd = transmit_fused_exact(x, **{**args, "coupling": a}, tile=tile, workers=workers)
    np.testing.assert_array_equal(z.view(np.float64), z_ref.view(np.float64))
    np.testing.assert_array_equal(zd.view(np.float64), zd_ref.view(np.float64))


def _drop(cfg):
    from linksim.ratemodel import coupling
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design

    drop = draw_drop(cfg, 0, 0)
    scsi = scsi_from_drop(drop, cfg)
    W = design("mrt", scsi, 10 ** (cfg.power_dbw / 10)).W
    links = draw_link_state(cfg, drop, scsi, 0, 0)
    return links, coupling(scsi.steering, W), scsi


@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_fused_drop_equals_the_unfused_drop(precision):
    """The whole drop through emulate_links, fused (fast set) against the unfused numpy
    references: received samples to the precision's rounding, the same SINR."""
    cfg = build_config({"num_users": 6, "num_sats": 3})
    links, a, scsi = _drop(cfg)
    ch, est = links.channel(), links.estimates()
    outs = {}
    for backend in ("fast", "numpy"):
        st = EmulatorSettings.from_config(cfg, backend=backend, precision=precision)
        assert stages.uses_transmit_fused(
            st, np.zeros((1, 1), st.sample_dtype), est) == (backend == "fast")
        rng = np.random.default_rng(7)
        outs[backend] = emulate_links(st, ch, est, a, scsi.noise_power_w, rng, 2)
    f, n = outs["fast"], outs["numpy"]
    # double: ~1e-15 relative per sample after FFTs; single: each of the five float32 stages
    # (OFDM, FIR, combine, FIR, DFT) within the 1e-6 kernel bound, independent roundings
    # adding in power (sqrt 5 x ~2e-7): below 1e-6 of the peak
    tol = 1e-12 if precision == "double" else 1e-6
    assert rel(f.received, n.received) < tol and rel(f.desired, n.desired) < tol
    # SINR: a relative sample error d moves a power by <= 2 d: 10 log10(1 + 2e-6) = 9e-6 dB
    sf, sn = 10 * np.log10(measure(f).sinr), 10 * np.log10(measure(n).sinr)
    assert np.max(np.abs(sf - sn)) < (1e-9 if precision == "double" else 1e-4)


def test_the_profile_counts_every_gemm_flop():
    # flops of the GEMMs as computed: 8 per complex MAC over every tile's rows x K x samples;
    # each receiver's window meets ceil-many tiles, so the count lies between the useful
    # flops (8 J K W) and that plus one tile at each end of every window
    x, args, _, _ = _case(24)
    prof = {}
    transmit_fused(x, **args, tile=64, profile=prof)
    k, w = 4, args["win_len"]
    useful = 8.0 * k * k * w
    assert useful <= prof["gemm_flops"] <= useful + 8.0 * k * k * 2 * 64
    assert all(prof[key] > 0 for key in ("fir", "gemm", "copy"))


def test_a_forked_child_gets_its_own_threads():
    # the kept thread pool of the parent has no threads in a forked child: the child must
    # make its own and finish (a sweep worker forked after a drop ran in the parent)
    import multiprocessing as mp

    x, args, z_ref, _ = _case(24)
    transmit_fused(x, **args, tile=64, workers=2)              # the parent's pool exists
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        z_child = pool.apply_async(_fused_z, (x, args)).get(timeout=30)
    assert rel(z_child, z_ref) < 1e-13


def _fused_z(x, args):
    return transmit_fused(x, **args, tile=64, workers=2)[0]
