"""Running time of the precoders (``linksim bench --precoders``; Fig. 12 uses the same rows).

The sCSI is synthetic (this package may not import the scenario): UPA steering vectors for
uniform spatial frequencies |vartheta| < 0.5, gamma log-uniform in [1e-16, 1e-15] (the Table I
range at 600 km), sigma^2 = 6e-16 W, the Rician factor in [20, 30] dB and rho = e^{-0.25}.
"""

from __future__ import annotations

import os
import time
from typing import Sequence

import numpy as np

from linksim.ratemodel import weighted_sum_rate
from linksim.scsi import Scsi

#: iterative methods timed with both W-step variants (the others with the paper's step)
BOTH_W_STEPS = frozenset({"ms-jowm", "ms-jocdwm"})


def bench_methods() -> list[tuple[str, str | None]]:
    """(method, w_step) rows timed by default: every method of :data:`precoders.PRECODERS` in
    its order (closed forms with w_step None, iterative ones with 'paper', those of
    :data:`BOTH_W_STEPS` also with 'exact'), except the DTN (timed by precoders.dtn.bench)."""
    from precoders import ITERATIVE, PRECODERS
    from precoders.dtn import METHOD_NAME

    rows: list[tuple[str, str | None]] = []
    for name in PRECODERS:
        if name == METHOD_NAME:
            continue
        if name not in ITERATIVE:
            rows.append((name, None))
        else:
            rows += [(name, "paper")] + ([(name, "exact")] if name in BOTH_W_STEPS else [])
    return rows


def synthetic_scsi(rng: np.random.Generator, S: int, K: int, antenna_size: tuple[int, int],
                   noise_power_w: float = 6e-16, kappa_db: tuple[float, float] = (20.0, 30.0),
                   phase_error_var_rad2: float = 0.5) -> Scsi:
    """A random sCSI of S satellites and K users (see the module docstring for the ranges)."""
    nx, ny = int(antenna_size[0]), int(antenna_size[1])
    vx, vy = rng.uniform(-0.5, 0.5, (S, K)), rng.uniform(-0.5, 0.5, (S, K))
    ax = np.exp(-1j * np.pi * vx[..., None] * np.arange(nx))
    ay = np.exp(-1j * np.pi * vy[..., None] * np.arange(ny))
    steering = (ax[..., :, None] * ay[..., None, :]).reshape(S, K, nx * ny)
    kappa = 10 ** (rng.uniform(*kappa_db, (S, K)) / 10)
    rho = np.full((S, K), np.exp(-phase_error_var_rad2 / 2), dtype=complex)
    return Scsi(gamma=10 ** rng.uniform(-16, -15, (S, K)), kappa=kappa, rho=rho,
                steering=steering, noise_power_w=np.full(K, noise_power_w),
                vartheta_x=vx, vartheta_y=vy, antenna_size=(nx, ny))


#: iterations of the fixed-length runs that measure the time per iteration
PER_ITERATION_RUNS = 10


def _timed(design, name: str, scsi: Scsi, power: float, **kw) -> float:
    t0 = time.perf_counter()
    design(name, scsi, power, **kw)
    return time.perf_counter() - t0


def bench_precoders(Ks: Sequence[int] = (12, 24, 48), S: int = 5,
                    antenna_size: tuple[int, int] = (16, 16), seed: int = 0,
                    power_dbw: float = -10.0, max_iterations: int = 100,
                    rate_threshold: float = 1e-4,
                    methods: Sequence[tuple[str, str | None]] | None = None) -> list[dict]:
    """Wall time of one design per method and K on one synthetic drop.

    Returns one dict per (K, method, w_step): method, w_step, K, S, N_t, seconds (wall time
    of the design with the stopping rule), iterations, seconds_per_iteration (iterative
    methods: (t(1 + n) - t(1)) / n from two runs of fixed length, n = PER_ITERATION_RUNS, the
    best of two, so set-up costs cancel; closed forms: = seconds), sum_rate (eq. 19,
    bit/s/Hz), power_dbw, blas_threads (OMP_NUM_THREADS or 'default').
    methods : (name, w_step) rows; None: :func:`bench_methods` (the registry).
    """
    from precoders import ITERATIVE, design

    methods = bench_methods() if methods is None else methods
    rows = []
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    P = 10 ** (power_dbw / 10)
    for K in Ks:
        rng = np.random.default_rng([seed, int(K)])
        scsi = synthetic_scsi(rng, S, int(K), antenna_size)
        for name, w_step in methods:
            kw = {}
            if name in ITERATIVE:
                kw = {"max_iterations": max_iterations, "rate_threshold": rate_threshold}
                if w_step is not None:
                    kw["w_step"] = w_step
            t0 = time.perf_counter()
            res = design(name, scsi, P, **kw)
            dt = time.perf_counter() - t0
            per_it = dt
            if name in ITERATIVE:
                fixed = {k: v for k, v in kw.items() if k != "max_iterations"}
                fixed["rate_threshold"] = 0.0
                per_it = min(_timed(design, name, scsi, P, max_iterations=1 + PER_ITERATION_RUNS,
                                    **fixed) - _timed(design, name, scsi, P, max_iterations=1,
                                                      **fixed)
                             for _ in range(2)) / PER_ITERATION_RUNS
            rows.append({"method": name, "w_step": w_step or "-", "K": int(K), "S": int(S),
                         "N_t": int(scsi.num_antennas), "seconds": dt,
                         "iterations": int(res.iterations),
                         "seconds_per_iteration": max(per_it, 0.0),
                         "sum_rate": float(weighted_sum_rate(scsi, res.W)),
                         "power_dbw": float(power_dbw), "blas_threads": threads})
    return rows
