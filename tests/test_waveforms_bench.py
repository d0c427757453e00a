"""Test of waveforms.bench: the benchmark runs and reports what it promises."""

import numba

from waveforms import FLOPS_PER_TAP_MAC, bench_delay_doppler


class TestBenchDelayDoppler:
    def test_reports_rates_settings_and_agreement(self):
        r = bench_delay_doppler(num_streams=2, num_symbols=2, num_taps=8, repeats=1)
        assert r["samples_per_op"] == 2 * 1096 and r["num_ops"] == 2
        assert r["samples_per_s_numba"] > 0 and r["samples_per_s_numpy"] > 0
        assert r["speedup"] == r["seconds_numpy"] / r["seconds_numba"]
        expected = 2 * 2 * 1096 * 8 * FLOPS_PER_TAP_MAC / r["seconds_numba"] / 1e9
        assert abs(r["gflops_numba"] - expected) <= 1e-9 * expected
        assert r["num_threads"] == numba.get_num_threads()
        assert "malloc_mmap_threshold" in r
        assert r["max_rel_diff"] < 1e-10
        expected32 = 2 * 2 * 1096 * 8 * FLOPS_PER_TAP_MAC / r["seconds_numba_single"] / 1e9
        assert abs(r["gflops_numba_single"] - expected32) <= 1e-9 * expected32
        # float32 input rounding and an 8-term float32 sum: below 1e-6 of the peak
        assert 0 < r["max_rel_diff_single"] < 1e-6

    def test_the_median_is_of_the_same_runs_and_not_above_the_best(self):
        r = bench_delay_doppler(num_streams=2, num_symbols=2, num_taps=8, repeats=5)
        # the rate of the median time can only be lower than (or equal to) the best's
        assert 0 < r["gflops_numba_median"] <= r["gflops_numba"]
        assert 0 < r["gflops_numba_single_median"] <= r["gflops_numba_single"]
