"""The store of a sweep: a transactional task ledger (SQLite, WAL mode), one row per task.

Why not HDF5: HDF5 is not crash-consistent. A failed write (a full disk, an I/O error) leaves
libhdf5's metadata cache inconsistent; the next flush or close can corrupt the file or crash the
process (with HDF5 2.0 a full disk during the old HDF5 store's flush ended in a segmentation
fault). SQLite (standard library) commits a task in one transaction: after ENOSPC, EIO, Ctrl-C
or ``kill -9`` at any byte of a write, the database holds exactly the tasks whose commit
finished, and the next run resumes. The users' results (``emulate.h5``, ``figN.h5``, ...)
stay HDF5, written in memory and then atomically (:mod:`linksim.runtime.atomic`).

Schema (``store_format`` 2)::

    meta(name TEXT PRIMARY KEY, value TEXT)     linksim_store = "sweep", store_format = "2",
                                                sweep_id = canonical JSON of the identity,
                                                created_utc
    tasks(digest TEXT PRIMARY KEY,              SHA-256 hex of the canonical key JSON
          key TEXT, data BLOB, sha256 TEXT,     the result (format below) and the SHA-256 of
          written_utc TEXT)                     digest + key + data, verified on every load

``data`` is a little container: a 4-byte little-endian header length, a JSON header listing
every result entry (name, kind, and for arrays/numpy scalars dtype, shape, offset, nbytes;
Python scalars inline, floats as ``float.hex`` so they round-trip bit for bit), then the raw
array bytes (native order, C-contiguous). A row whose checksum (or key hash) does not match is
never used: :meth:`SweepStore.load` returns None and the sweep recomputes the task and says so
on one line.

Journal: WAL with ``synchronous = FULL`` (every commit is fsynced) and exclusive locking
mode (the WAL index lives in memory, no ``-shm`` file). One process at a time
writes a store: an exclusive ``flock`` on the database file ("in use by another process").
An existing file is opened only after it was checked (read only) to be a sound linksim sweep
store of the same sweep identity; anything else raises :class:`SweepStoreError` and the file is
left byte-identical. A store this run created and left without any task is removed on close.
"""

from __future__ import annotations

import datetime as _dt
import errno as _errno
import fcntl
import hashlib
import json
import os
import signal
import sqlite3
import struct
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Self

import numpy as np

STORE_MARK = "sweep"
STORE_FORMAT = 2
SQLITE_MAGIC = b"SQLite format 3\x00"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_SCHEMA = ("CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)",
           "CREATE TABLE tasks(digest TEXT PRIMARY KEY, key TEXT NOT NULL, data BLOB NOT NULL, "
           "sha256 TEXT NOT NULL, written_utc TEXT)")
#: errnos that mean "the disk cannot take it" (reported as such, finished work kept)
DISK_ERRNOS = {_errno.ENOSPC, _errno.EDQUOT, _errno.EIO, _errno.EROFS, _errno.EFBIG}


class SweepStoreError(RuntimeError):
    """A store that cannot be used (foreign, corrupt, other sweep, in use); one-line message."""


class StoreWriteError(SweepStoreError):
    """A task could not be committed (disk full, I/O error); the committed tasks are kept.

    Attributes: ``path`` (the store), ``errno`` (ENOSPC, EIO, ... or None).
    """

    def __init__(self, message: str, path: Path, errno: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


def canonical_json(obj: Any) -> str:
    """The canonical JSON text of ``obj``: sorted keys, no spaces, no NaN/inf.

    Tuples become lists and numpy scalars/arrays plain Python values, so equal parameter
    sets give equal text. Raises ``TypeError``/``ValueError`` for values JSON cannot hold.
    """

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} is not JSON-serialisable")

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True, default=default)


def key_digest(key_json: str) -> str:
    """Group name of a task: the SHA-256 hex digest of its canonical key JSON."""
    return hashlib.sha256(key_json.encode("utf-8")).hexdigest()


def normalise_result(result: Any) -> dict[str, Any]:
    """Check a task result and bring it into the exact form a store read returns.

    Parameters
    ----------
    result : dict[str, ndarray | numpy scalar | int | float | bool | complex | str]
        Arrays must have a bool, integer, float or complex dtype.

    Returns
    -------
    dict[str, Any]
        Same names; arrays as native-byte-order C-contiguous copies, numpy scalars as
        numpy scalars, Python scalars as Python scalars. A value computed now and the same
        value loaded from a store compare bit-identical.
    """
    if not isinstance(result, Mapping):
        raise TypeError(f"a task must return a dict of arrays/scalars, got {type(result).__name__}")
    out: dict[str, Any] = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise ValueError(f"result name {name!r} must be a non-empty string without '/'")
        out[name] = _normalise_value(name, value)
    return out


