"""The house's layers: the model core imports nothing of the application, the runtime has no
click, and ``waveforms/`` imports nothing of ours."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["linksim.config", "linksim.constants", "linksim.constellation", "linksim.scenario",
        "linksim.channel", "linksim.scsi", "linksim.ratemodel", "linksim.single_path",
        "linksim.emulator"]


def _loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = (f"import sys\n{code}\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {names!r} "
             f"or any(m == n or m.startswith(n + '.') for n in {names!r})))")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    return eval(p.stdout.strip().splitlines()[-1])


def test_emulator_loads_no_application_store_or_torch():
    heavy = ("click", "h5py", "torch", "distributed", "linksim.app", "linksim.runtime")
    assert _loaded_after("import linksim.emulator", heavy) == []


def test_a_drop_runs_without_the_application():
    # a notebook user: config -> drop -> sCSI -> precoder -> emulate, no CLI layer loaded
    code = ("from linksim.config import build_config\n"
            "from linksim.scenario import draw_drop\n"
            "from linksim.scsi import scsi_from_drop\n"
            "from linksim.emulator import emulate_drop\n"
            "from precoders import design\n"
            "cfg = build_config({'fft_size': 128, 'cyclic_prefix_length': 9,"
            " 'num_used_subcarriers': 72, 'timing_backoff_samples': 4,"
            " 'antenna_size': [2, 2], 'num_users': 3, 'num_sats': 2})\n"
            "drop = draw_drop(cfg, 1, 0)\n"
            "scsi = scsi_from_drop(drop, cfg)\n"
            "out, m = emulate_drop(cfg, drop, scsi, design('mrt', scsi, 1.0).W, 1, 0)\n"
            "assert m.rate.shape == (3,) and (m.rate > 0).all()")
    assert _loaded_after(code, ("click", "linksim.app", "linksim.runtime")) == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_source_imports_no_application(module):
    path = ROOT / (module.replace(".", "/") + ".py")
    files = [path] if path.exists() else sorted((ROOT / module.replace(".", "/")).glob("*.py"))
    assert files
    for f in files:
        bad = {n for n in _imports(f) if n.split(".")[0] == "click"
               or n.startswith(("linksim.app", "linksim.runtime", "validation"))}
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_runtime_has_no_click_and_waveforms_import_nothing_of_ours():
    for f in sorted((ROOT / "linksim" / "runtime").glob("*.py")):
        assert not {n for n in _imports(f) if n.split(".")[0] == "click"}, f
    for f in sorted((ROOT / "waveforms").glob("*.py")):
        ours = {n for n in _imports(f)
                if n.split(".")[0] in {"linksim", "precoders", "validation"}}
        assert not ours, f"{f.relative_to(ROOT)} imports {sorted(ours)}"
