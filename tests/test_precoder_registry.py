"""One list of precoders: a method added with precoders.register shows up in the emulate
command's --precoder choices, the validation report, the figures and the precoder bench."""

from __future__ import annotations

import numpy as np
import pytest

import precoders
from precoders.common import DesignResult

TOY = "toy-half-mrt"


def _toy(scsi, power_w, **kw):
    """MRT at the given power, a stand-in for a user's method (its W is MRT's, a number the
    test can check)."""
    res = precoders.PRECODERS["mrt"](scsi, power_w)
    return DesignResult(W=res.W, history=res.history, iterations=0, converged=True)


@pytest.fixture
def toy():
    iterative = precoders.ITERATIVE
    precoders.register(TOY, _toy)
    yield TOY
    precoders.PRECODERS.pop(TOY)
    precoders.ITERATIVE = iterative


def _precoder_param():
    from linksim.app.commands.emulate_cmd import emulate

    return next(p for p in emulate.params if p.name == "precoder")


def test_emulate_choices_follow_the_registry(toy):
    choices = _precoder_param().type.choices
    assert toy in choices
    assert list(choices) == list(precoders.PRECODERS)


def test_emulate_rejects_an_unknown_name_listing_the_registry(toy):
    from click.testing import CliRunner

    from linksim.app.cli import cli

    r = CliRunner().invoke(cli, ["emulate", "--precoder", "nope"])
    assert r.exit_code == 2
    assert toy in r.output and "ms-jocdwm" in r.output


def test_emulate_runs_a_registered_method(toy, tmp_path):
    """The toy is MRT: its emulated rates equal those of --precoder mrt (same drop, same
    streams), so the registered function is the one that ran."""
    from click.testing import CliRunner

    from linksim.app.cli import cli

    out = {}
    for name in ("mrt", toy):
        r = CliRunner().invoke(cli, ["emulate", "--precoder", name, "--snr", "10",
                                     "--users", "2", "--sats", "2", "--symbols", "2",
                                     "--json", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        out[name] = r.output
    assert out[toy].replace(toy, "mrt").replace(str(tmp_path / toy), str(tmp_path / "mrt")) \
        == out["mrt"]


def test_validation_and_figures_and_bench_use_the_registry(toy):
    from precoders.bench import bench_methods
    from validation import figures, rates

    names = rates.available_precoders(include_dl=False)
    assert toy in names and "ms-jocdwm-dl" not in names
    assert names[:6] == ["mrt", "ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"]
    assert toy in figures.figure_methods(include_dl=False)
    assert "mrt" not in figures.figure_methods(include_dl=False)
    assert (toy, None) in bench_methods()


def test_validation_designs_the_registered_method(toy):
    from tests.test_precoders_algorithms import random_scsi
    from validation.rates import design_precoder

    scsi = random_scsi(np.random.default_rng(1))
    W = design_precoder(toy, scsi, 1.5, None)
    np.testing.assert_array_equal(W, precoders.design("mrt", scsi, 1.5).W)