def _normalise_value(name: str, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"result {name!r}: array dtype {value.dtype} is not "
                            "bool/int/float/complex")
        return np.array(value, dtype=value.dtype.newbyteorder("="), order="C", copy=True)
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"result {name!r}: numpy scalar {value.dtype} is not "
                            "bool/int/float/complex")
        return value.astype(value.dtype.newbyteorder("="))
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"result {name!r}: int {value} does not fit in int64")
        return value
    if isinstance(value, (float, complex, str)):
        return value
    raise TypeError(f"result {name!r}: {type(value).__name__} is not an array, scalar or str")


def _kind_of(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, np.generic):
        return "numpy-scalar"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    return "str"


def encode_result(result: Mapping[str, Any]) -> bytes:
    """The ``data`` bytes of a normalised result (module docstring); see :func:`decode_result`."""
    entries: list[list[Any]] = []
    chunks: list[bytes] = []
    offset = 0
    for name, value in result.items():
        kind = _kind_of(value)
        if kind in ("array", "numpy-scalar"):
            arr = np.asarray(value)
            raw = arr.tobytes(order="C")
            entries.append([name, kind, {"dtype": arr.dtype.str, "shape": list(arr.shape),
                                         "offset": offset, "nbytes": len(raw)}])
            chunks.append(raw)
            offset += len(raw)
        elif kind == "float":
            entries.append([name, kind, float(value).hex()])
        elif kind == "complex":
            entries.append([name, kind, [value.real.hex(), value.imag.hex()]])
        else:
            entries.append([name, kind, value])
    header = json.dumps(entries, separators=(",", ":"), ensure_ascii=True).encode()
    return struct.pack("<I", len(header)) + header + b"".join(chunks)


def decode_result(data: bytes) -> dict[str, Any]:
    """Decode :func:`encode_result` bytes (ValueError/KeyError/TypeError when malformed)."""
    (n,) = struct.unpack_from("<I", data, 0)
    entries = json.loads(data[4:4 + n].decode())
    payload = memoryview(data)[4 + n:]
    out: dict[str, Any] = {}
    for name, kind, meta in entries:
        if kind in ("array", "numpy-scalar"):
            dtype = np.dtype(meta["dtype"])
            start, nbytes = int(meta["offset"]), int(meta["nbytes"])
            if start + nbytes > len(payload) or nbytes % max(dtype.itemsize, 1):
                raise ValueError(f"entry {name!r} lies outside the data")
            arr = np.frombuffer(payload[start:start + nbytes], dtype=dtype).reshape(
                meta["shape"]).copy()
            out[name] = arr if kind == "array" else arr[()]
        elif kind == "float":
            out[name] = float.fromhex(meta)
        elif kind == "complex":
            out[name] = complex(float.fromhex(meta[0]), float.fromhex(meta[1]))
        elif kind == "int":
            out[name] = int(meta)
        elif kind == "bool":
            out[name] = bool(meta)
        elif kind == "str":
            out[name] = str(meta)
        else:
            raise ValueError(f"entry {name!r} has unknown kind {kind!r}")
    return out


def task_checksum(digest: str, key_json: str, data: bytes) -> str:
    """SHA-256 hex of a task row: its digest, key JSON and data bytes."""
    h = hashlib.sha256()
    h.update(f"{digest}\n{key_json}\n".encode())
    h.update(data)
    return h.hexdigest()


@contextmanager
def defer_sigint() -> Iterator[None]:
    """Hold back Ctrl-C inside the block (a task being committed, a cluster starting) and
    re-raise it afterwards. Main thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        caught.append((signum, frame))

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(*caught[0])
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in exclusive locking mode (set before the first WAL access, so SQLite keeps
    the WAL index in heap memory: no ``-shm`` file, no shared memory map that a full disk could
    turn into SIGBUS) with every commit fsynced."""
    conn = sqlite3.connect(str(path), timeout=0.0, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def sidecar_paths(path: str | Path) -> list[Path]:
    """The store file and SQLite's ``-wal``/``-shm``/``-journal`` files beside it."""
    path = Path(path)
    return [path] + [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm",
                                                                       "-journal")]


def remove_store(path: str | Path) -> None:
    """Delete a store and its SQLite sidecar files (missing ones are fine)."""
    for p in sidecar_paths(path):
        p.unlink(missing_ok=True)


