"""Kernel sets: the waveform kernels of one back end, chosen by name.

A :class:`KernelSet` bundles the four kernels the emulator's stages call, all with the
contracts of the numpy references in this package:

    delay_doppler(x, x_start, src, delay_samples, doppler_cps, gain, out_start, out_len,
                  num_taps)                           -> complex128 [num_ops, out_len]
    combine_streams(streams, gains, offsets, out_len) -> complex128 [S, J, out_len]
    ofdm_modulate(X, fft_size, cyclic_prefix_length, used_bins)
    ofdm_demodulate(y, first_symbol_start, num_symbols, fft_size, cyclic_prefix_length,
                    used_bins, backoff_samples)

and optionally ``ofdm_modulate_ranges`` (:mod:`waveforms.ofdm_ranges`: each stream's range
of needed symbols only, zeros elsewhere), ``transmit_fused``
(:func:`waveforms.transmit_fused.transmit_fused`: one satellite's delay_doppler +
combine_streams + own-stream windows in one tiled pass, used for samples whose dtype is in
``transmit_fused_dtypes``), ``transmit_fused_tv`` (the same for moving satellites,
:mod:`waveforms.transmit_fused_tv`) and ``static_drop`` (a whole
time-constant drop, :class:`waveforms.drop_job.StaticDropJob`, in one call that keeps every
stage on the back end's device; :mod:`waveforms.torch_drop`).

Sets: ``numba`` (the compiled kernels, default; in double precision the numbers the pinned
numbers were made with, bit for bit: the fused scipy.fft OFDM, whose double transform is
numpy's pocketfft number for number (tested) and whose demodulated grid keeps the
reference's memory order, and the fused transmit pass with the pinned combine's summation
order, :func:`waveforms.transmit_fused.transmit_fused_exact`; in single the fused OFDM, GEMM
combine and the fused transmit pass with BLAS), ``numpy`` (the plain references: tests,
benchmarks), ``fast`` (the fused scipy.fft OFDM, the tiled BLAS GEMM combine and the fused
transmit pass in double too: equal to rounding, not guaranteed bit-identical), ``torch``
(every kernel in PyTorch, imported on first use, and the whole static drop on the torch
device; :mod:`waveforms.torch_kernels`, :mod:`waveforms.torch_drop`). The
compiled sets keep the samples' precision: complex64 in, complex64 out (single precision).
A new back end joins with :func:`register_kernel_set`; its loader is called on first use,
so naming a set imports nothing heavy.

>>> kernel_set("numpy").name
'numpy'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KernelSet", "kernel_set", "kernel_set_names", "register_kernel_set"]


@dataclass(frozen=True)
class KernelSet:
    """The kernels of one back end (module docstring for their contracts)."""

    name: str
    delay_doppler: Callable
    combine_streams: Callable
    ofdm_modulate: Callable
    ofdm_demodulate: Callable
    # time-varying delay (moving satellites; waveforms.tv_delay, torch:
    # waveforms.torch_tv_delay); None: the numba kernel
    tv_delay_doppler: Callable | None = None
    # precompensation + combine + desired windows of one satellite in one tiled pass
    # (waveforms.transmit_fused) for samples of these dtypes; None: the three kernels apart
    transmit_fused: Callable | None = None
    transmit_fused_dtypes: tuple[str, ...] = ()
    # the same for moving satellites' one-path estimates, complex128 samples
    # (waveforms.transmit_fused_tv: the time-varying delay kernel's blocks per tile, the
    # pinned combine's order); None: the kernels apart
    transmit_fused_tv: Callable | None = None
    # a whole time-constant drop in one call, resident on the back end's device
    # (waveforms.drop_job.StaticDropJob -> (received, desired, noise)); None: the stages
    static_drop: Callable | None = None
    # OFDM modulation of one symbol range per stream, zeros elsewhere (waveforms.ofdm_ranges:
    # the samples in range equal ofdm_modulate's); None: the stages modulate every symbol
    ofdm_modulate_ranges: Callable | None = None


def _numba() -> KernelSet:
    from . import (
        combine_gemm,
        delay_single,
        ofdm_fast,
        ofdm_ranges,
        transmit_fused,
        transmit_fused_tv,
        tv_delay,
    )

    return KernelSet("numba", delay_single.delay_doppler_any, combine_gemm.combine_streams_any,
                     ofdm_fast.ofdm_modulate_fast, ofdm_fast.ofdm_demodulate_fast,
                     tv_delay.tv_delay_doppler, transmit_fused.transmit_fused_exact,
                     ("complex64", "complex128"),
                     transmit_fused_tv=transmit_fused_tv.transmit_fused_tv,
                     ofdm_modulate_ranges=ofdm_ranges.ofdm_modulate_ranges_fast)


def _numpy() -> KernelSet:
    from . import combine, delay, ofdm, ofdm_ranges, tv_delay

    return KernelSet("numpy", delay.delay_doppler_reference, combine.combine_streams_reference,
                     ofdm.ofdm_modulate, ofdm.ofdm_demodulate,
                     tv_delay.tv_delay_doppler_reference,
                     ofdm_modulate_ranges=ofdm_ranges.ofdm_modulate_ranges_reference)


def _fast() -> KernelSet:
    from . import combine_gemm, delay_single, ofdm_fast, ofdm_ranges, transmit_fused

    return KernelSet("fast", delay_single.delay_doppler_any, combine_gemm.combine_streams_gemm,
                     ofdm_fast.ofdm_modulate_fast, ofdm_fast.ofdm_demodulate_fast, None,
                     transmit_fused.transmit_fused, ("complex64", "complex128"),
                     ofdm_modulate_ranges=ofdm_ranges.ofdm_modulate_ranges_fast)


def _torch() -> KernelSet:
    from . import torch_kernels

    return torch_kernels.kernel_set()


_LOADERS: dict[str, Callable[[], KernelSet]] = {"numba": _numba, "numpy": _numpy,
                                                 "fast": _fast, "torch": _torch}
_LOADED: dict[str, KernelSet] = {}


def kernel_set_names() -> tuple[str, ...]:
    """Names of the registered kernel sets, in registration order."""
    return tuple(_LOADERS)


def register_kernel_set(name: str, loader: Callable[[], KernelSet], *,
                        replace: bool = False) -> None:
    """Register ``loader() -> KernelSet`` under ``name`` (called on first use)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"kernel set name must be a non-empty string (got {name!r})")
    if name in _LOADERS and not replace:
        raise ValueError(f"kernel set {name!r} is already registered")
    _LOADERS[name] = loader
    _LOADED.pop(name, None)


def kernel_set(name: str) -> KernelSet:
    """The kernel set registered as ``name`` (loaded once)."""
    if name not in _LOADERS:
        raise ValueError(f"backend must be one of {', '.join(_LOADERS)} (got {name!r})")
    if name not in _LOADED:
        _LOADED[name] = _LOADERS[name]()
    return _LOADED[name]
