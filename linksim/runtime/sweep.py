"""One sweep runner for ``figure``, ``validate``, ``dataset`` and ``emulate --drops``.

A sweep is a list of :class:`Task` (one per drop and parameter point) and a top-level task
function ``func(key: dict) -> dict[str, ndarray | scalar]`` that derives all its randomness
from the key (``drop_rng(key["seed"], key["drop"], stream)``). :func:`run_sweep` runs the
tasks that are not yet in the store (:mod:`linksim.runtime.store`: an SQLite task ledger, one
transaction and one checksum per task), on one of three back ends, commits each result to
the store as it finishes, and returns every result ordered by the task list::

    results = run_sweep(run_drop, [Task({"seed": 1, "drop": d, "power_dbw": p})
                                   for d in range(100) for p in (-10.0, 0.0)],
                        store_path="out/fig5.store.sqlite",
                        sweep_id={"name": "fig5", "seed": 1, "config": cfg.to_dict(),
                                  "version": linksim.__version__})

Back ends: ``"inprocess"``; ``"processes"`` (a spawn-context ProcessPoolExecutor of
``workers`` processes); ``"dask"`` (``scheduler="tcp://host:port"`` for a running cluster,
``"local"`` to start a loopback LocalCluster of ``workers`` processes). ``"auto"`` picks
dask when a scheduler is given, in-process for <= 2 tasks to run or ``workers == 1``, and
processes otherwise. Each worker process gets ``cores // workers`` numba (and BLAS/OpenMP)
threads so that workers x threads <= cores.

Results are bit-identical whatever the back end and worker count, provided the task
function uses only its key (no global RNG, no state carried between tasks) and its numeric
kernels do not depend on the thread count (no thread-count-dependent parallel reductions).

Only the parent process touches the store. Ctrl-C cancels pending tasks, stops the workers,
leaves the store consistent (every finished task kept) and re-raises KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from linksim.runtime.progress import Progress
from linksim.runtime.store import (
    SweepStore,
    SweepStoreError,
    canonical_json,
    defer_sigint,
    key_digest,
    normalise_result,
)

__all__ = [
    "SweepError",
    "SweepStats",
    "SweepStoreError",
    "Task",
    "last_run_stats",
    "run_sweep",
]

BACKENDS = ("auto", "inprocess", "processes", "dask")
_THREAD_ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class SweepError(RuntimeError):
    """A task failed or a worker died; the finished tasks are kept in the store."""


def _normalise_param(name: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"task key {name!r}: {value} is not a finite number")
        return value
    import numpy as np

    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _normalise_param(name, float(value))
    if isinstance(value, (list, tuple)):
        return tuple(_normalise_param(name, v) for v in value)
    raise TypeError(f"task key {name!r}: {type(value).__name__} is not a JSON scalar or list")


@dataclass(frozen=True, eq=False)
class Task:
    """One task of a sweep: a drop at one parameter point.

    Parameters
    ----------
    key : Mapping[str, str | int | float | bool | None | tuple]
        The task's parameters, e.g. ``{"seed": 1, "drop": 3, "power_dbw": -10.0,
        "method": "ms-jocdwm"}``; also accepted as a sequence of (name, value) pairs.
        Lists become tuples, numpy scalars Python scalars; floats must be finite.
        ``1`` and ``1.0`` are different keys (their JSON differs).

    Two tasks are equal when their canonical JSON (sorted names) is equal; the store names
    a task's group by the SHA-256 of that JSON (:attr:`digest`).
    """

    key: Mapping[str, Any]
    key_json: str = field(init=False, repr=False)
    digest: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        items = self.key.items() if isinstance(self.key, Mapping) else self.key
        params: dict[str, Any] = {}
        for name, value in items:
            if not isinstance(name, str) or not name:
                raise TypeError(f"task key names must be non-empty strings, got {name!r}")
            if name in params:
                raise ValueError(f"task key name {name!r} given twice")
            params[name] = _normalise_param(name, value)
        if not params:
            raise ValueError("a task key needs at least one parameter")
        key_json = canonical_json(params)
        object.__setattr__(self, "key", MappingProxyType(params))
        object.__setattr__(self, "key_json", key_json)
        object.__setattr__(self, "digest", key_digest(key_json))

    def __repr__(self) -> str:
        return f"Task({self.key_json})"

    def params(self) -> dict[str, Any]:
        """A fresh dict of the parameters: what the task function receives."""
        return dict(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.key_json == self.key_json

    def __hash__(self) -> int:
        return hash(self.key_json)


@dataclass
class SweepStats:
    """What the last :func:`run_sweep` did (also set when it was interrupted or failed).

    Attributes
    ----------
    total : int          tasks in the sweep
    cached : int         tasks already complete in the store (not computed)
    computed : int       tasks computed and written by this run
    backend : str        back end used ("none" when nothing had to run)
    workers : int        worker processes (1 in-process; the cluster's for dask)
    threads_per_worker : int | None  numba/BLAS threads per worker (None: left as is)
    elapsed_s : float    wall time of the run
    interrupted : bool   stopped by Ctrl-C or a failure before all tasks finished
    corrupt : int        stored tasks that failed their checksum and were recomputed
    """

    total: int = 0
    cached: int = 0
    computed: int = 0
    backend: str = "none"
    workers: int = 1
    threads_per_worker: int | None = None
    elapsed_s: float = 0.0
    interrupted: bool = False
    corrupt: int = 0


last_run_stats: SweepStats | None = None
"""Statistics of the most recent :func:`run_sweep` call in this process."""


def store_path_for(out_dir: str | Path, name: str, sweep_id: Mapping[str, Any]) -> Path:
    """The store of sweep ``sweep_id`` in ``out_dir``: ``<name>.store-<12 hex>.sqlite``.

    The suffix is the SHA-256 of the sweep identity's canonical JSON, so a run with another
    seed or config gets its own store beside the first (both resumable) instead of a refusal,
    and a rerun of the same command finds its own.
    """
    from linksim.runtime.store import canonical_json, key_digest

    digest = key_digest(canonical_json(dict(sweep_id)))[:12]
    return Path(out_dir) / f"{name}.store-{digest}.sqlite"


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Numba/BLAS threads per worker so that workers x threads <= cores (at least 1)."""
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, workers))


