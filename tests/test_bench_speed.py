"""The issue-17 benchmarks report what they promise, compared against their references in the
same run (their timings are not asserted: the machine is shared)."""

import numpy as np
import pytest

from linksim.app import bench_speed as bs
from linksim.config import build_config


def test_ofdm_bench_compares_every_path_with_the_numpy_reference():
    r = bs.bench_ofdm(num_users=2, num_symbols=2, repeats=1)
    paths = {"numpy_c128", "fused_c128", "fused_c64", "torch_fft_c64", "torch_set_c64"}
    assert set(r["mod_msamples_per_s"]) == paths == set(r["demod_msamples_per_s"])
    assert r["demod_torch_set_c64_vs_torch_fft"] == pytest.approx(
        r["demod_seconds"]["torch_fft_c64"] / r["demod_seconds"]["torch_set_c64"], rel=1e-12)
    assert r["mod_fused_c64_vs_torch_fft"] == pytest.approx(
        r["mod_seconds"]["torch_fft_c64"] / r["mod_seconds"]["fused_c64"], rel=1e-12)
    d = r["max_rel_diff"]
    assert d["mod_fused_c128"] < 1e-12 and d["demod_fused_c128"] < 1e-12
    # float32 FFT of N = 1024: rounding ~eps sqrt(log2 N) ~ 4e-7 of the peak (tests of the
    # kernels); torch.fft is the independent witness that the single path is as accurate
    assert d["mod_fused_c64"] < 1e-6 and d["mod_torch_fft_c64"] < 1e-6
    assert d["demod_fused_c64"] < 1e-6 and d["demod_torch_fft_c64"] < 1e-6


def test_combine_bench_reports_gflops_against_the_gemm_rate():
    rates = {"size": 8, "zgemm_gflops": 10.0, "cgemm_gflops": 20.0}
    r = bs.bench_combine(num_sats=2, num_users=3, tx_len=900, win_len=300, repeats=1,
                         rates=rates)
    assert r["gflop"] == pytest.approx(8 * 2 * 3 * 3 * 300 / 1e9)
    g = r["gflops"]
    assert r["fraction_of_zgemm"]["gemm_c128"] == pytest.approx(g["gemm_c128"] / 10.0)
    assert r["fraction_of_cgemm"]["gemm_c64"] == pytest.approx(g["gemm_c64"] / 20.0)
    assert r["max_rel_diff"]["gemm_c128"] < 1e-13 and r["max_rel_diff"]["gemm_c64"] < 1e-6
    assert r["max_rel_diff"]["numba_sequential_c128"] < 1e-13
    bw = r["bandwidth_gb_per_s"]
    roof = r["roofline"]["c128"]
    # 8 S J K W flops over (S K L + S J W) complex128 samples moved
    assert roof["flop_per_byte"] == pytest.approx(8 * 3 * 300 / ((900 + 300) * 16), rel=1e-12)
    assert roof["bound_gflops"] == pytest.approx(roof["flop_per_byte"] * bw, rel=1e-12)
    assert r["roofline"]["c64"]["flop_per_byte"] == pytest.approx(2 * roof["flop_per_byte"])
    assert r["fraction_of_roofline"]["gemm_c64"] == pytest.approx(
        g["gemm_c64"] / r["roofline"]["c64"]["bound_gflops"], rel=1e-12)


def test_combine_roofline_at_a_drops_sizes():
    # J W / L windows overlap a stream sample; S cancels from the intensity
    r = bs.combine_roofline(5, 48, 106_215, 15_397, 16, 10.0)
    assert r["windows_per_stream_sample"] == pytest.approx(48 * 15_397 / 106_215)
    assert r["flop_per_byte"] == pytest.approx(8 * 48 * 15_397 / ((106_215 + 15_397) * 16))
    assert 3.0 < r["flop_per_byte"] < 3.2 and r["bound_gflops"] == pytest.approx(
        10.0 * r["flop_per_byte"])


