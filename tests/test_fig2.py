"""Fig. 2 (Remark 1): double differences, per-drop counts, Monte Carlo stability, worker
independence, output files and the ``linksim figure`` command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from linksim.config import build_config
from validation.fig2 import (
    DISTANCE_EDGES_M,
    DROPS_PER_TASK,
    USERS_PER_DROP,
    aggregate,
    double_differences_s,
    fig2_drop,
    fig2_spacings_hz,
    fig2_task,
    run,
    simulate,
    symbol_durations_s,
)

ROOT = Path(__file__).resolve().parents[1]
CFG = build_config()


class TestDoubleDifferences:
    def test_hand_example(self):
        tau = np.array([[1.0, 2.0, 4.0], [1.5, 1.5, 1.5]])  # [S=2, K=3]
        delta, k, i = double_differences_s(tau)
        np.testing.assert_array_equal(k, [0, 0, 1])
        np.testing.assert_array_equal(i, [1, 2, 2])
        # (tau_0k - tau_0i) - (tau_1k - tau_1i): (1-2)-0, (1-4)-0, (2-4)-0
        np.testing.assert_array_equal(delta, [[-1.0, -3.0, -2.0]])

    def test_common_offsets_cancel(self):
        rng = np.random.default_rng(0)
        tau = rng.uniform(2e-3, 6e-3, (5, 7))
        shifted = tau + rng.normal(size=(5, 1)) + rng.normal(size=(1, 7))
        np.testing.assert_allclose(double_differences_s(shifted)[0], double_differences_s(tau)[0],
                                   atol=1e-12)

    def test_symbol_duration_nr(self):
        t = symbol_durations_s(CFG, fig2_spacings_hz(CFG))
        np.testing.assert_allclose(t[1], 1096 / 30.72e6, rtol=1e-12)  # 30 kHz: 35.68 us
        np.testing.assert_allclose(t, t[1] * 30e3 / np.array([15e3, 30e3, 60e3, 120e3]))


class TestPerDrop:
    def test_counts_consistent(self):
        cfg_dict = CFG.replace(num_users=USERS_PER_DROP).to_dict()
        r = fig2_drop(cfg_dict, 3, 1)
        pairs = USERS_PER_DROP * (USERS_PER_DROP - 1) // 2 * 10
        assert int(r["pairs_total"]) == pairs == int(r["pairs_per_bin"].sum())
        np.testing.assert_array_equal(r["hits_per_bin"].sum(axis=1), r["hits_total"])
        assert r["abs_delta_hist"].sum() == pairs
        # shorter symbols -> more independent pairs
        assert np.all(np.diff(r["hits_total"]) >= 0)
        assert r["pairs_per_bin"].size == DISTANCE_EDGES_M.size - 1

    def test_task_stacks_drops(self):
        cfg_dict = CFG.replace(num_users=USERS_PER_DROP).to_dict()
        block = fig2_task({"seed": 5, "first_drop": 6, "num_drops": 2,
                           "config": json.dumps(cfg_dict)})
        single = fig2_drop(cfg_dict, 5, 7)
        for key in single:
            np.testing.assert_array_equal(block[key][1], single[key])

    def test_pure(self):
        cfg_dict = CFG.replace(num_users=USERS_PER_DROP).to_dict()
        a, b = fig2_drop(cfg_dict, 5, 7), fig2_drop(cfg_dict, 5, 7)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


class TestMonteCarlo:
    def test_probability_stable_across_seeds(self):
        a, b = simulate(CFG, 120, seed=1), simulate(CFG, 120, seed=2)
        for agg in (a, b):
            assert np.all((agg["prob_overall"] >= 0) & (agg["prob_overall"] <= 1))
            p = agg["prob_per_bin"][np.isfinite(agg["prob_per_bin"])]
            assert np.all((p >= 0) & (p <= 1))
        se = np.sqrt(a["se_overall"] ** 2 + b["se_overall"] ** 2)
        assert np.all(np.abs(a["prob_overall"] - b["prob_overall"]) <= 4 * se)
        # Remark 1: at 30 kHz and 800 km the probability is close to 1
        assert a["prob_overall"][1] > 0.9

    def test_standard_error_single_drop_rule(self):
        r = [{"pairs_per_bin": np.array([4, 0]), "hits_per_bin": np.array([[h, 0]]),
              "pairs_total": np.int64(4), "hits_total": np.array([h]),
              "abs_delta_hist": np.array([4])} for h in (1, 3)]
        agg = aggregate(r)
        assert agg["prob_overall"][0] == 0.5
        # per-drop probabilities 0.25 and 0.75: std 0.3536, / sqrt(2)
        assert agg["se_overall"][0] == pytest.approx(0.25)
        assert math.isnan(agg["prob_per_bin"][0, 1])

    def test_identical_for_one_and_two_workers(self):
        drops = 2 * DROPS_PER_TASK + 7  # three tasks, a short last one
        a = simulate(CFG, drops, seed=4, workers=1)
        b = simulate(CFG, drops, seed=4, workers=2)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


class TestRunOutputs:
    def test_files_and_summary(self, tmp_path):
        from linksim.runtime.io import read_arrays_h5

        summary = run(CFG, tmp_path / "fig2", 8, 3, 1, True)
        json.dumps(summary)
        for name in ("fig2.png", "fig2.csv", "fig2.h5"):
            assert (tmp_path / "fig2" / name).is_file()
        assert not [p for p in (tmp_path / "fig2").iterdir() if p.name.startswith(".")]
        arrays, attrs = read_arrays_h5(tmp_path / "fig2" / "fig2.h5")
        assert attrs["seed"] == 3 and json.loads(attrs["config"]) == CFG.to_dict()
        assert arrays["prob_overall"][1] == summary["overall_probability"]
        assert summary["complement"] == pytest.approx(1 - summary["overall_probability"])
        assert summary["drops"] == 8 and summary["subcarrier_spacing_hz"] == 30e3
        csv = [ln for ln in (tmp_path / "fig2" / "fig2.csv").read_text().splitlines()
               if not ln.startswith("#")]  # the provenance comment lines come first
        assert len(csv) == 1 + (DISTANCE_EDGES_M.size - 1) + 1


class TestFigureCommand:
    def test_json_on_stdout(self, tmp_path):
        r = subprocess.run([sys.executable, "-m", "linksim", "figure", "fig2", "--drops", "6",
                            "--seed", "2", "--out", str(tmp_path), "--json"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        assert summary["drops"] == 6 and summary["seed"] == 2
        assert 0 <= summary["overall_probability"] <= 1
        assert (tmp_path / "fig2.png").is_file()

    def test_missing_module_exit_2_one_line(self, monkeypatch, capsys):
        from linksim.app import cli
        from linksim.app.commands import figure_cmd

        monkeypatch.setitem(figure_cmd.FIGURES, "fig5", "validation.no_such_module:fig5")
        with pytest.raises(SystemExit) as exc:
            cli.main(["figure", "fig5"])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "fig5" in err[0] and "not available" in err[0]

    def test_unknown_name_and_bad_drops_exit_2(self, capsys):
        from linksim.app import cli

        for argv in (["figure", "fig3"], ["figure", "fig2", "--drops", "0"]):
            with pytest.raises(SystemExit) as exc:
                cli.main(argv)
            assert exc.value.code == 2
            assert len(capsys.readouterr().err.strip().splitlines()) == 1

    def test_help_imports_nothing_heavy(self):
        code = ("import sys; from linksim.app.cli import cli; cli.main(['figure', '--help'], "
                "standalone_mode=False); print(sorted(m for m in ('numpy', 'matplotlib', 'h5py',"
                " 'validation') if m in sys.modules))")
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().splitlines()[-1] == "[]"


class TestSweepStore:
    """Fig. 2 drops run through linksim.runtime.sweep: resumable store and a Dask back end."""

    def test_rerun_computes_nothing_and_dask_gives_the_same_numbers(self, tmp_path):
        import linksim.runtime.sweep
        from validation.fig2 import simulate

        first = simulate(CFG, 60, seed=3, workers=1, progress=False, store_dir=tmp_path)
        assert linksim.runtime.sweep.last_run_stats.computed > 0
        assert len(list(tmp_path.glob("fig2.store-*.sqlite"))) == 1
        again = simulate(CFG, 60, seed=3, workers=1, progress=False, store_dir=tmp_path)
        assert linksim.runtime.sweep.last_run_stats.computed == 0
        pytest.importorskip("distributed")
        dask = simulate(CFG, 60, seed=3, workers=2, progress=False, scheduler="local")
        for name in first:
            np.testing.assert_array_equal(first[name], again[name])
            np.testing.assert_array_equal(first[name], dask[name])
