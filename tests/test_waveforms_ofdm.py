"""Tests of waveforms.ofdm: subcarrier map, QAM, CP-OFDM modulation and demodulation."""

import numpy as np
import pytest

from waveforms import (
    MODULATIONS,
    ofdm_demodulate,
    ofdm_modulate,
    qam_symbols,
    used_subcarrier_bins,
)


class TestUsedSubcarrierBins:
    def test_known_answer(self):
        assert used_subcarrier_bins(8, 4).tolist() == [6, 7, 0, 1]
        assert used_subcarrier_bins(8, 5).tolist() == [6, 7, 0, 1, 2]

    def test_nr_map_is_ascending_logical_order_with_dc(self, ofdm):
        N, NUM_USED = ofdm.fft_size, ofdm.num_used
        bins = used_subcarrier_bins(N, NUM_USED)
        assert bins.dtype == np.int64 and bins.shape == (NUM_USED,)
        logical = np.where(bins >= N // 2, bins - N, bins)
        assert np.all(np.diff(logical) == 1)
        assert logical[0] == -306 and logical[-1] == 305 and 0 in logical

    @pytest.mark.parametrize("fft_size,num_used", [(8, 9), (8, 0), (0, 1)])
    def test_bad_input_raises(self, fft_size, num_used):
        with pytest.raises(ValueError, match="must be"):
            used_subcarrier_bins(fft_size, num_used)


class TestQamSymbols:
    @pytest.mark.parametrize("modulation,points", [("qpsk", 4), ("16qam", 16), ("64qam", 64)])
    def test_constellation_has_unit_average_power(self, modulation, points):
        rng = np.random.default_rng(1)
        x = qam_symbols(rng, modulation, (20000,))
        pts = np.unique(np.round(x, 12))
        assert pts.size == points
        assert np.mean(np.abs(pts) ** 2) == pytest.approx(1.0, abs=1e-10)
        # sample mean: relative std of |x|^2 over 20000 draws is < 1/sqrt(20000) * 0.7
        assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=5 * 0.7 / np.sqrt(20000))

    def test_gray_mapping_levels_are_uniform(self):
        x = qam_symbols(np.random.default_rng(2), "16qam", (40000,))
        levels, counts = np.unique(np.round(x.real * np.sqrt(10), 9), return_counts=True)
        assert levels.tolist() == [-3.0, -1.0, 1.0, 3.0]
        assert np.all(np.abs(counts / 40000 - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 40000))

    def test_gaussian_is_circular_unit_power(self):
        x = qam_symbols(np.random.default_rng(3), "gaussian", (2, 20000))
        assert x.dtype == np.complex128 and x.shape == (2, 20000)
        assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=5 / np.sqrt(40000))
        assert abs(np.mean(x**2)) < 5 / np.sqrt(40000)

    def test_unknown_modulation_raises(self):
        with pytest.raises(ValueError, match="modulation must be one of"):
            qam_symbols(np.random.default_rng(0), "8psk", (4,))
        assert "qpsk" in MODULATIONS


def _burst(ofdm, rng, num_streams=2, num_symbols=6, num_used=None, fft_size=None, ncp=None):
    """A QPSK burst on the ``ofdm`` grid (or the given sizes): (X, bins, x)."""
    num_used = ofdm.num_used if num_used is None else num_used
    fft_size = ofdm.fft_size if fft_size is None else fft_size
    ncp = ofdm.cp_length if ncp is None else ncp
    bins = used_subcarrier_bins(fft_size, num_used)
    X = qam_symbols(rng, "qpsk", (num_streams, num_symbols, num_used))
    return X, bins, ofdm_modulate(X, fft_size, ncp, bins)


