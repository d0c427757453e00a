"""Write-then-rename: a file appears under its final name only when complete.

* :func:`atomic_path` yields a temporary name beside the final one and renames it on success.
* :func:`atomic_group` makes every :func:`atomic_path` inside it (in this thread) wait: the
  files are renamed together when the group ends, or all removed when it fails (a figure's
  PNG, CSV and HDF5 appear together or not at all).
* :func:`atomic_h5` builds an HDF5 file in memory and writes its bytes through
  :func:`atomic_path`: libhdf5 never sees the disk, so a full disk is a plain ``OSError``
  (after a failed write libhdf5's metadata cache can crash the process on close).

A failed write raises :class:`OutputWriteError`, an ``OSError`` whose message names the final
path (never the temporary one) and says "disk full" for ENOSPC.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import io
import os
import threading
from pathlib import Path
from typing import Any, Iterator

_STATE = threading.local()


class OutputWriteError(OSError):
    """An output file could not be written; ``filename`` is the final path."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {describe_os_error(self)}"


def describe_os_error(exc: BaseException) -> str:
    """'disk full (No space left on device)' for ENOSPC, else the strerror (one line)."""
    code = getattr(exc, "errno", None)
    if code == _errno.ENOSPC:
        return "disk full (No space left on device)"
    if code == _errno.EDQUOT:
        return "disk quota exceeded"
    text = getattr(exc, "strerror", None) or (os.strerror(code) if code else None) or \
        " ".join(str(exc).split())
    return text


def is_disk_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a full disk, a quota or an I/O error (the run itself was fine)."""
    return getattr(exc, "errno", None) in (_errno.ENOSPC, _errno.EDQUOT, _errno.EIO,
                                           _errno.EFBIG)


def _tmp_for(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _wrap(exc: OSError, final: Path) -> OutputWriteError:
    err = OutputWriteError(exc.errno, exc.strerror or " ".join(str(exc).split()))
    err.filename = str(final)
    return err


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    On any exception the temporary file is removed and ``final`` is left untouched; an
    ``OSError`` becomes :class:`OutputWriteError` naming ``final``. Inside
    :func:`atomic_group` the rename waits for the group.
    """
    final = Path(final)
    tmp = _tmp_for(final)
    group: list[tuple[Path, Path]] | None = getattr(_STATE, "group", None)
    try:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            if group is not None:
                group.append((tmp, final))
                return
            os.replace(tmp, final)
        except OutputWriteError:
            raise
        except OSError as exc:
            raise _wrap(exc, final) from None
    finally:
        if group is None or (tmp, final) not in group:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_group() -> Iterator[None]:
    """Files written with :func:`atomic_path` inside the block appear together at its end.

    On an exception in the block every pending temporary file is removed and no final file
    appears. If a rename fails at the end, the files of the group renamed before are removed
    again (all or none). Nested groups join the outer one.
    """
    if getattr(_STATE, "group", None) is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    _STATE.group = pending
    done: list[Path] = []
    try:
        yield
        _STATE.group = None
        try:
            for tmp, final in pending:
                os.replace(tmp, final)
                done.append(final)
        except OSError as exc:
            for path in done:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise _wrap(exc, final) from None
    finally:
        _STATE.group = None
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def write_bytes_atomic(final: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``final`` atomically (fsynced before the rename); returns ``final``."""
    final = Path(final)
    with atomic_path(final) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return final


@contextlib.contextmanager
def atomic_h5(final: str | Path, **file_kwargs: Any) -> Iterator[Any]:
    """Yield a writable ``h5py.File`` built in memory; its image is written atomically to
    ``final`` when the block succeeds (nothing is written when it fails)."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", **file_kwargs) as f:
        yield f
    write_bytes_atomic(final, buf.getvalue())
