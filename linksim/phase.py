"""Exact cycle reduction: phases from cycle counts that may be huge (f_c tau ~ 1e7-1e8 cycles).

A carrier phase 2 pi f_c tau computed as ``np.exp(2j * np.pi * f_c * tau)`` loses its fraction
to float64 rounding of 2 pi x (2 pi 1e9 has an ulp of ~1e-6 rad, and the product rounds
again). Reducing the cycle count modulo 1 first is exact for x >= 0 (the fraction of a
float64 is representable; for x < 0 ``np.mod`` adds one rounding of "+ 1", <= 1.1e-16 cycles),
so what is left is the rounding of one multiply by 2 pi on a number in [0, 1). Phases given
in cycles go through these helpers.
"""

from __future__ import annotations

import numpy as np


def phasor(cycles: np.ndarray | float) -> np.ndarray:
    """e^{j 2 pi cycles}, complex128 [...], from the fraction ``cycles mod 1`` (float64).

    cycles : float64 [...] phase in cycles (any magnitude).
    """
    frac = np.mod(np.asarray(cycles, dtype=np.float64), 1.0)
    return np.exp(2j * np.pi * frac)


def cycles_to_rad(cycles: np.ndarray | float) -> np.ndarray:
    """The phase 2 pi cycles wrapped to [-pi, pi), float64 [...] (rad), reduced exactly in
    cycles first: 2 pi ((cycles + 1/2) mod 1 - 1/2)."""
    c = np.asarray(cycles, dtype=np.float64)
    return 2 * np.pi * (np.mod(c + 0.5, 1.0) - 0.5)


def wrap_rad(phase_rad: np.ndarray | float) -> np.ndarray:
    """A phase in radians wrapped to (-pi, pi], float64 [...]: pi - ((pi - phase) mod 2 pi).

    For a phase known as a cycle count, prefer :func:`cycles_to_rad` (exact reduction);
    this one is for phases already in radians (e.g. sums of angles).
    """
    x = np.asarray(phase_rad, dtype=np.float64)
    out = np.pi - np.mod(np.pi - x, 2 * np.pi)
    # (pi - x) mod 2 pi can round up to 2 pi itself; that phase is pi
    return np.where(out <= -np.pi, np.pi, out)
