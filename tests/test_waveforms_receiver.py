"""Tests of waveforms.receiver: AWGN and SINR measurement."""

import numpy as np
import pytest

from waveforms import (
    add_awgn,
    measure_sinr,
    measure_sinr_from_reference,
    ofdm_demodulate,
    ofdm_modulate,
    qam_symbols,
    used_subcarrier_bins,
)


class TestAddAwgn:
    def test_noise_power_per_subcarrier_after_dft(self, ofdm):
        N, NCP, NUM_USED = ofdm.fft_size, ofdm.cp_length, ofdm.num_used
        rng = np.random.default_rng(30)
        bins = used_subcarrier_bins(N, NUM_USED)
        noise_power = 0.37
        n = add_awgn(rng, np.zeros((1, 40 * (N + NCP)), complex), noise_power)
        Z = ofdm_demodulate(n, 0, 40, N, NCP, bins)
        # exponential |Z|^2 over 40 x 612 samples: relative std 1/sqrt(24480)
        assert np.mean(np.abs(Z) ** 2) == pytest.approx(noise_power, rel=5 / np.sqrt(Z.size))
        assert abs(np.mean(Z**2)) < 5 * noise_power / np.sqrt(Z.size)

    def test_bad_noise_power_raises(self):
        with pytest.raises(ValueError, match="noise_power"):
            add_awgn(np.random.default_rng(0), np.zeros(4, complex), -1.0)


class TestMeasureSinr:
    """Desired |g|^2 = 2, QPSK interference of power 0.3 (constant modulus: exact), noise 0.2
    per subcarrier (estimated over 100 x 612 samples, relative std 0.4 %, 0.1 dB = 2.3 %)."""

    def _case(self, ofdm):
        N, NCP, NUM_USED = ofdm.fft_size, ofdm.cp_length, ofdm.num_used
        rng = np.random.default_rng(31)
        bins = used_subcarrier_bins(N, NUM_USED)
        shape = (1, 100, NUM_USED)
        X = qam_symbols(rng, "qpsk", shape)
        g = np.sqrt(2.0) * np.exp(0.4j)
        I = np.sqrt(0.3) * qam_symbols(rng, "qpsk", shape)  # noqa: E741
        x_des = ofdm_modulate(g * X, N, NCP, bins)
        x_int = ofdm_modulate(I, N, NCP, bins)
        noise = add_awgn(rng, np.zeros_like(x_des), 0.2)
        demod = lambda y: ofdm_demodulate(y, 0, 100, N, NCP, bins)  # noqa: E731
        return X, demod(x_des), demod(x_int), demod(noise), 2.0 / (0.3 + 0.2)

    def test_sinr_right_to_a_tenth_of_a_db(self, ofdm):
        NUM_USED = ofdm.num_used
        X, Yd, Yi, Yn, truth = self._case(ofdm)
        assert abs(10 * np.log10(measure_sinr(Yd, [Yi, Yn]) / truth)) < 0.1
        per_sc = measure_sinr(Yd, Yi + Yn, per_subcarrier=True)
        assert per_sc.shape == (NUM_USED,)
        assert abs(10 * np.log10(np.mean(1 / per_sc) * truth)) < 0.1

    def test_from_reference_matches(self, ofdm):
        X, Yd, Yi, Yn, truth = self._case(ofdm)
        gain, sinr = measure_sinr_from_reference(Yd + Yi + Yn, X)
        assert abs(gain - np.sqrt(2.0) * np.exp(0.4j)) < 0.02
        assert abs(10 * np.log10(sinr / truth)) < 0.1

    def test_bad_input_raises(self):
        with pytest.raises(ValueError, match="shape"):
            measure_sinr(np.ones((2, 3)), np.ones((3, 2)))
        with pytest.raises(ValueError, match="zero power"):
            measure_sinr(np.ones((2, 3)), np.zeros((2, 3)))
        with pytest.raises(ValueError, match="one shape"):
            measure_sinr_from_reference(np.ones(3), np.ones(4))
