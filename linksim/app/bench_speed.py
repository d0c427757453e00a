"""Benchmarks of issue 17 (speed near the machine's limit), each against its references in the
same run: repeats are interleaved (reference, candidate, reference, ...) and the median is
reported, so a machine shared with other jobs shifts both sides alike and the ratios stay
meaningful; the absolute times do not.

    gemm_rates       the machine's zgemm / cgemm GFLOP/s (512^3 complex matrix products)
    bench_ofdm       OFDM modulation and demodulation, 64 users x 14 symbols, N = 1024:
                     numpy (complex128), the fused scipy.fft path (double and single),
                     plain torch.fft complex64, and the torch kernel set
    bench_combine    the precoding combine (S = 5, K = 48 at a drop's window sizes): the
                     sequential numba kernel, tiled GEMMs (double, single), next to zgemm/cgemm
    bench_drop_stages  a full drop (S = 5, K = 48, 14 symbols) by stage, with each stage's
                     GFLOP/s, in double and single, peak traced memory, and the drop under
                     either allocator setting (linksim.runtime.allocator, LINKSIM_MALLOC =
                     system | keep-freed), each in a fresh process
    speed_goals      the issue's goals and whether this run met them

FLOP conventions: a complex FFT of size N is 5 N log2 N flops; a complex multiply-add is 8;
the FIR's real-tap complex-sample MAC is 4 (waveforms.bench).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np

from linksim.runtime.allocator import ENV_VAR, allocator_setting


def _median_interleaved(fns: dict, repeats: int) -> dict:
    """{name: median seconds} with the candidates timed in turn within every repeat."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def machine_settings() -> dict:
    import numba
    import scipy

    from waveforms.ofdm_fast import fft_workers

    out = {"cpu_count": os.cpu_count(), "numba_threads": int(numba.get_num_threads()),
           "fft_workers": fft_workers(), "numpy": np.__version__, "scipy": scipy.__version__,
           "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
           "allocator": allocator_setting()}
    for var in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        out[var] = os.environ.get(var)
    try:
        import torch

        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
        out["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:                                   # torch is optional here
        out["torch"] = None
    return out


def gemm_rates(size: int = 512, repeats: int = 5) -> dict:
    """zgemm / cgemm GFLOP/s of numpy's BLAS on [size, size] products (8 size^3 flops)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))
    a32 = a.astype(np.complex64)
    a @ a
    t = _median_interleaved({"z": lambda: a @ a, "c": lambda: a32 @ a32}, repeats)
    flops = 8.0 * size ** 3
    return {"size": size, "zgemm_gflops": flops / t["z"] / 1e9,
            "cgemm_gflops": flops / t["c"] / 1e9}


def best_gemm_rates(samples: list[dict]) -> dict:
    """The machine's GEMM rate from several :func:`gemm_rates` samples of one run (its best
    per kind, so a sample taken while a neighbour slowed the machine does not inflate the
    fractions of it), with the samples themselves under ``samples``."""
    best = {"size": samples[0]["size"]}
    for key in ("zgemm_gflops", "cgemm_gflops"):
        best[key] = max(r[key] for r in samples)
    return best | {"samples": [dict(r) for r in samples]}


def rescale_combine(combine: dict, rates: dict) -> dict:
    """:func:`bench_combine`'s result with its GEMM fractions against ``rates``."""
    g = combine["gflops"]
    return combine | {
        "fraction_of_zgemm": {k: v / rates["zgemm_gflops"] for k, v in g.items()
                              if "c128" in k},
        "fraction_of_cgemm": {"gemm_c64": g["gemm_c64"] / rates["cgemm_gflops"]},
        "zgemm_gflops": rates["zgemm_gflops"], "cgemm_gflops": rates["cgemm_gflops"]}


def memory_bandwidth(mib: int = 256, repeats: int = 5) -> dict:
    """The machine's streaming bandwidth: ``np.copyto`` between two warm ``mib`` MiB buffers,
    bytes read plus bytes written per second (GB/s, 1e9)."""
    n = mib * 2**20 // 8
    src, dst = np.ones(n), np.zeros(n)
    np.copyto(dst, src)
    t = _median_interleaved({"copy": lambda: np.copyto(dst, src)}, repeats)["copy"]
    return {"mib": mib, "copy_gb_per_s": 2 * n * 8 / t / 1e9}


