"""Issue 14, provenance in every output kind not covered by tests/test_measured_outputs.py:
``linksim figure fig2`` (PNG, CSV, HDF5, --json), ``linksim figure fig12``, the HDF5 of
``linksim dataset``, the model file and checkpoint of ``linksim train-dtn``, and PNG bytes
drawn in memory (the validation report's multipath figures).

Every record is checked field by field against what the run was given: the recorded seed is
the seed given, the recorded config is the effective config (a --set override included), the
command line holds the options given, the commit is ``git rev-parse HEAD`` of this checkout
("+dirty" appended when its tracked files are modified), the date is now (UTC).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def _head() -> str | None:
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def check_record(rec: dict, config: dict, seed: int | None, options: list[str]) -> None:
    """The fields of one provenance record (linksim.runtime.provenance.provenance)."""
    from linksim import __version__

    assert rec["linksim_version"] == __version__
    head = _head()
    if head is None:
        assert rec["git_commit"] == "unknown"
    else:
        assert rec["git_commit"] in (head, head + "+dirty")
    assert rec["config"] == config
    assert rec["seed"] == seed
    date = dt.datetime.fromisoformat(rec["date_utc"])
    assert date.utcoffset() == dt.timedelta(0)
    # written during this test: within the last 10 minutes, not in the future (1 s rounding)
    age_s = (dt.datetime.now(dt.timezone.utc) - date).total_seconds()
    assert -1.0 <= age_s < 600.0
    assert rec["command_line"].startswith("linksim ")
    for opt in options:
        assert opt in rec["command_line"], (opt, rec["command_line"])
    num = rec["numeric"]
    for key in ("backend", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "numpy", "python"):
        assert key in num
    if "backend" in config:
        assert num["backend"] == config["backend"]


# --------------------------------------------------------------------------- fig2
def test_fig2_png_csv_hdf5_json(tmp_path):
    """The real command line (a subprocess): 2 drops, a --set override of the disc radius."""
    from linksim.app.commands.common import load_cfg
    from linksim.runtime.provenance import read_csv_comments, read_h5, read_png
    from validation.fig2 import USERS_PER_DROP

    sets = ("coverage_radius_m=700000",)
    args = ["figure", "fig2", "--drops", "2", "--seed", "13", "--set", sets[0],
            "--out", str(tmp_path), "--json"]
    r = subprocess.run([sys.executable, "-m", "linksim", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    # the effective config: defaults, the override, the figure's own users per drop
    want = load_cfg(None, sets).replace(num_users=USERS_PER_DROP).to_dict()
    assert want["coverage_radius_m"] == 700e3 and want["num_users"] == USERS_PER_DROP
    options = ["figure fig2", "--drops 2", "--seed 13", "--set coverage_radius_m=700000"]
    rec = summary["provenance"]
    check_record(rec, want, 13, options)
    assert rec["figure"] == "fig2" and rec["drops"] == 2 and rec["workers"] == 1
    text = (tmp_path / "fig2.csv").read_text()
    assert read_csv_comments(text) == rec
    # the numbers still parse (comment lines skipped) and are the summary's
    rows = [ln.split(",") for ln in text.splitlines() if not ln.startswith("#")]
    assert rows[0][:3] == ["distance_lo_km", "distance_hi_km", "samples"]
    data = np.array([[float(v) for v in row[:3]] for row in rows[1:-1]])
    assert data.shape == (32, 3) and int(data[:, 2].sum()) > 0
    assert read_png(tmp_path / "fig2.png") == rec
    with h5py.File(tmp_path / "fig2.h5") as f:
        assert read_h5(f) == rec
        assert f.attrs["provenance_seed"] == 13
        assert json.loads(f.attrs["provenance_config"]) == want


# --------------------------------------------------------------------------- fig12
def test_fig12_png_csv_hdf5_json(tmp_path, monkeypatch):
    """A tiny Fig. 12 (K = 3, S = 2, 4 x 4 arrays, 3 iterations, 1 drop) through the CLI."""
    from linksim.app.cli import cli
    from linksim.app.commands.common import load_cfg
    from linksim.runtime.provenance import read_csv_comments, read_h5, read_png
    from validation import figures

    monkeypatch.setattr(figures, "FIG12_USERS", (3,))
    monkeypatch.setattr(figures, "dl_available", lambda: False)
    sets = ("num_sats=2", "antenna_size=[4,4]", "max_iterations=3")
    args = ["figure", "fig12", "--drops", "1", "--seed", "4", "--out", str(tmp_path),
            "--json"] + [a for s in sets for a in ("--set", s)]
    monkeypatch.setattr(sys, "argv", ["linksim", *args])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    want = load_cfg(None, sets).to_dict()
    rec = summary["provenance"]
    check_record(rec, want, 4, ["figure fig12", "--seed 4", "--set max_iterations=3"])
    assert rec["num_users_swept"] == [3] and rec["workers"] == 1
    assert read_csv_comments((tmp_path / "fig12.csv").read_text()) == rec
    assert read_png(tmp_path / "fig12.png") == rec
    with h5py.File(tmp_path / "fig12.h5") as f:
        assert read_h5(f) == rec


# --------------------------------------------------------------------------- dataset, DTN
@pytest.fixture(scope="module")
def dataset_run(tmp_path_factory):
    """``linksim dataset`` at a tiny size: 3 drops, K = 2, S = 2, 2 x 2 arrays, 2 power
    levels, 3 MS-JoCDWM iterations (real labels)."""
    from linksim.app.cli import cli

    out = tmp_path_factory.mktemp("prov-dataset") / "d.h5"
    sets = ("antenna_size=[2,2]", "max_iterations=3", "power_levels_dbw=[-10,0]")
    args = ["dataset", "--drops", "3", "--users", "2", "--sats", "2", "--seed", "6",
            "--out", str(out), "--json"] + [a for s in sets for a in ("--set", s)]
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["linksim", *args])
    try:
        r = CliRunner().invoke(cli, args)
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    return out, sets, json.loads(r.output.strip().splitlines()[-1])


def test_dataset_hdf5(dataset_run):
    from linksim.app.commands.common import load_cfg
    from linksim.runtime.provenance import read_h5

    out, sets, summary = dataset_run
    want = load_cfg(None, sets, num_users=2, num_sats=2).to_dict()
    assert want["power_levels_dbw"] == [-10.0, 0.0]
    options = ["dataset", "--drops 3", "--users 2", "--seed 6", "--set max_iterations=3"]
    with h5py.File(out) as f:
        rec = read_h5(f)
        assert f.attrs["provenance_seed"] == 6
        assert json.loads(f.attrs["provenance_config"]) == want
        # the dataset's own attributes agree with the record
        assert json.loads(f.attrs["config"]) == rec["config"]
        assert int(f.attrs["num_drops"]) == rec["num_drops"] == 3
    check_record(rec, want, 6, options)
    assert rec["label_fn"] == "precoders.dtn.dataset.label_drop" and rec["workers"] == 1
    assert summary["provenance"] == rec


def test_train_dtn_model_and_checkpoint(dataset_run, tmp_path, monkeypatch):
    """``linksim train-dtn``, one epoch: the record is in the model file, the checkpoint and
    the --json summary, with the effective training config."""
    import torch

    from linksim.app.cli import cli
    from precoders.dtn.network import SIZES
    from precoders.dtn.train import TrainConfig, checkpoint_path

    data, _, _ = dataset_run
    out = tmp_path / "m.pt"
    args = ["train-dtn", "--data", str(data), "--out", str(out), "--epochs", "1",
            "--batch-size", "4", "--seed", "8", "--device", "cpu", "--json"]
    monkeypatch.setattr(sys, "argv", ["linksim", *args])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output.strip().splitlines()[-1])
    from dataclasses import asdict

    want = {"train_config": asdict(TrainConfig(epochs=1, batch_size=4, lr=1e-3, size="small",
                                               loss="si-nmse", seed=8)),
            "model_config": SIZES["small"].to_dict()}
    options = ["train-dtn", "--epochs 1", "--batch-size 4", "--seed 8"]
    model = torch.load(out, map_location="cpu", weights_only=False)
    ckpt = torch.load(checkpoint_path(out), map_location="cpu", weights_only=False)
    for rec in (model["provenance"], ckpt["provenance"], summary["provenance"]):
        check_record(rec, json.loads(json.dumps(want)), 8, options)
        assert rec["data"] == [str(data)] and rec["device"] == "cpu"
        assert rec["torch_threads"] == 1 and rec["resumed_from_epoch"] == 0
    assert model["provenance"] == ckpt["provenance"] == summary["provenance"]
    # the record's configs are the ones the file is loaded with
    assert model["provenance"]["config"]["model_config"] == model["model_config"]
    assert model["provenance"]["config"]["train_config"] == json.loads(
        json.dumps(model["train_config"]))


# --------------------------------------------------------------------------- PNG bytes
def test_png_bytes_gain_the_record_pixels_unchanged(tmp_path):
    """png_with_metadata (the multipath figures of the validation report): the record reads
    back, the image is the same pixel for pixel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from linksim.config import build_config
    from linksim.runtime.provenance import png_with_metadata, provenance, read_png
    from validation.report_figures import _png

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    png = _png(fig)
    rec = provenance(build_config({"num_users": 5}), 21, extra_field="x")
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "b.png").write_bytes(png_with_metadata(png, rec))
    assert read_png(tmp_path / "b.png") == rec
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert a.size == b.size and a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="not a PNG"):
        png_with_metadata(b"GIF89a....", rec)


