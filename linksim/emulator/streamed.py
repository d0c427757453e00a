"""The transmit side one satellite at a time: the same stages, the same numbers, a fraction of
the memory.

``emulate_links`` needs at the receivers only r = sum_s y_s and r_des = sum_s y_des,s, where
y_s is satellite s's contribution (precompensate -> precode -> propagate, math.md eq. 4-9).
Every stage acts per satellite (per (s, i) stream, per (s, j) window, per link row), so
running them on one satellite's slice of the estimates, coupling, channel and burst plan
gives exactly the rows the all-satellite call gives, and adding the y_s in satellite order
repeats numpy's axis-0 sum of the [S, K, L] stack operation for operation: the result is
bit-identical. Peak memory drops from S K tx_len (all precompensated streams, plus S K
windows twice) to K tx_len: at S = 5, K = 48, 14 symbols from ~0.39 GiB of streams to
~0.08 GiB in double.

Kernel sets with a fused transmit pass for the samples' precision (waveforms.transmit_fused;
moving satellites: waveforms.transmit_fused_tv) compute a satellite's precode and desired
windows straight from its bursts in cache-sized tiles instead: bit for bit in the ``numba``
set's double precision, to rounding where the set combines with BLAS, and the K tx_len
streams are never made.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from linksim.emulator import stages
from linksim.emulator.paths import PathSet
from linksim.emulator.settings import EmulatorSettings
from linksim.emulator.stage_clock import NO_CLOCK


def _sat(paths: PathSet, s: int) -> PathSet:
    poly = None if paths.delay_poly_s is None else paths.delay_poly_s[s:s + 1]
    return PathSet(paths.delay_s[s:s + 1], paths.doppler_hz[s:s + 1], paths.gain[s:s + 1],
                   poly)


def _plan(plan: stages.BurstPlan, s: int) -> stages.BurstPlan:
    return replace(plan, win_start=plan.win_start[s:s + 1], tx_start=plan.tx_start[s:s + 1],
                   offsets=plan.offsets[s:s + 1])


def received_by_satellite(settings: EmulatorSettings, x: np.ndarray, x_start: int,
                          channel: PathSet, estimates: PathSet, coupling: np.ndarray,
                          plan: stages.BurstPlan, clock=NO_CLOCK
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(r, r_des): every receiver's samples [K, rx_len] (all streams; own stream only),
    summed over satellites, computed one satellite at a time (``clock``: the stages timed,
    linksim.emulator.stage_clock)."""
    s_count, k_count = channel.num_sats, channel.num_users
    rows = np.arange(k_count, dtype=np.int64)
    options = {} if clock.profile is None else {"profile": clock.profile}
    r = r_des = None
    for s in range(s_count):
        plan_s, est_s, ch_s = _plan(plan, s), _sat(estimates, s), _sat(channel, s)
        a = coupling[s:s + 1]
        if stages.uses_transmit_fused(settings, x, est_s):    # one tiled pass per satellite
            with clock("transmit_fused"):
                z, z_des = stages.transmit_fused(settings, x, x_start, est_s, a, plan_s,
                                                 **options)
        elif stages.uses_transmit_fused_tv(settings, x, est_s):   # moving: the same
            with clock("transmit_fused"):
                z, z_des = stages.transmit_fused_tv(settings, x, x_start, est_s, a, plan_s,
                                                    **options)
        else:
            with clock("precompensate"):
                xt = stages.precompensate(settings, x, x_start, est_s, plan_s)
            with clock("combine"):
                z, z_des = stages.precode(settings, xt, a, plan_s), stages.precode_desired(
                    xt, a, plan_s)
            del xt
        if ch_s.is_static:
            with clock("propagate"):
                y = stages.propagate(settings, z, rows, ch_s, plan_s)
            with clock("desired_path"):
                y_des = stages.propagate(settings, z_des, rows, ch_s, plan_s)
        else:                               # moving: the kernel's taps made once for both
            with clock("propagate"):
                y, y_des = stages.propagate_many(settings, (z, z_des), rows, ch_s, plan_s)
        del z, z_des
        with clock("propagate"):
            if r is None:
                r, r_des = y, y_des
            else:                           # in place: the same additions, no new buffers
                r += y
                r_des += y_des
    return r, r_des