def combine_roofline(num_sats: int, num_users: int, tx_len: int, win_len: int,
                     itemsize: int, bandwidth_gb_per_s: float) -> dict:
    """The combine's arithmetic intensity and the rate memory traffic allows.

    Any implementation must read every stream sample once (S K L complex) and write every
    window (S J W): flops / bytes = 8 S J K W / ((S K L + S J W) itemsize). With J W / L ~ 7
    receivers' windows overlapping a stream sample at a drop's sizes this is ~3 flop/byte in
    double, far below a large GEMM's, so no implementation that streams the buffers from
    memory can exceed intensity x bandwidth. (The tiled GEMMs measured stay well below that
    bound too: their ~7-row products are what limits them.)
    """
    from waveforms.combine_gemm import combine_flops

    flops = combine_flops(num_sats, num_users, num_users, win_len)
    nbytes = (num_sats * num_users * tx_len + num_sats * num_users * win_len) * itemsize
    intensity = flops / nbytes
    return {"flop_per_byte": intensity, "bound_gflops": intensity * bandwidth_gb_per_s,
            "windows_per_stream_sample": num_users * win_len / tx_len}


def _fft_flops(n: int, count: int) -> float:
    return 5.0 * n * math.log2(n) * count


def bench_ofdm(num_users: int = 64, num_symbols: int = 14, fft_size: int = 1024,
               cp: int = 72, num_used: int = 612, repeats: int = 7) -> dict:
    """Modulation and demodulation of num_users x num_symbols symbols by every path."""
    import torch

    from waveforms.ofdm import ofdm_demodulate, ofdm_modulate, used_subcarrier_bins
    from waveforms.ofdm_fast import ofdm_demodulate_fast, ofdm_modulate_fast
    from waveforms.torch_kernels import ofdm_demodulate_torch, ofdm_modulate_torch

    rng = np.random.default_rng(1)
    bins = used_subcarrier_bins(fft_size, num_used)
    X = (rng.standard_normal((num_users, num_symbols, num_used))
         + 1j * rng.standard_normal((num_users, num_symbols, num_used))) * np.sqrt(0.5)
    X32 = X.astype(np.complex64)
    bins_t = torch.as_tensor(bins)
    Xt = torch.as_tensor(X32)

    def torch_plain_mod():                      # plain torch.fft complex64: map, IFFT, CP
        grid = torch.zeros((num_users, num_symbols, fft_size), dtype=torch.complex64)
        grid[:, :, bins_t] = Xt
        body = torch.fft.ifft(grid, dim=-1, norm="ortho")
        return torch.cat((body[:, :, fft_size - cp:], body), dim=-1).reshape(num_users, -1)

    x_ref = ofdm_modulate(X, fft_size, cp, bins)
    x32 = x_ref.astype(np.complex64)
    xt = torch.as_tensor(x32)
    lsym = fft_size + cp

    def torch_plain_demod():
        w = xt.reshape(num_users, num_symbols, lsym)[:, :, cp:]
        return torch.fft.fft(w, dim=-1, norm="ortho")[:, :, bins_t]

    mods = {"numpy_c128": lambda: ofdm_modulate(X, fft_size, cp, bins),
            "fused_c128": lambda: ofdm_modulate_fast(X, fft_size, cp, bins),
            "fused_c64": lambda: ofdm_modulate_fast(X32, fft_size, cp, bins),
            "torch_fft_c64": torch_plain_mod,
            "torch_set_c64": lambda: ofdm_modulate_torch(X32, fft_size, cp, bins)}
    demods = {"numpy_c128": lambda: ofdm_demodulate(x_ref, 0, num_symbols, fft_size, cp, bins),
              "fused_c128": lambda: ofdm_demodulate_fast(x_ref, 0, num_symbols, fft_size, cp,
                                                         bins),
              "fused_c64": lambda: ofdm_demodulate_fast(x32, 0, num_symbols, fft_size, cp, bins),
              "torch_fft_c64": torch_plain_demod,
              "torch_set_c64": lambda: ofdm_demodulate_torch(x32, 0, num_symbols, fft_size, cp,
                                                             bins)}
    for fn in (*mods.values(), *demods.values()):
        fn()                                                        # warm-up (plans, pages)
    t_mod = _median_interleaved(mods, repeats)
    t_dem = _median_interleaved(demods, repeats)
    samples = num_users * num_symbols * lsym
    Y_ref = ofdm_demodulate(x_ref, 0, num_symbols, fft_size, cp, bins)

    def rel(a, b):
        a = a.numpy() if hasattr(a, "numpy") else a
        return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))

    agreement = {
        "mod_fused_c128": rel(mods["fused_c128"](), x_ref),
        "mod_fused_c64": rel(mods["fused_c64"](), x_ref),
        "mod_torch_fft_c64": rel(torch_plain_mod(), x_ref),
        "demod_fused_c128": rel(demods["fused_c128"](), Y_ref),
        "demod_fused_c64": rel(demods["fused_c64"](), Y_ref),
        "demod_torch_fft_c64": rel(torch_plain_demod(), Y_ref)}
    return {"job": f"{num_users} users x {num_symbols} symbols, N={fft_size}, Ncp={cp}",
            "repeats": repeats,
            "mod_msamples_per_s": {k: samples / v / 1e6 for k, v in t_mod.items()},
            "demod_msamples_per_s": {k: samples / v / 1e6 for k, v in t_dem.items()},
            "mod_seconds": t_mod, "demod_seconds": t_dem,
            "mod_gflops_fused_c64": _fft_flops(fft_size, num_users * num_symbols)
            / t_mod["fused_c64"] / 1e9,
            "mod_fused_c64_vs_torch_fft": t_mod["torch_fft_c64"] / t_mod["fused_c64"],
            "demod_fused_c64_vs_torch_fft": t_dem["torch_fft_c64"] / t_dem["fused_c64"],
            "mod_torch_set_c64_vs_torch_fft": t_mod["torch_fft_c64"] / t_mod["torch_set_c64"],
            "demod_torch_set_c64_vs_torch_fft": t_dem["torch_fft_c64"]
            / t_dem["torch_set_c64"],
            "mod_fused_c128_vs_numpy": t_mod["numpy_c128"] / t_mod["fused_c128"],
            "demod_fused_c128_vs_numpy": t_dem["numpy_c128"] / t_dem["fused_c128"],
            "max_rel_diff": agreement}


