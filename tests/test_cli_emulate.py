"""``linksim emulate`` from the command line: single-path physics and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest


def linksim(*args):
    return subprocess.run([sys.executable, "-m", "linksim.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_single_path_json_matches_closed_forms():
    p = linksim("emulate", "--scenario", "single-path", "--doppler-error-hz", "1500",
                "--symbols", "128", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    eps = 1500 / 30e3
    closed = 20 * np.log10(np.sin(np.pi * eps) / (1024 * np.sin(np.pi * eps / 1024)))
    assert rep["eps"] == pytest.approx(eps)
    assert rep["gain_closed_db"] == pytest.approx(closed, abs=1e-9)
    assert rep["gain_measured_db"] == pytest.approx(closed, abs=0.05)
    assert rep["ici_measured_db"] == pytest.approx(rep["ici_closed_db"], abs=0.1)
    assert rep["isi_expected"] is False


@pytest.mark.parametrize("args, option", [
    (["--snr", "0:30:-5"], "--snr"),
    (["--snr", "30:0:5"], "--snr"),
    (["--snr", "a,b"], "--snr"),
    (["--symbols", "0"], "--symbols"),
    (["--users", "-1"], "--users"),
    (["--precoder", "zf"], "--precoder"),
    (["--snr", "0", "--power-dbw", "0"], "--power-dbw"),
    (["--precoder", "ss-m", "--users", "300"], "--users"),
    (["--scenario", "single-path", "--doppler-error-hz", "1e9"], "--doppler-error-hz"),
])
def test_bad_input_exits_2_with_one_line(args, option):
    p = linksim("emulate", *args)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert option in lines[0]
    assert "Traceback" not in p.stderr