def _disk_errno(exc: BaseException) -> int | None:
    """The errno of a write failure: OSError's own, or SQLite's FULL / IOERR codes."""
    if isinstance(exc, OSError):
        return exc.errno
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc).lower()
        if name == "SQLITE_FULL" or "disk is full" in text:
            return _errno.ENOSPC
        if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
            return _errno.EIO
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return _errno.EROFS
    return None


def describe_write_error(exc: BaseException) -> str:
    """'disk full (No space left on device)' / 'I/O error (...)' / the error's own text."""
    code = _disk_errno(exc)
    if code == _errno.ENOSPC:
        return "disk full (No space left on device)"
    if code == _errno.EDQUOT:
        return "disk quota exceeded"
    if code is not None:
        return f"{os.strerror(code)}"
    return _one_line(exc)


class SweepStore:
    """An open sweep store (parent process only).

    ``with SweepStore.open(path, sweep_id) as store: ...``. The file is created (atomically,
    with its identity) when it does not exist. An existing file is checked read-only first.

    Parameters
    ----------
    path : str | Path
        The SQLite file (``*.sqlite``).
    sweep_id : Mapping[str, Any]
        JSON-able identity of the sweep (name, seed, config dict, code version, ...).
        Opening a store written with a different identity raises :class:`SweepStoreError`.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int, sweep_id_json: str,
                 complete: dict[str, str], created: bool) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._lock_fd: int | None = lock_fd
        self.sweep_id_json = sweep_id_json
        self._complete = complete
        self._created = created
        self._written = 0

    @classmethod
    def open(cls, path: str | Path, sweep_id: Mapping[str, Any]) -> SweepStore:
        path = Path(path)
        if not isinstance(sweep_id, Mapping) or not sweep_id:
            raise ValueError("sweep_id must be a non-empty dict (name, seed, config, ...)")
        try:
            sid = canonical_json(dict(sweep_id))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sweep_id is not JSON-able: {exc}") from None
        if path.is_dir():
            raise SweepStoreError(f"sweep store {path} is a directory; refusing to touch it")
        created = False
        if not path.exists():
            created = cls._create(path, sid)
        lock_fd = cls._lock(path)
        try:
            conn, complete = cls._check_identity(path, sid)
        except BaseException:
            os.close(lock_fd)
            raise
        return cls(path, conn, lock_fd, sid, complete, created)

    @staticmethod
    def _create(path: Path, sid: str) -> bool:
        """Create an empty store with its identity (under a temporary name, then linked into
        place); never replace a file that appeared meanwhile. Returns whether it created it."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # rollback-journal mode first, so the schema lands in the file itself (a WAL
            # that a full disk kept from being checkpointed would be lost with the temp name)
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("BEGIN")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [("linksim_store", STORE_MARK),
                                  ("store_format", str(STORE_FORMAT)),
                                  ("sweep_id", sid), ("created_utc", _now())])
                conn.execute("COMMIT")
                if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
                    raise sqlite3.OperationalError("cannot switch to WAL mode")
            finally:
                conn.close()
            if sidecar_paths(tmp)[1].exists():
                raise OSError(_errno.EIO, "the new store kept a write-ahead log")
            SweepStore._check_identity(tmp, sid)[0].close()
            try:
                os.link(tmp, path)
                return True
            except FileExistsError:
                return False
        except (OSError, sqlite3.Error, SweepStoreError) as exc:
            raise StoreWriteError(f"cannot create the sweep store {path}: "
                                  f"{describe_write_error(exc)}", path, _disk_errno(exc)) \
                from None
        finally:
            for p in sidecar_paths(tmp):
                with suppress(OSError):
                    p.unlink(missing_ok=True)

    @staticmethod
    def _lock(path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SweepStoreError(f"sweep store {path} cannot be opened: "
                                  f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SweepStoreError(f"sweep store {path} is in use by another process") from None
        return fd

    @staticmethod
    def _check_identity(path: Path, sid: str) -> tuple[sqlite3.Connection, dict[str, str]]:
        """Raise SweepStoreError unless ``path`` is a sound store of identity ``sid`` (nothing
        is written). Returns the connection and the stored tasks, digest -> key JSON."""
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise SweepStoreError(f"sweep store {path} cannot be read: "
                                  f"{exc.strerror or exc}") from None
        if head != SQLITE_MAGIC:
            what = "an HDF5 file" if head.startswith(HDF5_MAGIC) else "not an SQLite database"
            raise SweepStoreError(f"{path} is not a linksim sweep store ({what}; corrupt or "
                                  "foreign); refusing to touch it")
        conn = None
        try:
            conn = _connect(path)
            check = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if check != ["ok"]:
                raise SweepStoreError(f"{path} is a corrupt sweep store ({check[0]}); "
                                      "refusing to touch it (delete it to start over)")
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"meta", "tasks"} <= tables:
                raise SweepStoreError(f"{path} is an SQLite database but not a linksim sweep "
                                      "store; refusing to touch it")
            meta = dict(conn.execute("SELECT name, value FROM meta"))
            if meta.get("linksim_store") != STORE_MARK:
                raise SweepStoreError(f"{path} is an SQLite database but not a linksim sweep "
                                      "store; refusing to touch it")
            if meta.get("store_format") != str(STORE_FORMAT):
                raise SweepStoreError(f"sweep store {path} has format "
                                      f"{meta.get('store_format')!r}, this linksim reads "
                                      f"format {STORE_FORMAT}")
            stored = meta.get("sweep_id")
            if stored != sid:
                raise SweepStoreError(f"sweep store {path} belongs to another sweep "
                                      f"({_id_difference(stored, sid)}); use another path "
                                      "or delete it")
            complete = dict(conn.execute("SELECT digest, key FROM tasks"))
            return conn, complete
        except BaseException as exc:
            if conn is not None:
                with suppress(Exception):
                    conn.close()
            if isinstance(exc, sqlite3.Error):
                if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                    raise SweepStoreError(f"sweep store {path} is in use by another "
                                          "process") from None
                raise SweepStoreError(f"{path} is a corrupt sweep store ({_one_line(exc)}); "
                                      "refusing to touch it (delete it to start over)") from None
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (idempotent); a store this run created and left empty is removed."""
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None
            if self._created and not self._complete:
                with suppress(OSError):
                    remove_store(self.path)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __len__(self) -> int:
        return len(self._complete)

    def has(self, digest: str) -> bool:
        """Whether the store holds a row for task ``digest`` (its checksum is checked on load)."""
        return digest in self._complete

    def load(self, digest: str) -> dict[str, Any] | None:
        """The result of a stored task, in the form :func:`normalise_result` gives; None when
        the row is corrupt (checksum, key hash or format), in which case it is forgotten."""
        try:
            row = self._conn.execute("SELECT key, data, sha256 FROM tasks WHERE digest = ?",
                                     (digest,)).fetchone()
            if row is None:
                raise ValueError("missing")
            key_json, data, checksum = row
            data = bytes(data)
            if key_digest(key_json) != digest or \
                    task_checksum(digest, key_json, data) != checksum:
                raise ValueError("checksum mismatch")
            result = decode_result(data)
        except (sqlite3.Error, ValueError, KeyError, TypeError, struct.error,
                UnicodeDecodeError):
            self._complete.pop(digest, None)
            return None
        return result

    def write(self, digest: str, key_json: str, result: Mapping[str, Any]) -> None:
        """Commit one normalised task result (one transaction, fsynced).

        Ctrl-C is held back until the commit returns. Raises :class:`StoreWriteError`
        (one line naming the store) when the commit fails; the store then holds exactly the
        tasks committed before.
        """
        data = encode_result(result)
        checksum = task_checksum(digest, key_json, data)
        with defer_sigint():
            try:
                self._put(digest, key_json, data, checksum)
            except (OSError, sqlite3.Error) as exc:
                with suppress(Exception):
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                raise StoreWriteError(
                    f"cannot write the sweep store {self.path}: {describe_write_error(exc)}; "
                    f"its {len(self._complete)} finished tasks are kept (rerun the same "
                    "command to resume)", self.path, _disk_errno(exc)) from None
            self._complete[digest] = key_json
            self._written += 1

    def _put(self, digest: str, key_json: str, data: bytes, checksum: str) -> None:
        """The one write of the store: a single-statement (autocommit) transaction."""
        self._conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
                           (digest, key_json, sqlite3.Binary(data), checksum, _now()))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _id_difference(stored: str | None, wanted: str) -> str:
    """A short description of how two sweep identities differ (top-level fields)."""
    try:
        a = json.loads(stored) if stored else {}
        b = json.loads(wanted)
    except ValueError:
        return "its sweep_id is unreadable"
    if not isinstance(a, dict):
        return "its sweep_id is not a dict"
    fields = sorted(k for k in set(a) | set(b) if a.get(k, object()) != b.get(k, object()))
    shown = ", ".join(fields[:5]) + (", ..." if len(fields) > 5 else "")
    return f"sweep_id differs in: {shown}" if fields else "sweep_id differs"