def test_memory_bandwidth_counts_read_and_write(monkeypatch):
    # a copy of 8 MiB that takes 1 s moves 8 MiB read + 8 MiB written: 2 * 8 * 2**20 B/s
    monkeypatch.setattr(bs, "_median_interleaved", lambda fns, repeats: {"copy": 1.0})
    r = bs.memory_bandwidth(mib=8, repeats=1)
    assert r["mib"] == 8 and r["copy_gb_per_s"] == pytest.approx(2 * 8 * 2**20 / 1e9)


def test_drop_bench_stages_flops_and_agreement():
    cfg = build_config()
    r = bs.bench_drop_stages(cfg, num_users=2, num_sats=2, num_symbols=2, repeats=1)
    v = r["variants"]
    assert set(v) == {"numba_double", "numba_single", "fast_double", "fast_single",
                      "fast_single_per_user", "fast_single_counter"}
    assert v["fast_single_per_user"]["data_stream"] == "per-user"
    assert v["fast_single_per_user"]["nmse_db_vs_first"] is None        # other data symbols
    assert v["fast_single_counter"]["data_stream"] == "counter"
    assert v["fast_single_counter"]["nmse_db_vs_first"] is None
    assert v["numba_double"]["nmse_db_vs_first"] is None          # the reference itself
    assert v["fast_double"]["nmse_db_vs_first"] < -250            # GEMM rounding only
    assert v["numba_single"]["nmse_db_vs_first"] < -60            # the stated single bound
    stages = v["numba_double"]["stage_seconds"]
    # emulate_links' own stages, disjoint parts of the timed call (combine_in_fused: a part
    # of transmit_fused); every variant runs the fused transmit pass, the default's in the
    # pinned combine's order
    assert set(stages) == {"plan", "data_symbols", "ofdm_modulate", "transmit_fused",
                           "combine_in_fused", "propagate", "desired_path", "noise",
                           "receive_3_dfts"}
    assert 0 < sum(stages.values()) - stages["combine_in_fused"] <= v["numba_double"]["seconds"]
    g = r["stage_gflop"]
    unfused = {k: x for k, x in g.items() if k not in ("transmit_fused", "combine_in_fused")}
    assert r["total_gflop"] == pytest.approx(sum(unfused.values()))
    assert g["combine"] > 0 and g["precompensate"] > 0
    # the fused pass does the precompensation's and the combine's work in one stage
    assert g["transmit_fused"] == pytest.approx(g["precompensate"] + g["combine"])
    assert g["combine_in_fused"] == pytest.approx(g["combine"])
    for name in ("numba_double", "numba_single", "fast_double", "fast_single"):
        st = v[name]["stage_seconds"]
        assert "transmit_fused" in st and "precompensate" not in st and "combine" not in st
        # the combine's share is a part of the fused stage, not added to the drop's time
        assert 0 < st["combine_in_fused"] <= st["transmit_fused"]
        assert sum(st.values()) - st["combine_in_fused"] <= v[name]["seconds"]
        # the combine's kernels alone, without the copies out of the tiles: a rate
        assert 0 < v[name]["combine_kernels_gflops"] < np.inf


def test_peak_memory_is_smaller_in_single_precision():
    cfg = build_config()
    kw = dict(num_users=2, num_sats=2, num_symbols=2)
    double = bs.peak_memory_mib(cfg, **kw)
    single = bs.peak_memory_mib(cfg, precision="single", **kw)
    # the waveform buffers halve; the data symbols (complex128 either way) do not
    assert 0 < single < double


@pytest.fixture
def unfused_set(numba_variant):
    """The name of the numba set with the three transmit kernels apart (its double numbers
    are the same), registered for one test only."""
    return numba_variant("numba-unfused", transmit_fused=None)


