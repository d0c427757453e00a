"""validation.independence: correlation of interference copies and summed-vs-separate power,
against synthetic streams with known delays and direct recomputations on a small drop."""

import numpy as np
import pytest
from factories import small_config

from validation.drop_response import drop_response
from validation.independence import (
    correlation_coefficient,
    correlation_stats,
    geometric_fraction,
    overlap_prediction,
    pair_correlations,
    residual_offsets,
    summed_to_separate_db,
)
from waveforms.ofdm import ofdm_demodulate, ofdm_modulate, qam_symbols, used_subcarrier_bins

# small numerology (same 30 kHz spacing and CP ratio as NR): fast, same physics
SMALL = small_config()
N, NCP, Q = 128, 9, 72
L = N + NCP


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def ofdm_copies(delays, num_symbols=40, seed=0):
    """DFT outputs [len(delays), M, Q] of one OFDM stream received with integer sample delays,
    all with the same window grid; the logical subcarrier index q [Q]."""
    rng = np.random.default_rng(seed)
    bins = used_subcarrier_bins(N, Q)
    total = num_symbols + 8
    x = ofdm_modulate(qam_symbols(rng, "gaussian", (1, total, Q)), N, NCP, bins)[0]
    start = 4 * L
    ys = [ofdm_demodulate(np.roll(x, d)[None], start, num_symbols, N, NCP, bins, 0)[0]
          for d in delays]
    q = np.where(bins >= N // 2, bins - N, bins).astype(float)
    return np.stack(ys), q


class TestCorrelationCoefficient:
    def test_identical_is_one(self):
        a = crandn(np.random.default_rng(1), (20, 30))
        assert correlation_coefficient(a, 2.5j * a) == pytest.approx(1.0, abs=1e-12)

    def test_independent_is_at_the_floor(self):
        # |c| of n independent CN pairs is Rayleigh with mean 0.886/sqrt(n): 6/sqrt(n) is far out
        rng = np.random.default_rng(2)
        n = 40 * 60
        c = correlation_coefficient(crandn(rng, (50, 40, 60)), crandn(rng, (50, 40, 60)))
        assert np.mean(c) == pytest.approx(0.886 / np.sqrt(n), rel=0.2)
        assert np.all(c < 6 / np.sqrt(n))

    def test_known_phase_is_removed(self):
        rng = np.random.default_rng(3)
        a = crandn(rng, (14, 72))
        phase = 2 * np.pi * (0.37 * np.arange(72)[None, :] + 0.1 * np.arange(14)[:, None])
        b = a * np.exp(-1j * phase)
        assert correlation_coefficient(a, b) < 0.1
        assert correlation_coefficient(a, b, phase) == pytest.approx(1.0, abs=1e-12)


class TestOfdmCopies:
    @pytest.mark.parametrize("delay", [0, 5, 32, 64, 100])
    def test_overlap_within_one_fft_window(self, delay):
        # copies D samples apart share N - D samples of the window: |c| = 1 - D/N
        ys, q = ofdm_copies([0, delay], seed=delay)
        d_tau = -delay  # delay of copy a minus copy b (samples), phase 2 pi (- q D_tau / N)
        phase = -2 * np.pi * q[None, :] * d_tau / N * np.ones((ys.shape[1], 1))
        c = correlation_coefficient(ys[0], ys[1], phase)
        expected = overlap_prediction(delay, 0.0, N, 1.0)
        floor = 0.886 / np.sqrt(ys[0].size)
        # the CP repeats up to N_cp samples of the symbol: at most N_cp / N more
        assert expected == pytest.approx(1 - delay / N)
        assert expected - 4 * floor <= c <= expected + NCP / N + 4 * floor

    @pytest.mark.parametrize("delay", [L, L + 40, 2 * N + 1, 3 * L + 17])
    def test_one_symbol_apart_is_uncorrelated_up_to_the_cp(self, delay):
        ys, q = ofdm_copies([0, delay], seed=delay)
        phase = 2 * np.pi * q[None, :] * delay / N * np.ones((ys.shape[1], 1))
        c = correlation_coefficient(ys[0], ys[1], phase)
        floor = 0.886 / np.sqrt(ys[0].size)
        bound = (NCP / N if delay < 2 * N else 0.0) + 5 * floor
        assert c < bound


class TestSummedVsSeparate:
    def test_identical_copies_double(self):
        a = crandn(np.random.default_rng(4), (14, 72))
        assert summed_to_separate_db(np.stack([a, a])) == pytest.approx(10 * np.log10(2), abs=1e-12)
        assert summed_to_separate_db(np.stack([a] * 5)) == pytest.approx(10 * np.log10(5),
                                                                          abs=1e-12)

    def test_independent_copies_add(self):
        # ratio - 1 = 2 Re(sum a b*) / (sum |a|^2 + sum |b|^2): Var Re(a b*) = 1/2 per sample,
        # so std = sqrt(2 n) / (2 n) = 1/sqrt(2 n) for n samples
        rng = np.random.default_rng(5)
        n = 14 * 72
        r = summed_to_separate_db(crandn(rng, (2, 200, 14, 72)))
        lin = 10 ** (r / 10) - 1
        assert abs(np.mean(lin)) < 5 / np.sqrt(200 * n)
        assert np.std(lin) == pytest.approx(1 / np.sqrt(2 * n), rel=0.2)

    def test_ofdm_copies_one_symbol_apart_add_in_power(self):
        ys, _ = ofdm_copies([0, 3 * L + 17], seed=6)
        assert abs(summed_to_separate_db(ys)) < 10 * np.log10(1 + 5 / np.sqrt(ys[0].size))


@pytest.fixture(scope="module")
def small_drop():
    return drop_response(SMALL, seed=7, drop_index=0)


class TestDropCorrelations:
    def test_recomputed_pair_matches(self, small_drop):
        r = small_drop
        pc = pair_correlations([r])
        fs = SMALL.sample_rate_hz
        t_sym = SMALL.symbol_duration_s
        dtau, dnu = residual_offsets(r.links)
        bins = used_subcarrier_bins(N, Q)
        q = np.where(bins >= N // 2, bins - N, bins)
        t = (np.arange(r.num_symbols) * L + NCP - SMALL.timing_backoff_samples) / fs
        for p in range(0, pc.corr.size, 7):
            s, s2, j, i = pc.s[p], pc.s2[p], pc.j[p], pc.i[p]
            a, b = r.unit[s, j, i], r.unit[s2, j, i]
            d_tau = (r.drop.delay_s[s, j] - r.links.est_delay_s[s, i]) \
                - (r.drop.delay_s[s2, j] - r.links.est_delay_s[s2, i])
            d_nu = dnu[s, j, i] - dnu[s2, j, i]
            ref = np.vdot(b * np.exp(2j * np.pi * (d_nu * t[:, None]
                                                   - q[None, :] * 30e3 * d_tau)), a)
            ref = abs(ref) / np.linalg.norm(a) / np.linalg.norm(b)
            assert pc.corr[p] == pytest.approx(ref, rel=1e-9)
            assert pc.delay_diff_symbols[p] == pytest.approx(d_tau / t_sym, rel=1e-12)
            assert d_tau == pytest.approx(dtau[s, j, i] - dtau[s2, j, i], abs=1e-15)

    def test_far_pairs_are_uncorrelated(self, small_drop):
        pc = pair_correlations([small_drop])
        stats = correlation_stats(pc, small_drop.num_symbols * Q, NCP / N)
        far = np.abs(pc.delay_diff_symbols) >= 2 * N / L + 0.01
        assert far.sum() > 10
        assert np.all(pc.corr[far] < 5 * stats["estimation_floor"])
        assert stats["pairs"] == 4 * 3 * 3


def test_geometric_fraction_matches_direct_count():
    from linksim.scenario import draw_drop

    res = geometric_fraction(SMALL, seed=3, drops=4)
    near = total = 0
    for d in range(4):
        tau = draw_drop(SMALL, 3, d).delay_s
        for k in range(tau.shape[1]):
            for i in range(k + 1, tau.shape[1]):
                for s in range(tau.shape[0]):
                    for s2 in range(s + 1, tau.shape[0]):
                        dd = (tau[s, k] - tau[s, i]) - (tau[s2, k] - tau[s2, i])
                        near += abs(dd) < SMALL.symbol_duration_s
                        total += 1
    assert res["pairs"] == total
    assert res["fraction_near"] == pytest.approx(near / total, abs=1e-12)


def test_subcarrier_swing_of_two_close_copies():
    # two equal-power copies 5 samples apart: c ~ 1 - 5/N, the summed power per subcarrier
    # swings between (1 - c) and (1 + c) times the sum of the powers as the ramp rotates
    from validation.independence import PairCorrelations, subcarrier_swing

    ys, q = ofdm_copies([0, 5], seed=9)
    phase = 2 * np.pi * q[None, :] * 5 / N * np.ones((ys.shape[1], 1))
    c = correlation_coefficient(ys[0], ys[1], phase)
    one = np.zeros(1, dtype=np.int64)
    pairs = PairCorrelations(corr=np.array([c]), corr_raw=np.array([0.0]),
                             predicted=np.array([1 - 5 / N]),
                             delay_diff_symbols=np.array([-5 / L]), doppler_diff_hz=np.zeros(1),
                             drop=one, j=one, i=one + 1, s=one, s2=one + 1)
    p = np.mean(np.abs(ys) ** 2, axis=(1, 2))
    power = {"ratio_db": np.zeros(1), "copy_power_w": p[None, :], "drop": one, "j": one,
             "i": one + 1}
    sw = subcarrier_swing(pairs, power)
    assert sw["swing"][0] == pytest.approx(2 * c * np.sqrt(p[0] * p[1]) / p.sum())
    assert sw["swing_user"][0] == pytest.approx(sw["swing"][0])
    per_q = np.mean(np.abs(ys.sum(0)) ** 2, axis=0) / np.sum(np.mean(np.abs(ys) ** 2, axis=1),
                                                            axis=0)
    # over 40 symbols per subcarrier the estimate scatters by ~1/sqrt(40): compare the extremes
    assert per_q.max() == pytest.approx(1 + sw["swing"][0], abs=0.25)
    assert per_q.min() < 0.25
