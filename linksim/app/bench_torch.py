"""``linksim bench``: the whole drop resident on the torch device (backend torch), one drop and
many drops back to back (drops per second), with the host's share shown apart.

A drop's host share is what draws random numbers (data symbols, noise); the float64
geometry (burst plan, delay-kernel ops, symbol ranges; linksim.emulator.resident), which
the drops share, is made once; the device share is the
kernel job (waveforms.torch_drop). In the run of many drops the host prepares the next call's
drops on a second thread while the device runs the current call (``batch`` drops in one
call of every stage, waveforms.torch_drop.static_drops_torch), so the rate is set by the
slower of the two.
The drops share the geometry and precoder (the job's shapes) and draw new data and noise
each (drop_rng(seed, d, DATA_NOISE)); the device is ``LINKSIM_TORCH_DEVICE`` (default cpu).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

#: the issue's goal on a data-centre GPU (drops per second at S = 5, K = 48)
GOAL_DROPS_PER_S = 100.0
#: drops per device call in the back-to-back run on a GPU (one drop's launches serve them)
DEFAULT_CUDA_BATCH = 8


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_torch_drops(cfg, num_users: int = 48, num_sats: int = 5, num_symbols: int = 14,
                      drops: int = 4, repeats: int = 3, precision: str = "single",
                      stream: str = "counter", batch: int | None = None) -> dict:
    """One resident drop (median of ``repeats``; host and device shares apart) and ``drops``
    drops back to back, host preparation overlapped; accuracy against numba. ``batch``:
    drops per device call in the back-to-back run (waveforms.torch_drop.static_drops_torch;
    default 8 on a CUDA device, 1 elsewhere)."""
    from linksim.app.bench_case import drop_case
    from linksim.emulator import emulate_links, stages
    from linksim.emulator.resident import static_drop_job
    from linksim.scenario import Stream, drop_rng
    from waveforms.casts import as_dtype
    from waveforms.torch_drop import static_drops_torch
    from waveforms.torch_kernels import torch_device

    case = drop_case(cfg, num_users, num_sats)
    links, a, scsi = case.links, case.coupling, case.scsi
    st = case.settings.replace(backend="torch", precision=precision, data_stream=stream,
                          noise_stream="counter" if stream == "counter" else "joint")
    channel, estimates = links.channel(), links.estimates()
    plan = stages.plan_burst(st, channel, estimates, num_symbols)
    device = torch_device()
    kernel = st.kernels.static_drop
    if batch is None:
        batch = DEFAULT_CUDA_BATCH if device.startswith("cuda") else 1
    if batch < 1:
        raise ValueError(f"batch must be >= 1 (got {batch})")

    def draws(d: int):
        rng = drop_rng(0, d, Stream.DATA_NOISE)
        data = stages.burst_data(st, rng, num_users, plan)
        noise = stages.draw_noise(rng, scsi.noise_power_w, num_users, plan.rx_len,
                                  st.noise_stream)
        return as_dtype(data, st.sample_dtype), as_dtype(noise, st.sample_dtype)

    # the drops share their geometry: its delay-kernel ops and symbol ranges once, then
    # each drop's host share is its draws
    geometry = static_drop_job(st, channel, estimates, a, *draws(0), plan)

    def host(d: int):
        data, noise = draws(d)
        return replace(geometry, data=data, noise=noise)

    def timed(fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        _sync(device)
        return time.perf_counter() - t, out

    job = host(0)
    kernel(job)                                             # warm-up (plans, allocator)
    host_s, device_s = [], []
    for _ in range(repeats):
        th, job = timed(host, 0)
        td, out = timed(kernel, job)
        host_s.append(th)
        device_s.append(td)
    ref = emulate_links(st.replace(backend="numba"), channel, estimates, a, scsi.noise_power_w,
                        drop_rng(0, 0, Stream.DATA_NOISE), num_symbols)
    err = np.sum(np.abs(out[0] - ref.received) ** 2) / np.sum(np.abs(ref.received) ** 2)
    starts = list(range(1, drops + 1, batch))               # drops 1..N, `batch` a call

    def host_batch(d0: int) -> list:
        return [host(d) for d in range(d0, min(d0 + batch, drops + 1))]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:                     # host of call c + 1 beside c
        nxt = pool.submit(host_batch, starts[0])
        for c in range(len(starts)):
            jobs = nxt.result()
            if c + 1 < len(starts):
                nxt = pool.submit(host_batch, starts[c + 1])
            if len(jobs) == 1:
                kernel(jobs[0])
            else:
                static_drops_torch(jobs)
    _sync(device)
    total = time.perf_counter() - t0
    rate = drops / total
    return {"job": f"resident drop S={num_sats} K={num_users} M={num_symbols}",
            "device": device, "precision": precision, "data_stream": stream,
            "host_s": float(np.median(host_s)), "device_s": float(np.median(device_s)),
            "one_drop_s": float(np.median(np.add(host_s, device_s))),
            "drops": drops, "batch": batch, "drops_per_s": rate,
            "nmse_db_vs_numba": float(10 * np.log10(err)) if err > 0 else None,
            "goal_drops_per_s": GOAL_DROPS_PER_S,
            # the goal is for a data-centre GPU: on a CPU the rate is reported, not judged
            "met": (rate >= GOAL_DROPS_PER_S) if device.startswith("cuda") else None}


def format_torch(r: dict) -> str:
    nmse = r["nmse_db_vs_numba"]
    verdict = ("not judged on a CPU" if r["met"] is None else "met" if r["met"] else "not met")
    return (f"    torch {r['job']} on {r['device']} ({r['precision']}, "
            f"data_stream={r['data_stream']}): one drop {r['one_drop_s']:.3f} s (host "
            f"{r['host_s']:.3f} s + device {r['device_s']:.3f} s), {r['drops']} drops back to "
            f"back, {r['batch']} a call, {r['drops_per_s']:.2f} drops/s (goal "
            f"{r['goal_drops_per_s']:.0f} on a data-centre GPU: {verdict})"
            + (f", NMSE vs numba {nmse:.0f} dB" if nmse is not None else ""))