def test_the_fused_transmit_pass_needs_less_memory(unfused_set):
    # fused (fast set, BLAS): a satellite's K x tx_len precompensated streams are never made,
    # so the drop's peak drops by that buffer's size less the fused pass's own per-thread
    # tile scratch (2 [K, tile] buffers per thread); complex128 at 48 users x ~106 k samples
    # the streams would be ~78 MiB; here K = 8, S = 3, 4 symbols, read off the burst plan.
    # 0.9: the small bookkeeping arrays either path allocates besides.
    import numba

    from linksim.app.bench_case import drop_case
    from linksim.emulator import stages
    from waveforms.transmit_fused import DEFAULT_TILE

    cfg = build_config()
    kw = dict(num_users=8, num_sats=3, num_symbols=4)
    case = drop_case(cfg, 8, 3)
    plan = stages.plan_burst(case.settings, case.links.channel(), case.links.estimates(), 4)
    streams_mib = 8 * plan.tx_len * 16 / 2**20
    scratch_mib = numba.get_num_threads() * 2 * 8 * DEFAULT_TILE * 16 / 2**20
    bs.peak_memory_mib(cfg, **kw)                         # first use: caches, plans
    unfused = bs.peak_memory_mib(cfg, backend=unfused_set, **kw)
    fused = bs.peak_memory_mib(cfg, backend="fast", **kw)
    assert fused < unfused - 0.9 * (streams_mib - scratch_mib)


def test_the_ordered_fused_pass_needs_less_memory_than_the_unfused_kernels():
    # one satellite's transmit side, traced: unfused, the streams [K, tx_len] exist next to
    # z and zd; the ordered fused pass (the default set in double) holds instead one [K,
    # tile] scratch per thread and the own-stream windows [K, W]
    import tracemalloc

    import numba

    from waveforms.combine import combine_streams
    from waveforms.delay import delay_doppler
    from waveforms.transmit_fused import DEFAULT_TILE, transmit_fused_exact

    rng = np.random.default_rng(0)
    k, tx_len, win = 8, 60_000, 8_000
    x = rng.standard_normal((k, 70_000)) + 1j * rng.standard_normal((k, 70_000))
    delay, doppler = rng.uniform(10, 5000, k), rng.uniform(-1e-3, 1e-3, k)
    gain, a = np.ones(k, complex), rng.standard_normal((k, k)) + 0j
    off = rng.integers(0, tx_len - win, k)

    def unfused():
        xt = delay_doppler(x, 0, np.arange(k), delay, doppler, gain, np.full(k, 100), tx_len,
                           24)
        z = combine_streams(xt[None], a[None], off[None], win)[0]
        zd = np.stack([a[j, j] * xt[j, o:o + win] for j, o in enumerate(off)])
        return z, zd

    def fused():
        return transmit_fused_exact(x, 0, delay, doppler, gain, 100, tx_len, a, off, win, 24)

    peaks = {}
    for name, run in (("unfused", unfused), ("fused", fused)):
        run()                                             # compiled, thread pool made
        tracemalloc.start()
        run()
        peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    streams_mib = k * tx_len * 16 / 2**20
    own_mib = k * win * 16 / 2**20
    scratch_mib = numba.get_num_threads() * k * DEFAULT_TILE * 16 / 2**20
    assert peaks["fused"] < peaks["unfused"] - 0.9 * (streams_mib - own_mib - scratch_mib)


def test_the_default_sets_fused_drop_is_its_unfused_drop_bit_for_bit(unfused_set):
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links, stages
    from linksim.scenario import drop_rng

    case = drop_case(build_config(), 6, 3)
    ch, est = case.links.channel(), case.links.estimates()
    outs = []
    for backend in ("numba", unfused_set):
        st = case.settings.replace(backend=backend)
        assert stages.uses_transmit_fused(st, np.zeros((1, 1), st.sample_dtype), est) == (
            backend == "numba")
        outs.append(emulate_links(st, ch, est, case.coupling, case.scsi.noise_power_w,
                                  drop_rng(0, 0, 3), 2))
    for name in ("received", "desired", "noise"):
        np.testing.assert_array_equal(getattr(outs[0], name), getattr(outs[1], name))


