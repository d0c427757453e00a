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
    summary = mp.summary_of({"rates": res, **single, "draws": 6})
    json.dumps(summary)
    assert {r["verdict"].split()[0] for r in summary["table"]} <= {"holds", "fails", "breaks"}
    figs = mp.figures({"rates": res, **single})
    assert set(figs) == {"rates", "correlation", "isi"}
    assert all(png[:4] == b"\x89PNG" for png in figs.values())
    html = mp.html_section({"multipath": summary}, figs)
    assert "NTN-TDL" in html and html.count("<img") == 3


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
