"""``linksim scenario``: writes a readable drop file; bad input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from linksim.runtime.io import read_drop

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linksim", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


class TestScenarioCommand:
    def test_writes_readable_file(self, tmp_path):
        out = tmp_path / "f.h5"
        r = _run("scenario", "--users", "4", "--sats", "3", "--seed", "9", "--out", str(out),
                 "--set", "antenna_size=[4, 4]")
        assert r.returncode == 0, r.stderr
        drop, cfg, scsi = read_drop(out)
        assert drop.delay_s.shape == (3, 4) and drop.seed == 9
        assert cfg["num_users"] == 4 and cfg["num_sats"] == 3
        assert scsi is not None and scsi.steering.shape == (3, 4, 16)

    def test_json_summary(self, tmp_path):
        out = tmp_path / "g.h5"
        r = _run("scenario", "--users", "5", "--drop-index", "2", "--out", str(out), "--json")
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        drop, _, _ = read_drop(out)
        assert summary["num_users"] == 5 and summary["drop_index"] == 2
        assert summary["delay_s"]["max"] == float(np.max(drop.delay_s))
        assert summary["sat_index"] == drop.sat_index.tolist()

    def test_negative_users_exit_2_one_line(self, tmp_path):
        out = tmp_path / "x.h5"
        r = _run("scenario", "--users", "-1", "--out", str(out))
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "--users" in lines[0]
        assert not out.exists()

    def test_bad_config_exit_2_one_line(self, tmp_path):
        r = _run("scenario", "--set", "coverage_radius_m=-5", "--out", str(tmp_path / "y.h5"))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        assert "coverage_radius_m" in r.stderr
