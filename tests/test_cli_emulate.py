"""``linksim emulate`` from the command line: single-path physics and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest


def linksim(*args):
    return subprocess.run([sys.executable, "-m", "linksim", *args], capture_output=True,
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
    (["--snr", "0,10,0"], "--snr"),
    (["--power-dbw", "nan"], "--power-dbw"),
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


def test_drop_mode_writes_results_and_resumes(tmp_path):
    import h5py

    args = ["emulate", "--snr", "0,10", "--users", "3", "--sats", "2", "--precoder", "mrt",
            "--drops", "2", "--symbols", "2", "--set", "antenna_size=[4,4]",
            "--out", str(tmp_path), "--json"]
    p = linksim(*args)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert [pt["level_db"] for pt in summary["points"]] == [0.0, 10.0]
    with h5py.File(tmp_path / "emulate.h5") as f:
        meas, anal = f["rate_measured"][()], f["rate_analytical"][()]
        assert meas.shape == (2, 2, 3) and f.attrs["seed"] == 1
        snr = f["snr_db"][()]
    np.testing.assert_allclose(snr, [[0, 0], [10, 10]], atol=1e-9)
    # a higher SNR never lowers the analytical rate of matched filtering
    assert np.all(anal[1].sum(-1) > anal[0].sum(-1))
    # measured and analytical agree to within the fading/phase realisation of a drop
    assert np.all(np.abs(meas.sum(-1) - anal.sum(-1)) < 0.5 * anal.sum(-1))
    assert not any(f.name.endswith(".tmp") for f in tmp_path.iterdir())
    # a rerun finds every task in the store and reproduces the numbers bit for bit
    q = linksim(*args)
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout)["points"] == summary["points"]
