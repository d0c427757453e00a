"""Tests of waveforms.tv_delay: the time-varying fractional delay (moving satellites)."""

import numpy as np
import pytest

from waveforms.delay import delay_doppler
from waveforms.kernels import kernel_set
from waveforms.tv_delay import tv_delay_doppler, tv_delay_doppler_reference


def _cplx(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def _args(rng, num_ops=5, n_in=6000):
    x = _cplx(rng, (3, n_in))
    src = rng.integers(0, 3, num_ops)
    d0 = rng.uniform(-200.0, 200.0, num_ops)
    # LEO sizes: rate up to 3e-5 samples/sample, second order 1e-10 /sample
    poly = np.stack([rng.uniform(-3e-5, 3e-5, num_ops), rng.uniform(-1e-10, 1e-10, num_ops),
                     rng.uniform(-1e-15, 1e-15, num_ops)], axis=1)
    t_ref = rng.uniform(-100.0, 100.0, num_ops)
    kappa = np.full(num_ops, 2e9 / 30.72e6)
    nu = rng.uniform(-1e-3, 1e-3, num_ops)
    gain = _cplx(rng, num_ops)
    out_start = rng.integers(-400, 400, num_ops)
    return (x, -50, src, d0, poly, t_ref, kappa, nu, gain, out_start, 5000)


def test_kernel_equals_numpy_reference():
    """Same discrete model, two implementations (3 blocked FIR passes vs per-sample taps):
    equal to float64 rounding, asserted at 1e-10 relative (edges and partial blocks included)."""
    args = _args(np.random.default_rng(1))
    y = tv_delay_doppler(*args, num_taps=24)
    y_ref = tv_delay_doppler_reference(*args, num_taps=24)
    assert np.max(np.abs(y - y_ref)) / np.max(np.abs(y_ref)) < 1e-10


def test_constant_delay_equals_static_kernel():
    """v(t) = 0: the taps at every node are the static FIR's, the phase is the gain's."""
    x, xs, src, d0, poly, t_ref, kappa, nu, gain, o, n = _args(np.random.default_rng(2))
    y = tv_delay_doppler(x, xs, src, d0, 0 * poly, t_ref, kappa, nu, gain, o, n, num_taps=24)
    y0 = delay_doppler(x, xs, src, d0, nu, gain, o, n, 24)
    assert np.max(np.abs(y - y0)) / np.max(np.abs(y0)) < 1e-12


@pytest.mark.parametrize("num_taps,bound_db", [(24, -120.0), (48, -135.0)])
def test_accuracy_on_used_band(num_taps, bound_db):
    """A multitone on the used band |f| <= 0.3 cycles/sample through d(t) = d0 + a t + b t^2
    (a = 3e-5, the LEO delay-rate bound, plus a Doppler-rate term): the output equals the
    exact e^{j 2 pi f (t - d(t))} e^{-j 2 pi kappa v(t)} to the static FIR's accuracy
    (-127.8 dB worst case at 24 taps per tone, waveforms.delay; the block interpolation adds
    < -140 dB, module docstring). Error power relative to signal power."""
    rng = np.random.default_rng(3)
    f = rng.uniform(-0.3, 0.3, 40)
    amp = _cplx(rng, 40)
    n_in = 8000
    k = np.arange(n_in)
    x = (amp[None, :] * np.exp(2j * np.pi * f[None, :] * k[:, None])).sum(1)[None, :]
    d0, a, b, kap = 123.37, 3e-5, 2e-10, 65.1
    out_start, out_len = 300, 7000
    y = tv_delay_doppler(x, 0, np.array([0]), np.array([d0]), np.array([[a, b]]),
                         np.array([0.0]), np.array([kap]), np.array([0.0]), np.array([1.0]),
                         np.array([out_start]), out_len, num_taps=num_taps)[0]
    t = out_start + np.arange(out_len, dtype=float)
    v = a * t + b * t * t
    u = t - d0 - v
    exact = (amp[None, :] * np.exp(2j * np.pi * f[None, :] * u[:, None])).sum(1)
    exact = exact * np.exp(-2j * np.pi * kap * v)
    err_db = 10 * np.log10(np.mean(np.abs(y - exact) ** 2) / np.mean(np.abs(exact) ** 2))
    assert err_db < bound_db


def test_registered_in_kernel_sets():
    assert kernel_set("numba").tv_delay_doppler is tv_delay_doppler
    assert kernel_set("numpy").tv_delay_doppler is tv_delay_doppler_reference


@pytest.mark.parametrize("num_taps", [2, 24, 26])
def test_three_farrow_passes_at_once_equal_three_static_blocks(num_taps):
    # the fused pass must give each accumulator the static kernel's block number bit for bit
    from waveforms.delay import _fir_block
    from waveforms.tv_delay import _fir3

    rng = np.random.default_rng(num_taps)
    m = 2 * 37                                 # interleaved re/im of 37 samples
    xrow = rng.standard_normal(m + 2 * num_taps + 10)
    g = rng.standard_normal((3, num_taps))
    got = [np.full(m, np.nan) for _ in range(3)]
    _fir3(xrow, g[0], g[1], g[2], 6, got[0], got[1], got[2], m)
    for k in range(3):
        want = np.full(m, np.nan)
        _fir_block(xrow, g[k], 6, want, m)
        assert np.array_equal(got[k], want), k


def test_threaded_taps_equal_the_serial_taps():
    # the moving satellites' taps are computed on row blocks in threads: each row must be the
    # serial call's number (exact zeros, the unit-impulse rows, included)
    import numba

    from waveforms.delay import _TAPS_ROWS, _taps_matrix, taps_matrix_threads

    rng = np.random.default_rng(5)
    frac = rng.uniform(-1.0, 2.0, 2 * _TAPS_ROWS + 77)
    frac[[3, _TAPS_ROWS + 1, -1]] = 0.0
    want = _taps_matrix(frac, 24, 9.5)
    before = numba.get_num_threads()
    try:
        for threads in (1, before):
            numba.set_num_threads(threads)
            assert np.array_equal(taps_matrix_threads(frac, 24, 9.5), want), threads
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(taps_matrix_threads(frac[:100], 24, 9.5), want[:100])


def test_read_spans_are_exactly_the_samples_the_kernel_reads():
    # a NaN in the input reaches every output that reads it (even through a zero tap), so
    # a NaN just outside an op's span leaves its outputs finite and one at either end of
    # the span does not
    from waveforms.tv_delay import read_spans

    rng = np.random.default_rng(8)
    ops, nin, out_len, taps = 4, 3000, 1700, 24
    d0 = rng.uniform(-40.0, -20.0, ops)
    poly = np.zeros((ops, 3))
    poly[:, 0] = rng.uniform(-3e-3, 3e-3, ops)                 # the delay moves ~5 samples
    poly[:, 1] = rng.uniform(-1e-7, 1e-7, ops)
    t_ref = rng.uniform(0.0, 500.0, ops)
    out_start = rng.integers(200, 400, ops)
    x_start = 150
    n0 = np.array([0, 300, 511, 1000])                          # ranges across the blocks
    n1 = np.array([out_len, 900, 1537, 1001])
    spans = read_spans(d0, poly, t_ref, out_start, out_len, n0, n1, taps)
    assert np.all(spans[:, 0] < spans[:, 1])
    args = (np.zeros(ops), np.ones(ops), np.ones(ops, dtype=complex), out_start, out_len, taps)
    for r in range(ops):
        for pos, reads in ((spans[r, 0] - 1, False), (spans[r, 0], True),
                           (spans[r, 1], True), (spans[r, 1] + 1, False)):
            x = np.ones((1, nin), dtype=complex)
            x[0, pos - x_start] = np.nan
            y = tv_delay_doppler(x, x_start, np.zeros(ops, dtype=np.int64), d0, poly, t_ref,
                                 *args)
            assert np.isnan(y[r, n0[r]:n1[r]]).any() == reads, (r, pos, reads)
    empty = read_spans(d0, poly, t_ref, out_start, out_len, 5, 5, taps)
    assert np.all(empty[:, 0] > empty[:, 1])                   # no output: an empty span


def test_many_inputs_through_the_same_ops_equal_their_own_calls():
    from waveforms.tv_delay import tv_delay_doppler_many

    rng = np.random.default_rng(9)
    ops, nin, out_len = 3, 2500, 1500
    xs = [rng.standard_normal((ops, nin)) + 1j * rng.standard_normal((ops, nin))
          for _ in range(3)]
    poly = np.zeros((ops, 2))
    poly[:, 0] = rng.uniform(-2e-3, 2e-3, ops)
    args = (7, np.array([2, 0, 1]), rng.uniform(-30.0, 30.0, ops), poly,
            rng.uniform(0.0, 900.0, ops), np.full(ops, 60.0), np.array([1e-3, 0.0, -2e-4]),
            np.exp(1j * rng.uniform(0, 6, ops)), np.array([100, 0, 350]), out_len)
    got = tv_delay_doppler_many(xs, *args, num_taps=24)
    for x, y in zip(xs, got):
        assert np.array_equal(y, tv_delay_doppler(x, *args, num_taps=24))
    with pytest.raises(ValueError, match="shape"):
        tv_delay_doppler_many([xs[0], xs[1][:, :-1]], *args)
