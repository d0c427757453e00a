"""Seconds per stage of one :func:`linksim.emulator.emulate_links` call, for benchmarks that
time the emulator itself rather than a second orchestration of its stages.

    clock = StageClock()
    emulate_links(..., clock=clock)
    clock.seconds    # {"plan": ..., "data_symbols": ..., "ofdm_modulate": ..., ...}

Stage names (summed over satellites where the pipeline runs one satellite at a time):
``plan``, ``data_symbols``, ``ofdm_modulate``, then either ``transmit_fused`` (the fused
transmit pass) or ``precompensate`` and ``combine`` (the precoded and own-stream windows),
``propagate`` (every stream's windows through the channel, and the satellite sum),
``desired_path`` (the own-stream windows through the channel), ``noise``,
``receive_3_dfts`` (the three received grids); a drop run resident on a device has
``plan`` and ``resident`` only. ``profile`` collects the fused pass's part-seconds
(waveforms.transmit_fused: 'fir', 'gemm', 'copy' thread-seconds and 'gemm_flops').
Timing changes no number.
"""

from __future__ import annotations

import contextlib
from time import perf_counter

__all__ = ["StageClock", "NO_CLOCK"]


class StageClock:
    """Accumulates wall seconds per stage name (``seconds``) and the fused pass's profile."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.profile: dict[str, float] | None = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        t0 = perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + perf_counter() - t0


class _NoClock:
    """The default: times nothing."""

    profile = None

    def __call__(self, stage: str):
        return contextlib.nullcontext()


NO_CLOCK = _NoClock()
