"""Tests of waveforms.delay: the fractional-delay filter and the fused delay/Doppler kernel."""

import numpy as np
import pytest

from waveforms import (
    DEFAULT_NUM_TAPS,
    delay_doppler,
    delay_doppler_reference,
    fractional_delay_filter,
    ofdm_demodulate,
    ofdm_modulate,
    qam_symbols,
    used_subcarrier_bins,
)

ACCURACY_DB = -50.0  # required error of the fractional delay on the used band


def _cplx(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def _both(*args, **kwargs):
    y = delay_doppler(*args, **kwargs)
    y_ref = delay_doppler_reference(*args, **kwargs)
    return y, y_ref


def _rel_err(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


class TestFractionalDelayFilter:
    def test_zero_fraction_is_unit_impulse(self):
        h = fractional_delay_filter(0.0, 8)
        assert h.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]

    @pytest.mark.parametrize("frac", [0.1, 0.5, 0.93])
    def test_unit_dc_gain_and_group_delay(self, frac):
        h = fractional_delay_filter(frac, DEFAULT_NUM_TAPS)
        k = np.arange(DEFAULT_NUM_TAPS) - (DEFAULT_NUM_TAPS // 2 - 1)
        assert h.sum() == pytest.approx(1.0, abs=1e-14)
        # low-frequency group delay = centroid of the taps over the lags
        assert (h * k).sum() == pytest.approx(frac, abs=1e-9)

    def test_half_sample_filter_is_symmetric(self):
        h = fractional_delay_filter(0.5, 16)
        np.testing.assert_allclose(h, h[::-1], atol=1e-15)

    @pytest.mark.parametrize("frac", [0.25, 0.5, 0.75])
    def test_flat_on_used_band(self, frac):
        h = fractional_delay_filter(frac, DEFAULT_NUM_TAPS)
        k = np.arange(DEFAULT_NUM_TAPS) - (DEFAULT_NUM_TAPS // 2 - 1)
        f = np.linspace(-0.3, 0.3, 301)
        H = (h[None, :] * np.exp(-2j * np.pi * f[:, None] * k[None, :])).sum(1)
        err_db = 10 * np.log10(np.max(np.abs(H - np.exp(-2j * np.pi * f * frac)) ** 2))
        assert err_db < ACCURACY_DB

    @pytest.mark.parametrize("kwargs,match", [
        ({"frac": 0.5, "num_taps": 1}, "num_taps"),
        ({"frac": 0.5, "num_taps": 7}, "num_taps"),
        ({"frac": 1.0, "num_taps": 8}, "frac"),
        ({"frac": -0.1, "num_taps": 8}, "frac"),
        ({"frac": 0.5, "num_taps": 8, "beta": -1.0}, "beta"),
    ])
    def test_bad_input_raises(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            fractional_delay_filter(**kwargs)


class TestDelayDopplerKernel:
    def test_impulse_returns_the_taps(self):
        x = np.zeros((1, 64), complex)
        x[0, 30] = 1.0
        h = fractional_delay_filter(0.3, 8)
        y, y_ref = _both(x, 0, [0], [5.3], [0.0], [1.0], np.array([0]), 64, 8)
        k = np.arange(8) - 3
        np.testing.assert_allclose(y[0, 35 + k], h, atol=1e-15)
        np.testing.assert_allclose(y_ref, y, atol=1e-15)
        assert np.abs(y[0]).sum() == pytest.approx(np.abs(h).sum(), abs=1e-14)

    @pytest.mark.parametrize("num_taps", [2, 10, 48])
    def test_matches_reference_on_mixed_ops(self, num_taps):
        rng = np.random.default_rng(11)
        x = _cplx(rng, (3, 5000))
        x_start = 1_000_000
        delay = np.array([0.0, 17.0, 2.25, -3.75, -800.5, 614400.0, 614399.6, 4990.0, 6000.0,
                          -7000.0])
        n_ops = delay.size
        src = rng.integers(0, 3, n_ops)
        doppler = rng.uniform(-1.5e-3, 1.5e-3, n_ops)
        gain = _cplx(rng, n_ops)
        out_start = x_start + np.floor(delay).astype(np.int64) + rng.integers(-300, 300, n_ops)
        y, y_ref = _both(x, x_start, src, delay, doppler, gain, out_start, 5600, num_taps)
        assert y.shape == (n_ops, 5600) and y.dtype == np.complex128
        for r in range(n_ops):
            assert _rel_err(y[r], y_ref[r]) < 1e-10, r

    def test_matches_reference_on_random_small_edge_cases(self):
        # short inputs (even shorter than the filter), windows straddling either edge
        rng = np.random.default_rng(23)
        for _ in range(60):
            length = int(rng.integers(1, 60))
            num_taps = int(rng.choice([2, 4, 8, 10]))
            x = _cplx(rng, (2, length))
            n_ops = int(rng.integers(1, 5))
            args = (x, int(rng.integers(-50, 50)), rng.integers(0, 2, n_ops),
                    rng.uniform(-80, 80, n_ops), rng.uniform(-0.01, 0.01, n_ops),
                    _cplx(rng, n_ops), rng.integers(-120, 120, n_ops), int(rng.integers(0, 150)))
            y, y_ref = _both(*args, num_taps=num_taps)
            assert np.all(np.abs(y - y_ref) <= 1e-12 * max(1.0, np.max(np.abs(y_ref), initial=0)))

    def test_integer_delays_are_exact_shifts(self):
        rng = np.random.default_rng(12)
        x = _cplx(rng, (1, 3000))
        x_start = 50
        for delay in (0.0, 7.0, -20.0, 614400.0):
            out_start = x_start + int(delay) - 100
            y, y_ref = _both(x, x_start, [0], [delay], [0.0], [1.0], np.array([out_start]), 3200)
            expected = np.zeros(3200, complex)
            expected[100:3100] = x[0]
            np.testing.assert_array_equal(y[0], expected)
            np.testing.assert_array_equal(y_ref[0], expected)

    def test_out_of_range_is_zero(self):
        rng = np.random.default_rng(13)
        x = _cplx(rng, (1, 400))
        # window entirely before, entirely after and straddling the input (with filter reach)
        starts = np.array([-10_000, 10_000, 300], dtype=np.int64)
        y, y_ref = _both(x, 0, [0, 0, 0], [0.5, 0.5, 0.5], [1e-3] * 3, [1.0] * 3, starts, 300)
        assert np.all(y[:2] == 0) and np.all(y_ref[:2] == 0)
        assert np.all(y[2, 125:] == 0) and np.all(np.abs(y[2, :75]) > 0)
        assert _rel_err(y, y_ref) < 1e-10

    def test_doppler_phase_is_continuous_in_absolute_time(self):
        rng = np.random.default_rng(14)
        x = _cplx(rng, (1, 4000))
        f = 1.234567e-3
        args = (x, 123_456_789, [0, 0], [2.5, 2.5], [f, f], [1.0, 1.0])
        whole = delay_doppler(*args[:2], [0], [2.5], [f], [1.0], np.array([123_456_789]), 3000)
        halves = delay_doppler(*args, np.array([123_456_789, 123_456_789 + 1700]), 1300)
        np.testing.assert_allclose(halves[0], whole[0, :1300], rtol=0, atol=1e-13)
        np.testing.assert_allclose(halves[1], whole[0, 1700:], rtol=0, atol=1e-13)
        # the rotation is exp(j 2 pi f t) at the absolute index t, not restarted per call
        plain = delay_doppler(*args[:2], [0], [2.5], [0.0], [1.0], np.array([123_456_789]), 3000)
        t = 123_456_789 + np.arange(3000)
        np.testing.assert_allclose(whole[0], plain[0] * np.exp(2j * np.pi * ((f * t) % 1.0)),
                                   atol=1e-8)

    def test_out_buffer_is_used(self):
        x = np.ones((1, 100), complex)
        out = np.empty((1, 50), complex)
        y = delay_doppler(x, 0, [0], [0.0], [0.0], [2.0], np.array([10]), 50, 8, out=out)
        assert y is out and np.all(out == 2.0)

    @pytest.mark.parametrize("change,match", [
        ({"num_taps": 1}, "num_taps"),
        ({"num_taps": 9}, "num_taps"),
        ({"x": np.zeros(10, complex)}, "2-D"),
        ({"src": [0, 1]}, "num_ops"),
        ({"src": [2]}, "src must index rows"),
        ({"delay_samples": [np.nan]}, "delay_samples must be finite"),
        ({"doppler_cps": [np.inf]}, "doppler_cps"),
        ({"gain": [1.0, 2.0]}, "gain has 2 entries"),
        ({"out_start": np.array([0.5])}, "out_start"),
        ({"out_len": -1}, "out_len"),
        ({"x_start": 0.5}, "x_start"),
        ({"out": np.empty((1, 3), complex)}, "out must be"),
    ])
    def test_bad_input_raises(self, change, match):
        kwargs = dict(x=np.zeros((2, 10), complex), x_start=0, src=[0], delay_samples=[0.5],
                      doppler_cps=[0.0], gain=[1.0], out_start=np.array([0]), out_len=10,
                      num_taps=8)
        kwargs.update(change)
        for fn in (delay_doppler, delay_doppler_reference):
            with pytest.raises(ValueError, match=match):
                fn(**kwargs)


def _ofdm_burst(ofdm, rng, num_symbols, num_used=None, num_streams=1):
    N, NCP = ofdm.fft_size, ofdm.cp_length
    num_used = ofdm.num_used if num_used is None else num_used
    bins = used_subcarrier_bins(N, num_used)
    X = qam_symbols(rng, "qpsk", (num_streams, num_symbols, num_used))
    return X, bins, ofdm_modulate(X, N, NCP, bins)


def _delayed(x, delay, doppler=0.0):
    """The burst delayed by ``delay`` samples on the burst's own grid (x_start = 0)."""
    n_ops = x.shape[0]
    return delay_doppler(x, 0, np.arange(n_ops), np.full(n_ops, float(delay)),
                         np.full(n_ops, doppler), np.ones(n_ops), np.zeros(n_ops, np.int64),
                         x.shape[1])


def _error_db(ofdm, Y, X, bins, delay):
    N = ofdm.fft_size
    ramp = np.exp(-2j * np.pi * np.where(bins >= N // 2, bins - N, bins) * delay / N)
    err = np.mean(np.abs(Y - X * ramp) ** 2)
    return 10 * np.log10(err / np.mean(np.abs(X) ** 2))


class TestDelayOnOfdm:
    # b = 0: the 48-tap filter reaches 24 samples each way, so delays in [24, 48] keep the
    # DFT window and its filter support inside the symbol's CP + body.
    @pytest.mark.parametrize("delay,backoff", [
        (24.0, 0), (30.5, 0), (36.37, 0), (47.75, 0), (0.5, 36), (-11.9, 36), (11.25, 36)])
    def test_pure_delay_is_phase_ramp(self, delay, backoff, ofdm):
        N, NCP, SYM = ofdm.fft_size, ofdm.cp_length, ofdm.symbol_length
        rng = np.random.default_rng(15)
        X, bins, x = _ofdm_burst(ofdm, rng, 8)
        Y = ofdm_demodulate(_delayed(x, delay), SYM, 6, N, NCP, bins, backoff_samples=backoff)
        assert _error_db(ofdm, Y, X[:, 1:7], bins, delay) < ACCURACY_DB

    @pytest.mark.parametrize("num_taps", [12, 16])
    def test_short_filters_meet_the_requirement(self, num_taps, ofdm):
        # the -50 dB requirement needs only ~10 taps (48 taps: about -260 dB)
        N, NCP, SYM = ofdm.fft_size, ofdm.cp_length, ofdm.symbol_length
        rng = np.random.default_rng(19)
        X, bins, x = _ofdm_burst(ofdm, rng, 8)
        y = delay_doppler(x, 0, [0], [30.5], [0.0], [1.0], np.array([0]), x.shape[1], num_taps)
        Y = ofdm_demodulate(y, SYM, 6, N, NCP, bins)
        assert _error_db(ofdm, Y, X[:, 1:7], bins, 30.5) < ACCURACY_DB

    def test_isi_free_inside_cp_at_fir_level(self, ofdm):
        N, NCP, SYM = ofdm.fft_size, ofdm.cp_length, ofdm.symbol_length
        rng = np.random.default_rng(16)
        X, bins, x = _ofdm_burst(ofdm, rng, 8)
        Y = ofdm_demodulate(_delayed(x, 40.3), SYM, 6, N, NCP, bins)
        assert _error_db(ofdm, Y, X[:, 1:7], bins, 40.3) < -100.0


class TestIsiBeyondCp:
    """All N bins loaded with unit-power QPSK: one time sample carries unit power, so (Parseval)
    a window holding d samples of another symbol receives ISI power d/N per subcarrier. The
    estimate averages d x (number of windows) squared samples, relative std 1/sqrt(that)."""

    num_symbols = 200

    def _components(self, ofdm, delay):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        rng = np.random.default_rng(17)
        bins = used_subcarrier_bins(N, N)
        X = qam_symbols(rng, "qpsk", (1, self.num_symbols, N))
        even = X.copy()
        even[:, 1::2] = 0
        odd = X - even
        y_even = _delayed(ofdm_modulate(even, N, NCP, bins), delay)
        y_odd = _delayed(ofdm_modulate(odd, N, NCP, bins), delay)
        m = np.arange(2, self.num_symbols - 2, 2)
        demod = lambda y: ofdm_demodulate(y, 0, self.num_symbols, N, NCP, bins)[:, m]  # noqa: E731
        return X[:, m], demod(y_even), demod(y_odd), bins, m.size

    @pytest.mark.parametrize("excess", [16, 64, 200])
    def test_late_delay_isi_power_is_overlap_fraction(self, excess, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        delay = NCP + excess  # late beyond the CP by `excess` samples
        X, y_own, y_isi, bins, windows = self._components(ofdm, delay)
        isi = np.mean(np.abs(y_isi) ** 2)
        tol = 5.0 / np.sqrt(excess * windows)
        assert isi == pytest.approx(excess / N, rel=tol)
        # the own symbol loses the same energy (ICI + attenuation): total error 2 d / N
        own_err = np.mean(np.abs(y_own - X * np.exp(-2j * np.pi * bins * delay / N)) ** 2)
        assert own_err == pytest.approx(excess / N, rel=tol)

    @pytest.mark.parametrize("early", [8, 100])
    def test_early_delay_isi_power_is_overlap_fraction(self, early, ofdm):
        N = ofdm.fft_size
        X, y_own, y_isi, bins, windows = self._components(ofdm, -float(early))
        assert np.mean(np.abs(y_isi) ** 2) == pytest.approx(
            early / N, rel=5.0 / np.sqrt(early * windows))

    @pytest.mark.parametrize("delay", [0, 30, "ncp"])
    def test_no_isi_inside_cp(self, delay, ofdm):
        N = ofdm.fft_size
        delay = ofdm.cp_length if delay == "ncp" else delay
        X, y_own, y_isi, bins, windows = self._components(ofdm, float(delay))
        assert np.max(np.abs(y_isi)) < 1e-12
        np.testing.assert_allclose(y_own, X * np.exp(-2j * np.pi * bins * delay / N), atol=1e-12)


class TestSymbolShiftedInterference:
    def test_stream_delayed_by_symbols_carries_other_indices(self, ofdm):
        N, NCP, SYM = ofdm.fft_size, ofdm.cp_length, ofdm.symbol_length
        rng = np.random.default_rng(18)
        shift = 3
        num_symbols = 24
        X, bins, x = _ofdm_burst(ofdm, rng, num_symbols)
        residual = 30.4
        Y = ofdm_demodulate(_delayed(x, shift * SYM + residual), 0, num_symbols, N, NCP, bins)
        m = np.arange(shift, num_symbols)
        q = np.where(bins >= N // 2, bins - N, bins)
        Ym = Y[0, m] * np.exp(2j * np.pi * q * residual / N)

        def corr(a, b):
            return abs(np.vdot(b, a)) / np.sqrt(np.vdot(a, a).real * np.vdot(b, b).real)

        same_index = corr(Ym, X[0, m])
        shifted = corr(Ym, X[0, m - shift])
        # independent unit-power symbols: |corr| ~ 1/sqrt(number of samples)
        assert same_index < 5.0 / np.sqrt(Ym.size)
        assert shifted > 1 - 1e-9
