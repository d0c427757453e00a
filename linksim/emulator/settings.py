"""What the emulator needs to know besides the drop: numerology and signal-chain settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linksim.config import LinkConfig
    from waveforms.kernels import KernelSet


@dataclass(frozen=True)
class Numerology:
    """OFDM numerology (NR at 30 kHz: N = 1024, N_cp = 72, 612 used subcarriers)."""

    fft_size: int
    cyclic_prefix_length: int
    num_used_subcarriers: int
    subcarrier_spacing_hz: float

    @classmethod
    def from_config(cls, cfg: LinkConfig) -> Numerology:
        return cls(cfg.fft_size, cfg.cyclic_prefix_length, cfg.num_used_subcarriers,
                   cfg.subcarrier_spacing_hz)

    @property
    def sample_rate_hz(self) -> float:
        return self.fft_size * self.subcarrier_spacing_hz

    @property
    def symbol_length(self) -> int:
        """Samples per OFDM symbol including its CP."""
        return self.fft_size + self.cyclic_prefix_length


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything of the signal chain that is not the drop, one name per concept (the
    config's field names).

    numerology : Numerology
    carrier_hz : float               f_c (the carrier phase -2 pi f_c tau of every path)
    fractional_delay_taps : int      even FIR length of the fractional delays
    timing_backoff_samples : int     receiver DFT window start before the CP end, 0..N_cp
    modulation : str                 'qpsk', '16qam', '64qam' or 'gaussian' data symbols
    backend : str                    kernel set name (waveforms.kernels: 'numba', 'numpy')
    precision : str                  waveform samples 'double' (complex128) or 'single'
                                     (complex64); delays, times, phases always float64
    receiver : str                   'genie' (no pilots) or 'dmrs-ls' / 'dmrs-lmmse': the burst
                                     carries DMRS pilots (linksim.emulator.dmrs)
    dmrs_symbols : tuple[int, ...]   DMRS symbols of the 14-symbol slot
    data_stream : str                'joint' (one generator draws every user's data, then the
                                     noise) or 'per-user' (a child generator per user, drawn
                                     concurrently; linksim.emulator.stages.draw_data)
                                     or 'counter' (linksim.emulator.counter_streams)
    noise_stream : str               'joint' (noise from the data stream's generator after
                                     the data) or 'counter' (counter_streams.counter_noise)
    """

    numerology: Numerology
    carrier_hz: float
    fractional_delay_taps: int = 24
    timing_backoff_samples: int = 0
    modulation: str = "gaussian"
    backend: str = "numba"
    precision: str = "double"
    receiver: str = "genie"
    dmrs_symbols: tuple[int, ...] = (2, 11)
    data_stream: str = "joint"
    noise_stream: str = "joint"

    @classmethod
    def from_config(cls, cfg: LinkConfig, **changes: Any) -> EmulatorSettings:
        """The settings of ``cfg``; keyword arguments replace single fields."""
        settings = cls(Numerology.from_config(cfg), cfg.carrier_hz, cfg.fractional_delay_taps,
                       cfg.timing_backoff_samples, cfg.modulation, cfg.backend,
                       cfg.precision)
        settings = replace(settings, receiver=cfg.receiver,
                           dmrs_symbols=tuple(cfg.dmrs_symbols), data_stream=cfg.data_stream,
                           noise_stream=cfg.noise_stream)
        return replace(settings, **changes) if changes else settings

    @property
    def sample_dtype(self):
        """numpy dtype of the waveform samples: complex128 (double) or complex64 (single)."""
        import numpy as np

        if self.precision not in ("double", "single"):
            raise ValueError(f"precision must be one of double, single (got {self.precision!r})")
        return np.dtype(np.complex64 if self.precision == "single" else np.complex128)

    def replace(self, **changes: Any) -> EmulatorSettings:
        return replace(self, **changes)

    @property
    def kernels(self) -> KernelSet:
        from waveforms.kernels import kernel_set

        return kernel_set(self.backend)
