"""Sweep runner: same numbers from every back end, resume after a kill or Ctrl-C with exactly
the missing tasks, refusal of foreign/corrupt/other-sweep stores (left byte-identical)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from linksim.app.commands.common import sweep_options
from linksim.runtime import sweep
from linksim.runtime.store import SweepStoreError
from linksim.runtime.sweep import SweepError, Task, run_sweep
from linksim.scenario import Stream, drop_rng

TESTS_DIR = Path(__file__).resolve().parent
LOG_ENV = "LINKSIM_TEST_SWEEP_LOG"          # the toy task appends "<pid> <key json>" here
EXIT_ENV = "LINKSIM_TEST_SWEEP_EXIT_AT"     # os._exit(3) once the log holds this many lines
SLEEP_ENV = "LINKSIM_TEST_SWEEP_SLEEP_S"    # seconds each task sleeps
GATE_ENV = "LINKSIM_TEST_SWEEP_GATE"        # tasks of drop >= 2 wait until this file exists
COMMIT_ENV = "LINKSIM_TEST_SWEEP_COMMITS"   # the child appends a line per committed task
GATE_MAX_S = 30.0                           # a gated task waits at most this long
COMMIT_DELAY_ENV = "LINKSIM_TEST_SWEEP_COMMIT_DELAY_S"  # the child's commits take this long
SEED = 7
HOLD_STORE_OPEN = ("import sys, time\n"
                   "from linksim.runtime.store import SweepStore\n"
                   "s = SweepStore.open(sys.argv[1], {'name': 'toy'})\n"
                   "print('open', flush=True); time.sleep(60)")
SWEEP_ID = {"name": "toy", "seed": SEED, "config": {"num_users": 4}, "version": "test"}


# The README example ("On a Dask cluster"): the python block that starts with the
# sweep_demo.py docstring, read from README.md itself so the two cannot drift apart.
def _readme_example() -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index('```python\n"""sweep_demo.py') + len("```python\n")
    return text[start:text.index("```", start)]


README_EXAMPLE = _readme_example()


def _log_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


def toy_task(key: dict) -> dict:
    """A top-level task: draws from drop_rng(seed, drop, 0), some linear algebra and FFTs."""
    log = os.environ.get(LOG_ENV)
    exit_at = os.environ.get(EXIT_ENV)
    if log and exit_at and len(_log_lines(log)) >= int(exit_at):
        os._exit(3)
    rng = drop_rng(key["seed"], key["drop"], Stream.GEOMETRY)
    h = rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))
    gains = np.linalg.svd(h, compute_uv=False)
    snr = 10.0 ** (key["power_dbw"] / 10.0)
    rate = np.log2(1.0 + snr * gains**2)
    spectrum = np.fft.fft(rng.standard_normal(64))
    time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
    gate = os.environ.get(GATE_ENV)
    if gate and key["drop"] >= 2:  # held back so that a run cannot finish before its Ctrl-C
        deadline = time.monotonic() + GATE_MAX_S
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {json.dumps(key, sort_keys=True)}\n")
    return {"rate": rate, "sum_rate": float(rate.sum()), "h": h, "spectrum": spectrum,
            "drop": int(key["drop"]), "peak": np.float32(np.abs(spectrum).max()),
            "method": key["method"]}


def failing_task(key: dict) -> dict:
    if key["drop"] == 2:
        raise RuntimeError("boom")
    return {"x": float(key["drop"])}


def bad_result_task(key: dict) -> dict:
    return {"x": np.array(["a", "b"])}


def must_not_run(key: dict) -> dict:
    raise AssertionError("a task ran although the store was refused")


def numba_threads_task(key: dict) -> dict:
    import numba

    return {"threads": numba.get_num_threads(), "env": int(os.environ["NUMBA_NUM_THREADS"])}


