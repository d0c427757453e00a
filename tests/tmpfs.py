"""A real small disk for the full-disk tests: a tmpfs mounted under the test's tmp_path
(root on Linux only; otherwise the test is skipped) and a filler leaving a given space."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def small_disk(tmp_path: Path, size: str) -> Iterator[Path]:
    """Generator for a fixture: a tmpfs of ``size`` (e.g. "2M") at tmp_path/disk."""
    if not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount")):
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path, free_bytes: int) -> Path:
    """Leave about ``free_bytes`` free on the tmpfs (pages of 4 KiB); returns the filler."""
    filler = mnt / "filler"
    st = os.statvfs(mnt)
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - free_bytes))
    return filler
