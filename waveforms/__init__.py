"""Waveform kernels of the emulator: OFDM, fractional delay with Doppler, frequency shift,
receiver helpers. Each sample-domain kernel is numba-compiled and has a numpy reference with
the same signature. Imports only numpy, scipy and numba."""

from .bench import FLOPS_PER_TAP_MAC, bench_delay_doppler
from .delay import (
    DEFAULT_BAND_EDGE_CPS,
    DEFAULT_NUM_TAPS,
    default_kaiser_beta,
    delay_doppler,
    delay_doppler_reference,
    fractional_delay_filter,
)
from .doppler import cfo_common_gain, cfo_ici_power, frequency_shift, frequency_shift_reference
from .ofdm import MODULATIONS, ofdm_demodulate, ofdm_modulate, qam_symbols, used_subcarrier_bins
from .receiver import add_awgn, measure_sinr, measure_sinr_from_reference

__all__ = [
    "DEFAULT_BAND_EDGE_CPS",
    "DEFAULT_NUM_TAPS",
    "FLOPS_PER_TAP_MAC",
    "MODULATIONS",
    "add_awgn",
    "bench_delay_doppler",
    "cfo_common_gain",
    "cfo_ici_power",
    "default_kaiser_beta",
    "delay_doppler",
    "delay_doppler_reference",
    "fractional_delay_filter",
    "frequency_shift",
    "frequency_shift_reference",
    "measure_sinr",
    "measure_sinr_from_reference",
    "ofdm_demodulate",
    "ofdm_modulate",
    "qam_symbols",
    "used_subcarrier_bins",
]