def make_tasks(num_drops: int = 4) -> list[Task]:
    return [Task({"seed": SEED, "drop": d, "power_dbw": p, "method": "ms-jocdwm"})
            for d in range(num_drops) for p in (-10.0, 0.0, 10.0)]


def assert_same_results(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for task, result in a.items():
        assert result.keys() == b[task].keys()
        for name, value in result.items():
            other = b[task][name]
            assert type(value) is type(other), (task, name)
            assert np.asarray(value).dtype == np.asarray(other).dtype, (task, name)
            assert np.array_equal(value, other), (task, name)


def stored_keys(path: Path) -> set[str]:
    """Canonical key JSON of every committed task in a store (read-only; none when the run
    removed the store it created because no task was committed)."""
    if not Path(path).exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return {row[0] for row in conn.execute("SELECT key FROM tasks")}


@pytest.fixture(scope="module")
def reference() -> dict:
    return run_sweep(toy_task, make_tasks(), backend="inprocess", progress=False)


@pytest.fixture(scope="module")
def dask_cluster():
    """The README example: a two-worker LocalCluster on loopback."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        yield cluster


@pytest.fixture
def clean_env(monkeypatch):
    for name in (LOG_ENV, EXIT_ENV, SLEEP_ENV, GATE_ENV, COMMIT_ENV, COMMIT_DELAY_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class TestTask:
    def test_equal_whatever_the_order_of_names(self):
        a = Task({"drop": 3, "power_dbw": -10.0})
        b = Task([("power_dbw", -10.0), ("drop", 3)])
        assert a == b and hash(a) == hash(b) and a.digest == b.digest
        assert a.key_json == '{"drop":3,"power_dbw":-10.0}'

    def test_int_and_float_are_different_keys(self):
        assert Task({"p": 1}) != Task({"p": 1.0})

    def test_numpy_scalars_and_lists_normalised(self):
        t = Task({"drop": np.int64(2), "p": np.float32(0.5), "beams": [1, 2]})
        assert t.params() == {"drop": 2, "p": 0.5, "beams": (1, 2)}
        assert type(t.params()["drop"]) is int

    def test_key_is_read_only(self):
        t = Task({"drop": 1})
        with pytest.raises(TypeError):
            t.key["drop"] = 2

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {"a": 1}])
    def test_unsupported_values_refused(self, bad):
        with pytest.raises((TypeError, ValueError)):
            Task({"x": bad})

    def test_duplicate_tasks_refused(self):
        with pytest.raises(ValueError, match="appears twice"):
            run_sweep(toy_task, [{"drop": 1}, {"drop": 1}], progress=False)


class TestBackendsGiveIdenticalNumbers:
    def test_two_processes(self, reference, clean_env):
        got = run_sweep(toy_task, make_tasks(), backend="processes", workers=2, progress=False)
        assert sweep.last_run_stats.backend == "processes"
        assert sweep.last_run_stats.workers == 2
        assert_same_results(reference, got)

    def test_dask_local_cluster_by_address(self, reference, dask_cluster):
        got = run_sweep(toy_task, make_tasks(), scheduler=dask_cluster.scheduler_address,
                        progress=False)
        assert sweep.last_run_stats.backend == "dask"
        assert sweep.last_run_stats.workers == 2
        assert_same_results(reference, got)

    def test_dask_scheduler_local_starts_its_own_cluster(self, reference, tmp_path):
        pytest.importorskip("distributed")
        store = tmp_path / "s.sqlite"
        got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                        scheduler="local", workers=2, progress=False)
        assert sweep.last_run_stats.backend == "dask"
        assert_same_results(reference, got)
        again = run_sweep(must_not_run, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                          progress=False)
        assert_same_results(reference, again)

    def test_store_round_trip_is_bit_identical(self, reference, tmp_path):
        store = tmp_path / "s.sqlite"
        run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                  backend="inprocess", progress=False)
        loaded = run_sweep(must_not_run, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                           progress=False)
        stats = sweep.last_run_stats
        assert (stats.cached, stats.computed, stats.backend) == (12, 0, "none")
        assert_same_results(reference, loaded)

    def test_results_ordered_by_task_list(self, reference):
        tasks = list(reversed(make_tasks()))
        got = run_sweep(toy_task, tasks, backend="processes", workers=2, progress=False)
        assert list(got) == tasks


class TestThreads:
    def test_auto_backend(self):
        assert sweep._resolve_backend("auto", 2, None, None) == "inprocess"
        assert sweep._resolve_backend("auto", 10, 1, None) == "inprocess"
        assert sweep._resolve_backend("auto", 10, 3, None) == "processes"
        assert sweep._resolve_backend("auto", 1, None, "local") == "dask"
        with pytest.raises(ValueError, match="scheduler"):
            sweep._resolve_backend("processes", 10, None, "local")

    def test_workers_times_threads_within_cores(self):
        for cores in (1, 2, 16):
            for workers in (1, 2, 3, 16):
                t = sweep.threads_per_worker(workers, cores)
                assert t >= 1 and (workers * t <= cores or t == 1)

    def test_process_workers_get_their_share_of_numba_threads(self, clean_env):
        got = run_sweep(numba_threads_task, [{"i": i} for i in range(2)],
                        backend="processes", workers=2, progress=False)
        expected = sweep.threads_per_worker(2)
        assert all(r["threads"] == expected and r["env"] == expected for r in got.values())

    def test_dask_workers_get_their_share_of_numba_threads(self, dask_cluster):
        got = run_sweep(numba_threads_task, [{"i": i} for i in range(2)],
                        scheduler=dask_cluster.scheduler_address, progress=False)
        expected = sweep.threads_per_worker(2)
        assert sweep.last_run_stats.threads_per_worker == expected
        assert all(r["threads"] == expected for r in got.values())


class TestResume:
    def _child(self, store: Path, *, backend: str, workers: int, env: dict[str, str]):
        code = ("import sys, test_sweep as t\n"
                "sys.exit(t.child_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))\n")
        child_env = {**os.environ, **env,
                     "PYTHONPATH": os.pathsep.join([str(TESTS_DIR),
                                                    os.environ.get("PYTHONPATH", "")])}
        return subprocess.Popen([sys.executable, "-c", code, str(store), backend, str(workers)],
                                env=child_env, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def test_killed_run_restarts_with_exactly_the_missing_tasks(self, reference, tmp_path,
                                                                clean_env):
        store, log = tmp_path / "s.sqlite", tmp_path / "first.log"
        proc = self._child(store, backend="inprocess", workers=1,
                           env={LOG_ENV: str(log), EXIT_ENV: "5"})
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, err
        first = stored_keys(store)
        assert len(first) == 5 and len(_log_lines(log)) == 5

        log2 = tmp_path / "second.log"
        clean_env.setenv(LOG_ENV, str(log2))
        got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                        backend="processes", workers=2, progress=False)
        stats = sweep.last_run_stats
        assert (stats.cached, stats.computed) == (5, 7)
        ran = {Task(json.loads(line.split(" ", 1)[1])).key_json for line in _log_lines(log2)}
        assert len(_log_lines(log2)) == 7
        assert ran == {t.key_json for t in make_tasks()} - first
        assert_same_results(reference, got)

    def test_dead_worker_process_keeps_finished_tasks(self, reference, tmp_path, clean_env):
        store, log = tmp_path / "s.sqlite", tmp_path / "first.log"
        clean_env.setenv(LOG_ENV, str(log))
        clean_env.setenv(EXIT_ENV, "4")
        with pytest.raises(SweepError, match="worker process died"):
            run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                      backend="processes", workers=2, progress=False)
        assert sweep.last_run_stats.interrupted
        first = stored_keys(store)
        assert 1 <= len(first) == sweep.last_run_stats.computed <= len(_log_lines(log))

        clean_env.delenv(EXIT_ENV)
        clean_env.setenv(LOG_ENV, str(tmp_path / "second.log"))
        got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                        backend="inprocess", progress=False)
        assert sweep.last_run_stats.computed == 12 - len(first)
        assert len(_log_lines(tmp_path / "second.log")) == 12 - len(first)
        assert_same_results(reference, got)

    @pytest.mark.parametrize("backend, commit_delay_s", [("processes", 0.0), ("dask", 0.0),
                                                         ("processes", 1.5)])
    def test_ctrl_c_stops_workers_and_keeps_a_valid_store(self, backend, commit_delay_s,
                                                          reference, tmp_path, clean_env):
        if backend == "dask":
            pytest.importorskip("distributed")
        # Robust under load: the Ctrl-C is sent once the parent has COMMITTED a task (its
        # own signal, not a fixed sleep), while the tasks of drops 2-3 are held back by a
        # gate that is never opened, so the run cannot finish first; timeouts are generous.
        # commit_delay_s: every commit takes that long (a loaded disk's fsync), so that a
        # wait for anything but the commit itself would send the Ctrl-C too early.
        store, log = tmp_path / "s.sqlite", tmp_path / "first.log"
        commits, gate = tmp_path / "commits.log", tmp_path / "gate-never-opened"
        proc = self._child(store, backend=backend, workers=2,
                           env={LOG_ENV: str(log), SLEEP_ENV: "0.3", GATE_ENV: str(gate),
                                COMMIT_ENV: str(commits),
                                COMMIT_DELAY_ENV: str(commit_delay_s)})
        deadline = time.monotonic() + 240
        while not _log_lines(commits) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None and _log_lines(commits), \
            f"no task committed in time (rc {proc.poll()})"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 130, err
        assert "interrupted; finished results are kept" in err, err
        assert "Traceback" not in err, err
        first = stored_keys(store)
        assert 1 <= len(first) <= 6, err  # drops 0-1 only: the gated ones never finished
        assert len(first) >= len(_log_lines(commits)), err  # every signalled commit kept
        worker_pids = {int(line.split()[0]) for line in _log_lines(log)}
        assert proc.pid not in worker_pids
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in worker_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in worker_pids), err

        got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                        backend="inprocess", progress=False)
        assert sweep.last_run_stats.computed == 12 - len(first)
        assert_same_results(reference, got)

    @pytest.mark.parametrize("backend", ["processes", "dask"])
    def test_sigkill_keeps_store_and_leaves_no_workers(self, backend, reference, tmp_path,
                                                        clean_env):
        if backend == "dask":
            pytest.importorskip("distributed")
        store, log = tmp_path / "s.sqlite", tmp_path / "first.log"
        proc = self._child(store, backend=backend, workers=2,
                           env={LOG_ENV: str(log), SLEEP_ENV: "0.2"})
        deadline = time.monotonic() + 60
        while len(_log_lines(log)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=30)
        worker_pids = {int(line.split()[0]) for line in _log_lines(log)}
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in worker_pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in worker_pids)
        proc.stderr.close()
        first = stored_keys(store)
        assert 1 <= len(first) < 12

        got = run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                        backend="inprocess", progress=False)
        assert sweep.last_run_stats.computed == 12 - len(first)
        assert_same_results(reference, got)

    def test_missing_row_is_recomputed(self, tmp_path, clean_env):
        store = tmp_path / "s.sqlite"
        tasks = make_tasks(1)
        run_sweep(toy_task, tasks, store_path=store, sweep_id=SWEEP_ID, progress=False)
        with contextlib.closing(sqlite3.connect(store)) as conn, conn:
            conn.execute("DELETE FROM tasks WHERE digest = ?", (tasks[1].digest,))
        run_sweep(toy_task, tasks, store_path=store, sweep_id=SWEEP_ID, progress=False)
        assert (sweep.last_run_stats.cached, sweep.last_run_stats.computed) == (2, 1)
        assert len(stored_keys(store)) == 3


def child_main(store: str, backend: str, workers: int) -> int:
    """Entry of the subprocess runs (what the CLI does around run_sweep)."""
    scheduler = "local" if backend == "dask" else None
    commits = os.environ.get(COMMIT_ENV)
    delay_s = float(os.environ.get(COMMIT_DELAY_ENV, "0"))
    if commits or delay_s:  # signal each commit to the test (the store is locked while in
        from linksim.runtime.store import SweepStore  # use); a slow disk's fsync: delay_s

        write = SweepStore.write

        def signalling_write(self, *args, **kwargs):
            time.sleep(delay_s)
            write(self, *args, **kwargs)
            if commits:
                with open(commits, "a") as f:
                    f.write("committed\n")

        SweepStore.write = signalling_write
    try:
        run_sweep(toy_task, make_tasks(), store_path=store, sweep_id=SWEEP_ID,
                  backend=backend, workers=workers, scheduler=scheduler, progress=False)
    except KeyboardInterrupt:
        print("interrupted; finished results are kept", file=sys.stderr)
        return 130
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and \
        Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


class TestStoreRefusal:
    def _refused(self, path: Path, sweep_id: dict, match: str) -> None:
        before, mtime = path.read_bytes(), path.stat().st_mtime_ns
        with pytest.raises(SweepStoreError, match=match) as info:
            run_sweep(must_not_run, make_tasks(1), store_path=path, sweep_id=sweep_id,
                      progress=False)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime

    def test_foreign_hdf5_file(self, tmp_path):
        path = tmp_path / "other.h5"
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(10)
            f.attrs["owner"] = "someone else"
        self._refused(path, SWEEP_ID, "not a linksim sweep store .an HDF5 file")

    def test_foreign_sqlite_database(self, tmp_path):
        path = tmp_path / "other.sqlite"
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("CREATE TABLE t(x)")
        self._refused(path, SWEEP_ID, "SQLite database but not a linksim sweep store")

    def test_random_bytes(self, tmp_path):
        path = tmp_path / "junk.h5"
        path.write_bytes(np.random.default_rng(0).bytes(4096))
        self._refused(path, SWEEP_ID, "not a linksim sweep store .not an SQLite database")

    def test_truncated_store(self, tmp_path):
        path = tmp_path / "s.sqlite"
        run_sweep(toy_task, make_tasks(1), store_path=path, sweep_id=SWEEP_ID, progress=False)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        self._refused(path, SWEEP_ID, "corrupt")

    def test_tampered_task_key_is_recomputed(self, tmp_path, clean_env, capsys):
        path = tmp_path / "s.sqlite"
        tasks = make_tasks(1)
        ref = run_sweep(toy_task, tasks, store_path=path, sweep_id=SWEEP_ID, progress=False)
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE tasks SET key = ? WHERE digest = ?",
                         (tasks[1].key_json, tasks[0].digest))
        capsys.readouterr()
        got = run_sweep(toy_task, tasks, store_path=path, sweep_id=SWEEP_ID, progress=False)
        stats = sweep.last_run_stats
        assert (stats.cached, stats.computed, stats.corrupt) == (2, 1, 1)
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"linksim: sweep store {path}: 1 stored task(s) failed their checksum "
                       "and are recomputed"]
        assert_same_results(ref, got)

    def test_store_of_another_sweep(self, tmp_path, clean_env):
        path = tmp_path / "s.sqlite"
        run_sweep(toy_task, make_tasks(1), store_path=path, sweep_id=SWEEP_ID, progress=False)
        self._refused(path, {**SWEEP_ID, "seed": SEED + 1}, "another sweep.*seed")

    def test_store_in_use_by_another_process(self, tmp_path):
        path = tmp_path / "s.sqlite"
        run_sweep(toy_task, make_tasks(1), store_path=path, sweep_id={"name": "toy"},
                  progress=False)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_STORE_OPEN, str(path)],
            stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "open"
            with pytest.raises(SweepStoreError, match="in use by another process"):
                run_sweep(must_not_run, make_tasks(1), store_path=path,
                          sweep_id={"name": "toy"}, progress=False)
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()

    def test_sweep_id_required_with_a_store(self, tmp_path):
        with pytest.raises(ValueError, match="sweep_id"):
            run_sweep(toy_task, make_tasks(1), store_path=tmp_path / "s.sqlite", progress=False)
        assert not (tmp_path / "s.sqlite").exists()


class TestFailures:
    def test_failing_task_keeps_finished_ones(self, tmp_path):
        store = tmp_path / "s.sqlite"
        tasks = [{"drop": d} for d in range(4)]
        with pytest.raises(SweepError, match='task {"drop":2} failed: RuntimeError: boom'):
            run_sweep(failing_task, tasks, store_path=store, sweep_id=SWEEP_ID,
                      backend="inprocess", progress=False)
        assert len(stored_keys(store)) == 2

    def test_failing_task_on_workers(self, tmp_path, dask_cluster):
        tasks = [{"drop": d} for d in range(4)]
        for kwargs in ({"backend": "processes", "workers": 2},
                       {"scheduler": dask_cluster.scheduler_address}):
            store = tmp_path / f"{len(kwargs)}.sqlite"
            with pytest.raises(SweepError, match='task {"drop":2} failed: RuntimeError: boom'):
                run_sweep(failing_task, tasks, store_path=store, sweep_id=SWEEP_ID,
                          progress=False, **kwargs)
            assert sweep.last_run_stats.interrupted
            assert len(stored_keys(store)) == sweep.last_run_stats.computed <= 3

    def test_bad_result_refused(self):
        with pytest.raises(SweepError, match="bad result"):
            run_sweep(bad_result_task, [{"drop": 0}], progress=False)


class TestProgressAndOptions:
    def test_progress_bar_on_a_terminal(self, capsys, monkeypatch):
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        run_sweep(failing_task, [{"drop": 0}, {"drop": 1}], label="toy", progress=True)
        err = capsys.readouterr().err
        assert "toy" in err and "2/2" in err and "ETA" in err

    def test_sweep_options(self):
        @click.command()
        @sweep_options
        def cmd(workers, scheduler):
            click.echo(f"{workers} {scheduler}")

        runner = CliRunner()
        assert runner.invoke(cmd, []).output.strip() == "None None"
        assert runner.invoke(cmd, ["--workers", "2", "--scheduler", "local"]).output.strip() \
            == "2 local"
        assert runner.invoke(cmd, ["--workers", "0"]).exit_code == 2


class TestReadmeExample:
    def test_two_worker_local_cluster_example(self, tmp_path):
        pytest.importorskip("distributed")
        script = tmp_path / "sweep_demo.py"
        script.write_text(README_EXAMPLE)
        out = subprocess.run([sys.executable, str(script)], check=False, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        sys.path.insert(0, str(tmp_path))
        try:
            import sweep_demo
        finally:
            sys.path.remove(str(tmp_path))
        tasks = [Task({"seed": 1, "drop": d, "power_dbw": p})
                 for d in range(8) for p in (-10.0, 0.0, 10.0)]
        local = run_sweep(sweep_demo.drop_task, tasks, backend="inprocess", progress=False)
        mean = np.mean([r["sum_rate"] for r in local.values()])
        assert out.stdout.strip() == (f"24 tasks, 24 computed on 2 workers, "
                                      f"mean sum rate {mean:.6f} bit/s/Hz")
        stored = run_sweep(must_not_run, tasks, store_path=tmp_path / "demo.sqlite",
                           sweep_id={"name": "demo", "seed": 1}, progress=False)
        assert_same_results(local, stored)