def bench_combine(num_sats: int = 5, num_users: int = 48, tx_len: int = 106_215,
                  win_len: int = 15_397, repeats: int = 3, rates: dict | None = None,
                  bandwidth: dict | None = None) -> dict:
    """The combine at a full drop's sizes (defaults: S = 5, K = 48, 14 symbols)."""
    from waveforms.combine import combine_streams, combine_streams_reference
    from waveforms.combine_gemm import combine_flops, combine_streams_gemm

    rng = np.random.default_rng(2)
    x = (rng.standard_normal((num_sats, num_users, tx_len))
         + 1j * rng.standard_normal((num_sats, num_users, tx_len)))
    a = rng.standard_normal((num_sats, num_users, num_users)) + 1j * rng.standard_normal(
        (num_sats, num_users, num_users))
    off = rng.integers(0, tx_len - win_len + 1, (num_sats, num_users))
    x32, a32 = x.astype(np.complex64), a.astype(np.complex64)
    fns = {"numba_sequential_c128": lambda: combine_streams(x, a, off, win_len),
           "gemm_c128": lambda: combine_streams_gemm(x, a, off, win_len),
           "gemm_c64": lambda: combine_streams_gemm(x32, a32, off, win_len)}
    for fn in fns.values():
        fn()
    t = _median_interleaved(fns, repeats)
    ref = combine_streams_reference(x, a, off, win_len)
    flops = combine_flops(num_sats, num_users, num_users, win_len)
    rates = rates or gemm_rates()
    g = {k: flops / v / 1e9 for k, v in t.items()}
    scale = np.max(np.abs(ref))
    bw = bandwidth or memory_bandwidth()
    roof = {name: combine_roofline(num_sats, num_users, tx_len, win_len, size,
                                   bw["copy_gb_per_s"]) for name, size in (("c128", 16),
                                                                             ("c64", 8))}
    return {"job": f"S={num_sats} K={num_users} L={tx_len} W={win_len}",
            "bandwidth_gb_per_s": bw["copy_gb_per_s"], "roofline": roof,
            "fraction_of_roofline": {k: v / roof[k.rsplit("_", 1)[1]]["bound_gflops"]
                                     for k, v in g.items()},
            "gflop": flops / 1e9, "seconds": t, "gflops": g,
            "fraction_of_zgemm": {k: v / rates["zgemm_gflops"] for k, v in g.items()
                                  if "c128" in k},
            "fraction_of_cgemm": {"gemm_c64": g["gemm_c64"] / rates["cgemm_gflops"]},
            "zgemm_gflops": rates["zgemm_gflops"], "cgemm_gflops": rates["cgemm_gflops"],
            "max_rel_diff": {k: float(np.max(np.abs(fn() - ref)) / scale)
                             for k, fn in fns.items()}}


