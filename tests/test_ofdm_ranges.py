"""OFDM modulation of each user's needed symbols only (waveforms.ofdm_ranges, stages'
needed_symbol_ranges): the kernels against the contract, and the drop's numbers unchanged."""

import numpy as np
import pytest
from test_fast_kernels import make_drop

from linksim.emulator import stages
from waveforms.ofdm import ofdm_modulate, used_subcarrier_bins
from waveforms.ofdm_fast import ofdm_modulate_fast
from waveforms.ofdm_ranges import (
    check_ranges,
    ofdm_modulate_ranges_fast,
    ofdm_modulate_ranges_reference,
)

N, NCP, Q = 64, 8, 40
BINS = used_subcarrier_bins(N, Q)
RANGES = np.array([[0, 7], [2, 5], [3, 3], [6, 7]])       # full, inside, empty, last one


def symbols(dtype, k=4, b=7, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((k, b, Q)) + 1j * rng.standard_normal((k, b, Q))).astype(dtype)


def in_range_mask(ranges, b):
    m = np.arange(b)
    mask = (m[None, :] >= ranges[:, :1]) & (m[None, :] < ranges[:, 1:])
    return np.repeat(mask, N + NCP, axis=1)


def test_reference_is_the_full_modulation_in_range_and_zero_outside():
    X = symbols(np.complex128)
    full = ofdm_modulate(X, N, NCP, BINS)
    got = ofdm_modulate_ranges_reference(X, N, NCP, BINS, RANGES)
    mask = in_range_mask(RANGES, 7)
    assert np.array_equal(got[mask], full[mask])
    assert not np.any(got[~mask])
    assert mask.sum() == (7 + 3 + 0 + 1) * (N + NCP)


@pytest.mark.parametrize("kernel", [ofdm_modulate_ranges_fast])
def test_double_kernels_are_bit_identical_to_the_reference(kernel):
    X = symbols(np.complex128, seed=1)
    want = ofdm_modulate_ranges_reference(X, N, NCP, BINS, RANGES)
    got = kernel(X, N, NCP, BINS, RANGES)
    assert got.dtype == np.complex128
    assert np.array_equal(got, want)


@pytest.mark.parametrize("kernel", [ofdm_modulate_ranges_fast])
def test_single_kernels_equal_their_full_modulation_and_the_reference(kernel):
    X = symbols(np.complex64, seed=2)
    got = kernel(X, N, NCP, BINS, RANGES)
    assert got.dtype == np.complex64
    mask = in_range_mask(RANGES, 7)
    full = ofdm_modulate_fast(X, N, NCP, BINS)               # the same float32 transform
    assert np.array_equal(got[mask], full[mask])
    assert not np.any(got[~mask])
    ref = ofdm_modulate_ranges_reference(X.astype(np.complex128), N, NCP, BINS, RANGES)
    # float32 FFT of 64 points: relative error a few 1e-7 (log2 N rounding stages)
    assert np.max(np.abs(got - ref)) <= 1e-6 * np.max(np.abs(ref))


@pytest.mark.parametrize("bad", [np.array([[0, 7]] * 3), np.array([[0, 8]] * 4),
                                 np.array([[-1, 2]] * 4), np.array([[4, 3]] * 4),
                                 np.zeros((4, 2))])
def test_bad_ranges_are_refused(bad):
    with pytest.raises(ValueError, match="ranges must"):
        check_ranges(bad, 4, 7)
    with pytest.raises(ValueError, match="ranges must"):
        ofdm_modulate_ranges_fast(symbols(np.complex128), N, NCP, BINS, bad)


# ------------------------------------------------------------------------ on a drop
@pytest.fixture(scope="module")
def drop():
    """K = 6 users on S = 3 satellites, 4 symbols, drop 0 with MRT (the benchmark's case):
    (settings, channel, estimates, plan, coupling)."""
    from linksim.app.bench_case import drop_case
    from linksim.config import build_config

    case = drop_case(build_config({"num_observed_symbols": 4}), 6, 3)
    st, ch, est = case.settings, case.links.channel(), case.links.estimates()
    return st, ch, est, stages.plan_burst(st, ch, est, 4), case.coupling


@pytest.fixture(scope="module")
def moving_drop():
    """The same drop with moving satellites (geometry_mode = orbit): the estimates' delays
    change over the burst (the time-varying kernel)."""
    from linksim.app.bench_case import drop_case
    from linksim.config import build_config
    from linksim.emulator.motion import orbit_paths

    case = drop_case(build_config({"num_observed_symbols": 4}), 6, 3, geometry_mode="orbit")
    ch, est, _ = orbit_paths(case.cfg, case.drop, case.links, 0, 0, 4)
    assert not est.is_static
    return case.settings, ch, est, stages.plan_burst(case.settings, ch, est, 4), case.coupling


