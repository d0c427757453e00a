"""One burst through the whole signal chain: the stages of :mod:`linksim.emulator.stages`.

The net desired path via satellite s is x_j(t - Delta tau) e^{-j 2 pi f_c Delta tau}
e^{j 2 pi Delta nu t} (up to e^{j 2 pi nu^c Delta tau}, negligible), i.e. eq. (10)-(16);
interfering streams arrive with the large residual delays tau_{s,j} - tau^c_{s,i} of eq. (8)
and carry symbols of other indices (Remark 1). Bursts are generated long enough that every
residual delay is covered by real symbols, never by zeros.

A kernel set with ``static_drop`` (torch) gets a drop with time-constant paths as one job
resident on its device instead (linksim.emulator.resident: the same draws, the same numbers
to rounding).
"""

from __future__ import annotations

import numpy as np

from linksim.emulator import stages
from linksim.emulator.output import EmulationOutput
from linksim.emulator.paths import PathSet
from linksim.emulator.settings import EmulatorSettings
from linksim.emulator.stage_clock import NO_CLOCK
from linksim.emulator.streamed import received_by_satellite
from waveforms.casts import as_dtype


def emulate_links(settings: EmulatorSettings, channel: PathSet, estimates: PathSet,
                  coupling: np.ndarray, noise_power_w: np.ndarray | None,
                  rng: np.random.Generator, num_symbols: int,
                  components: bool = False, clock=NO_CLOCK) -> EmulationOutput:
    """Generate, precompensate, precode, propagate and receive one burst.

    settings : EmulatorSettings (numerology, taps, back-off, modulation, kernel set)
    channel : PathSet [S, K, P]          the true paths of every link
    estimates : PathSet [S, K, 1]        the transmitter's delay and Doppler estimates
    coupling : complex128 [S, K, K]      A[s, j, i] = v_{s,j}^H w_{s,i} (ratemodel.coupling)
    noise_power_w : float64 [K] per subcarrier (and per time sample), or None for no noise
    rng : data symbols are drawn first, then the noise
    num_symbols : M observed OFDM symbols per user
    components : also return every (s, j, i) component separately (memory S K^2 M Q)
    clock : a :class:`linksim.emulator.stage_clock.StageClock` to time the stages (benchmarks)
    """
    s_count, k_count = channel.num_sats, channel.num_users
    if (estimates.num_sats, estimates.num_users) != (s_count, k_count):
        raise ValueError(f"estimates must be [{s_count}, {k_count}, 1] like the channel "
                         f"(got {estimates.delay_s.shape})")
    if coupling.shape != (s_count, k_count, k_count):
        raise ValueError(f"coupling must have shape ({s_count}, {k_count}, {k_count}) "
                         f"(got {coupling.shape})")
    if num_symbols < 1:
        raise ValueError(f"num_symbols must be >= 1 (got {num_symbols})")
    with clock("plan"):
        plan = stages.plan_burst(settings, channel, estimates, num_symbols)
    if (settings.kernels.static_drop is not None and not components and channel.is_static
            and estimates.is_static):        # the whole drop on the back end's device
        from linksim.emulator.resident import emulate_resident
        with clock("resident"):
            return emulate_resident(settings, channel, estimates, coupling, noise_power_w, rng,
                                    plan)
    with clock("data_symbols"):      # stages.generate_bursts, its two steps timed apart
        data = stages.burst_data(settings, rng, k_count, plan)
    with clock("ofdm_modulate"):
        x = stages.modulate_bursts(settings, data, plan, estimates)
    x_start = plan.first_symbol * settings.numerology.symbol_length
    links = np.arange(s_count * k_count, dtype=np.int64)
    # one satellite at a time (same numbers, a fifth of the memory): linksim.emulator.streamed
    r, r_des = received_by_satellite(settings, x, x_start, channel, estimates, coupling, plan,
                                     clock)
    with clock("noise"):
        noise = stages.draw_noise(rng, noise_power_w, k_count, plan.rx_len,
                                  settings.noise_stream)
        noise = as_dtype(noise, settings.sample_dtype)  # same draws in either precision
    with clock("receive_3_dfts"):
        out = burst_output(plan, data, stages.receive(settings, r + noise, num_symbols),
                           stages.receive(settings, r_des, num_symbols),
                           stages.receive(settings, noise, num_symbols))
    if components:
        xt = stages.precompensate(settings, x, x_start, estimates, plan)
        z_all = stages.precode_components(xt, coupling, plan)
        y_all = stages.propagate(settings, z_all, np.repeat(links, k_count), channel, plan)
        out.components = stages.receive(settings, y_all, num_symbols).reshape(
            s_count, k_count, k_count, num_symbols, -1)
    return out


def burst_output(plan: stages.BurstPlan, data: np.ndarray, received: np.ndarray,
                 desired: np.ndarray, noise: np.ndarray) -> EmulationOutput:
    """The EmulationOutput of a burst: the received grids [K, M, Q], the burst's symbols
    data [K, B, Q] (the observed ones in ``symbols``) and the plan's sizes in ``info``."""
    m0 = -plan.first_symbol
    out = EmulationOutput(received=received, symbols=data[:, m0:m0 + plan.num_symbols],
                          desired=desired, noise=noise, burst_symbols=data,
                          first_symbol_index=plan.first_symbol)
    out.info = {"burst_symbols": plan.num_burst_symbols, "first_symbol_index": plan.first_symbol,
                "tx_samples_per_stream": plan.tx_len, "rx_samples": plan.rx_len}
    return out
