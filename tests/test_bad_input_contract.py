"""The bad-input contract, table-driven over every command: exit status 2, exactly one line on
stderr (``linksim: error: ...``) naming the option (or config field), no traceback, and no new
file anywhere under the working directory.

The cases run in this process (``linksim.app.cli.main`` under click's output capture, in a
temporary working directory); a few run as real subprocesses at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from linksim.app.cli import main

BIG_SEED = str(2**64)

# (command line, text the one error line must contain); files named here are made by `files`
CASES: list[tuple[str, list[str], str]] = [
    # --------------------------------------------------------------- config (and --config/--set)
    ("cfg-binary", ["config", "show", "--config", "binary.bin"], "--config"),
    ("cfg-hdf5", ["config", "show", "--config", "data.h5"], "--config"),
    ("cfg-non-utf8", ["config", "show", "--config", "latin1.toml"], "--config"),
    ("cfg-missing", ["config", "show", "--config", "missing.toml"], "--config"),
    ("cfg-dir", ["config", "show", "--config", "adir"], "--config"),
    ("cfg-bad-toml", ["config", "show", "--config", "broken.toml"], "--config"),
    ("cfg-two-tables", ["config", "show", "--config", "twice.toml"], "num_users"),
    ("cfg-flat-and-table", ["config", "show", "--config", "twice_flat.toml"], "given twice"),
    ("cfg-unknown-table", ["config", "show", "--config", "table.toml"], "unknown table [foo]"),
    ("cfg-nested-table", ["config", "show", "--config", "nested.toml"], "nested table"),
    ("cfg-unknown-field", ["config", "show", "--config", "field.toml"], "frobnicate"),
    ("cfg-repeated-levels-file", ["config", "show", "--config", "levels.toml"],
     "power_levels_dbw"),
    ("set-repeated-levels", ["config", "show", "--set", "power_levels_dbw=[1, 1]"],
     "power_levels_dbw"),
    ("set-levels-nan", ["config", "show", "--set", "power_levels_dbw=[0, nan]"],
     "power_levels_dbw"),
    ("set-levels-out-of-range", ["config", "show", "--set", "power_levels_dbw=[0, 500]"],
     "power_levels_dbw"),
    ("set-users-0", ["config", "show", "--set", "num_users=0"], "num_users"),
    ("set-users-nan", ["config", "show", "--set", "num_users=nan"], "num_users"),
    ("set-users-float", ["config", "show", "--set", "num_users=2.5"], "num_users"),
    ("set-power-inf", ["config", "show", "--set", "power_dbw=inf"], "power_dbw"),
    ("set-power-1e400", ["config", "show", "--set", "power_dbw=1e400"], "power_dbw"),
    ("set-power-string", ["config", "show", "--set", "power_dbw=loud"], "power_dbw"),
    ("set-unknown", ["config", "show", "--set", "frobnicate=1"], "frobnicate"),
    ("set-no-equals", ["config", "show", "--set", "num_users"], "--set"),
    ("set-antenna-1", ["config", "show", "--set", "antenna_size=[8]"], "antenna_size"),
    ("set-antenna-0", ["config", "show", "--set", "antenna_size=[0, 8]"], "antenna_size"),
    ("set-modulation", ["config", "show", "--set", "modulation=bpsk"], "modulation"),
    ("set-w-step", ["config", "show", "--set", "w_step=3"], "w_step"),
    ("set-noise-stream", ["config", "show", "--set", "noise_stream=bogus"], "noise_stream"),
    ("set-taps-odd", ["config", "show", "--set", "fractional_delay_taps=3"],
     "fractional_delay_taps"),
    ("set-sats-1000", ["config", "show", "--set", "num_sats=1000"], "num_sats"),
    ("set-bool", ["config", "show", "--set", "num_users=true"], "num_users"),
    # --------------------------------------------------------------- scenario
    ("scn-users-0", ["scenario", "--users", "0"], "--users"),
    ("scn-users-neg", ["scenario", "--users", "-3"], "--users"),
    ("scn-sats-0", ["scenario", "--sats", "0"], "--sats"),
    ("scn-seed-neg", ["scenario", "--seed", "-1"], "--seed"),
    ("scn-seed-big", ["scenario", "--seed", BIG_SEED], "--seed"),
    ("scn-seed-text", ["scenario", "--seed", "abc"], "--seed"),
    ("scn-drop-neg", ["scenario", "--drop-index", "-1"], "--drop-index"),
    ("scn-drop-big", ["scenario", "--drop-index", str(2**63)], "--drop-index"),
    ("scn-out-empty", ["scenario", "--out", ""], "--out"),
    ("scn-out-dir", ["scenario", "--out", "adir"], "--out"),
    ("scn-out-under-file", ["scenario", "--out", "plain.txt/drop.h5"], "--out"),
    ("scn-config-binary", ["scenario", "--config", "binary.bin"], "--config"),
    ("scn-set-bad", ["scenario", "--set", "coverage_radius_m=1e9"], "coverage_radius_m"),
    # --------------------------------------------------------------- emulate
    ("emu-snr-empty", ["emulate", "--snr", ""], "--snr"),
    ("emu-snr-blank", ["emulate", "--snr", "  "], "--snr"),
    ("emu-snr-nan", ["emulate", "--snr", "nan"], "--snr"),
    ("emu-snr-inf", ["emulate", "--snr", "inf"], "--snr"),
    ("emu-snr-range-inf", ["emulate", "--snr", "0:inf:5"], "--snr"),
    ("emu-snr-range-nan", ["emulate", "--snr", "nan:10:5"], "--snr"),
    ("emu-snr-step-nan", ["emulate", "--snr", "0:10:nan"], "--snr"),
    ("emu-snr-huge", ["emulate", "--snr", "1e9"], "--snr"),
    ("emu-snr-very-low", ["emulate", "--snr", "-500"], "--snr"),
    ("emu-snr-range-out", ["emulate", "--snr", "0:300:100"], "--snr"),
    ("emu-snr-repeated", ["emulate", "--snr", "0,0"], "--snr"),
    ("emu-snr-step-0", ["emulate", "--snr", "0:30:0"], "--snr"),
    ("emu-snr-reversed", ["emulate", "--snr", "30:0:5"], "--snr"),
    ("emu-snr-too-many", ["emulate", "--snr", "0:90:0.01"], "--snr"),
    ("emu-snr-words", ["emulate", "--snr", "a,b"], "--snr"),
    ("emu-snr-four-parts", ["emulate", "--snr", "0:1:2:3"], "--snr"),
    ("emu-power-high", ["emulate", "--power-dbw", "100"], "--power-dbw"),
    ("emu-power-low", ["emulate", "--power-dbw", "-1000"], "--power-dbw"),
    ("emu-power-nan", ["emulate", "--power-dbw", "nan"], "--power-dbw"),
    ("emu-power-empty", ["emulate", "--power-dbw", ""], "--power-dbw"),
    ("emu-power-range", ["emulate", "--power-dbw", "-10:70:10"], "--power-dbw"),
    ("emu-snr-and-power", ["emulate", "--snr", "0", "--power-dbw", "0"], "--power-dbw"),
    ("emu-seed-big", ["emulate", "--seed", BIG_SEED], "--seed"),
    ("emu-out-empty", ["emulate", "--out", ""], "--out"),
    ("emu-out-file", ["emulate", "--out", "plain.txt"], "--out"),
    ("emu-out-under-file", ["emulate", "--out", "plain.txt/sub"], "--out"),
    ("emu-users-0", ["emulate", "--users", "0"], "--users"),
    ("emu-users-2000", ["emulate", "--users", "2000"], "--users"),
    ("emu-sats-0", ["emulate", "--sats", "0"], "--sats"),
    ("emu-precoder", ["emulate", "--precoder", "zf"], "--precoder"),
    ("emu-model-other-precoder", ["emulate", "--model", "model.pt", "--precoder", "mrt"],
     "--model"),
    ("emu-model-list-without-dl", ["emulate", "--model", "model.pt", "--precoder", "mrt,ss-m"],
     "--model"),
    ("emu-model-missing", ["emulate", "--model", "missing.pt", "--precoder", "ms-jocdwm-dl"],
     "--model"),
    ("emu-drops-0", ["emulate", "--drops", "0"], "--drops"),
    ("emu-symbols-0", ["emulate", "--symbols", "0"], "--symbols"),
    ("emu-memory", ["emulate", "--users", "1024", "--sats", "64", "--symbols", "100000"],
     "--symbols"),
    ("emu-single-snr", ["emulate", "--scenario", "single-path", "--snr", "10"], "--snr"),
    ("emu-single-precoder", ["emulate", "--scenario", "single-path", "--precoder", "ms-jowm"],
     "--precoder"),
    ("emu-single-drops", ["emulate", "--scenario", "single-path", "--drops", "3"], "--drops"),
    ("emu-single-workers", ["emulate", "--scenario", "single-path", "--workers", "2"],
     "--workers"),
    ("emu-single-users", ["emulate", "--scenario", "single-path", "--users", "4"], "--users"),
    ("emu-delay-no-single", ["emulate", "--delay-error-ns", "5"], "--delay-error-ns"),
    ("emu-doppler-no-single", ["emulate", "--doppler-error-hz", "5"], "--doppler-error-hz"),
    ("emu-phase-no-single", ["emulate", "--phase-error-rad", "1"], "--phase-error-rad"),
    ("emu-single-delay-nan", ["emulate", "--scenario", "single-path", "--delay-error-ns",
                              "nan"], "--delay-error-ns"),
    ("emu-single-delay-big", ["emulate", "--scenario", "single-path", "--delay-error-ns",
                              "1e9"], "--delay-error-ns"),
    ("emu-single-doppler-big", ["emulate", "--scenario", "single-path", "--doppler-error-hz",
                                "1e12"], "--doppler-error-hz"),
    ("emu-single-phase-inf", ["emulate", "--scenario", "single-path", "--phase-error-rad",
                              "inf"], "--phase-error-rad"),
    ("emu-workers-0", ["emulate", "--workers", "0"], "--workers"),
    ("emu-scheduler-word", ["emulate", "--scheduler", "foo"], "--scheduler"),
    ("emu-scheduler-no-port", ["emulate", "--scheduler", "tcp://127.0.0.1"], "--scheduler"),
    ("emu-scheduler-bad-port", ["emulate", "--scheduler", "tcp://127.0.0.1:99999"],
     "--scheduler"),
    ("emu-scheduler-refused", ["emulate", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    ("emu-scheduler-http", ["emulate", "--scheduler", "http://127.0.0.1:8786"], "--scheduler"),
    ("emu-ssm-users", ["emulate", "--precoder", "ss-m", "--users", "300"], "--users"),
    ("emu-scenario", ["emulate", "--scenario", "foo"], "--scenario"),
    ("emu-set-users-0", ["emulate", "--set", "num_users=0"], "num_users"),
    ("emu-config-hdf5", ["emulate", "--config", "data.h5"], "--config"),
    # --------------------------------------------------------------- figure
    ("fig-name", ["figure", "fig99"], "NAME"),
    ("fig5-set-users", ["figure", "fig5", "--set", "num_users=4"], "--set"),
    ("fig5-set-power", ["figure", "fig5", "--set", "power_dbw=0"], "--set"),
    ("fig6-set-users", ["figure", "fig6", "--set", "num_users=4"], "--set"),
    ("fig7-set-kappa", ["figure", "fig7", "--set", "kappa_db=3"], "--set"),
    ("fig8-set-phase", ["figure", "fig8", "--set", "phase_error_var_rad2=1"], "--set"),
    ("fig9-set-sats", ["figure", "fig9", "--set", "num_sats=2"], "--set"),
    ("fig10-set-users", ["figure", "fig10", "--set", "num_users=4"], "--set"),
    ("fig12-set-users", ["figure", "fig12", "--set", "num_users=4"], "--set"),
    ("fig2-set-users", ["figure", "fig2", "--set", "num_users=3"], "--set"),
    ("fig12-workers", ["figure", "fig12", "--workers", "2"], "--workers"),
    ("fig12-scheduler", ["figure", "fig12", "--scheduler", "local"], "--scheduler"),
    ("fig-drops-0", ["figure", "fig5", "--drops", "0"], "--drops"),
    ("fig-workers-0", ["figure", "fig5", "--workers", "0"], "--workers"),
    ("fig-workers-1000", ["figure", "fig5", "--workers", "1000"], "--workers"),
    ("fig-seed-neg", ["figure", "fig5", "--seed", "-1"], "--seed"),
    ("fig-seed-big", ["figure", "fig5", "--seed", BIG_SEED], "--seed"),
    ("fig-out-empty", ["figure", "fig5", "--out", ""], "--out"),
    ("fig-out-file", ["figure", "fig5", "--out", "plain.txt"], "--out"),
    ("fig-scheduler-refused", ["figure", "fig5", "--scheduler", "tcp://127.0.0.1:1"],
     "--scheduler"),
    ("fig-config-binary", ["figure", "fig5", "--config", "binary.bin"], "--config"),
    ("fig-set-unknown", ["figure", "fig11", "--set", "frobnicate=2"], "frobnicate"),
    # memory estimates (linksim.app.memory_estimate): far above any machine's memory
    ("fig6-memory-measured", ["figure", "fig6", "--measured-symbols", "1000"],
     "--measured-symbols"),                                             # ~0.8 TB per drop
    ("fig7-memory-users", ["figure", "fig7", "--set", "num_users=1024"], "num_users"),
    ("fig8-memory-users", ["figure", "fig8", "--set", "num_users=1024", "--measured-symbols",
                           "10"], "num_users"),
    ("fig6-memory-workers", ["figure", "fig6", "--workers", "256", "--drops", "256"],
     "--workers"),                                                      # 256 x ~3 GB
    # --------------------------------------------------------------- validate
    ("val-drops-0", ["validate", "--drops", "0"], "--drops"),
    ("val-symbols-0", ["validate", "--symbols", "0"], "--symbols"),
    ("val-symbols-5000", ["validate", "--symbols", "5000"], "--symbols"),
    ("val-users-200", ["validate", "--set", "num_users=200"], "num_users"),
    ("val-out-empty", ["validate", "--out", ""], "--out"),
    ("val-out-file", ["validate", "--out", "plain.txt"], "--out"),
    ("val-scheduler", ["validate", "--scheduler", "bogus"], "--scheduler"),
    ("val-workers-0", ["validate", "--workers", "0"], "--workers"),
    ("val-seed-big", ["validate", "--seed", BIG_SEED], "--seed"),
    ("val-config-hdf5", ["validate", "--config", "data.h5"], "--config"),
    # --------------------------------------------------------------- bench
    ("bench-no-ref-precoders", ["bench", "--precoders", "--no-reference"], "--no-reference"),
    ("bench-config-binary", ["bench", "--config", "binary.bin"], "--config"),
    ("bench-set-taps", ["bench", "--set", "fractional_delay_taps=1"], "fractional_delay_taps"),
    # --------------------------------------------------------------- dataset
    ("ds-drops-0", ["dataset", "--drops", "0"], "--drops"),
    ("ds-drops-missing", ["dataset"], "--drops"),
    ("ds-users-0", ["dataset", "--drops", "1", "--users", "0"], "--users"),
    ("ds-sats-0", ["dataset", "--drops", "1", "--sats", "0"], "--sats"),
    ("ds-out-empty", ["dataset", "--drops", "1", "--out", ""], "--out"),
    ("ds-out-dir", ["dataset", "--drops", "1", "--out", "adir"], "--out"),
    ("ds-out-under-file", ["dataset", "--drops", "1", "--out", "plain.txt/d.h5"], "--out"),
    ("ds-workers-0", ["dataset", "--drops", "1", "--workers", "0"], "--workers"),
    ("ds-scheduler", ["dataset", "--drops", "1", "--scheduler", "foo"], "--scheduler"),
    ("ds-limit-neg", ["dataset", "--drops", "1", "--limit", "-1"], "--limit"),
    ("ds-seed-big", ["dataset", "--drops", "1", "--seed", BIG_SEED], "--seed"),
    ("ds-levels-repeated", ["dataset", "--drops", "1", "--set", "power_levels_dbw=[0, 0]"],
     "power_levels_dbw"),
    ("ds-memory-drops", ["dataset", "--drops", "1000000000"], "--drops"),  # ~80 TB to assemble
    ("ds-memory-workers", ["dataset", "--drops", "100000", "--workers", "100000"], "--workers"),
    # ------------------------------- a constellation no drop can have (drawn before any work)
    ("geo-emulate-sats", ["emulate", "--sats", "64"], "num_sats=64"),
    ("geo-figure-sats", ["figure", "fig5", "--set", "num_sats=64"], "num_sats=64"),
    ("geo-validate-sats", ["validate", "--quick", "--set", "num_sats=64"], "num_sats=64"),
    ("geo-dataset-sats", ["dataset", "--drops", "1", "--sats", "40"], "num_sats=40"),
    ("geo-emulate-elevation", ["emulate", "--set", "min_elevation_deg=89"], "min_elevation_deg"),
    # --------------------------------------------------------------- train-dtn
    ("dtn-data-missing-option", ["train-dtn"], "--data"),
    ("dtn-data-missing-file", ["train-dtn", "--data", "missing.h5"], "--data"),
    ("dtn-data-scenario", ["train-dtn", "--data", "scenario.h5"], "--data"),
    ("dtn-data-binary", ["train-dtn", "--data", "binary.bin"], "--data"),
    ("dtn-data-dir", ["train-dtn", "--data", "adir"], "--data"),
    ("dtn-lr-nan", ["train-dtn", "--data", "dataset.h5", "--lr", "nan"], "--lr"),
    ("dtn-lr-inf", ["train-dtn", "--data", "dataset.h5", "--lr", "inf"], "--lr"),
    ("dtn-lr-0", ["train-dtn", "--data", "dataset.h5", "--lr", "0"], "--lr"),
    ("dtn-lr-neg", ["train-dtn", "--data", "dataset.h5", "--lr", "-1e-3"], "--lr"),
    ("dtn-lr-5", ["train-dtn", "--data", "dataset.h5", "--lr", "5"], "--lr"),
    ("dtn-lr-text", ["train-dtn", "--data", "dataset.h5", "--lr", "fast"], "--lr"),
    ("dtn-device-unknown", ["train-dtn", "--data", "dataset.h5", "--device", "gpu0"],
     "--device"),
    ("dtn-device-index", ["train-dtn", "--data", "dataset.h5", "--device", "cuda:99"],
     "--device"),
    ("dtn-epochs-0", ["train-dtn", "--data", "dataset.h5", "--epochs", "0"], "--epochs"),
    ("dtn-batch-0", ["train-dtn", "--data", "dataset.h5", "--batch-size", "0"],
     "--batch-size"),
    ("dtn-size", ["train-dtn", "--data", "dataset.h5", "--size", "huge"], "--size"),
    ("dtn-loss", ["train-dtn", "--data", "dataset.h5", "--loss", "l2"], "--loss"),
    ("dtn-threads-0", ["train-dtn", "--data", "dataset.h5", "--threads", "0"], "--threads"),
    ("dtn-out-empty", ["train-dtn", "--data", "dataset.h5", "--out", ""], "--out"),
    ("dtn-out-dir", ["train-dtn", "--data", "dataset.h5", "--out", "adir"], "--out"),
    ("dtn-seed-neg", ["train-dtn", "--data", "dataset.h5", "--seed", "-5"], "--seed"),
    ("dtn-seed-big", ["train-dtn", "--data", "dataset.h5", "--seed", BIG_SEED], "--seed"),
]


def _make_files(d: Path) -> None:
    """The input files the cases name (made once per test directory)."""
    (d / "binary.bin").write_bytes(np.random.default_rng(0).bytes(2048))
    (d / "latin1.toml").write_bytes("num_users = 4 # caf\xe9\n".encode("latin-1"))
    (d / "broken.toml").write_text("num_users = \n")
    (d / "twice.toml").write_text("[scenario]\nnum_users = 4\n[radio]\nnum_users = 6\n")
    (d / "twice_flat.toml").write_text("num_users = 4\n[scenario]\nnum_users = 6\n")
    (d / "table.toml").write_text("[foo]\nnum_users = 4\n")
    (d / "nested.toml").write_text("[scenario.inner]\nnum_users = 4\n")
    (d / "field.toml").write_text("frobnicate = 4\n")
    (d / "levels.toml").write_text("power_levels_dbw = [0.0, -5.0, 0.0]\n")
    (d / "plain.txt").write_text("a file, not a directory\n")
    (d / "model.pt").write_bytes(b"not a model")
    (d / "adir").mkdir()
    with h5py.File(d / "data.h5", "w") as f:
        f["x"] = np.arange(3)
    with h5py.File(d / "scenario.h5", "w") as f:
        f.attrs["format"] = "linksim-drop"
        f.create_group("geometry")["delay_s"] = np.zeros(3)
    with h5py.File(d / "dataset.h5", "w") as f:  # passes the --data check, never trained on
        f.attrs["feature_version"] = 1
        f["features"] = np.zeros((1, 1, 1, 1, 1), np.float32)
        f["U"] = np.zeros((1, 1, 1, 2), np.complex64)


def _tree(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_size for p in d.rglob("*")}


def _invoke(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-input")
    _make_files(d)
    return d


def test_at_least_100_cases_over_every_command():
    assert len(CASES) >= 100
    assert len({name for name, _, _ in CASES}) == len(CASES)
    commands = {args[0] for _, args, _ in CASES}
    assert commands == {"config", "scenario", "emulate", "figure", "validate", "bench",
                        "dataset", "train-dtn"}


@pytest.mark.parametrize("name, args, must_name", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_one_line_naming_the_option(name, args, must_name, workdir,
                                                      monkeypatch):
    monkeypatch.chdir(workdir)
    before = _tree(workdir)
    t0 = time.monotonic()
    code, out, err = _invoke(args)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("linksim: error: "), err
    assert must_name in lines[0], err
    assert "Traceback" not in err + out
    assert _tree(workdir) == before, "a bad input left a file behind"
    # refused before any work (the first case of a command may import torch or numba)
    assert time.monotonic() - t0 < 20.0, "a bad input must be refused before any work"


#: refused on a machine with MEMORY_FREE_BYTES free (memory_available_bytes patched): runs
#: that fit a large machine but not a small one
MEMORY_FREE_BYTES = 1.0e9
MEMORY_CASES: list[tuple[str, list[str], str]] = [
    ("ds-memory-users", ["dataset", "--drops", "1", "--users", "1024", "--sats", "8", "--set",
                         "antenna_size=[64, 64]"], "--users"),             # ~3.5 GB designs
    ("ds-memory-mix", ["dataset", "--drops", "1", "--users", "1024", "--sats", "8", "--mix"],
     "antenna_size"),                                          # --mix labels at 32x32: ~1.9 GB
    ("ds-memory-workers-small", ["dataset", "--drops", "8", "--workers", "8"], "--workers"),
    ("fig11-memory-antennas", ["figure", "fig11", "--set", "num_users=1024", "--set",
                               "num_sats=8", "--set", "antenna_size=[64, 64]"], "antenna_size"),
    ("fig5-memory-measured", ["figure", "fig5", "--measured-symbols", "200"],
     "--measured-symbols"),                                                 # ~2.5 GB
    ("fig5-memory-workers", ["figure", "fig5", "--workers", "4", "--drops", "4"], "--workers"),
]


@pytest.mark.parametrize("name, args, must_name", MEMORY_CASES, ids=[c[0] for c in MEMORY_CASES])
def test_memory_estimate_refuses_what_does_not_fit(name, args, must_name, workdir,
                                                   monkeypatch):
    from linksim.app.commands import common

    monkeypatch.setattr(common, "memory_available_bytes", lambda: MEMORY_FREE_BYTES)
    test_bad_input_exits_2_one_line_naming_the_option(name, args, must_name, workdir,
                                                      monkeypatch)


SUBPROCESS_CASES = [
    (["config", "show", "--config", "binary.bin"], "--config"),
    (["emulate", "--scheduler", "tcp://10.255.255.1:8786"], "--scheduler"),  # unroutable
    (["dataset", "--drops", "1", "--out", ""], "--out"),
]


@pytest.mark.parametrize("args, must_name", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(args, must_name, workdir):
    before = _tree(workdir)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "linksim", *args], cwd=workdir,
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(
                           [str(Path(__file__).resolve().parents[1]),
                            os.environ.get("PYTHONPATH", "")])})
    elapsed = time.monotonic() - t0
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and must_name in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert _tree(workdir) == before
    assert elapsed < 5.0 + 5.0, elapsed  # the scheduler check answers within 5 s (+ start-up)