class TestOfdmModulate:
    def test_shape_dtype_and_cp_equals_symbol_tail(self, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        X, bins, x = _burst(ofdm, np.random.default_rng(4))
        assert x.dtype == np.complex128 and x.shape == (2, 6 * (N + NCP))
        sym = x.reshape(2, 6, N + NCP)
        np.testing.assert_array_equal(sym[:, :, :NCP], sym[:, :, N:])

    def test_matches_unitary_idft_formula(self, ofdm):
        rng = np.random.default_rng(5)
        X, bins, x = _burst(ofdm, rng, 1, 1, 12, 16, 4)
        q = np.where(bins >= 8, bins - 16, bins)
        n = np.arange(-4, 16)
        ref = (X[0, 0][:, None] * np.exp(2j * np.pi * q[:, None] * n[None, :] / 16)).sum(0) / 4
        np.testing.assert_allclose(x[0], ref, atol=1e-14)

    def test_power_per_sample_is_load_fraction(self, ofdm):
        N, NCP, NUM_USED = ofdm.fft_size, ofdm.cp_length, ofdm.num_used
        X, bins, x = _burst(ofdm, np.random.default_rng(6))
        body = x.reshape(2, 6, N + NCP)[:, :, NCP:]
        assert np.mean(np.abs(body) ** 2) == pytest.approx(NUM_USED / N, rel=1e-12)

    def test_bad_input_raises(self, ofdm):
        N, NCP, NUM_USED = ofdm.fft_size, ofdm.cp_length, ofdm.num_used
        bins = used_subcarrier_bins(N, NUM_USED)
        with pytest.raises(ValueError, match="3-D"):
            ofdm_modulate(np.zeros((4, NUM_USED), complex), N, NCP, bins)
        with pytest.raises(ValueError, match="subcarriers"):
            ofdm_modulate(np.zeros((1, 4, NUM_USED + 1), complex), N, NCP, bins)
        with pytest.raises(ValueError, match="cyclic_prefix_length"):
            ofdm_modulate(np.zeros((1, 4, NUM_USED), complex), N, N + 1, bins)
        with pytest.raises(ValueError, match="used_bins"):
            ofdm_modulate(np.zeros((1, 4, 2), complex), N, NCP, np.array([3, 3]))


class TestOfdmDemodulate:
    @pytest.mark.parametrize("backoff", [0, 1, 36, "ncp"])
    def test_round_trip_is_exact(self, backoff, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        backoff = NCP if backoff == "ncp" else backoff
        X, bins, x = _burst(ofdm, np.random.default_rng(7))
        Y = ofdm_demodulate(x, 0, 6, N, NCP, bins, backoff_samples=backoff)
        assert Y.shape == X.shape and Y.dtype == np.complex128
        np.testing.assert_allclose(Y, X, rtol=0, atol=1e-12)

    def test_first_symbol_start_offsets_the_windows(self, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        X, bins, x = _burst(ofdm, np.random.default_rng(8))
        y = np.concatenate([np.zeros((2, 100), complex), x], axis=1)
        Y = ofdm_demodulate(y, 100 + (N + NCP), 4, N, NCP, bins)
        np.testing.assert_allclose(Y, X[:, 1:5], atol=1e-12)

    def test_integer_delay_inside_cp_is_phase_ramp(self, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        X, bins, x = _burst(ofdm, np.random.default_rng(9))
        d = 17
        y = np.concatenate([np.zeros((2, d), complex), x[:, :-d]], axis=1)
        Y = ofdm_demodulate(y, 0, 6, N, NCP, bins)
        ramp = np.exp(-2j * np.pi * bins * d / N)
        np.testing.assert_allclose(Y, X * ramp, atol=1e-12)

    def test_bad_input_raises(self, ofdm):
        N, NCP = ofdm.fft_size, ofdm.cp_length
        X, bins, x = _burst(ofdm, np.random.default_rng(10))
        with pytest.raises(ValueError, match="DFT windows span"):
            ofdm_demodulate(x, 1, 6, N, NCP, bins)
        with pytest.raises(ValueError, match="2-D"):
            ofdm_demodulate(x[0], 0, 6, N, NCP, bins)
        with pytest.raises(ValueError, match="backoff_samples"):
            ofdm_demodulate(x, 0, 6, N, NCP, bins, backoff_samples=NCP + 1)
        with pytest.raises(ValueError, match="num_symbols"):
            ofdm_demodulate(x, 0, 0, N, NCP, bins)