def test_goals_compare_the_measured_numbers():
    ofdm = {"mod_fused_c64_vs_torch_fft": 2.0, "demod_fused_c64_vs_torch_fft": 0.5,
            "mod_torch_set_c64_vs_torch_fft": 1.2, "demod_torch_set_c64_vs_torch_fft": 1.1}
    comb = {"fraction_of_zgemm": {"gemm_c128": 0.3}, "fraction_of_cgemm": {"gemm_c64": 0.6}}
    drop = {"variants": {"a": {"seconds": 0.2, "stage_gflops": {}, "precision": "double"},
                         "b": {"seconds": 0.09, "stage_gflops": {}, "precision": "single"}}}
    g = bs.speed_goals(ofdm, comb, drop, {"a": 500.0, "b": 390.0}, {"gflops_numba": 30.0})
    assert g["drop_seconds"]["variant"] == "b" and g["drop_seconds"]["met"]
    assert g["drop_peak_mib"]["met"]
    assert g["combine_fraction_of_gemm"]["best"] == 0.6 and g["combine_fraction_of_gemm"]["met"]
    assert g["combine_fraction_of_gemm"]["best_in_fused"] == 0.0       # no fused variant
    # the combine inside a fused pass counts against the GEMM rate of its precision
    comb = {"fraction_of_zgemm": {"gemm_c128": 0.3}, "fraction_of_cgemm": {"gemm_c64": 0.2},
            "zgemm_gflops": 40.0, "cgemm_gflops": 80.0}
    drop["variants"]["a"]["stage_gflops"] = {"combine_in_fused": 10.0}    # 0.25 of zgemm
    drop["variants"]["b"]["stage_gflops"] = {"combine_in_fused": 44.0}    # 0.55 of cgemm
    c = bs.speed_goals(ofdm, comb, drop, {"a": 500.0}, {})["combine_fraction_of_gemm"]
    assert c["in_fused"] == pytest.approx({"a": 0.25, "b": 0.55})
    assert c["kernels_only_in_fused"] == {}           # no variant reported its kernels alone
    drop["variants"]["a"]["combine_kernels_gflops"] = 30.0                # 0.75 of zgemm
    c = bs.speed_goals(ofdm, comb, drop, {"a": 500.0}, {})["combine_fraction_of_gemm"]
    assert c["kernels_only_in_fused"] == pytest.approx({"a": 0.75})
    assert c["best_in_fused"] == pytest.approx(0.55)         # the goal: the whole combine
    assert c["best_in_fused"] == pytest.approx(0.55) and c["met"]
    assert g["ofdm_vs_torch_fft"]["worst"] == 0.5 and not g["ofdm_vs_torch_fft"]["met"]
    assert g["ofdm_vs_torch_fft"]["worst_torch_set"] == 1.1
    assert g["ofdm_vs_torch_fft"]["met_torch_set"]
    assert g["delay_doppler_gflops"]["met"]
    # the smaller jobs of --quick are not the goals' sizes: measured, not judged
    q = bs.speed_goals(ofdm, comb, drop, {"a": 500.0, "b": 390.0}, {"gflops_numba": 30.0},
                       judged=False)
    assert q["drop_seconds"]["best"] == 0.09 and q["ofdm_vs_torch_fft"]["worst"] == 0.5
    for name, goal in q.items():
        assert goal["judged"] is False, name
        assert all(v is None for k, v in goal.items() if k.startswith("met")), name


def test_the_gemm_rate_is_the_runs_best_sample_and_the_fractions_follow_it():
    slow = {"size": 512, "zgemm_gflops": 40.0, "cgemm_gflops": 90.0}
    fast = {"size": 512, "zgemm_gflops": 70.0, "cgemm_gflops": 80.0}
    best = bs.best_gemm_rates([slow, fast])
    assert (best["zgemm_gflops"], best["cgemm_gflops"]) == (70.0, 90.0)
    assert best["samples"] == [slow, fast]
    comb = {"gflops": {"numba_sequential_c128": 14.0, "gemm_c128": 21.0, "gemm_c64": 45.0},
            "fraction_of_zgemm": {"gemm_c128": 21.0 / 40.0}, "job": "x"}
    out = bs.rescale_combine(comb, best)
    assert out["fraction_of_zgemm"] == pytest.approx({"numba_sequential_c128": 0.2,
                                                      "gemm_c128": 0.3})
    assert out["fraction_of_cgemm"] == pytest.approx({"gemm_c64": 0.5})
    assert out["zgemm_gflops"] == 70.0 and out["job"] == "x"


def test_gemm_rates_are_positive_and_keyed():
    r = bs.gemm_rates(size=16, repeats=1)
    assert r["zgemm_gflops"] > 0 and r["cgemm_gflops"] > 0 and np.isfinite(r["zgemm_gflops"])