# --------------------------------------------------------------------------- sidecar, bench
def test_heldout_sidecar_json_gets_both_records(tmp_path, monkeypatch):
    """The model's sidecar JSON (precoders.dtn.heldout.update_model_json): the evaluation's
    own record and the training record copied from the model file."""
    import torch

    from linksim.config import build_config
    from linksim.runtime.provenance import provenance
    from precoders.dtn.heldout import HELDOUT_SEED, _add_provenance

    monkeypatch.setattr(sys, "argv", ["linksim", "train-dtn", "--seed", "3"])
    trained = provenance({"train_config": {"seed": 3}}, 3)
    model = tmp_path / "m.pt"
    torch.save({"provenance": trained}, model)
    cfg = build_config()
    doc = {"heldout": {"goals": {}}}
    _add_provenance(doc, model, cfg)
    assert doc["training_provenance"] == trained
    rec = doc["heldout"]["provenance"]
    check_record(rec, cfg.to_dict(), HELDOUT_SEED, [])
    assert rec["model"] == str(model)
    json.dumps(doc)


def test_bench_json_carries_the_record(monkeypatch):
    """``linksim bench --json`` (its benchmarks replaced by a stub: the wiring only) records
    the effective config with a --set override and the machine's settings."""
    from linksim.app.cli import cli
    from linksim.app.commands import bench_cmd
    from linksim.app.commands.common import load_cfg

    monkeypatch.setattr(bench_cmd, "_bench_waveforms", lambda *a: {"stub": 1.0})
    args = ["bench", "--quick", "--json", "--set", "num_sats=3"]
    monkeypatch.setattr(sys, "argv", ["linksim", *args])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["stub"] == 1.0
    check_record(doc["provenance"], load_cfg(None, ("num_sats=3",)).to_dict(), None,
                 ["bench", "--quick", "--set num_sats=3"])
    assert doc["provenance"]["quick"] is True
