"""A time-constant drop in one kernel call that keeps every stage on the back end's device
(kernel sets with ``static_drop``: ``torch``; waveforms.drop_job.StaticDropJob).

The host does only what draws random numbers or needs float64 geometry: the burst plan,
the data symbols and the noise (from ``rng`` in the order of
:func:`linksim.emulator.emulate_links`: data, then noise, so the same draws), and the
delay-kernel ops of the precompensation (eq. 5, 7) and of the channel (eq. 1, 6). The
samples then go to the device once and the three received grids come back once.
"""

from __future__ import annotations

import numpy as np

from linksim.emulator import stages
from linksim.emulator.output import EmulationOutput
from linksim.emulator.paths import PathSet
from linksim.emulator.settings import EmulatorSettings
from waveforms.casts import as_dtype
from waveforms.drop_job import StaticDropJob


def static_drop_job(settings: EmulatorSettings, channel: PathSet, estimates: PathSet,
                    coupling: np.ndarray, data: np.ndarray, noise: np.ndarray,
                    plan: stages.BurstPlan) -> StaticDropJob:
    """The kernel job of a drop whose data [K, B, Q] and noise [K, rx_len] are drawn."""
    num = settings.numerology
    s_count, k_count, p_count = channel.delay_s.shape
    pre_delay, pre_doppler, pre_gain = stages.precompensation_ops(settings, estimates)
    delay, nu, gain = stages.propagation_ops(settings, channel, plan)
    dtype = settings.sample_dtype
    return StaticDropJob(
        data=as_dtype(data, dtype), x_start=plan.first_symbol * num.symbol_length,
        fft_size=num.fft_size, cyclic_prefix_length=num.cyclic_prefix_length,
        used_bins=stages.used_bins(settings), backoff_samples=settings.timing_backoff_samples,
        pre_delay_samples=pre_delay, pre_doppler_cps=pre_doppler, pre_gain=pre_gain,
        tx_start=plan.tx_start, tx_len=plan.tx_len, coupling=coupling.astype(dtype, copy=False),
        offsets=plan.offsets, win_len=plan.win_len,
        prop_delay_samples=delay.reshape(s_count, k_count, p_count),
        prop_doppler_cps=nu.reshape(s_count, k_count, p_count),
        prop_gain=gain.reshape(s_count, k_count, p_count), noise=noise,
        num_symbols=plan.num_symbols, num_taps=settings.fractional_delay_taps,
        symbol_ranges=stages.needed_symbol_ranges(settings, estimates, plan))


def emulate_resident(settings: EmulatorSettings, channel: PathSet, estimates: PathSet,
                     coupling: np.ndarray, noise_power_w: np.ndarray | None,
                     rng: np.random.Generator, plan: stages.BurstPlan) -> EmulationOutput:
    """:func:`linksim.emulator.emulate_links` (components off) through the kernel set's
    ``static_drop``: the same draws, the same numbers to rounding."""
    from linksim.emulator.pipeline import burst_output

    k_count = channel.num_users
    data = stages.burst_data(settings, rng, k_count, plan)
    noise = stages.draw_noise(rng, noise_power_w, k_count, plan.rx_len, settings.noise_stream)
    noise = as_dtype(noise, settings.sample_dtype)
    job = static_drop_job(settings, channel, estimates, coupling, data, noise, plan)
    received, desired, noise_f = settings.kernels.static_drop(job)
    return burst_output(plan, data, received, desired, noise_f)
