"""The HDF5 store of a sweep: one group per finished task, keyed by a canonical hash of its key.

Layout (h5py, default ``libver``: superblock v0, so a killed writer leaves no "file open"
flag and the store reopens without ``h5clear``)::

    /                     attrs: linksim_store = "sweep", store_format = 1,
                                 sweep_id = canonical JSON of the sweep identity
    /tasks/<sha256 hex>   attrs: key = canonical JSON of the task key,
                                 complete = True (written last)
        <result name>     one dataset per result entry, attr kind in
                          {"array", "numpy-scalar", "int", "float", "bool", "complex", "str"}

A group becomes valid only when its ``complete`` attribute is set, after all its datasets
were written; the file is flushed after every task, so a killed run loses at most the
tasks in flight. Groups without the mark are treated as missing and are rewritten.

An existing file is only ever opened for writing after it was read-only checked to be a
linksim sweep store of the same sweep identity; anything else raises
:class:`SweepStoreError` and the file is left byte-identical.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import numpy as np

STORE_MARK = "sweep"
STORE_FORMAT = 1


class SweepStoreError(RuntimeError):
    """A store that cannot be used (foreign, corrupt, other sweep, in use); one-line message."""


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


def _read_value(ds: Any) -> Any:
    kind = ds.attrs.get("kind")
    if isinstance(kind, bytes):
        kind = kind.decode()
    if kind == "array":
        return np.asarray(ds[...])
    if kind == "str":
        return str(ds.asstr()[()])
    raw = ds[()]
    if kind == "numpy-scalar":
        return raw
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "complex":
        return complex(raw)
    raise SweepStoreError(f"dataset {ds.name} has unknown kind {kind!r}")


@contextmanager
def defer_sigint() -> Iterator[None]:
    """Hold back Ctrl-C inside the block (a task group being written, a cluster starting) and
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


class SweepStore:
    """An open sweep store (HDF5, parent process only).

    ``with SweepStore.open(path, sweep_id) as store: ...``. The file is created (atomically,
    with its identity) when it does not exist. An existing file is checked read-only first.

    Parameters
    ----------
    path : str | Path
        The HDF5 file.
    sweep_id : Mapping[str, Any]
        JSON-able identity of the sweep (name, seed, config dict, code version, ...).
        Opening a store written with a different identity raises :class:`SweepStoreError`.
    """

    def __init__(self, path: Path, file: Any, sweep_id_json: str,
                 complete: dict[str, str]) -> None:
        self.path = path
        self._file = file
        self.sweep_id_json = sweep_id_json
        self._complete = complete

    @classmethod
    def open(cls, path: str | Path, sweep_id: Mapping[str, Any]) -> SweepStore:
        import h5py

        path = Path(path)
        if not isinstance(sweep_id, Mapping) or not sweep_id:
            raise ValueError("sweep_id must be a non-empty dict (name, seed, config, ...)")
        try:
            sid = canonical_json(dict(sweep_id))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sweep_id is not JSON-able: {exc}") from None
        if not path.exists():
            cls._create(path, sid)
        complete = cls._check_identity(path, sid)
        try:
            file = h5py.File(path, "r+")
        except BlockingIOError:
            raise SweepStoreError(f"sweep store {path} is in use by another process") from None
        except OSError as exc:
            raise SweepStoreError(f"sweep store {path} cannot be opened for writing: "
                                  f"{_one_line(exc)}") from None
        return cls(path, file, sid, complete)

    @staticmethod
    def _create(path: Path, sid: str) -> None:
        """Create an empty store with its identity; never replace a file that appeared meanwhile."""
        import h5py

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["linksim_store"] = STORE_MARK
                f.attrs["store_format"] = STORE_FORMAT
                f.attrs["sweep_id"] = sid
                f.attrs["created_utc"] = _dt.datetime.now(_dt.UTC).isoformat(
                    timespec="seconds")
                f.create_group("tasks")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:
                if not path.exists():
                    os.rename(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _check_identity(path: Path, sid: str) -> dict[str, str]:
        """Read-only: raise SweepStoreError unless ``path`` is a sound store of identity ``sid``.

        Returns the complete tasks, group name -> key JSON.
        """
        import h5py

        if path.is_dir():
            raise SweepStoreError(f"sweep store {path} is a directory; refusing to touch it")
        if not h5py.is_hdf5(path):
            raise SweepStoreError(f"{path} is not an HDF5 file (corrupt or foreign); "
                                  "refusing to touch it")
        try:
            f = h5py.File(path, "r")
        except BlockingIOError:
            raise SweepStoreError(f"sweep store {path} is in use by another process") from None
        except OSError as exc:
            raise SweepStoreError(f"{path} is a corrupt HDF5 file ({_one_line(exc)}); "
                                  "refusing to touch it") from None
        try:
            with f:
                mark = _attr_str(f.attrs.get("linksim_store"))
                if mark != STORE_MARK or "tasks" not in f:
                    raise SweepStoreError(f"{path} is an HDF5 file but not a linksim sweep store; "
                                          "refusing to touch it")
                fmt = f.attrs.get("store_format")
                if fmt != STORE_FORMAT:
                    raise SweepStoreError(f"sweep store {path} has format {fmt!r}, this linksim "
                                          f"reads format {STORE_FORMAT}")
                stored = _attr_str(f.attrs.get("sweep_id"))
                if stored != sid:
                    raise SweepStoreError(f"sweep store {path} belongs to another sweep "
                                          f"({_id_difference(stored, sid)}); use another path "
                                          "or delete it")
                complete: dict[str, str] = {}
                for name, group in f["tasks"].items():
                    key_json = _attr_str(group.attrs.get("key"))
                    if bool(group.attrs.get("complete", False)) and key_json is not None:
                        if key_digest(key_json) != name:
                            raise SweepStoreError(f"sweep store {path}: group {name} holds key "
                                                  f"{key_json}, whose hash differs")
                        complete[name] = key_json
                return complete
        except SweepStoreError:
            raise
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise SweepStoreError(f"{path} is a corrupt sweep store ({_one_line(exc)}); "
                                  "refusing to touch it") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __len__(self) -> int:
        return len(self._complete)

    def has(self, digest: str) -> bool:
        """Whether the task with group name ``digest`` is complete in the store."""
        return digest in self._complete

    def load(self, digest: str) -> dict[str, Any]:
        """The result of a complete task, in the form :func:`normalise_result` gives."""
        try:
            group = self._file["tasks"][digest]
            return {name: _read_value(ds) for name, ds in group.items()}
        except SweepStoreError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise SweepStoreError(f"sweep store {self.path}: task group {digest} is corrupt "
                                  f"({_one_line(exc)})") from None

    def write(self, digest: str, key_json: str, result: Mapping[str, Any]) -> None:
        """Write one normalised task result, mark it complete and flush.

        Ctrl-C is held back until the group is marked and flushed, so an interrupted run
        never leaves a marked group half written.
        """
        with defer_sigint():
            tasks = self._file["tasks"]
            if digest in tasks:
                del tasks[digest]
            group = tasks.create_group(digest)
            group.attrs["key"] = key_json
            for name, value in result.items():
                kind = _kind_of(value)
                if kind == "str":
                    import h5py

                    ds = group.create_dataset(name, data=value, dtype=h5py.string_dtype())
                else:
                    ds = group.create_dataset(name, data=value)
                ds.attrs["kind"] = kind
            group.attrs["complete"] = True
            self._file.flush()
            self._complete[digest] = key_json


def _attr_str(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    return None


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

