"""Provenance of every output: what produced these numbers, so a result can be cited and re-run.

One record (:func:`provenance`), a JSON-able dict:

    linksim_version   the package version (linksim.__version__)
    git_commit        the checkout's commit (40 hex), "+dirty" appended when the work tree has
                      uncommitted changes; "unknown" outside a git checkout
    command_line      the command as typed (``linksim emulate ...``; sys.argv otherwise)
    config            the full effective config (LinkConfig.to_dict(), every field)
    seed              the root seed (None where the output has no seed)
    date_utc          ISO 8601 time of the run, UTC
    numeric           the settings that can change the last bits of the numbers: the waveform
                      kernel set (config ``backend``), numba / BLAS thread counts, the numpy,
                      scipy, numba and torch versions, the Python version

and its renderings for each output kind: HDF5 attributes (:func:`h5_attrs`, prefixed
``provenance_``, dicts as JSON text), CSV header comment lines (:func:`csv_comments`, each
``# key: value``), PNG text chunks (:func:`png_metadata`, for matplotlib ``savefig(metadata=)``;
:func:`png_with_metadata` for PNG bytes drawn without them) and an HTML block
(:func:`html_block`). JSON outputs carry the record under their top-level key ``"provenance"``
(also the torch model files of ``train-dtn``). Only the date, the command line and the thread
counts differ between two runs of the same command; none of them enters a number of the
default configuration.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

#: the key of the record in JSON outputs and the prefix of its HDF5 attributes
KEY = "provenance"
_ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the checkout linksim runs from ("+dirty" when modified), or "unknown"."""
    try:
        head = subprocess.run(["git", "-C", str(_ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return "unknown"
        commit = head.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=5)
        return commit + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def version_string() -> str:
    """``<version> (commit <hash>)``: what ``linksim --version`` prints."""
    from linksim import __version__

    return f"{__version__} (commit {git_commit()})"


def command_line() -> str:
    """The command as typed: ``linksim <args>`` for the CLI (also ``python -m linksim``)."""
    argv = list(sys.argv)
    prog = Path(argv[0]).name if argv else ""
    if prog in ("linksim", "__main__.py", "-m") or prog.endswith("linksim"):
        argv = ["linksim"] + argv[1:]
    return shlex.join(argv)


def numeric_settings(cfg: Any = None) -> dict[str, Any]:
    """The settings that can change the last bits of the numbers (module docstring)."""
    import numpy

    backend = cfg.get("backend") if isinstance(cfg, dict) else getattr(cfg, "backend", None)
    out: dict[str, Any] = {"backend": backend,
                           "python": sys.version.split()[0], "numpy": numpy.__version__}
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS"):
        out[var] = os.environ.get(var, "unset")
    for mod in ("scipy", "numba", "torch"):
        m = sys.modules.get(mod)
        out[mod] = getattr(m, "__version__", None) if m is not None else "not loaded"
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            out["numba_threads"] = int(numba.get_num_threads())
        except Exception:  # noqa: BLE001 - numba without a threading layer
            pass
    out["cpu_count"] = os.cpu_count()
    return out


def provenance(cfg: Any = None, seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance record of one output (module docstring); ``extra`` adds fields
    (e.g. drops, symbols, workers), JSON-able values only."""
    from linksim import __version__

    config = {} if cfg is None else (dict(cfg) if isinstance(cfg, dict) else cfg.to_dict())
    rec: dict[str, Any] = {
        "linksim_version": __version__, "git_commit": git_commit(),
        "command_line": command_line(), "config": config,
        "seed": None if seed is None else int(seed),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "numeric": numeric_settings(cfg)}
    rec.update(extra)
    json.dumps(rec)
    return rec


def h5_attrs(rec: dict[str, Any]) -> dict[str, str | int]:
    """HDF5 attributes ``provenance_<field>`` (dicts/lists as JSON text, None as "null")
    and ``provenance_json``, the whole record."""
    out: dict[str, str | int] = {f"{KEY}_json": json.dumps(rec, sort_keys=True)}
    for key, value in rec.items():
        if isinstance(value, (dict, list, tuple)):
            out[f"{KEY}_{key}"] = json.dumps(value, sort_keys=True)
        elif value is None:
            out[f"{KEY}_{key}"] = "null"
        else:
            out[f"{KEY}_{key}"] = value
    return out


def write_h5_attrs(h5obj, rec: dict[str, Any]) -> None:
    """Set :func:`h5_attrs` on an open h5py File or Group."""
    for key, value in h5_attrs(rec).items():
        h5obj.attrs[key] = value


def read_h5(h5obj) -> dict[str, Any]:
    """The record stored by :func:`write_h5_attrs` (from ``provenance_json``)."""
    text = h5obj.attrs[f"{KEY}_json"]
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def csv_comments(rec: dict[str, Any]) -> list[str]:
    """CSV header comment lines ``# provenance <field>: <value>`` (dicts as compact JSON),
    before the column header; read the data with pandas ``read_csv(path, comment='#')`` or
    ``numpy.loadtxt(path, delimiter=',', comments='#', skiprows=1 + n_comments)``
    (numpy.genfromtxt with names=True would take the first comment line for the names)."""
    lines = []
    for key, value in rec.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
        lines.append(f"# {KEY} {key}: {text}")
    return lines


def read_csv_comments(text: str) -> dict[str, Any]:
    """Parse the lines written by :func:`csv_comments` back to a record."""
    rec: dict[str, Any] = {}
    prefix = f"# {KEY} "
    for line in text.splitlines():
        if not line.startswith(prefix):
            continue
        key, _, value = line[len(prefix):].partition(": ")
        try:
            rec[key] = json.loads(value)
        except json.JSONDecodeError:
            rec[key] = value
    return rec


def png_metadata(rec: dict[str, Any]) -> dict[str, str]:
    """PNG text chunks for ``fig.savefig(..., metadata=png_metadata(rec))``: Software
    (linksim version and commit), Source (the command line), Creation Time, and
    ``linksim provenance`` (the whole record as JSON)."""
    return {"Software": f"linksim {rec['linksim_version']} (commit {rec['git_commit']})",
            "Source": str(rec["command_line"]), "Creation Time": str(rec["date_utc"]),
            f"linksim {KEY}": json.dumps(rec, sort_keys=True)}


def png_with_metadata(png: bytes, rec: dict[str, Any]) -> bytes:
    """PNG bytes drawn elsewhere (e.g. into memory for the HTML report) with the text chunks
    of :func:`png_metadata` inserted after the header chunk, as UTF-8 ``iTXt`` chunks; the
    image data are unchanged."""
    import zlib

    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    end = 8 + 12 + int.from_bytes(png[8:12], "big")
    chunks = b""
    for key, text in png_metadata(rec).items():
        data = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
        chunks += (len(data).to_bytes(4, "big") + b"iTXt" + data
                   + zlib.crc32(b"iTXt" + data).to_bytes(4, "big"))
    return png[:end] + chunks + png[end:]


def read_png(path: str | Path) -> dict[str, Any]:
    """The record stored in a PNG by :func:`png_metadata` (its text chunks)."""
    from PIL import Image

    with Image.open(path) as im:
        text = dict(getattr(im, "text", {}) or im.info)
    return json.loads(text[f"linksim {KEY}"])


def html_block(rec: dict[str, Any]) -> str:
    """An HTML header block: version, commit, command line, date, seed, numeric settings, and
    the full config in a collapsible element; plus the record as JSON in a
    ``<script type="application/json" id="linksim-provenance">`` element."""
    import html

    e = html.escape
    num = rec.get("numeric", {})
    rows = [("linksim", f"{rec['linksim_version']} (commit {rec['git_commit']})"),
            ("command", rec["command_line"]), ("date (UTC)", rec["date_utc"]),
            ("seed", rec.get("seed")),
            ("numbers depend on", ", ".join(f"{k}={v}" for k, v in num.items()))]
    body = "".join(f"<tr><th>{e(str(k))}</th><td><code>{e(str(v))}</code></td></tr>"
                   for k, v in rows)
    cfg = json.dumps(rec.get("config", {}), indent=1, sort_keys=True)
    data = json.dumps(rec, sort_keys=True).replace("</", "<\\/")
    return (f"<table class='provenance'>{body}</table>"
            f"<details><summary>full effective config</summary><pre>{e(cfg)}</pre></details>"
            f"<script type='application/json' id='linksim-provenance'>{data}</script>")


def read_html(text: str) -> dict[str, Any]:
    """The record embedded by :func:`html_block` in an HTML page."""
    start = text.index("id='linksim-provenance'>") + len("id='linksim-provenance'>")
    end = text.index("</script>", start)
    return json.loads(text[start:end].replace("<\\/", "</"))
