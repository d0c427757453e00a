"""validation.figures: tiny runs of Figs. 5, 8 and 11 write their files and show the
paper's orderings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linksim.config import build_config
from linksim.runtime.io import read_arrays_h5
from validation import figures


@pytest.fixture(scope="module")
def cfg():
    return build_config({"power_levels_dbw": [-20.0, -10.0, 0.0], "max_iterations": 40})


@pytest.fixture(autouse=True)
def without_dl(monkeypatch):
    """Keep these runs independent of whether a DTN model file exists."""
    monkeypatch.setattr(figures, "dl_available", lambda: False)


def _files_written(summary: dict, n: int) -> None:
    for ext in ("png", "csv", "h5"):
        path = summary["files"][ext]
        assert path.endswith(f"fig{n}.{ext}")
        with open(path, "rb") as f:
            assert len(f.read()) > 0
    json.dumps(summary)


class TestFig5:
    def test_tiny_run(self, cfg, tmp_path):
        s = figures.fig5(cfg, tmp_path, 1, 3, 1, True)
        _files_written(s, 5)
        assert s["x"] == [-20.0, -10.0, 0.0]
        assert all(s["checks"].values()), s["checks"]
        arrays, attrs = read_arrays_h5(tmp_path / "fig5.h5")
        assert arrays["rates"].shape == (1, 3, len(s["methods"]))
        assert attrs["figure"] == "fig5"
        rates = np.asarray([s["mean_sum_rate"][m] for m in ("ms-jocdwm", "ms-jowm")])
        assert np.all(np.diff(rates, axis=1) > 0)  # rates grow with power
        lines = [ln for ln in (tmp_path / "fig5.csv").read_text().splitlines()
                 if not ln.startswith("#")]  # the provenance comment lines come first
        assert lines[0].startswith("power_dbw,") and len(lines) == 4
        assert "ms-jocdwm_measured_mean" in lines[0]
        assert arrays["measured_rates"].shape == arrays["rates"].shape
        assert not list(tmp_path.glob(".*tmp"))


class TestFig8:
    def test_gap_grows_with_phase_error(self, cfg, tmp_path, monkeypatch):
        monkeypatch.setattr(figures, "FIG8_PHASE_VAR_RAD2", (0.0, 1.0, 3.0))
        s = figures.fig8(cfg, tmp_path, 1, 0, 1, True, measured_symbols=0)  # (19) + ergodic
        assert "measured_checks" not in s and set(s["mean_ergodic_sum_rate"]) == {"ss-m",
                                                                                  "ss-wm"}
        _files_written(s, 8)
        assert all(s["checks"].values()), s["checks"]
        assert s["checks"]["gap_grows_with_x"]


class TestFig11:
    def test_surrogates(self, cfg, tmp_path, monkeypatch):
        monkeypatch.setattr(figures, "FIG11_ITERATIONS", 25)
        s = figures.fig11(cfg, tmp_path, 1, 0, 1, True)
        _files_written(s, 11)
        assert s["checks"]["wm_surrogate_below_rate"]
        assert s["checks"]["exact_cdwm_monotone"]
        final = s["final"]["ms-jocdwm/exact"]
        assert final["surrogate"] == pytest.approx(final["rate"], rel=1e-3)


class TestFig12:
    def test_warm_medians_spread_and_run_ordering(self, cfg, tmp_path, monkeypatch):
        monkeypatch.setattr(figures, "FIG12_USERS", (4, 6))
        small = cfg.replace(antenna_size=(4, 4), num_sats=3, max_iterations=5)
        calls = []
        real = figures._timed_design

        def counting(name, scsi, power_w, c, w_step):
            calls.append((name, scsi.num_users))
            return real(name, scsi, power_w, c, w_step)

        monkeypatch.setattr(figures, "_timed_design", counting)
        s = figures.fig12(small, tmp_path, 1, 0, 1, True, repeats=2, runs=2)
        _files_written(s, 12)
        m = len(s["methods"])
        # per run: one untimed warm-up per (method, K), then drops x K x repeats x methods
        assert len(calls) == 2 * (2 * m + 1 * 2 * 2 * m)
        arrays, attrs = read_arrays_h5(tmp_path / "fig12.h5")
        sec = arrays["seconds"]
        assert sec.shape == (2, 1, 2, m, 2) and np.all(sec > 0)
        med = np.median(np.moveaxis(sec, (2, 3), (0, 1)).reshape(2, m, -1), axis=-1)
        np.testing.assert_allclose(arrays["median_seconds"], med, rtol=1e-12)
        for i, name in enumerate(s["methods"]):
            assert s["p25_seconds"][name][0] <= s["median_seconds"][name][0] \
                <= s["p75_seconds"][name][0]
        assert len(s["ordering_per_run"]) == 2
        assert s["checks"]["ordering_stable_across_runs"] == (
            s["ordering_per_run"][0] == s["ordering_per_run"][1])
        assert isinstance(s["checks"]["separated_pairs_keep_order"], bool)
        if s["checks"]["ordering_stable_across_runs"]:
            assert s["checks"]["separated_pairs_keep_order"]


def test_dl_hook_adds_the_method(monkeypatch):
    assert figures.DL_METHOD not in figures.figure_methods()
    monkeypatch.setattr(figures, "dl_available", lambda: True)
    assert figures.figure_methods()[-1] == figures.DL_METHOD
    assert figures.DL_METHOD not in figures.figure_methods(include_dl=False)
