"""Benchmark of moving satellites: one full drop in geometry_mode = 'orbit' (time-varying
delays through waveforms.tv_delay) next to the same drop in the static model, in one run."""

from __future__ import annotations

import time


def bench_orbit_drop(cfg, num_users: int = 48, num_sats: int = 5, num_symbols: int = 14,
                     seed: int = 0, repeats: int = 2) -> dict:
    """Time emulate_links on the static paths and on the orbit paths of the same drop (S sats,
    K users, M symbols, MRT, drawn errors), after a warm-up each; the ratio orbit / static
    (target <= 2) and the orbit paths' set-up time (light time, fits) separately."""
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links
    from linksim.emulator.motion import orbit_paths
    from linksim.scenario import drop_rng

    case = drop_case(cfg, num_users, num_sats, seed, geometry_mode="orbit")
    cfg, drop, links, a, scsi = case.cfg, case.drop, case.links, case.coupling, case.scsi
    settings = case.settings
    t0 = time.perf_counter()
    channel, estimates, info = orbit_paths(cfg, drop, links, seed, 0, num_symbols)
    t_paths = time.perf_counter() - t0

    def run(ch, est):
        return emulate_links(settings, ch, est, a, scsi.noise_power_w, drop_rng(seed, 0, 3),
                             num_symbols)

    def best(ch, est):
        run(ch, est)                                 # warm-up (compilation is cached)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            run(ch, est)
            times.append(time.perf_counter() - t)
        return min(times)

    t_static = best(links.channel(), links.estimates())
    t_orbit = best(channel, estimates)
    return {"job": f"orbit drop S={num_sats} K={num_users} M={num_symbols}",
            "static_s": t_static, "orbit_s": t_orbit, "orbit_paths_s": t_paths,
            "ratio": t_orbit / t_static, "ratio_with_paths": (t_orbit + t_paths) / t_static,
            "delay_fit_error_s": info["delay_fit_error_s"]}
