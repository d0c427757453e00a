"""linksim.runtime.allocator: freed drop buffers stay in the process (glibc), opt-out honoured,
numbers unchanged. Each case runs in a fresh interpreter: the setting is per process."""

import json
import os
import subprocess
import sys

import pytest

CODE = """
import json, numpy as np
from linksim.runtime.allocator import keep_freed_memory, allocator_setting
before = allocator_setting()
first = keep_freed_memory()
again = keep_freed_memory()
a = np.arange(8 * 2**20, dtype=np.complex128)   # 128 MiB: an mmap block under glibc defaults
s = complex(a.sum())
print(json.dumps([before, first, again, s.real, s.imag]))
"""


def _run(env_value):
    env = dict(os.environ)
    env.pop("LINKSIM_MALLOC", None)
    if env_value is not None:
        env["LINKSIM_MALLOC"] = env_value
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _glibc():
    import platform

    return platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_keep_freed_memory_applies_once_and_changes_no_number():
    before, first, again, re, im = _run(None)
    assert before == "system" and first == "keep-freed" and again == "keep-freed"
    n = 8 * 2**20
    assert re == pytest.approx(n * (n - 1) / 2, rel=1e-15) and im == 0.0


def test_opt_out_leaves_the_system_allocator():
    before, first, again, re, _ = _run("system")
    assert (before, first, again) == ("system", "system", "system")


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_the_command_line_applies_it():
    code = ("import atexit, sys; from linksim.app.cli import main; "
            "from linksim.runtime.allocator import allocator_setting; "
            "atexit.register(lambda: print('ALLOC=' + allocator_setting(), file=sys.stderr)); "
            "main(['--version'])")
    env = {k: v for k, v in os.environ.items() if k != "LINKSIM_MALLOC"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0 and "ALLOC=keep-freed" in p.stderr, p.stderr