def _drop_case(cfg, num_users, num_sats, seed=0):
    """(settings, links, coupling, scsi) of the benchmark drop (linksim.app.bench_case)."""
    from linksim.app.bench_case import drop_case

    case = drop_case(cfg, num_users, num_sats, seed)
    return case.settings, case.links, case.coupling, case.scsi


def _staged_drop(settings, links, a, scsi, num_symbols, seed=0):
    """One drop through :func:`linksim.emulator.emulate_links` itself, its stages timed by a
    StageClock (linksim.emulator.stage_clock): ({stage: seconds} with 'seconds' the whole
    call, received grid)."""
    import numba

    from linksim.emulator import emulate_links
    from linksim.emulator.stage_clock import StageClock
    from linksim.scenario import drop_rng

    ch, est = links.channel(), links.estimates()
    clock = StageClock()
    t0 = time.perf_counter()
    out = emulate_links(settings, ch, est, a, scsi.noise_power_w, drop_rng(seed, 0, 3),
                        num_symbols, clock=clock)
    t = dict(clock.seconds) | {"seconds": time.perf_counter() - t0}
    if "transmit_fused" in t:
        # the combine inside the fused pass: its GEMMs and window copies, thread-seconds
        # over the threads that ran them concurrently (the fused pass's default workers)
        t["combine_in_fused"] = ((clock.profile["gemm"] + clock.profile["copy"])
                                 / numba.get_num_threads())
        # the combine's own kernels alone (the BLAS GEMMs, or the ordered sums), at the flops
        # they compute (whole tiles), without the copies out of the tiles
        t["combine_kernels_gflops"] = (clock.profile["gemm_flops"] / 1e9 * numba.get_num_threads()
                                       / clock.profile["gemm"])
    return t, out.received


def _stage_flops(settings, plan, k, s_count, num_symbols) -> dict:
    from waveforms.bench import FLOPS_PER_TAP_MAC
    from waveforms.combine_gemm import combine_flops

    num = settings.numerology
    taps = settings.fractional_delay_taps
    fir = FLOPS_PER_TAP_MAC * taps
    # the precoded windows' GEMMs and the own-stream windows A[s, j, j] x~ (6 flops each)
    comb = combine_flops(s_count, k, k, plan.win_len) + 6.0 * s_count * k * plan.win_len
    return {"ofdm_modulate": _fft_flops(num.fft_size, k * plan.num_burst_symbols),
            "precompensate": fir * s_count * k * plan.tx_len,
            "combine": comb,
            "transmit_fused": fir * s_count * k * plan.tx_len + comb,
            "combine_in_fused": comb,
            "propagate": fir * s_count * k * plan.rx_len,
            "desired_path": fir * s_count * k * plan.rx_len,
            "receive_3_dfts": _fft_flops(num.fft_size, 3 * k * num_symbols)}