def test_drop_floor_sums_the_fastest_stages_and_the_peak_rates():
    # two variants: the unfused one is faster in data, the fused one in the transmit pass
    drop = {"stage_gflop": {"precompensate": 2.0, "combine": 1.0, "propagate": 0.5,
                            "desired_path": 0.5, "transmit_fused": 3.0,
                            "combine_in_fused": 1.0},
            "variants": {
                "a": {"stage_seconds": {"data_symbols": 0.05, "precompensate": 0.08,
                                        "combine": 0.06, "propagate": 0.02,
                                        "desired_path": 0.03, "noise": 0.02}},
                "b": {"stage_seconds": {"data_symbols": 0.09, "transmit_fused": 0.10,
                                        "combine_in_fused": 0.03, "propagate": 0.03,
                                        "desired_path": 0.02, "noise": 0.01}}}}
    f = bs.drop_floor(drop, {"gflops_numba_single": 40.0}, {"cgemm_gflops": 100.0})
    # best: data 0.05 + transmit min(0.14, 0.10) + propagate 0.02 + desired 0.02 + noise 0.01
    assert f["best_stages_s"] == pytest.approx(0.05 + 0.10 + 0.02 + 0.02 + 0.01)
    # peak rates: 3 GFLOP of FIR at 40 GFLOP/s + 1 GFLOP at 100 + data 0.05 + noise 0.01
    assert f["peak_rates_s"] == pytest.approx(3.0 / 40 + 1.0 / 100 + 0.05 + 0.01)
    assert "peak_rates_s" not in bs.drop_floor(drop, {}, {"cgemm_gflops": 100.0})


def test_the_stage_clock_changes_no_number_and_sums_per_stage():
    # the bench times emulate_links itself: with a clock the outputs are the same bits,
    # the satellite loop's stages accumulate, and the default clock times nothing
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links
    from linksim.emulator.stage_clock import StageClock
    from linksim.scenario import drop_rng

    case = drop_case(build_config(), 3, 2)
    ch, est = case.links.channel(), case.links.estimates()

    def run(**kw):
        return emulate_links(case.settings, ch, est, case.coupling, case.scsi.noise_power_w,
                             drop_rng(0, 0, 3), 2, **kw)

    clock = StageClock()
    timed, plain = run(clock=clock), run()
    for name in ("received", "desired", "noise"):
        assert np.array_equal(getattr(timed, name), getattr(plain, name))
    assert set(clock.seconds) >= {"plan", "data_symbols", "ofdm_modulate", "transmit_fused",
                                  "propagate", "desired_path", "receive_3_dfts"}
    assert all(t > 0 for t in clock.seconds.values())
    assert clock.profile["gemm_flops"] > 0 and clock.profile["fir"] > 0


def test_only_a_clock_asks_the_fused_pass_for_its_profile(numba_variant):
    # the default NO_CLOCK times nothing and hands the kernel no profile dict (no timing
    # inside the tiles); a StageClock hands it its own
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links
    from linksim.emulator.stage_clock import StageClock
    from linksim.scenario import drop_rng
    from waveforms import kernels

    seen = []
    fused = kernels.kernel_set("numba").transmit_fused

    def spy(*args, **kwargs):
        seen.append(kwargs.get("profile"))
        return fused(*args, **kwargs)

    numba_variant("numba-spy", transmit_fused=spy)
    case = drop_case(build_config(), 3, 2)
    st = case.settings.replace(backend="numba-spy")
    ch, est = case.links.channel(), case.links.estimates()
    emulate_links(st, ch, est, case.coupling, case.scsi.noise_power_w, drop_rng(0, 0, 3), 2)
    assert seen == [None, None]                       # one call per satellite, no profile
    clock = StageClock()
    emulate_links(st, ch, est, case.coupling, case.scsi.noise_power_w, drop_rng(0, 0, 3), 2,
                  clock=clock)
    assert len(seen) == 4 and seen[2] is clock.profile and seen[3] is clock.profile
    c = StageClock()
    for _ in range(3):
        with c("a"):
            pass
    assert list(c.seconds) == ["a"] and c.seconds["a"] > 0
