"""The LINKSIM_* environment variables, checked when the command line starts: a bad value is
a one-line error naming the variable and what it allows (exit 2) before any work is done,
not a traceback minutes into a run.

    LINKSIM_MALLOC         unset, 'keep-freed' (the default: freed drop buffers stay in the
                           process, linksim.runtime.allocator) or 'system' (glibc's own)
    LINKSIM_FFT_WORKERS    threads of the batched FFTs: an integer >= 1, or unset / 0 for
                           every core (waveforms.ofdm_fast)
    LINKSIM_TORCH_DEVICE   device of the torch back end: unset or 'cpu' (the default), or a
                           device this torch build can use ('cuda', 'cuda:1', ...)

The torch device is tried only when it is set to something other than 'cpu' (trying it
imports torch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["EnvironmentSettingError", "check_environment", "MALLOC_VALUES"]

MALLOC_VALUES = ("keep-freed", "system")


class EnvironmentSettingError(ValueError):
    """A LINKSIM_* variable with a value linksim cannot use (the message names it)."""


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`EnvironmentSettingError` for the first unusable LINKSIM_* value."""
    env = os.environ if environ is None else environ
    malloc = env.get("LINKSIM_MALLOC", "").strip().lower()
    if malloc and malloc not in MALLOC_VALUES:
        raise EnvironmentSettingError(
            f"LINKSIM_MALLOC must be one of {', '.join(MALLOC_VALUES)} or unset "
            f"(got {env['LINKSIM_MALLOC']!r})")
    workers = env.get("LINKSIM_FFT_WORKERS", "").strip()
    if workers:
        from waveforms.ofdm_fast import parse_fft_workers

        try:
            parse_fft_workers(workers)
        except ValueError as exc:
            raise EnvironmentSettingError(str(exc)) from None
    device = env.get("LINKSIM_TORCH_DEVICE", "").strip()
    if device and device != "cpu":
        _check_torch_device(device)


def _check_torch_device(device: str) -> None:
    try:
        import torch
    except ImportError:
        raise EnvironmentSettingError(
            f"LINKSIM_TORCH_DEVICE={device!r} needs torch, which is not installed") from None
    try:
        torch.empty(1, device=device).add_(1)
    except (RuntimeError, AssertionError, ValueError) as exc:
        cuda = "yes" if torch.cuda.is_available() else "no"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise EnvironmentSettingError(
            f"LINKSIM_TORCH_DEVICE={device!r} cannot be used by this torch ({torch.__version__}"
            f", CUDA available: {cuda}): {reason}; unset it (or set cpu) for the CPU, or "
            "install a torch build for that device") from None