def bench_drop_stages(cfg, num_users: int = 48, num_sats: int = 5, num_symbols: int = 14,
                      repeats: int = 3, variants: tuple = (("numba", "double"),
                                                           ("numba", "single"),
                                                           ("fast", "double"),
                                                           ("fast", "single"),
                                                           ("fast", "single", "per-user"),
                                                           ("fast", "single", "counter"))
                      ) -> dict:
    """A full drop by stage for every (backend, precision[, data_stream]) variant,
    interleaved, medians: emulate_links itself with its stages timed (``seconds``: the whole
    call). A 'per-user' or 'counter' variant draws other data symbols (its NMSE against the
    first variant is not reported). The torch set's drop runs resident on its device and
    is timed by :func:`linksim.app.bench_torch.bench_torch_drops`."""
    settings, links, a, scsi = _drop_case(cfg, num_users, num_sats)
    cases = {}
    for b, p, *d in variants:
        stream = d[0] if d else "joint"
        name = f"{b}_{p}" + ("" if stream == "joint" else "_" + stream.replace("-", "_"))
        cases[name] = settings.replace(backend=b, precision=p, data_stream=stream)
        if stream == "counter":          # the counter-based generator for the noise too
            cases[name] = cases[name].replace(noise_stream="counter")
    for st in cases.values():
        _staged_drop(st, links, a, scsi, num_symbols)               # warm-up, compilation
    per = {name: [] for name in cases}
    outs = {}
    for _ in range(repeats):
        for name, st in cases.items():
            t, outs[name] = _staged_drop(st, links, a, scsi, num_symbols)
            per[name].append(t)
    from linksim.emulator import stages

    plan = stages.plan_burst(settings, links.channel(), links.estimates(), num_symbols)
    flops = _stage_flops(settings, plan, num_users, num_sats, num_symbols)
    ref = outs[next(iter(cases))]
    total_flops = sum(v for k, v in flops.items()
                      if k not in ("transmit_fused", "combine_in_fused"))
    ranges = stages.needed_symbol_ranges(settings, links.estimates(), plan)
    res = {"job": f"full drop S={num_sats} K={num_users} M={num_symbols}",
           "repeats": repeats, "stage_gflop": {k: v / 1e9 for k, v in flops.items()},
           # the stage flops count every burst symbol; the kernel sets with ranges modulate
           # only the symbols a window reads (stages.needed_symbol_ranges): this share
           "modulated_symbol_share": 1.0 if ranges is None else float(
               np.sum(ranges[:, 1] - ranges[:, 0]) / (num_users * plan.num_burst_symbols)),
           "total_gflop": total_flops / 1e9, "variants": {}}
    for name, rows in per.items():
        med = {k: float(np.median([r[k] for r in rows])) for k in rows[0] if k != "seconds"}
        kernels_gflops = med.pop("combine_kernels_gflops", None)
        total = float(np.median([r["seconds"] for r in rows]))
        same_data = cases[name].data_stream == cases[next(iter(cases))].data_stream
        err = (np.sum(np.abs(outs[name] - ref) ** 2) / np.sum(np.abs(ref) ** 2)
               if same_data else 0.0)
        res["variants"][name] = {
            "seconds": total, "stage_seconds": med,
            "stage_gflops": {k: flops[k] / med[k] / 1e9 for k in med
                             if k in flops and med[k] > 0},
            "gflops_overall": total_flops / total / 1e9,
            "combine_kernels_gflops": kernels_gflops,
            "nmse_db_vs_first": float(10 * np.log10(err)) if err > 0 else None,
            "data_stream": cases[name].data_stream, "precision": cases[name].precision}
    return res


def peak_memory_mib(cfg, num_users=48, num_sats=5, num_symbols=14, backend="numba",
                    precision="double") -> float:
    """Peak traced allocation (numpy buffers included) of one full emulate_links call."""
    from linksim.emulator import emulate_links
    from linksim.scenario import drop_rng

    settings, links, a, scsi = _drop_case(cfg, num_users, num_sats)
    st = settings.replace(backend=backend, precision=precision)
    tracemalloc.start()
    emulate_links(st, links.channel(), links.estimates(), a, scsi.noise_power_w,
                  drop_rng(0, 0, 3), num_symbols)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def drop_seconds_with_env(env_changes: dict, num_users=48, num_sats=5, num_symbols=14,
                          precision="double", repeats=3) -> float | None:
    """Median seconds of emulate_links in a fresh process with environment changes (the
    allocator's effect: glibc reads MALLOC_* only at start)."""
    code = ("import json,time,numpy as np;from linksim.config import build_config;"
            "from linksim.runtime.allocator import keep_freed_memory;keep_freed_memory();"
            "from linksim.app.bench_speed import _drop_case;"
            "from linksim.emulator import emulate_links;from linksim.scenario import drop_rng;"
            f"s,l,a,sc=_drop_case(build_config(),{num_users},{num_sats});"
            f"s=s.replace(precision='{precision}');ts=[]\n"
            f"for _ in range({repeats + 1}):\n"
            " t=time.perf_counter();emulate_links(s,l.channel(),l.estimates(),a,"
            f"sc.noise_power_w,drop_rng(0,0,3),{num_symbols});ts.append(time.perf_counter()-t)\n"
            "print(json.dumps(float(np.median(ts[1:]))))")
    env = dict(os.environ) | {k: str(v) for k, v in env_changes.items()}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=900)
    if p.returncode != 0:
        return None
    return float(json.loads(p.stdout.strip().splitlines()[-1]))


_TRANSMIT = ("precompensate", "combine", "transmit_fused")   # one of two alternatives


