"""Keep freed memory in the process: glibc malloc tuned for drop-after-drop runs.

A drop allocates a few hundred MiB of sample buffers (S = 5, K = 48, 14 symbols: ~0.5 GiB in
double) and frees them at its end. glibc serves every block above its mmap threshold (at
most 32 MiB) with a fresh ``mmap`` and returns it with ``munmap`` when freed, so every drop
touches new pages, and the kernel faults and zeroes each of them again. Measured on the
2-core development VM: allocating and filling two 100 MiB arrays took 34-39 ms with the
default allocator against 13-28 ms when freed memory stays in the heap; the default drop
(S = 5, K = 48, double) took 0.77 s against 0.86 s near idle and 1.22 s against 1.92 s under
load (``linksim bench`` prints both, each in a fresh process).

:func:`keep_freed_memory` sets ``M_MMAP_MAX = 0`` (big blocks come from the heap, not from
``mmap``) and ``M_TRIM_THRESHOLD`` to 2 GiB - 1 (freed heap memory is kept for the next
drop instead of being returned to the system). The process's resident memory then stays at
its largest drop's peak until it exits, which a simulation campaign reaches anyway. Numbers
are unaffected (where a buffer lives changes no arithmetic). It is called by the command
line and by every sweep worker; a plain-Python user of the emulator may call it too.

Opt out with the environment variable ``LINKSIM_MALLOC=system``. On a C library other than
glibc it does nothing and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["keep_freed_memory", "allocator_setting", "ENV_VAR"]

ENV_VAR = "LINKSIM_MALLOC"
_M_TRIM_THRESHOLD = -1          # glibc malloc.h
_M_MMAP_MAX = -4
_TRIM_BYTES = 2**31 - 1         # mallopt takes an int
_STATE: dict = {}


def allocator_setting() -> str:
    """What :func:`keep_freed_memory` did in this process: ``keep-freed``, ``system``
    (opted out or not called), or ``unavailable`` (not glibc)."""
    return _STATE.get("setting", "system")


def keep_freed_memory() -> str:
    """Tune glibc malloc once per process (module docstring); returns :func:`allocator_setting`."""
    if "setting" in _STATE:
        return _STATE["setting"]
    if os.environ.get(ENV_VAR, "").strip().lower() == "system":
        _STATE["setting"] = "system"
        return "system"
    setting = "unavailable"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is not None:
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES) == 1
        setting = "keep-freed" if ok else "unavailable"
    _STATE["setting"] = setting
    return setting
