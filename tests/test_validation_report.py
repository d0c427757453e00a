"""``linksim validate``: a small seeded run end to end, its numbers against independent
recomputations, reproducibility for 1 and 2 workers, resuming from the sweep store, and bad
input."""

import contextlib
import json
import sqlite3
import subprocess
import sys

import h5py
import numpy as np
import pytest

SMALL_SETS = ["--set", "fft_size=128", "--set", "cyclic_prefix_length=9",
              "--set", "num_used_subcarriers=72", "--set", "timing_backoff_samples=4",
              "--set", "antenna_size=[2, 2]", "--set", "num_users=4", "--set", "num_sats=3"]


def linksim(*args):
    return subprocess.run([sys.executable, "-m", "linksim", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same small --quick run twice (seed 4): in-process (--workers 1), then on two worker
    processes with --json."""
    out = []
    for n, extra in enumerate((["--workers", "1"], ["--json", "--workers", "2"])):
        d = tmp_path_factory.mktemp(f"run{n}")
        p = linksim("validate", "--quick", "--no-dl", "--seed", "4", "--out", str(d),
                    *SMALL_SETS, *extra)
        assert p.returncode == 0, p.stderr
        out.append((d, p))
    return out


def strip(summary):
    """The summary less its provenance (date and command line differ between reruns)."""
    return {k: v for k, v in summary.items() if k != "provenance"}


def read_h5(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        summary = json.loads(f.attrs["summary_json"])
    return arrays, summary


class TestReport:
    def test_files_and_table(self, two_runs):
        d, _ = two_runs[0]
        html = (d / "report.html").read_text()
        # 8 figures of sections 1-4, 1 of the receiver section, 3 of the multipath section,
        # 4 of the moving-satellites section
        assert html.count("data:image/png;base64,") == 8 + 1 + 3 + 4
        summary = json.loads((d / "summary.json").read_text())
        assert [r["verdict"] in ("holds", "fails") or r["verdict"].startswith("breaks at")
                for r in summary["table"]] == [True] * len(summary["table"])
        assert html.index("Summary") < html.index("1. Desired-signal")
        assert summary["settings"]["drops"] == 2
        # fit to cite: smoke banner (a --quick run), provenance, contents, equations
        from linksim.runtime.provenance import read_html

        assert "Smoke run, not evidence" in html and summary["evidence"]["smoke_run"]
        rec = read_html(html)
        assert rec == summary["provenance"] and rec["seed"] == 4
        assert rec["config"]["num_users"] == 4 and "validate" in rec["command_line"]
        assert "<nav id='contents'>" in html and "href='#summary'" in html
        assert html.count("<svg") >= 5 and "1 drops" not in html
        with h5py.File(d / "validation.h5") as f:
            assert json.loads(f.attrs["provenance_json"]) == rec

    def test_every_number_of_the_summary_labelled(self, two_runs):
        """Each verdict row (main table and every section's) carries ``numbers``: a label and
        a unit per entry, and every number printed in its value string is one of them (to the
        string's rounding); the HTML tables show the labels. The multipath PNG files carry
        the run's provenance."""
        from linksim.runtime.provenance import read_png
        from validation.report_numbers import NUMBER_TOKEN, table_rows, unlabelled_tokens

        d, _ = two_runs[0]
        summary = json.loads((d / "summary.json").read_text())
        rows = table_rows(summary)
        assert len(rows) >= 20 and any("multipath" in k for k in summary)
        html = (d / "report.html").read_text()
        shown = 0
        for row in rows:
            assert row["numbers"], row["value"]
            for n in row["numbers"]:
                assert isinstance(n["label"], str) and n["label"].strip(), row
                assert isinstance(n["unit"], str) and n["unit"].strip(), row
                assert n["value"] is None or isinstance(n["value"], (int, float))
            assert unlabelled_tokens(row) == [], (row["value"], row["numbers"])
            shown += len(NUMBER_TOKEN.findall(row["value"]))
            assert _e(row["numbers"][0]["label"]) in html
        assert shown >= 50
        assert html.count("the measured numbers, labelled") >= 2
        for png in sorted(d.glob("multipath_*.png")):
            assert read_png(png) == summary["provenance"]
        assert len(list(d.glob("multipath_*.png"))) == 3

    def test_reproducible_for_one_and_two_workers(self, two_runs):
        (d0, _), (d1, p1) = two_runs
        s0 = json.loads((d0 / "summary.json").read_text())
        assert strip(s0) == strip(json.loads((d1 / "summary.json").read_text()))
        assert strip(s0) == strip(json.loads(p1.stdout))
        a0, _ = read_h5(d0 / "validation.h5")
        a1, _ = read_h5(d1 / "validation.h5")
        assert sorted(a0) == sorted(a1)
        for key in a0:
            np.testing.assert_array_equal(a0[key], a1[key], err_msg=key)

    def test_numbers_recomputed(self, two_runs):
        from linksim.config import load_config
        from linksim.ratemodel import coupling, expected_rates
        from validation.drop_response import drop_response
        from validation.rates import design_precoder

        d, _ = two_runs[0]
        arrays, summary = read_h5(d / "validation.h5")
        cfg = load_config(sets=[f"{a}" for a in SMALL_SETS[1::2]])
        # the eps crossing of the sweep against the small-eps formula (pi eps)^2/3 = 0.01
        assert summary["phase_model"]["eps_threshold"] == pytest.approx(0.0551, abs=0.003)
        # fraction of copy pairs closer than one symbol, from the stored delay differences
        near = np.mean(np.abs(arrays["independence/pairs/delay_diff_symbols"]) < 1)
        assert summary["independence"]["fraction_near_emulated"] == pytest.approx(near)
        # rates of drop 1, precoder ms-jocdwm (or the last one), top level: recomputed
        names = summary["precoders"]
        p = len(names) - 1
        r = drop_response(cfg, 4, 1, cfg.num_observed_symbols)
        level = summary["rates"]["power_dbw"][-1]
        W = design_precoder(names[p], r.scsi, 10 ** (level / 10), cfg)
        np.testing.assert_allclose(arrays["rates/rate_analytical"][p, -1, 1],
                                   expected_rates(r.scsi, W), rtol=1e-9)
        from linksim.emulator import measure

        meas = measure(r.output(coupling(r.scsi.steering, W)))
        np.testing.assert_allclose(arrays["rates/rate_measured"][p, -1, 1], meas.rate, rtol=1e-9)
        # the summed-vs-separate power of the first (receiver, interferer) of drop 0, via MRT
        r0 = drop_response(cfg, 4, 0, cfg.num_observed_symbols)
        A = coupling(r0.scsi.steering, design_precoder("mrt", r0.scsi,
                                                       10 ** (cfg.power_dbw / 10), cfg))
        copies = A[:, 0, 1, None, None] * r0.unit[:, 0, 1]
        ratio = np.mean(np.abs(copies.sum(0)) ** 2) / np.sum(np.mean(np.abs(copies) ** 2,
                                                                     axis=(1, 2)))
        assert arrays["independence/power/ratio_db"][0] == pytest.approx(10 * np.log10(ratio))


def test_rerun_resumes_from_the_store(two_runs, tmp_path, monkeypatch):
    """A finished run is not recomputed, its multipath and orbit sections neither; tasks
    missing from the stores (an interrupted run) are computed again, and the numbers stay
    identical."""
    import shutil

    from linksim.config import load_config
    from linksim.runtime import sweep
    from validation.report import STORE_NAME, ValidationSettings, write_report

    stats = {}
    run_sweep = sweep.run_sweep

    def recorded(*args, **kwargs):                 # the stats of every sweep, by its label
        out = run_sweep(*args, **kwargs)
        stats[kwargs["label"]] = sweep.last_run_stats
        return out

    monkeypatch.setattr(sweep, "run_sweep", recorded)
    d0, _ = two_runs[0]
    d = tmp_path / "run"
    shutil.copytree(d0, d)
    ref = json.loads((d0 / "summary.json").read_text())
    cfg = load_config(sets=[f"{a}" for a in SMALL_SETS[1::2]])
    settings = ValidationSettings(**{**ref["settings"], "include_dl": False})
    assert settings.drops == 2
    assert strip(write_report(d, cfg, 4, settings, progress=False, workers=1)) == strip(ref)
    assert set(stats) == {"validate", "validate-multipath", "validate-orbit"}
    assert stats["validate"].computed == 0 and stats["validate"].cached == stats[
        "validate"].total > 50
    assert [stats[k].computed for k in ("validate-multipath", "validate-orbit")] == [0, 0]
    assert [stats[k].total for k in ("validate-multipath", "validate-orbit")] == [3, 4]
    lost = [sweep.Task({"seed": 4, "part": "drop", "drop": 1}),
            sweep.Task({"seed": 4, "part": "phase", "variance": 0.5, "drop": 2})]
    (store,) = d.glob(f"{STORE_NAME}.store-*.sqlite")
    (orbit_store,) = d.glob(f"{STORE_NAME}-orbit.store-*.sqlite")
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        for task in lost:
            conn.execute("DELETE FROM tasks WHERE digest = ?", (task.digest,))
    with contextlib.closing(sqlite3.connect(orbit_store)) as conn, conn:
        conn.execute("DELETE FROM tasks WHERE digest = ?",
                     (sweep.Task({"part": "aging"}).digest,))
    assert strip(write_report(d, cfg, 4, settings, progress=False, workers=1)) == strip(ref)
    assert stats["validate"].computed == 2
    assert [stats[k].computed for k in ("validate-multipath", "validate-orbit")] == [0, 1]
    a0, _ = read_h5(d0 / "validation.h5")
    a1, _ = read_h5(d / "validation.h5")
    for key in a0:
        np.testing.assert_array_equal(a0[key], a1[key], err_msg=key)


@pytest.mark.parametrize("args, option", [
    (["--drops", "0"], "--drops"),
    (["--symbols", "0"], "--symbols"),
    (["--set", "num_users=200"], "num_users"),
])
def test_bad_input_exits_2_with_one_line(args, option):
    p = linksim("validate", *args)
    assert p.returncode == 2
    assert option in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def _e(text: str) -> str:
    import html

    return html.escape(text)


def test_unlabelled_tokens_finds_each_missing_number():
    """The check behind the labelled-numbers test: a number printed but not labelled, or
    labelled with another value, is reported; rounding of the string is allowed."""
    from validation.report_numbers import num, numbers_text, unlabelled_tokens

    row = {"value": "0.0557 (0.0556); 5.0e-04, -30 dBW, +3.6%",
           "numbers": [num("a", 0.05572, "1"), num("b", 0.05561, "1"), num("c", 4.98e-4, "1"),
                       num("d", -30.0, "dBW"), num("e", 3.58, "%")]}
    assert unlabelled_tokens(row) == []
    row["numbers"][2] = num("c", 5.2e-4, "1")  # prints as 5.2e-04, not 5.0e-04
    assert unlabelled_tokens(row) == ["5.0e-04"]
    del row["numbers"][3]
    assert unlabelled_tokens(row) == ["5.0e-04", "-30"]
    # one entry accounts for one printed number only
    assert unlabelled_tokens({"value": "0.5 / 0.5", "numbers": [num("x", 0.5, "s")]}) == ["0.5"]
    assert num("y", float("nan"), "dB")["value"] is None
    with pytest.raises(ValueError):
        num("", 1.0, "dB")
    assert numbers_text([num("x", 0.51234, "s"), num("r", 2, "1")]) == "x = 0.5123 s; r = 2"