def drop_floor(drop: dict, delay: dict, rates: dict) -> dict:
    """How fast this machine could run the drop, from this run's own measurements.

    best_stages_s: the fastest measured time of every stage over the variants, summed (the
        unfused precompensate + combine and the fused transmit pass are alternatives: the
        faster of the two); a drop combining every variant's best stage.
    peak_rates_s: the FIR work (precompensation, propagation, desired path) at the single
        delay kernel's rate of (a), the combine at the measured cgemm rate, every other stage
        at its fastest measured time; what the drop would take if the FIR and the combine ran
        at the best rates this machine showed for their kind of work.
    """
    var = drop["variants"].values()
    best = {}
    for v in var:
        for k, t in v["stage_seconds"].items():
            if k not in _TRANSMIT and k != "combine_in_fused":
                best[k] = min(best.get(k, math.inf), t)
    transmit = min(sum(v["stage_seconds"].get(k, 0.0) for k in _TRANSMIT) for v in var)
    g = drop["stage_gflop"]
    fir_rate = delay.get("gflops_numba_single") or delay.get("gflops_numba")
    out = {"best_stages_s": transmit + sum(best.values()),
           "best_stage_seconds": best | {"transmit": transmit}}
    if fir_rate:
        fir_gflop = g["precompensate"] + g["propagate"] + g["desired_path"]
        rest = sum(t for k, t in best.items() if k not in ("propagate", "desired_path"))
        out |= {"peak_rates_s": fir_gflop / fir_rate + g["combine"] / rates["cgemm_gflops"]
                + rest, "fir_gflop": fir_gflop, "fir_gflops_used": fir_rate,
                "combine_gflop": g["combine"], "gemm_gflops_used": rates["cgemm_gflops"]}
    return out


GOALS = {"drop_seconds": 0.1, "drop_peak_mib": 400.0, "combine_fraction_of_gemm": 0.5,
         "ofdm_vs_torch_fft": 1.0, "delay_doppler_gflops_today": 27.0}


def speed_goals(ofdm: dict, combine: dict, drop: dict, memory: dict, delay: dict,
                floor: dict | None = None, judged: bool = True) -> dict:
    """The issue's goals with this run's numbers (met: True/False); ``floor``: the run's
    :func:`drop_floor`, shown beside the drop goal. ``judged=False`` (the smaller jobs of
    ``--quick``, not the sizes the goals are stated for): every ``met`` is None and each goal
    says ``judged: False``."""
    goals = _speed_goals(ofdm, combine, drop, memory, delay, floor)
    if not judged:
        for g in goals.values():
            for key in [k for k in g if k.startswith("met")]:
                g[key] = None
            g["judged"] = False
    return goals


def _speed_goals(ofdm, combine, drop, memory, delay, floor) -> dict:
    best_name = min(drop["variants"], key=lambda k: drop["variants"][k]["seconds"])
    best = drop["variants"][best_name]["seconds"]
    comb = max(combine["fraction_of_zgemm"].get("gemm_c128", 0.0),
               combine["fraction_of_cgemm"]["gemm_c64"])
    # the combine inside the fused transmit pass (streams from cache, not from memory)
    in_fused = {name: v["stage_gflops"]["combine_in_fused"]
                / combine[("cgemm" if v["precision"] == "single" else "zgemm") + "_gflops"]
                for name, v in drop["variants"].items()
                if "combine_in_fused" in v["stage_gflops"]}
    comb_fused = max(in_fused.values(), default=0.0)
    kernels = {name: v["combine_kernels_gflops"]
               / combine[("cgemm" if v["precision"] == "single" else "zgemm") + "_gflops"]
               for name, v in drop["variants"].items() if v.get("combine_kernels_gflops")}
    ofdm_ratio = min(ofdm["mod_fused_c64_vs_torch_fft"], ofdm["demod_fused_c64_vs_torch_fft"])
    # the torch kernel set's OFDM: torch's FFT fused with the subcarrier map and the CP
    torch_set = min(ofdm.get("mod_torch_set_c64_vs_torch_fft", 0.0),
                    ofdm.get("demod_torch_set_c64_vs_torch_fft", 0.0))
    mem = min(memory.values())
    floor = floor or {}
    return {
        "drop_seconds": {"goal": GOALS["drop_seconds"], "best": best, "variant": best_name,
                         "met": best <= GOALS["drop_seconds"],
                         "floor_best_stages": floor.get("best_stages_s"),
                         "floor_peak_rates": floor.get("peak_rates_s")},
        "drop_peak_mib": {"goal": GOALS["drop_peak_mib"], "per_variant": memory,
                          "met": mem <= GOALS["drop_peak_mib"]},
        "combine_fraction_of_gemm": {"goal": GOALS["combine_fraction_of_gemm"], "best": comb,
                                     "best_in_fused": comb_fused, "in_fused": in_fused,
                                     # not judged: the kernels without the tile copies
                                     "kernels_only_in_fused": kernels,
                                     "met": max(comb, comb_fused)
                                     >= GOALS["combine_fraction_of_gemm"]},
        "ofdm_vs_torch_fft": {"goal": GOALS["ofdm_vs_torch_fft"], "worst": ofdm_ratio,
                              "met": ofdm_ratio >= GOALS["ofdm_vs_torch_fft"],
                              "worst_torch_set": torch_set,
                              "met_torch_set": torch_set >= GOALS["ofdm_vs_torch_fft"]},
        "delay_doppler_gflops": {"goal": GOALS["delay_doppler_gflops_today"],
                                 "measured": delay.get("gflops_numba"),
                                 "measured_single": delay.get("gflops_numba_single"),
                                 "median": delay.get("gflops_numba_median"),
                                 "median_single": delay.get("gflops_numba_single_median"),
                                 "met": (delay.get("gflops_numba") or 0.0)
                                 >= GOALS["delay_doppler_gflops_today"],
                                 "met_single": (delay.get("gflops_numba_single") or 0.0)
                                 >= GOALS["delay_doppler_gflops_today"]}}


