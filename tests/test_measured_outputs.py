"""Issue 14: the figures' measured series equals ``linksim emulate``; ``--precoder a,b`` /
``all`` gives every method the numbers of its single-method run; provenance in every output
kind (HDF5, JSON, CSV, PNG, HTML); the smoke-run banner of the validation report."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

# a small world: 2 satellites, a 4 x 4 UPA, 2 observed symbols (sizes only, same physics)
SMALL = {"num_sats": 2, "antenna_size": [4, 4]}


def small_cfg(**changes):
    from linksim.config import load_config

    return load_config(overrides={**SMALL, **changes})


def test_figure_measured_series_equals_emulate():
    """rate_task's measured series (the linearity trick: one waveform run per drop, reused for
    every method and power) equals emulate_point, which designs W and runs the full waveform
    chain for that one method (what ``linksim emulate --power-dbw P`` does), on the same drop,
    seed and power. Tolerance: both are the same linear operations summed in another order,
    so they agree to ~1e-12 relative (float64 rounding of sums of ~1e3 terms)."""
    from linksim.app.emulation_run import emulate_point
    from validation.figures import rate_task

    cfg = small_cfg(num_users=3)
    methods = ("mrt", "ss-wm", "ms-jocdwm")
    levels = (-10.0, 0.0)
    key = {"figure": 5, "seed": 7, "drop": 1, "config": json.dumps(cfg.to_dict()),
           "axis": "power_dbw", "x": levels, "methods": methods, "w_step": cfg.w_step,
           "measured_symbols": 2}
    res = rate_task(key)
    assert res["measured"].shape == (2, 3)
    for j, level in enumerate(levels):
        for m, name in enumerate(methods):
            ref = emulate_point(cfg.to_dict(), name, 7, 1, level, "power", 2)
            assert res["measured"][j, m] == pytest.approx(ref["rate_measured"].sum(), rel=1e-12)
            assert res["rates"][j, m] == pytest.approx(ref["rate_analytical"].sum(), rel=1e-12)
    # a wrong pairing would show: the measured rate grows by bit/s/Hz over 10 dB
    assert np.all(res["measured"][1] > res["measured"][0] + 0.5)


def test_figure_users_axis_subsets_the_largest_drop():
    """Fig. 10's measured point K uses the first K users of the max(K) drop: for K = max it
    is the full drop's emulation (same as emulate_point at num_users = max)."""
    from linksim.app.emulation_run import emulate_point
    from validation.figures import rate_task

    cfg = small_cfg(num_users=2)
    key = {"figure": 10, "seed": 3, "drop": 0, "config": json.dumps(cfg.to_dict()),
           "axis": "num_users", "x": (2, 4), "methods": ("mrt",), "w_step": cfg.w_step,
           "measured_symbols": 2}
    res = rate_task(key)
    ref = emulate_point(cfg.replace(num_users=4).to_dict(), "mrt", 3, 0, cfg.power_dbw,
                        "power", 2)
    assert res["measured"][1, 0] == pytest.approx(ref["rate_measured"].sum(), rel=1e-12)
    assert np.isfinite(res["measured"][0, 0]) and res["measured"][0, 0] > 0