def _set_worker_threads(threads: int | None) -> None:
    """Limit numba (and, before numpy's first import, BLAS/OpenMP) threads in this process."""
    if threads is None:
        return
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    else:
        current = os.environ.get("NUMBA_NUM_THREADS")
        if not (current and current.isdigit() and 0 < int(current) <= threads):
            os.environ["NUMBA_NUM_THREADS"] = str(threads)


def _worker_initializer(threads: int | None, parent_pid: int) -> None:
    """ProcessPoolExecutor initializer: Ctrl-C is the parent's business; limit threads; exit
    with the parent (a SIGKILLed parent would leave its pool workers waiting forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_worker_threads(threads)
    _exit_with_parent(parent_pid)


def _call_task(func: Callable[[dict[str, Any]], Any], params: dict[str, Any],
               threads: int | None) -> Any:
    """Run one task in a worker (top-level so it pickles); numba threads are thread-local."""
    from linksim.runtime.allocator import keep_freed_memory

    _set_worker_threads(threads)
    keep_freed_memory()                  # once per process: freed drop buffers are reused
    return func(params)


@contextlib.contextmanager
def _workers_start_deaf_to_sigint() -> Iterator[None]:
    """Start worker processes with SIGINT blocked; a Ctrl-C meanwhile is raised afterwards.

    Processes started from this thread inside the block (the process pool's) inherit the
    blocked SIGINT, so a terminal Ctrl-C, which reaches the whole process group, cannot hit
    them while they start (their initializer then ignores SIGINT) and the parent alone stops
    them. The parent records a Ctrl-C pressed meanwhile and raises KeyboardInterrupt when the
    block ends (after a local Dask cluster has started, so it can be closed; its nannies
    start the workers from their own threads, so a Ctrl-C in that second may also make a
    starting worker print a traceback). Main thread only; elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with defer_sigint():
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Env:
    """Set environment variables for child processes started inside the block."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> Self:
        for name, value in self._values.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value
        return self

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _thread_env(threads: int) -> dict[str, str]:
    return {name: str(threads) for name in _THREAD_ENV}


def _resolve_backend(backend: str, n_todo: int, workers: int | None,
                     scheduler: str | None) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if scheduler is not None and backend not in ("auto", "dask"):
        raise ValueError(f"scheduler={scheduler!r} needs backend 'dask' or 'auto', "
                         f"got {backend!r}")
    if backend != "auto":
        return backend
    if scheduler is not None:
        return "dask"
    if n_todo <= 2 or workers == 1 or (workers is None and available_cores() == 1):
        return "inprocess"
    return "processes"


def run_sweep(func: Callable[[dict[str, Any]], Mapping[str, Any]],
              tasks: Iterable[Task | Mapping[str, Any]], *,
              store_path: str | Path | None = None,
              sweep_id: Mapping[str, Any] | None = None,
              backend: str = "auto",
              workers: int | None = None,
              scheduler: str | None = None,
              progress: bool = True,
              label: str = "") -> dict[Task, dict[str, Any]]:
    """Run every task not yet in the store and return all results in task order.

    Parameters
    ----------
    func : Callable[[dict], dict]
        A top-level (importable, picklable) function of the task parameters returning a
        dict of numpy arrays (bool/int/float/complex), numpy scalars, ints, floats, bools,
        complexes or strs. It must derive all randomness from its key (via the seed).
    tasks : Iterable[Task | Mapping]
        The tasks; mappings are turned into :class:`Task`. Duplicates raise ``ValueError``.
    store_path : str | Path | None
        Task ledger (SQLite, ``*.sqlite``). Each finished task is committed (one fsynced
        transaction) as it completes; tasks stored there are loaded (checksum verified), not
        computed; a task failing its checksum is recomputed (one line on stderr).
        None: results are only returned.
    sweep_id : Mapping[str, Any] | None
        JSON-able identity of the sweep, required with ``store_path`` (name, seed, config
        dict, code version, ...); a store with a different identity is refused.
    backend : str
        "auto" | "inprocess" | "processes" | "dask".
    workers : int | None
        Worker processes (processes, dask "local"); None: one per core.
    scheduler : str | None
        Dask scheduler address ("tcp://host:port") or "local" (start a LocalCluster).
    progress : bool
        Show the progress bar on stderr (when it is a terminal).
    label : str
        Text in front of the progress bar.

    Returns
    -------
    dict[Task, dict[str, Any]]
        Result of every task, ordered by ``tasks``; computed and loaded results are
        bit-identical. :data:`last_run_stats` tells how many were computed.

    Raises
    ------
    SweepStoreError
        The store is foreign, corrupt, of another sweep or in use (the file is untouched);
        its subclass StoreWriteError when a commit failed (disk full, I/O error: the tasks
        committed before are kept).
    SweepError
        A task raised or a worker died (finished tasks are kept).
    KeyboardInterrupt
        Ctrl-C, after pending tasks were cancelled, workers stopped and the store closed.
    """
    global last_run_stats
    t0 = time.monotonic()
    task_list = [t if isinstance(t, Task) else Task(t) for t in tasks]
    seen: set[Task] = set()
    for task in task_list:
        if task in seen:
            raise ValueError(f"task {task.key_json} appears twice in the sweep")
        seen.add(task)
    if not callable(func):
        raise TypeError("func must be a top-level function of the task parameters")
    if store_path is not None and sweep_id is None:
        raise ValueError("sweep_id is required with store_path (name, seed, config, ...)")
    _resolve_backend(backend, len(task_list), workers, scheduler)
    stats = SweepStats(total=len(task_list))
    last_run_stats = stats
    store = SweepStore.open(store_path, sweep_id) if store_path is not None else None
    results: dict[Task, dict[str, Any]] = {}
    try:
        todo: list[Task] = []
        for task in task_list:
            if store is not None and store.has(task.digest):
                loaded = store.load(task.digest)
                if loaded is not None:
                    results[task] = loaded
                    continue
                stats.corrupt += 1
            todo.append(task)
        stats.cached = len(task_list) - len(todo)
        if stats.corrupt:
            print(f"linksim: sweep store {store.path}: {stats.corrupt} stored task(s) failed "
                  "their checksum and are recomputed", file=sys.stderr, flush=True)
        if todo:
            chosen = _resolve_backend(backend, len(todo), workers, scheduler)
            stats.backend = chosen

            def record(task: Task, raw: Any) -> None:
                try:
                    result = normalise_result(raw)
                except (TypeError, ValueError) as exc:
                    raise SweepError(f"task {task.key_json} returned a bad result: {exc}") \
                        from None
                if store is not None:
                    store.write(task.digest, task.key_json, result)
                results[task] = result
                stats.computed += 1
                bar.update()

            text = label or "sweep"
            if stats.cached:
                text += f" ({stats.cached} in store)"
            with Progress(len(todo), text, enabled=None if progress else False) as bar:
                try:
                    if chosen == "inprocess":
                        _run_inprocess(func, todo, record)
                    elif chosen == "processes":
                        _run_processes(func, todo, record, workers, stats)
                    else:
                        _run_dask(func, todo, record, workers, scheduler or "local", stats)
                except BaseException:
                    stats.interrupted = True
                    raise
    finally:
        if store is not None:
            store.close()
        stats.elapsed_s = time.monotonic() - t0
    return {task: results[task] for task in task_list}


def _run_inprocess(func: Callable, todo: Sequence[Task],
                   record: Callable[[Task, Any], None]) -> None:
    for task in todo:
        try:
            raw = func(task.params())
        except Exception as exc:
            raise SweepError(f"task {task.key_json} failed: {_describe(exc)}") from exc
        record(task, raw)


def _run_processes(func: Callable, todo: Sequence[Task], record: Callable[[Task, Any], None],
                   workers: int | None, stats: SweepStats) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    n = min(workers or available_cores(), len(todo))
    threads = threads_per_worker(n)
    stats.workers, stats.threads_per_worker = n, threads
    ctx = multiprocessing.get_context("spawn")
    with _Env(_thread_env(threads)):
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx,
                                   initializer=_worker_initializer,
                                   initargs=(threads, os.getpid()))
        clean = False
        try:
            with _workers_start_deaf_to_sigint():
                pending = {pool.submit(_call_task, func, task.params(), threads): task
                           for task in todo}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                failure: BaseException | None = None
                for fut in done:
                    task = pending.pop(fut)
                    exc = fut.exception()
                    if exc is None:
                        record(task, fut.result())
                    elif failure is None:
                        failure = _task_failure(task, exc, len(pending) + 1, stats)
                if failure is not None:
                    raise failure
            clean = True
        finally:
            if clean:
                pool.shutdown(wait=True)
            else:
                _stop_pool(pool)


def _task_failure(task: Task, exc: BaseException, unfinished: int,
                  stats: SweepStats) -> SweepError:
    """The SweepError for a failed task (or a dead worker process)."""
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        err = SweepError(f"a worker process died (killed or out of memory) with {unfinished} "
                         f"tasks unfinished; {stats.computed} finished tasks are kept")
    else:
        err = SweepError(f"task {task.key_json} failed: {_describe(exc)}")
    err.__cause__ = exc
    return err


def _describe(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line, cut to ``limit`` characters (the cause keeps the rest)."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _stop_pool(pool: Any) -> None:
    """Cancel pending work and terminate the worker processes at once."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


def _run_dask(func: Callable, todo: Sequence[Task], record: Callable[[Task, Any], None],
              workers: int | None, scheduler: str, stats: SweepStats) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("the dask back end needs 'dask' and 'distributed' "
                         "(pip install dask distributed)") from None
    import logging

    cluster = None
    client = None
    futures: list[Any] = []
    try:
        if scheduler == "local":
            n = min(workers or available_cores(), len(todo))
            threads = threads_per_worker(n)
            logging.getLogger("distributed").setLevel(logging.WARNING)
            with _workers_start_deaf_to_sigint():
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1",
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       env=_thread_env(threads))
                client = Client(cluster)
                client.run(_local_worker_setup, os.getpid())
        else:
            try:
                client = Client(scheduler, timeout="5s")
                n, threads = _cluster_threads(client)
            except Exception as exc:  # noqa: BLE001  (not a Dask scheduler, or none)
                raise SweepError(f"Dask scheduler {scheduler}: "
                                 f"{' '.join(f'{type(exc).__name__}: {exc}'.split())[:300]}") \
                    from exc
        stats.workers, stats.threads_per_worker = n, threads
        by_future: dict[Any, Task] = {}
        for task in todo:
            fut = client.submit(_call_task, func, task.params(), threads, pure=False)
            by_future[fut] = task
            futures.append(fut)
        for fut in as_completed(futures):
            task = by_future.pop(fut)
            if fut.status == "finished":
                record(task, fut.result())
                fut.release()
                continue
            if fut.status == "cancelled":
                exc: BaseException = RuntimeError("cancelled by the cluster (worker lost?)")
            else:
                exc = fut.exception()
            failure = _task_failure(task, exc, len(by_future) + 1, stats)
            for other, other_task in list(by_future.items()):
                if other.status == "finished":
                    record(other_task, other.result())
            raise failure
    except BaseException:
        if cluster is not None and client is not None:
            with contextlib.suppress(Exception):
                client.run(_quiet_worker_logs)
        raise
    finally:
        if client is not None:
            try:
                if futures:
                    client.cancel([f for f in futures if not f.done()])
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()