def bench_speed(cfg, quick: bool = False, delay: dict | None = None,
                drops: int | None = None, batch: int | None = None) -> dict:
    """Every issue-17 benchmark in one run (``quick``: small jobs, a smoke run; ``drops``:
    drops back to back in the torch resident run, default 4, 2 quick; ``batch``: drops per
    device call there, default bench_torch's)."""
    if quick:
        sizes = dict(num_users=12, num_sats=2, num_symbols=4)
        ofdm = bench_ofdm(num_users=8, num_symbols=4, repeats=3)
        rates = gemm_rates(size=128, repeats=3)
        combine = bench_combine(num_sats=2, num_users=8, tx_len=6000, win_len=2000, repeats=2,
                                rates=rates)
        drop = bench_drop_stages(cfg, repeats=1, **sizes)
        alloc = {}
    else:
        sizes = dict(num_users=48, num_sats=5, num_symbols=14)
        ofdm = bench_ofdm()
        rates = gemm_rates()
        combine = bench_combine(rates=rates)
        drop = bench_drop_stages(cfg, **sizes)
        alloc = {f"{p}_{a}": drop_seconds_with_env({ENV_VAR: a}, precision=p)
                 for p in ("double", "single") for a in ("system", "keep-freed")}
    memory = {f"{b}_{p}": peak_memory_mib(cfg, backend=b, precision=p, **sizes)
              for b, p in (("numba", "double"), ("numba", "single"), ("fast", "double"))}
    # the GEMM rate again after the long drop runs: the fractions of it take the run's best
    # sample (this VM's speed drifts by up to ~1.4x over minutes)
    rates = best_gemm_rates([rates, gemm_rates(size=rates["size"], repeats=3 if quick else 5)])
    combine = rescale_combine(combine, rates)
    from linksim.app.bench_torch import bench_torch_drops

    resident = bench_torch_drops(cfg, drops=drops or (2 if quick else 4),
                                 repeats=1 if quick else 3, batch=batch, **sizes)
    res = {"machine": machine_settings(), "gemm": rates, "ofdm": ofdm, "combine": combine,
           "drop_stages": drop, "peak_memory_mib": memory, "allocator_drop_seconds": alloc,
           "torch_resident": resident}
    res["drop_floor"] = drop_floor(drop, delay or {}, combine)
    res["goals"] = speed_goals(ofdm, combine, drop, memory, delay or {}, res["drop_floor"],
                               judged=not quick)
    res["goals"]["torch_drops_per_s"] = {
        "goal": resident["goal_drops_per_s"], "measured": resident["drops_per_s"],
        "device": resident["device"], "met": None if quick else resident["met"]}
    if quick:
        res["goals"]["torch_drops_per_s"]["judged"] = False
    return res


