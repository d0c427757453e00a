"""The sweep store under faults: ENOSPC/EIO at the n-th write for every n, a crash at (nearly)
every byte of the write-ahead log, a real full disk (tmpfs, root only) and flipped bytes.

Every case checks the same two things: the tasks committed before the fault are all still
there (and only those), and a rerun computes exactly the missing tasks and returns results
bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from linksim.runtime import sweep
from linksim.runtime.store import StoreWriteError, SweepStore, SweepStoreError
from linksim.runtime.sweep import run_sweep

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tmpfs  # noqa: E402
from test_sweep import (  # noqa: E402
    SWEEP_ID,
    assert_same_results,
    make_tasks,
    must_not_run,
    stored_keys,
    toy_task,
)

N_TASKS = len(make_tasks())  # 12


@pytest.fixture(scope="module")
def reference() -> dict:
    return run_sweep(toy_task, make_tasks(), backend="inprocess", progress=False)


def _resume_matches(reference: dict, store: Path, kept: int) -> None:
    got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                    backend="inprocess", progress=False)
    stats = sweep.last_run_stats
    assert (stats.cached, stats.computed, stats.corrupt) == (kept, N_TASKS - kept, 0)
    assert_same_results(reference, got)
    assert len(stored_keys(store)) == N_TASKS


FAULTS = {
    "ENOSPC": (lambda: OSError(errno.ENOSPC, "No space left on device"), "disk full"),
    "EIO": (lambda: OSError(errno.EIO, "Input/output error"), "Input/output error"),
    "SQLITE_FULL": (lambda: sqlite3.OperationalError("database or disk is full"), "disk full"),
    "SQLITE_IOERR": (lambda: sqlite3.OperationalError("disk I/O error"), "Input/output error"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("half_written", [False, True])
def test_fault_at_every_write_keeps_finished_tasks_and_resumes(fault, half_written, reference,
                                                               tmp_path, monkeypatch):
    """The n-th commit fails, for every n = 1..12: n - 1 tasks are kept, one line names the
    store, and a rerun completes to the uninterrupted result. ``half_written``: the failing
    write has already inserted its row in an open transaction (a failure at COMMIT)."""
    make_error, text = FAULTS[fault]
    real_put = SweepStore._put
    for n in range(1, N_TASKS + 1):
        store = tmp_path / f"{n}.sqlite"
        calls = {"n": 0}

        def put(self, *args, _n=n):
            calls["n"] += 1
            if calls["n"] == _n:
                if half_written:
                    self._conn.execute("BEGIN")
                    real_put(self, *args)
                raise make_error()
            return real_put(self, *args)

        monkeypatch.setattr(SweepStore, "_put", put)
        with pytest.raises(StoreWriteError) as info:
            run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                      backend="inprocess", progress=False)
        monkeypatch.setattr(SweepStore, "_put", real_put)
        message = str(info.value)
        assert "\n" not in message and str(store) in message and text in message, message
        assert sweep.last_run_stats.interrupted and sweep.last_run_stats.computed == n - 1
        if n == 1:  # nothing committed: the store this run created is gone
            assert not store.exists()
        else:
            assert len(stored_keys(store)) == n - 1
        _resume_matches(reference, store, n - 1)


def test_crash_at_every_byte_of_the_log(reference, tmp_path):
    """A process killed while appending to the write-ahead log leaves the log cut at some byte.
    Cut a copy at every frame boundary (and the bytes around it) and every 1009th byte: each
    copy opens as a sound store holding a prefix of the committed tasks, monotone in the cut,
    and resumes to the uninterrupted result."""
    path = tmp_path / "live.sqlite"
    tasks = make_tasks()
    store = SweepStore.open(path, SWEEP_ID)
    try:
        for task in tasks:
            store.write(task.digest, task.key_json, reference[task])
        db = path.read_bytes()
        wal = path.with_name(path.name + "-wal").read_bytes()
    finally:
        store.close()
    assert len(wal) > 32 + N_TASKS * 4096  # every commit still in the log (no checkpoint)
    page = int.from_bytes(wal[8:12], "big")
    frame = 24 + page
    cuts = set(range(0, len(wal) + 1, 1009))
    for boundary in range(32, len(wal) + 1, frame):
        cuts |= {boundary - 1, boundary, boundary + 23}
    cuts = sorted(c for c in cuts if 0 <= c <= len(wal))
    previous = -1
    counts = []
    for cut in cuts:
        d = tmp_path / "cut"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        copy = d / "s.sqlite"
        copy.write_bytes(db)
        copy.with_name("s.sqlite-wal").write_bytes(wal[:cut])
        with SweepStore.open(copy, SWEEP_ID) as s:
            loaded = {t: s.load(t.digest) for t in tasks if s.has(t.digest)}
        assert all(v is not None for v in loaded.values())  # no torn task ever loads
        for t, v in loaded.items():
            assert_same_results({t: reference[t]}, {t: v})
        assert len(loaded) >= previous
        assert set(loaded) == set(tasks[:len(loaded)])  # a prefix: commits are in order
        previous = len(loaded)
        counts.append(len(loaded))
    assert counts[0] == 0 and counts[-1] == N_TASKS
    assert len(set(counts)) == N_TASKS + 1  # every number of kept tasks was seen
    # one of the cuts in the middle resumes to the full result
    d = tmp_path / "resume"
    d.mkdir()
    copy = d / "s.sqlite"
    copy.write_bytes(db)
    middle = cuts[len(cuts) // 2]
    copy.with_name("s.sqlite-wal").write_bytes(wal[:middle])
    kept = counts[len(cuts) // 2]
    _resume_matches(reference, copy, kept)


def _blob_offsets(path: Path, result: dict, where: int) -> list[int]:
    """Byte offsets of a task's array data inside the database file (every copy of it: a
    page rewritten by a checkpoint can leave a stale copy in a free page)."""
    raw = np.ascontiguousarray(result["rate"]).tobytes()  # 32 bytes, unique to the task
    data = path.read_bytes()
    found, at = [], data.find(raw)
    while at >= 0:
        found.append(at)
        at = data.find(raw, at + 1)
    assert found
    return [at + (0, 13, 31)[where] for at in found]


@pytest.mark.parametrize("where", [0, 1, 2])
def test_flipped_bytes_are_detected_and_the_task_recomputed(where, reference, tmp_path,
                                                            capsys):
    store = tmp_path / "s.sqlite"
    run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
              backend="inprocess", progress=False)
    victim = make_tasks()[5]
    data = bytearray(store.read_bytes())
    for offset in _blob_offsets(store, reference[victim], where):
        data[offset] ^= 0x10
    store.write_bytes(bytes(data))
    capsys.readouterr()
    got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                    backend="inprocess", progress=False)
    stats = sweep.last_run_stats
    assert (stats.cached, stats.computed, stats.corrupt) == (N_TASKS - 1, 1, 1)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"linksim: sweep store {store}: 1 stored task(s) failed their checksum "
                   "and are recomputed"]
    assert_same_results(reference, got)
    again = run_sweep(must_not_run, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                      progress=False)
    assert sweep.last_run_stats.corrupt == 0
    assert_same_results(reference, again)


def test_flipped_header_byte_in_every_row(reference, tmp_path):
    """A flip in the JSON header of every row's data: all 12 recomputed, never used."""
    store = tmp_path / "s.sqlite"
    run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
              backend="inprocess", progress=False)
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        for digest, data in conn.execute("SELECT digest, data FROM tasks").fetchall():
            data = bytearray(data)
            data[10] ^= 0x01
            conn.execute("UPDATE tasks SET data = ? WHERE digest = ?", (bytes(data), digest))
    got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                    backend="inprocess", progress=False)
    assert (sweep.last_run_stats.corrupt, sweep.last_run_stats.computed) == (N_TASKS, N_TASKS)
    assert_same_results(reference, got)