def _emulate(args, tmp):
    from linksim.app.cli import cli

    r = CliRunner().invoke(cli, ["emulate", "--snr", "0,10", "--users", "3", "--sats", "2",
                                 "--symbols", "2", "--set", "antenna_size=[4,4]", "--seed",
                                 "5", "--drops", "2", "--json", "--out", str(tmp), *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_precoder_list_equals_single_method_runs(tmp_path):
    """Every method of ``--precoder mrt,ms-jowm`` has exactly (bit for bit) the numbers of its
    own ``--precoder NAME`` run with the same seed: common random numbers, not re-draws."""
    both = _emulate(["--precoder", "mrt,ms-jowm"], tmp_path / "both")
    assert both["precoders"] == ["mrt", "ms-jowm"]
    for name in ("mrt", "ms-jowm"):
        one = _emulate(["--precoder", name], tmp_path / name)
        for p1, pm in zip(one["points"], both["points"]):
            row = pm["methods"][name]
            assert row["sum_rate_measured"] == p1["sum_rate_measured"]
            assert row["sum_rate_analytical"] == p1["sum_rate_analytical"]
            assert row["sum_rate_measured_std_err"] == p1["sum_rate_measured_std_err"]
            assert row["per_user_measured"] == p1["per_user_measured"]
            assert pm["snr_db_mean"] == p1["snr_db_mean"]
    # paired difference to the best: the best has 0; the other's is the mean of the per-drop
    # differences, read back from the HDF5 arrays
    with h5py.File(tmp_path / "both" / "emulate.h5") as f:
        meas = {n: f[n]["rate_measured"][()].sum(-1) for n in ("mrt", "ms-jowm")}  # [L, D]
    for li, p in enumerate(both["points"]):
        best = p["best_measured"]
        other = "mrt" if best == "ms-jowm" else "ms-jowm"
        d = meas[other][li] - meas[best][li]
        assert p["methods"][best]["diff_to_best_measured"] == 0.0
        assert p["methods"][other]["diff_to_best_measured"] == pytest.approx(d.mean(), rel=1e-12)
        assert p["methods"][other]["diff_to_best_measured_std_err"] == pytest.approx(
            d.std(ddof=1) / np.sqrt(2), rel=1e-12)


def test_precoder_all_resolves_to_the_registry():
    import precoders
    from linksim.app.emulate_compare import MethodError, resolve_methods

    cfg = small_cfg(num_users=3)
    names = resolve_methods("all", cfg)
    assert names == [n for n in precoders.PRECODERS if n in names]
    assert {"mrt", "ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"} <= set(names)
    # K > N_t: the single-satellite methods drop out of 'all' and are refused when listed
    big = small_cfg(num_users=20)
    assert "ss-m" not in resolve_methods("all", big)
    with pytest.raises(MethodError, match="K <= N_t"):
        resolve_methods("mrt,ss-m", big)


def test_precoder_all_single_drop_standard_errors_are_nan(tmp_path):
    """One drop: no spread can be estimated, so every standard error is nan, never 0
    (the best method's own difference to itself is exactly 0)."""
    from linksim.app.emulate_compare import summarise

    arrays = {f: np.ones((2, 1, 1, 3)) for f in ("rate_measured", "rate_analytical",
                                                  "sinr_measured_db")}
    arrays["rate_measured"][1] *= 2
    (p,) = summarise(["a", "b"], [0.0], arrays, np.zeros((1, 1)), np.zeros((1, 1)))
    assert p["best_measured"] == "b"
    assert np.isnan(p["methods"]["a"]["sum_rate_measured_std_err"])
    assert np.isnan(p["methods"]["a"]["diff_to_best_measured_std_err"])
    assert p["methods"]["a"]["diff_to_best_measured"] == -3.0
    assert p["methods"]["b"]["diff_to_best_measured"] == 0.0
    assert np.isnan(p["methods"]["b"]["diff_to_best_measured_std_err"])


# --------------------------------------------------------------------------- provenance
def _check_record(rec, cfg, seed):
    from linksim import __version__
    from linksim.runtime.provenance import git_commit

    assert rec["linksim_version"] == __version__
    assert rec["git_commit"] == git_commit() and rec["git_commit"] != ""
    assert rec["config"] == cfg.to_dict()
    assert rec["seed"] == seed
    assert rec["date_utc"][:2] == "20" and rec["date_utc"].endswith("+00:00")
    assert rec["numeric"]["backend"] == cfg.backend
    assert "NUMBA_NUM_THREADS" in rec["numeric"]
    assert isinstance(rec["command_line"], str) and rec["command_line"]


def test_provenance_in_emulate_json_and_hdf5(tmp_path):
    from linksim.runtime.provenance import read_h5

    doc = _emulate(["--precoder", "mrt"], tmp_path)
    cfg = small_cfg(num_users=3)
    _check_record(doc["provenance"], cfg, 5)
    assert doc["provenance"]["drops"] == 2 and doc["provenance"]["precoder"] == "mrt"
    with h5py.File(tmp_path / "emulate.h5") as f:
        rec = read_h5(f)
        assert f.attrs["provenance_seed"] == 5
        assert json.loads(f.attrs["provenance_config"]) == cfg.to_dict()
    _check_record(rec, cfg, 5)


def test_provenance_in_figure_csv_png_hdf5_json(tmp_path, monkeypatch):
    """A tiny Fig. 5 (2 power levels, 1 drop, three methods): each of its four outputs
    carries the record, and the CSV still parses as numbers (comments skipped) with both
    the analytical and the measured series."""
    from linksim.runtime.provenance import read_csv_comments, read_h5, read_png
    from validation import figures

    monkeypatch.setattr(figures, "figure_methods", lambda: ["ss-wm", "ms-jowm", "ms-jocdwm"])
    monkeypatch.setattr(figures, "FIG5_USERS", 3)
    cfg = small_cfg(power_levels_dbw=[-10.0, 0.0])
    s = figures.fig5(cfg, tmp_path, 1, 9, 1, True)
    fig_cfg = cfg.replace(num_users=3)
    _check_record(s["provenance"], fig_cfg, 9)
    text = (tmp_path / "fig5.csv").read_text()
    _check_record(read_csv_comments(text), fig_cfg, 9)
    header = [ln for ln in text.splitlines() if not ln.startswith("#")][0].split(",")
    assert "ms-jocdwm_mean" in header and "ms-jocdwm_measured_mean" in header
    rows = [ln.split(",") for ln in text.splitlines() if not ln.startswith("#")][1:]
    col = header.index("ms-jocdwm_measured_mean")
    assert [float(r[col]) for r in rows] == pytest.approx(
        s["mean_measured_sum_rate"]["ms-jocdwm"], rel=1e-5)
    _check_record(read_png(tmp_path / "fig5.png"), fig_cfg, 9)
    with h5py.File(tmp_path / "fig5.h5") as f:
        _check_record(read_h5(f), fig_cfg, 9)
        assert f["measured_rates"].shape == (1, 2, 3)
    # one drop: the standard errors are nan, never 0
    assert all(np.isnan(v) for v in s["stderr_measured"]["ms-jowm"])
    assert all(np.isnan(v) for v in s["stderr"]["ms-jowm"])
    assert set(s["measured_checks"]) == {"ms-jocdwm>=ms-jowm", "multi>single"}
    assert s["measured_checks"]["multi>single"]["verdict"] in ("holds", "fails, n.s.")


def test_provenance_html_block_round_trip():
    from linksim.runtime.provenance import html_block, provenance, read_html

    cfg = small_cfg()
    rec = provenance(cfg, 3)
    page = "<html><body>" + html_block(rec) + "</body></html>"
    assert read_html(page) == rec
    assert rec["git_commit"] in page and "full effective config" in page


def test_version_prints_the_commit():
    from linksim.app.cli import cli
    from linksim.runtime.provenance import git_commit

    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and git_commit() in r.output


# --------------------------------------------------------------------------- banner
def test_quick_report_carries_the_banner_full_does_not():
    from validation.report import ValidationSettings
    from validation.report_citable import banner_html, evidence

    quick = evidence(ValidationSettings.quick(), quick=True)
    assert quick["smoke_run"] and "ran with --quick" in quick["reasons"]
    assert "Smoke run, not evidence" in banner_html(quick)
    full = evidence(ValidationSettings())
    assert not full["smoke_run"] and banner_html(full) == ""
    fewer = evidence(ValidationSettings(drops=3))
    assert fewer["smoke_run"] and fewer["reasons"] == ["drops = 3 < default 12"]
    more = evidence(ValidationSettings(drops=40, geometry_drops=500))
    assert not more["smoke_run"]


def test_toc_links_every_section_and_strict_rows():
    from validation.report_citable import add_toc, failed_rows

    page = ("<body><h1>R</h1><h2>Summary</h2><table><tr><td>x</td></tr></table>"
            "<h2>1. A</h2><p>a</p><h2>9. New effect</h2></body>")
    out = add_toc(page)
    assert out.index("<nav id='contents'>") > out.index("</table>")
    for slug in ("summary", "1-a", "9-new-effect"):
        assert f"href='#{slug}'" in out and f"id='{slug}'" in out
    summary = {"table": [{"assumption": "a", "verdict": "holds"},
                         {"assumption": "b", "verdict": "fails"}],
               "multipath": {"table": [{"assumption": "c", "verdict": "breaks at 3 us"}]}}
    assert failed_rows(summary) == ["b", "c"]


def test_equations_render_to_inline_svg():
    from validation.report_citable import EQUATIONS, equations_html

    out = equations_html()
    assert out.count("<svg") == len(EQUATIONS) and "http" not in out.split("<svg")[0]


def test_config_show_parses_back_as_toml(tmp_path):
    """README: ``linksim config show > my.toml`` then ``--config my.toml`` works as written."""
    import tomllib

    from linksim.app.cli import cli

    r = CliRunner().invoke(cli, ["config", "show", "--set", "kappa_db=7.5"])
    assert r.exit_code == 0
    f = tmp_path / "my.toml"
    f.write_text(r.output)
    assert tomllib.loads(r.output)["channel"]["kappa_db"] == 7.5
    r2 = CliRunner().invoke(cli, ["config", "show", "--json", "--config", str(f)])
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.output)["kappa_db"] == 7.5


@pytest.mark.parametrize("verdict, strict, code", [("fails", True, 1), ("fails", False, 0),
                                                   ("holds", True, 0)])
def test_validate_strict_exit_status(monkeypatch, tmp_path, verdict, strict, code):
    """--strict: exit 1 when a row fails (after writing), 0 otherwise; without --strict 0."""
    import validation.report as report
    from linksim.app.cli import cli

    fake = {"table": [{"assumption": "x", "verdict": verdict, "value": "1"}],
            "evidence": {"smoke_run": True, "reasons": ["ran with --quick"]}}
    monkeypatch.setattr(report, "write_report", lambda *a, **k: fake)
    args = ["validate", "--quick", "--no-dl", "--out", str(tmp_path)] + (
        ["--strict"] if strict else [])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == code, r.output
    assert "smoke run" in r.output


def test_provenance_in_the_drop_file(tmp_path):
    from linksim.runtime.io import write_drop
    from linksim.runtime.provenance import read_h5
    from linksim.scenario import draw_drop

    cfg = small_cfg(num_users=2)
    drop = draw_drop(cfg, 11, 3)
    path = write_drop(tmp_path / "d.h5", drop, cfg)
    with h5py.File(path) as f:
        rec = read_h5(f)
    _check_record(rec, cfg, 11)
    assert rec["drop_index"] == 3