def format_speed(res: dict) -> list[str]:
    """The speed section as text lines (the numbers of the JSON, rounded)."""
    m, g, o, c, d = (res["machine"], res["gemm"], res["ofdm"], res["combine"],
                     res["drop_stages"])
    lines = [f"(c) speed (issue 17), medians of interleaved repeats; machine: cpus="
             f"{m['cpu_count']} numba_threads={m['numba_threads']} fft_workers="
             f"{m['fft_workers']} torch_threads={m.get('torch_threads')} load="
             f"{m['load_average_1min']} allocator={m['allocator']} (LINKSIM_MALLOC) "
             f"MALLOC_MMAP_THRESHOLD_={m['MALLOC_MMAP_THRESHOLD_']}",
             f"    GEMM {g['size']}^3: zgemm {g['zgemm_gflops']:.1f} GFLOP/s, cgemm "
             f"{g['cgemm_gflops']:.1f} GFLOP/s (the best of "
             + ", ".join(f"{r['zgemm_gflops']:.1f}/{r['cgemm_gflops']:.1f}"
                         for r in g.get("samples", [g])) + " measured in this run)",
             f"    OFDM {o['job']} (Msamples/s):"]
    for key in ("mod", "demod"):
        rates = o[f"{key}_msamples_per_s"]
        lines.append(f"      {key:<6}" + "  ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    lines.append(f"      fused c64 / torch.fft c64: mod {o['mod_fused_c64_vs_torch_fft']:.2f}x, "
                 f"demod {o['demod_fused_c64_vs_torch_fft']:.2f}x; torch set c64 / torch.fft "
                 f"c64: mod {o['mod_torch_set_c64_vs_torch_fft']:.2f}x, demod "
                 f"{o['demod_torch_set_c64_vs_torch_fft']:.2f}x")
    lines.append(f"    combine {c['job']}: " + ", ".join(
        f"{k} {v:.1f} GFLOP/s" for k, v in c["gflops"].items())
        + f" (gemm_c128 = {c['fraction_of_zgemm']['gemm_c128']:.2f} of zgemm, gemm_c64 = "
        f"{c['fraction_of_cgemm']['gemm_c64']:.2f} of cgemm)")
    lines.append(f"      memory-bound: {c['roofline']['c128']['windows_per_stream_sample']:.1f} "
                 f"windows per stream sample, {c['roofline']['c128']['flop_per_byte']:.2f} "
                 f"flop/byte (c128), {c['roofline']['c64']['flop_per_byte']:.2f} (c64); at "
                 f"{c['bandwidth_gb_per_s']:.1f} GB/s copy bandwidth the bound is "
                 f"{c['roofline']['c128']['bound_gflops']:.1f} / "
                 f"{c['roofline']['c64']['bound_gflops']:.1f} GFLOP/s; reached: " + ", ".join(
                     f"{k} {v:.2f}" for k, v in c["fraction_of_roofline"].items()))
    lines.append(f"    {d['job']}, {d['total_gflop']:.2f} GFLOP:")
    for name, v in d["variants"].items():
        stages = "  ".join(f"{k} {1e3 * s:.0f}ms" + (f"/{v['stage_gflops'][k]:.1f}GF/s"
                                                      if k in v["stage_gflops"] else "")
                           for k, s in v["stage_seconds"].items())
        nmse = v["nmse_db_vs_first"]
        lines.append(f"      {name:<20} {v['seconds']:.3f} s ({v['gflops_overall']:.1f} GFLOP/s"
                     + (f", NMSE {nmse:.0f} dB" if nmse is not None else "") + f"): {stages}")
    lines.append("    peak traced memory of a drop (MiB): " + ", ".join(
        f"{k} {v:.0f}" for k, v in res["peak_memory_mib"].items()))
    if res["allocator_drop_seconds"]:
        lines.append("    drop seconds by allocator setting (fresh process): " + ", ".join(
            f"{k}: {v:.3f}" if v is not None else f"{k}: failed"
            for k, v in res["allocator_drop_seconds"].items()))
    if "torch_resident" in res:
        from linksim.app.bench_torch import format_torch

        lines.append(format_torch(res["torch_resident"]))
    fl = res.get("drop_floor", {})
    if fl:
        lines.append(f"    floor of the drop on this machine: fastest measured stage of every "
                     f"variant summed {fl['best_stages_s']:.3f} s" + (
                         f"; with the FIR work ({fl['fir_gflop']:.2f} GFLOP) at (a)'s "
                         f"{fl['fir_gflops_used']:.1f} GFLOP/s and the combine at cgemm's "
                         f"{fl['gemm_gflops_used']:.1f}: {fl['peak_rates_s']:.3f} s"
                         if "peak_rates_s" in fl else ""))
    for name, goal in res["goals"].items():
        shown = {k: (round(v, 3) if isinstance(v, float) else
                     {n: round(x, 3) for n, x in v.items()} if isinstance(v, dict) else v)
                 for k, v in goal.items() if k not in ("per_variant", "in_fused")}
        lines.append(f"    goal {name}: {shown}")
    return lines