def test_failing_first_task_leaves_no_store(tmp_path):
    def fail(key):
        raise RuntimeError("boom")

    store = tmp_path / "s.sqlite"
    with pytest.raises(sweep.SweepError):
        run_sweep(fail, [{"drop": 0}], store_path=store, sweep_id=SWEEP_ID,
                  backend="inprocess", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_old_hdf5_store_in_place_is_refused(tmp_path):
    import h5py

    path = tmp_path / "s.sqlite"
    with h5py.File(path, "w") as f:
        f.attrs["linksim_store"] = "sweep"
    with pytest.raises(SweepStoreError, match="not a linksim sweep store .an HDF5 file"):
        run_sweep(must_not_run, make_tasks(1), store_path=path, sweep_id=SWEEP_ID,
                  progress=False)


# ----------------------------------------------------------------------------- a real full disk
@pytest.fixture
def small_disk(tmp_path):
    yield from tmpfs.small_disk(tmp_path, "1M")


def test_real_full_disk_at_many_points(reference, small_disk):
    """A 1 MiB tmpfs filled so that 0, 8, 16, ... 280 KiB stay free: the sweep stops with one
    line naming the store (or finishes); after freeing space the rerun resumes exactly."""
    outcomes = {"failed": 0, "finished": 0}
    kept_seen = set()
    for free_kib in range(0, 288, 8):
        store = small_disk / "s.sqlite"
        filler = tmpfs.fill(small_disk, free_kib * 1024)
        try:
            run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                      backend="inprocess", progress=False)
            outcomes["finished"] += 1
        except StoreWriteError as exc:
            outcomes["failed"] += 1
            assert "\n" not in str(exc) and str(store) in str(exc) and "disk full" in str(exc)
        filler.unlink()
        kept = len(stored_keys(store)) if store.exists() else 0
        kept_seen.add(kept)
        _resume_matches(reference, store, kept)
        for p in small_disk.iterdir():
            p.unlink()
    assert outcomes["failed"] >= 5 and outcomes["finished"] >= 1, outcomes
    assert len(kept_seen) >= 4, kept_seen