@pytest.fixture(params=["drop", "moving_drop"])
def any_drop(request):
    return request.getfixturevalue(request.param)


def test_the_ranges_leave_out_symbols_and_hold_the_observed_ones(any_drop):
    st, ch, est, plan, _ = any_drop
    ranges = stages.needed_symbol_ranges(st, est, plan)
    width = ranges[:, 1] - ranges[:, 0]
    assert np.all(width < plan.num_burst_symbols)             # work is left out
    m0 = -plan.first_symbol                                   # each user's own symbols
    assert np.all(ranges[:, 0] <= m0) and np.all(ranges[:, 1] >= m0 + plan.num_symbols)


def _windows(st, x, x0, est, plan, a):
    xt = stages.precompensate(st, x, x0, est, plan)
    return stages.precode(st, xt, a, plan), stages.precode_desired(xt, a, plan)


def test_every_symbol_in_range_is_read_and_none_outside(any_drop):
    """The precoded windows from the trimmed bursts equal those from the full ones; removing
    the first or the last symbol of any user's range changes them (the range is tight)."""
    st, ch, est, plan, a = any_drop
    data, x_full, x0 = stages.generate_bursts(st, np.random.default_rng(5), 6, plan)
    _, x_cut, _ = stages.generate_bursts(st, np.random.default_rng(5), 6, plan, est)
    ranges = stages.needed_symbol_ranges(st, est, plan)
    z_full, zd_full = _windows(st, x_full, x0, est, plan, a)
    z_cut, zd_cut = _windows(st, x_cut, x0, est, plan, a)
    assert np.array_equal(z_cut, z_full) and np.array_equal(zd_cut, zd_full)
    lsym = st.numerology.symbol_length
    for i, (b0, b1) in enumerate(ranges):
        for m in (b0, b1 - 1):
            x = x_cut.copy()
            x[i, m * lsym:(m + 1) * lsym] = 0
            z, _ = _windows(st, x, x0, est, plan, a)
            assert not np.array_equal(z, z_full), (i, m)


@pytest.mark.parametrize("changes", [
    {}, {"precision": "single"}, {"backend": "fast"},
    {"backend": "fast", "precision": "single", "data_stream": "counter"},
    {"receiver": "dmrs-ls"}])
def test_drop_numbers_do_not_change(monkeypatch, changes):
    run = make_drop(num_users=4, num_sats=3, num_observed_symbols=3)
    cut, _ = run(**changes)
    with monkeypatch.context() as m:
        m.setattr(stages, "needed_symbol_ranges", lambda *args: None)    # every symbol
        full, _ = run(**changes)
    for name in ("received", "desired", "noise", "burst_symbols"):
        assert np.array_equal(getattr(cut, name), getattr(full, name)), name


@pytest.mark.parametrize("cfg", [{"channel_profile": "ntn-tdl-c"}, {"geometry_mode": "orbit"}])
def test_multipath_and_moving_drops_do_not_change(monkeypatch, cfg):
    """Multipath (windows cover every path) trims as the flat drop; moving satellites' trim
    by the spans their time-varying kernel reads (waveforms.tv_delay.read_spans)."""
    run = make_drop(num_users=4, num_sats=3, num_observed_symbols=3, **cfg)
    cut, _ = run()
    with monkeypatch.context() as m:
        m.setattr(stages, "needed_symbol_ranges", lambda *args: None)
        full, _ = run()
    for name in ("received", "desired", "noise"):
        assert np.array_equal(getattr(cut, name), getattr(full, name)), name


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_the_numbers_do_not_depend_on_the_thread_count(dtype):
    from waveforms.ofdm_fast import fft_workers, set_fft_workers

    X = symbols(dtype, k=5, b=7, seed=3)
    ranges = np.array([[0, 7], [1, 6], [2, 2], [0, 1], [3, 7]])
    before = fft_workers()
    try:
        got = {}
        for w in (1, 2, 3):
            set_fft_workers(w)
            got[w] = ofdm_modulate_ranges_fast(X, N, NCP, BINS, ranges)
    finally:
        set_fft_workers(before)
    assert np.array_equal(got[1], got[2]) and np.array_equal(got[1], got[3])
