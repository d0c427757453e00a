"""Benchmark: one drop through an NTN-TDL profile against the flat drop, in the same run.

Every tap (and every sum-of-sinusoids component when ue_speed_mps > 0) is one path of the
PathSet, so the propagation cost grows linearly with the paths P; the other stages (bursts,
precompensation, precoding, receiver) do not depend on P. Reported: the drop times, the time
per path of the whole drop (t / P) and the marginal time per extra path
((t_tdl - t_flat) / (P - 1)).
"""

from __future__ import annotations

import time


def bench_multipath_drop(cfg, num_users: int = 48, num_sats: int = 5, num_symbols: int = 14,
                         profile: str = "ntn-tdl-c", delay_spread_s: float = 1e-7,
                         ue_speed_mps: float = 0.0, seed: int = 0, repeats: int = 2) -> dict:
    """Time one drop (numba kernels) flat and with ``profile``; see the module docstring."""
    import numpy as np

    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links
    from linksim.multipath import multipath_channel
    from linksim.scenario import drop_rng

    case = drop_case(cfg, num_users, num_sats, seed, channel_profile=profile,
                     delay_spread_s=delay_spread_s, ue_speed_mps=ue_speed_mps)
    cfg, links, a, scsi = case.cfg, case.links, case.coupling, case.scsi
    settings = case.settings.replace(backend="numba")
    channels = {"flat": links.channel(), profile: multipath_channel(cfg, links, scsi, seed, 0)}

    def timed(channel) -> float:
        emulate_links(settings, channel, links.estimates(), a, scsi.noise_power_w,
                      drop_rng(seed, 0, 3), num_symbols)          # warm-up
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            emulate_links(settings, channel, links.estimates(), a, scsi.noise_power_w,
                          drop_rng(seed, 0, 3), num_symbols)
            best = min(best, time.perf_counter() - t0)
        return float(best)

    t_flat = timed(channels["flat"])
    t_tdl = timed(channels[profile])
    paths = channels[profile].num_paths
    return {"job": f"drop S={num_sats} K={num_users} M={num_symbols}, {profile} "
                   f"DS={delay_spread_s:g} s, v={ue_speed_mps:g} m/s",
            "paths": int(paths), "flat_s": t_flat, "tdl_s": t_tdl,
            "tdl_over_flat": t_tdl / t_flat, "flat_s_per_path": t_flat,
            "tdl_s_per_path": t_tdl / paths,
            "marginal_s_per_extra_path": (t_tdl - t_flat) / max(paths - 1, 1)}
