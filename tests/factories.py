"""Shared test inputs: a random but physically scaled sCSI (per-element gains around -155 dB,
Rician factors of 20-34 dB, noise -152 dBW per subcarrier), built like the real one."""

from __future__ import annotations

import numpy as np

from linksim.channel import upa_steering
from linksim.config import LinkConfig, build_config
from linksim.scsi import Scsi


def random_scsi(rng: np.random.Generator, S: int, K: int, antenna_size=(2, 2),
                rho: complex = np.exp(-0.25)) -> Scsi:
    """Random spatial frequencies in (-0.9, 0.9), gamma in [-165, -150] dB, kappa in
    [20, 34] dB, the same rho on every link, sigma^2 = 6e-16 W."""
    vx, vy = rng.uniform(-0.9, 0.9, (2, S, K))
    return Scsi(gamma=10 ** rng.uniform(-16.5, -15.0, (S, K)),
                kappa=10 ** rng.uniform(2.0, 3.4, (S, K)),
                rho=np.full((S, K), rho, dtype=complex),
                steering=upa_steering(vx, vy, antenna_size),
                noise_power_w=np.full(K, 6.0e-16), vartheta_x=vx, vartheta_y=vy,
                antenna_size=antenna_size)


def small_config() -> LinkConfig:
    """A small numerology with NR's 30 kHz spacing and CP ratio (N = 128, N_cp = 9, 72 used
    subcarriers), 2x2 arrays, K = 4, S = 3: fast waveform tests, same physics."""
    return build_config({"fft_size": 128, "cyclic_prefix_length": 9,
                         "num_used_subcarriers": 72, "timing_backoff_samples": 4,
                         "antenna_size": [2, 2], "num_users": 4, "num_sats": 3})