def _local_worker_setup(parent_pid: int) -> bool:
    """Run on each local-cluster worker: a terminal Ctrl-C is the parent's business (it stops
    the cluster), and the worker exits with the parent. Returns whether both are in place."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> bool:
    """In a worker process: exit within a second once the sweep's process is gone.

    A SIGKILLed parent takes the pool manager (or the scheduler and nannies of a local
    cluster) with it; its worker processes would wait forever. A daemon thread polls the
    parent pid. Returns whether it watches (False when ``parent_pid`` is not our parent).
    """
    if os.getppid() != parent_pid:
        return False

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="linksim-parent-watch", daemon=True).start()
    return True


def _quiet_worker_logs() -> None:
    """Run on local-cluster workers before an early shutdown: no warnings about cancelled tasks."""
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)


def _cluster_threads(client: Any) -> tuple[int, int]:
    """Workers of a running cluster and the numba threads per task thread (min over hosts)."""
    info = client.scheduler_info()["workers"]
    if not info:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise TimeoutError("no worker connected within 60 s") from None
        info = client.scheduler_info()["workers"]
    cores = client.run(available_cores)
    per_host_threads: dict[str, int] = {}
    per_host_cores: dict[str, int] = {}
    for addr, w in info.items():
        host = w.get("host", addr)
        per_host_threads[host] = per_host_threads.get(host, 0) + int(w.get("nthreads", 1))
        per_host_cores[host] = max(per_host_cores.get(host, 1), int(cores.get(addr, 1)))
    threads = min(max(1, per_host_cores[h] // per_host_threads[h]) for h in per_host_threads)
    return len(info), threads
