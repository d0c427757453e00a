"""``linksim emulate`` with a DMRS receiver: the printed table, -v per-user EVM/BER, the HDF5
records, and the receiver's config errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from linksim.config import ConfigError, build_config

SMALL = ["--set", "fft_size=128", "--set", "cyclic_prefix_length=9",
         "--set", "num_used_subcarriers=72", "--set", "timing_backoff_samples=4",
         "--set", "antenna_size=[4,4]"]


def linksim(*args):
    return subprocess.run([sys.executable, "-m", "linksim", *args], capture_output=True,
                          text=True, timeout=600)


def test_emulate_with_dmrs_receiver_prints_and_records(tmp_path):
    import h5py

    args = ["emulate", "--precoder", "mrt", "--snr", "10", "--users", "3", "--sats", "2",
            "--drops", "2",
            "--set", "receiver=dmrs-ls", "--set", "modulation=16qam", *SMALL,
            "--out", str(tmp_path)]
    p = linksim(*args, "-v")
    assert p.returncode == 0, p.stderr
    assert "dmrs-ls" in p.stdout and "per user EVM dB" in p.stdout and "per user BER" in p.stdout
    with h5py.File(tmp_path / "emulate.h5") as f:
        assert f.attrs["receiver"] == "dmrs-ls"
        gross, net = f["rate_receiver"][()], f["rate_receiver_net"][()]
        ber, evm = f["ber"][()], f["evm_db"][()]
        genie = f["rate_measured"][()]
    assert gross.shape == (1, 2, 3)
    # the overhead of DMRS symbols 2 and 11 in one 14-symbol slot
    assert np.allclose(net, gross * 12 / 14, rtol=1e-12)
    assert np.all((ber >= 0) & (ber <= 0.5)) and np.all(np.isfinite(evm))
    assert np.all(gross > 0) and np.all(gross < genie + 0.5)
    doc = json.loads(linksim(*args, "--json").stdout)
    point = doc["points"][0]
    assert doc["receiver"] == "dmrs-ls"
    assert point["sum_rate_receiver"] == pytest.approx(gross[0].sum(-1).mean(), rel=1e-12)
    assert point["estimation_loss"] == pytest.approx(
        (genie[0].sum(-1) - gross[0].sum(-1)).mean(), rel=1e-9)


@pytest.mark.parametrize("values, name", [
    ({"receiver": "zf"}, "receiver"),
    ({"dmrs_symbols": [2, 2]}, "dmrs_symbols"),
    ({"dmrs_symbols": [14]}, "dmrs_symbols"),
    ({"dmrs_pdp": "gauss"}, "dmrs_pdp"),
    ({"dmrs_delay_spread_s": -1.0}, "dmrs_delay_spread_s"),
    ({"receiver": "dmrs-ls", "num_observed_symbols": 2}, "num_observed_symbols"),
])
def test_receiver_config_errors_name_the_field(values, name):
    with pytest.raises(ConfigError, match=name):
        build_config(values)


def test_bad_receiver_exits_2_in_one_line():
    p = linksim("emulate", "--set", "receiver=zf")
    assert p.returncode == 2 and "receiver" in p.stderr and "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.strip()]) == 1


def test_compare_mode_reports_the_receiver_like_a_single_run(tmp_path):
    # --precoder a,b runs each method's unchanged single task: the DMRS receiver's sum rate of
    # mrt must equal the single-method run's on the same seed (common random numbers)
    common = ["emulate", "--snr", "10", "--users", "3", "--sats", "2", "--drops", "2",
              "--set", "receiver=dmrs-ls", "--set", "modulation=16qam", *SMALL, "--json"]
    both = json.loads(linksim(*common, "--precoder", "mrt,ss-m", "--out",
                              str(tmp_path / "b")).stdout)
    one = json.loads(linksim(*common, "--precoder", "mrt", "--out", str(tmp_path / "a")).stdout)
    row = both["points"][0]["methods"]["mrt"]
    assert both["receiver"] == "dmrs-ls"
    assert row["sum_rate_receiver"] == one["points"][0]["sum_rate_receiver"]
    assert row["sum_rate_receiver"] < row["sum_rate_measured"] + 3 * row[
        "sum_rate_receiver_std_err"]
