"""validation.multipath at a small numerology: the checks run, their closed forms hold, and
the summary is JSON-able."""

import json

import numpy as np
import pytest

from linksim.multipath import PROFILES
from tests.factories import small_config
from validation import multipath as mp

CFG = small_config()


def test_isi_closed_form_is_zero_inside_the_margin_and_grows_beyond():
    prof = PROFILES["ntn-tdl-a"]
    margin_s = (CFG.cyclic_prefix_length - CFG.timing_backoff_samples) / CFG.sample_rate_hz
    onset = margin_s / max(prof.nlos_delays)
    assert mp.isi_fraction_closed(prof, 0.9 * onset, CFG, 14) == 0.0
    a, b = (mp.isi_fraction_closed(prof, f * onset, CFG, 14) for f in (1.5, 3.0))
    assert 0 < a < b


def test_single_link_checks_hold_at_a_small_numerology():
    res = mp.single_link_checks(CFG, 1, 24, (1e-8, 2e-6, 5e-6), 14)
    for name, c in res["correlation"].items():
        assert c["holds"], (name, c["max_abs_dev"])
    isi = res["isi"]
    assert isi["holds"], isi
    # inside the CP: only the FIR tails (24 taps reach past the 5-sample margin) leak
    assert isi["measured_db"][0] < -60
    assert isi["measured_db"][-1] > -20           # far beyond: the overlap leaks


def test_rate_checks_and_summary():
    res = mp.rate_checks(CFG, 2, 2, (1e-8, 5e-6), ("mrt",))
    assert res["cases"][0] == "flat" and len(res["cases"]) == 1 + 4 + 2
    assert np.all(np.isfinite(res["miss"])) and res["paired_vs_flat"][0, 0] == 0.0
    single = mp.single_link_checks(CFG, 1, 6, (1e-8, 5e-6), 8)
    moving = mp.moving_rate_checks(CFG, 2, 2, ("mrt",))
    assert moving["cases"] == ["flat (orbit)", "ntn-tdl-c (orbit)"]
    assert moving["achieved"].shape == (2, 1, 2) and np.all(moving["achieved"] > 0)
    summary = mp.summary_of({"rates": res, **single, "draws": 6,
                             "moving": mp.moving_summary(res, moving)})
    json.dumps(summary)
    assert summary["table"][-2]["check"].startswith("(19) vs achieved on moving satellites")
    assert summary["table"][-1]["check"].startswith("multipath and satellite motion compose")
    assert {r["verdict"].split()[0] for r in summary["table"]} <= {"holds", "fails", "breaks"}
    figs = mp.figures({"rates": res, **single})
    assert set(figs) == {"rates", "correlation", "isi"}
    assert all(png[:4] == b"\x89PNG" for png in figs.values())
    html = mp.html_section({"multipath": summary}, figs)
    assert "NTN-TDL" in html and html.count("<img") == 3


def test_moving_summary_interaction_and_its_t_test():
    # synthetic rates, 4 drops: (19) = 10 per drop; static flat 9, static TDL-C 8
    from linksim.multipath import PROFILES

    cases = ["flat"] + list(PROFILES)
    c = cases.index(mp.MOVING_PROFILE)
    static = np.full((len(cases), 1, 4), 9.0)
    static[c] = 8.0
    rates = {"cases": cases, "analytical_per_drop": np.full((1, 4), 10.0),
             "achieved_per_drop": static}
    same = mp.moving_summary(rates, {"cases": ["a", "b"], "achieved": static[[0, c]]})
    assert same["interaction"][0] == 0.0 and same["composes"]
    np.testing.assert_allclose(same["miss"][:, 0], [0.1, 0.2])
    assert not same["holds"]                                  # misses of 10 and 20 % > 5 %
    # moving TDL-C loses 0.5 more than static, +-0.01 noise: 0.05 of (19), t ~ 10 >> 3.18
    got = static[[0, c]].copy()
    got[1, 0] -= 0.5 + np.array([0.01, -0.01, 0.02, -0.02])
    inter = mp.moving_summary(rates, {"cases": ["a", "b"], "achieved": got})
    assert inter["interaction"][0] == pytest.approx(0.05)
    assert inter["interaction_std_err"][0] == pytest.approx(
        np.std([0.001, -0.001, 0.002, -0.002], ddof=1) / 2)
    assert inter["t_critical"] == pytest.approx(3.182, abs=1e-3)
    assert inter["interaction_significant"] == [True] and not inter["composes"]


@pytest.mark.parametrize("x,y,expected", [((1, 10), (-40, -20), np.sqrt(10)),
                                          ((1, 10), (-40, -35), None)])
def test_crossing(x, y, expected):
    got = mp._crossing(x, y, -30.0)
    assert (got is None) if expected is None else got == pytest.approx(expected)


def test_single_link_checks_run_with_the_counter_streams():
    # the checks run QPSK links: with data_stream = noise_stream = 'counter' they must run
    # (they once failed: 'counter' drew Gaussian symbols only) and still hold
    cfg = CFG.replace(data_stream="counter", noise_stream="counter")
    res = mp.single_link_checks(cfg, 1, 24, (1e-8, 2e-6, 5e-6), 14)
    assert all(c["holds"] for c in res["correlation"].values())
    assert res["isi"]["holds"]
