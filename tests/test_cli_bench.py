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
            "delay_doppler_gflops", "torch_drops_per_s"} == set(c["goals"])
    t = c["torch_resident"]                            # the drop resident on the torch device
    assert t["device"] == "cpu" and t["met"] is None   # the 100/s goal is for a GPU only
    # --quick runs smaller jobs than the goals are stated for: no goal is judged
    assert all(g["met"] is None and g["judged"] is False for g in c["goals"].values())
    assert c["goals"]["torch_drops_per_s"]["measured"] == t["drops_per_s"]
    assert t["nmse_db_vs_numba"] < -60                 # the stated single-precision bound
    assert c["ofdm"]["max_rel_diff"]["mod_fused_c128"] < 1e-12
    assert "MALLOC_MMAP_THRESHOLD_" in c["machine"] and "torch_threads" in c["machine"]


def test_torch_only_bench_runs_the_resident_drop_alone():
    p = linksim("bench", "--torch-only", "--quick", "--drops", "3", "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert set(res) == {"machine", "torch_resident", "provenance"}
    t = res["torch_resident"]
    assert t["drops"] == 3 and t["job"] == "resident drop S=2 K=12 M=4"
    assert t["batch"] == 1                              # one drop a call on a CPU
    # --quick: one repeat, so the drop's median is its host plus device time
    assert t["one_drop_s"] == pytest.approx(t["host_s"] + t["device_s"], rel=1e-12)
    assert t["nmse_db_vs_numba"] < -60 and t["precision"] == "single"


@pytest.mark.parametrize("args,option", [(["--precoders", "--torch-only"], "--torch-only"),
                                         (["--torch-only", "--no-reference"],
                                          "--no-reference"),
                                         (["--drops", "0"], "--drops"),
                                         (["--precoders", "--batch", "2"], "--batch"),
                                         (["--batch", "0"], "--batch")])
def test_bench_refuses_options_that_do_not_go_together(args, option):
    p = linksim("bench", *args)
    assert p.returncode == 2 and option in p.stderr and "Traceback" not in p.stderr


def test_precoder_bench_covers_every_method():
    p = linksim("bench", "--precoders", "--quick", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["precoders"]
    methods = {r["method"] for r in rows if "method" in r}
    assert {"ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"} <= methods
    dtn = [r for r in rows if r.get("precoder") == "ms-jocdwm-dl"]
    assert dtn and {"seconds_per_drop", "speedup", "sum_rate"} <= set(dtn[0])
