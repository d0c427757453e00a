"""The LINKSIM_* environment variables (linksim.runtime.environment): a bad value is one line
naming the variable, exit 2, before any work; good values pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linksim.runtime.environment import EnvironmentSettingError, check_environment


@pytest.mark.parametrize("env", [{}, {"LINKSIM_MALLOC": "system"},
                                 {"LINKSIM_MALLOC": "Keep-Freed"}, {"LINKSIM_FFT_WORKERS": "3"},
                                 {"LINKSIM_FFT_WORKERS": "0"}, {"LINKSIM_FFT_WORKERS": " "},
                                 {"LINKSIM_TORCH_DEVICE": "cpu"}])
def test_good_values_pass(env):
    check_environment(env)


@pytest.mark.parametrize("env, name", [
    ({"LINKSIM_MALLOC": "sytem"}, "LINKSIM_MALLOC"),
    ({"LINKSIM_FFT_WORKERS": "two"}, "LINKSIM_FFT_WORKERS"),
    ({"LINKSIM_FFT_WORKERS": "-1"}, "LINKSIM_FFT_WORKERS"),
    ({"LINKSIM_FFT_WORKERS": "1.5"}, "LINKSIM_FFT_WORKERS"),
    ({"LINKSIM_TORCH_DEVICE": "nodevice"}, "LINKSIM_TORCH_DEVICE")])
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(EnvironmentSettingError, match=name):
        check_environment(env)


def test_a_gpu_device_without_a_gpu_build_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this torch can use CUDA")
    with pytest.raises(EnvironmentSettingError, match="LINKSIM_TORCH_DEVICE='cuda' cannot"):
        check_environment({"LINKSIM_TORCH_DEVICE": "cuda"})


def test_fft_workers_parse():
    from waveforms.ofdm_fast import parse_fft_workers

    assert parse_fft_workers("4") == 4
    assert parse_fft_workers(None) == parse_fft_workers("0") == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="LINKSIM_FFT_WORKERS"):
        parse_fft_workers("x")


@pytest.mark.parametrize("env", [{"LINKSIM_FFT_WORKERS": "abc"}, {"LINKSIM_MALLOC": "nope"},
                                 {"LINKSIM_TORCH_DEVICE": "nodevice"}])
def test_the_command_line_refuses_them_in_one_line(env, tmp_path):
    root = str(Path(__file__).resolve().parents[1])
    p = subprocess.run([sys.executable, "-m", "linksim", "config", "show"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, **env, "PYTHONPATH": root})
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and next(iter(env)) in lines[0], p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert list(tmp_path.iterdir()) == []
