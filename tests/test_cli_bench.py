"""``linksim bench``: the benchmark runs and reports what the issue asks for (not timed)."""

import json
import subprocess
import sys

import pytest


def linksim(*args):
    return subprocess.run([sys.executable, "-m", "linksim", *args], capture_output=True,
                          text=True, timeout=900)


def test_waveform_bench_reports_throughput_ratio_and_agreement():
    p = linksim("bench", "--quick", "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    a, b = res["delay_doppler"], res["full_drop"]
    assert a["samples_per_s_numba"] > 0 and a["samples_per_s_numpy"] > 0
    assert a["speedup"] == pytest.approx(a["seconds_numpy"] / a["seconds_numba"], rel=1e-9)
    assert a["max_rel_diff"] < 1e-10 and b["max_rel_diff"] < 1e-10
    assert b["ratio"] > 0 and "numba_threads" in b and "MALLOC_MMAP_THRESHOLD_" in b
    c = res["speed"]                                   # issue 17's section, same run
    assert {"machine", "gemm", "ofdm", "combine", "drop_stages", "peak_memory_mib",
            "allocator_drop_seconds", "goals"} <= set(c)
    assert {"drop_seconds", "drop_peak_mib", "combine_fraction_of_gemm", "ofdm_vs_torch_fft",
            "delay_doppler_gflops"} == set(c["goals"])
    assert c["ofdm"]["max_rel_diff"]["mod_fused_c128"] < 1e-12
    assert "MALLOC_MMAP_THRESHOLD_" in c["machine"] and "torch_threads" in c["machine"]


def test_precoder_bench_covers_every_method():
    p = linksim("bench", "--precoders", "--quick", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["precoders"]
    methods = {r["method"] for r in rows if "method" in r}
    assert {"ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"} <= methods
    dtn = [r for r in rows if r.get("precoder") == "ms-jocdwm-dl"]
    assert dtn and {"seconds_per_drop", "speedup", "sum_rate"} <= set(dtn[0])
