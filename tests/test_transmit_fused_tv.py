"""The moving satellites' fused transmit pass (waveforms.transmit_fused_tv): one satellite's
time-varying precompensation, combine and own-stream windows in tiles of whole blocks,
against the unfused kernels bit for bit, and where the emulator uses it."""

import numpy as np
import pytest

from waveforms.combine import combine_streams
from waveforms.transmit_fused_tv import transmit_fused_tv
from waveforms.tv_delay import TV_BLOCK, tv_delay_doppler


def cn(rng, *shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def _case():
    """K = 5 streams of 3000 samples from absolute sample -40, a buffer of 3400 samples from
    absolute 25 (past both ends of the bursts: the all-zero and the edge regions of the FIR
    next to its blocked interior), delays that move by several samples over the buffer,
    windows starting inside blocks, one stream with zero gain towards two receivers."""
    rng = np.random.default_rng(21)
    k, n, tx_len, win = 5, 3000, 3400, 1300
    x = cn(rng, k, n)
    d0 = np.array([-20.25, 7.5, 130.1, -333.0, 0.0])
    poly = np.zeros((k, 3))
    poly[:, 0] = [2e-3, -3e-3, 1e-3, 0.0, 4e-4]                  # samples per sample
    poly[:, 1] = [1e-7, -2e-7, 0.0, 3e-8, 0.0]
    ops = dict(src=np.arange(k), delay_samples=d0, delay_poly=poly,
               t_ref=rng.uniform(-100.0, 900.0, k), carrier_cps=np.full(k, 65.1),
               doppler_cps=np.array([1e-3, -3e-4, 0.0, 2.5e-2, 7e-5]),
               gain=np.exp(1j * rng.uniform(0, 2 * np.pi, k)), out_start=np.full(k, 25))
    a = cn(rng, k, k)
    a[[0, 3], 2] = 0.0                                           # skipped terms
    offsets = np.array([0, 1800, 37, 1111, 2100])
    xt = tv_delay_doppler(x, -40, *ops.values(), tx_len, num_taps=24)
    z = combine_streams(xt[None], a[None], offsets[None], win)[0]
    zd = np.stack([np.multiply(a[j, j], xt[j, o:o + win]) for j, o in enumerate(offsets)])
    args = dict(x=x, x_start=-40, **ops, tx_len=tx_len, coupling=a, offsets=offsets,
                win_len=win, num_taps=24)
    return args, z, zd


@pytest.mark.parametrize("tile", [TV_BLOCK, 3 * TV_BLOCK, 4 * TV_BLOCK, 16 * TV_BLOCK])
@pytest.mark.parametrize("workers", [1, 2])
def test_equals_the_unfused_kernels_bit_for_bit(tile, workers):
    args, z_ref, zd_ref = _case()
    prof = {}
    z, zd = transmit_fused_tv(**args, tile=tile, workers=workers, profile=prof)
    assert z.dtype == np.complex128 and z.shape == z_ref.shape
    assert np.array_equal(z.view(np.uint64), z_ref.view(np.uint64))
    assert np.array_equal(zd.view(np.uint64), zd_ref.view(np.uint64))
    assert prof["fir"] > 0 and prof["gemm"] > 0
    # the combine's flops as made: 8 per multiply-add over every window sample
    assert prof["gemm_flops"] == 8.0 * 5 * 5 * 1300


@pytest.mark.parametrize("bad, match", [
    (dict(tile=TV_BLOCK + 1), "multiple of"), (dict(tile=0), "multiple of"),
    (dict(x="single"), "complex128"), (dict(src=np.array([0, 1, 2, 4, 3])), "src"),
    (dict(out_start=np.array([25, 25, 26, 25, 25])), "out_start")])
def test_bad_arguments_are_refused(bad, match):
    args, _, _ = _case()
    if bad.get("x") == "single":
        bad = dict(x=args["x"].astype(np.complex64))
    with pytest.raises(ValueError, match=match):
        transmit_fused_tv(**(args | bad))


@pytest.fixture
def unfused_tv_set(numba_variant):
    """The numba set without the moving satellites' fused pass, for one test."""
    return numba_variant("numba-unfused-tv", transmit_fused_tv=None)


def test_an_orbit_drop_takes_it_and_keeps_its_numbers(unfused_tv_set):
    from linksim.app.bench_case import drop_case
    from linksim.config import build_config
    from linksim.emulator import emulate_links, stages
    from linksim.emulator.motion import orbit_paths
    from linksim.emulator.stage_clock import StageClock
    from linksim.scenario import drop_rng

    case = drop_case(build_config({"num_observed_symbols": 2}), 4, 2, geometry_mode="orbit")
    ch, est, _ = orbit_paths(case.cfg, case.drop, case.links, 0, 0, 2)
    outs = {}
    for backend in ("numba", unfused_tv_set):
        st = case.settings.replace(backend=backend)
        assert stages.uses_transmit_fused_tv(st, np.zeros((1, 1), complex), est) == (
            backend == "numba")
        clock = StageClock()
        outs[backend] = emulate_links(st, ch, est, case.coupling, case.scsi.noise_power_w,
                                      drop_rng(0, 0, 3), 2, clock=clock)
        assert ("transmit_fused" in clock.seconds) == (backend == "numba")
    for name in ("received", "desired", "noise"):
        np.testing.assert_array_equal(getattr(outs["numba"], name),
                                      getattr(outs[unfused_tv_set], name))
    # single precision and static estimates keep their own paths
    single = case.settings.replace(precision="single")
    assert not stages.uses_transmit_fused_tv(single, np.zeros((1, 1), np.complex64), est)
    assert not stages.uses_transmit_fused_tv(case.settings, np.zeros((1, 1), complex),
                                             case.links.estimates())
