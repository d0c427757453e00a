"""A full disk in every writing command: one line naming the path, exit 1, no incomplete or
temporary file, a figure's PNG/CSV/HDF5 all or none, and after space is freed the same command
finishes (resuming from its store).

The real-disk cases mount a small tmpfs (root only, skipped otherwise); the group semantics of
:func:`linksim.runtime.atomic.atomic_group` are also checked without root by failing a rename.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from linksim.runtime import atomic
from linksim.runtime.atomic import OutputWriteError, atomic_group, atomic_h5, atomic_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tmpfs  # noqa: E402
from test_bad_input_contract import _invoke  # noqa: E402

TINY = ["--set", "num_users=2", "--set", "num_sats=2", "--set", "antenna_size=[2,2]"]


def test_group_appears_together_or_not_at_all(tmp_path, monkeypatch):
    files = [tmp_path / f"fig.{ext}" for ext in ("png", "csv", "h5")]
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:  # the third rename hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputWriteError) as info:
        with atomic_group():
            for p in files[:2]:
                with atomic_path(p) as tmp:
                    tmp.write_text("x")
            with atomic_h5(files[2]) as f:
                f["x"] = np.arange(3)
    assert str(info.value) == f"cannot write {files[2]}: disk full (No space left on device)"
    assert list(tmp_path.iterdir()) == []  # neither the two renamed files nor any .tmp
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    with atomic_group():
        for p in files:
            with atomic_path(p) as tmp:
                tmp.write_text("y")
    assert sorted(tmp_path.iterdir()) == sorted(files)


def test_failure_inside_a_group_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_group():
            with atomic_path(tmp_path / "a.csv") as tmp:
                tmp.write_text("a")
            raise RuntimeError("the figure failed after its CSV")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- a real full disk
@pytest.fixture
def small_disk(tmp_path, request):
    """A tmpfs of 2 MiB (or the size in ``@pytest.mark.disk_size("8M")``)."""
    marker = request.node.get_closest_marker("disk_size")
    yield from tmpfs.small_disk(tmp_path, marker.args[0] if marker else "2M")


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.name != "filler"}


COMMANDS = {
    "scenario": (lambda out: ["scenario", "--out", str(out / "drop.h5"), *TINY],
                 lambda out: {"drop.h5"}),
    "emulate": (lambda out: ["emulate", "--snr", "10,20", "--drops", "2", "--symbols", "2",
                             "--out", str(out / "emu"), *TINY],
                lambda out: {"emu/emulate.h5"}),
    "figure": (lambda out: ["figure", "fig11", "--drops", "1", "--out", str(out / "fig"),
                            *TINY],
               lambda out: {"fig/fig11.png", "fig/fig11.csv", "fig/fig11.h5"}),
    "dataset": (lambda out: ["dataset", "--drops", "3", "--out", str(out / "ds" / "d.h5"),
                             *TINY],
                lambda out: {"ds/d.h5"}),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_on_a_full_disk(command, small_disk, monkeypatch):
    """0, 8, 48 and 160 KiB free: exit 0, or exit 1 with one line naming a path on the disk;
    never a .tmp or incomplete output; after the disk is freed the command completes."""
    monkeypatch.chdir(small_disk.parent)
    args, finals = COMMANDS[command]
    failures = 0
    for free_kib in (0, 8, 48, 160):
        filler = tmpfs.fill(small_disk, free_kib * 1024)
        code, out, err = _invoke(args(small_disk))
        present = _files(small_disk)
        assert "Traceback" not in err + out, err
        assert not any(name.endswith(".tmp") for name in present), present
        outputs = finals(small_disk) & present
        if code == 0:
            assert outputs == finals(small_disk)
        else:
            failures += 1
            lines = err.strip().splitlines()
            assert code == 1 and len(lines) == 1, (code, err)
            assert "disk full" in lines[0] and str(small_disk) in lines[0], lines[0]
            assert outputs in (set(), finals(small_disk)), present  # all or none
        filler.unlink()
        code, out, err = _invoke(args(small_disk))
        assert code == 0, err
        assert finals(small_disk) <= _files(small_disk)
        for p in list(small_disk.iterdir()):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert failures >= 1


@pytest.mark.disk_size("8M")  # the model and its checkpoint (with Adam's state) take ~4 MB
def test_train_dtn_on_a_full_disk(small_disk, monkeypatch):
    """torch.save's failed write becomes the one-line error naming the model file."""
    monkeypatch.chdir(small_disk.parent)
    data = small_disk.parent / "d.h5"
    code, _, err = _invoke(["dataset", "--drops", "6", "--out", str(data), *TINY])
    assert code == 0, err
    args = ["train-dtn", "--data", str(data), "--out", str(small_disk / "m.pt"),
            "--epochs", "1", "--batch-size", "4"]
    filler = tmpfs.fill(small_disk, 8 * 1024)
    code, out, err = _invoke(args)
    lines = [line for line in err.strip().splitlines() if not line.startswith("epoch ")]
    assert code == 1 and len(lines) == 1, err
    assert "disk full" in lines[0] and str(small_disk / "m.pt") in lines[0], lines[0]
    assert _files(small_disk) == set()
    filler.unlink()
    code, out, err = _invoke(args)
    assert code == 0, err
    assert {"m.pt", "m.pt.ckpt"} <= _files(small_disk)
