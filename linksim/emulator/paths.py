"""Paths of every (satellite, user) link: the channel the waveform goes through, and the
transmitter's estimates of it, in one structure.

A link (s, k) is a set of P paths. Path p applies (math.md (1), (6); on the sampled grid by
:func:`waveforms.delay.delay_doppler`)

    y(t) += g_{s,k,p} e^{-j 2 pi f_c tau_{s,k,p}} e^{j 2 pi nu_{s,k,p} t} z_{s,k}(t - tau_{s,k,p})

with t the absolute receive time (sample 0 of the receive grid at t = 0). Every path of a link
leaves the satellite along the same steering vector v_{s,k} (the scatterers are near the
user; far field), so precoding still collapses to one coupling A[s, j, i] per link and the
path structure only adds delay (frequency selectivity) and Doppler diversity.

The paper's channel is the instance P = 1, time-constant: delay_s = tau_{s,k}, doppler_hz =
nu_{s,k}, gain = g_{s,k} (the Rician block-fading draw, LoS phase removed).

The transmitter's precompensation takes its *estimates* through the same structure with
P = 1 and unit gain: tau^c_{s,i}, nu^c_{s,i} (eq. 5, 7). With moving satellites the delay
becomes a function of time: ``delay_poly_s`` holds the coefficients c_1..c_R of
tau(t) = delay_s + sum_r c_r t^r (t in s from the frame origin; then the Doppler follows from
the carrier phase -2 pi f_c tau(t) and doppler_hz is an extra rotation). The static kernels
need ``delay_poly_s is None`` and say so otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PathSet:
    """P paths per (satellite s, user k) link.

    delay_s : float64 [S, K, P]        tau_{s,k,p} (at t = 0 if time-varying), seconds
    doppler_hz : float64 [S, K, P]     nu_{s,k,p}, Hz
    gain : complex128 [S, K, P]        g_{s,k,p} (without the propagation phase, which the
                                       channel applies as e^{-j 2 pi f_c tau})
    delay_poly_s : float64 [S, K, P, R] or None   c_1..c_R of the time-varying delay
    """

    delay_s: np.ndarray
    doppler_hz: np.ndarray
    gain: np.ndarray
    delay_poly_s: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = np.shape(self.delay_s)
        if len(shape) != 3 or shape[2] < 1:
            raise ValueError(f"delay_s must be [S, K, P] with P >= 1 (got shape {shape})")
        for name in ("doppler_hz", "gain"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} must have the shape of delay_s {shape} "
                                 f"(got {np.shape(getattr(self, name))})")
        if self.delay_poly_s is not None and (np.ndim(self.delay_poly_s) != 4
                                              or np.shape(self.delay_poly_s)[:3] != shape):
            raise ValueError(f"delay_poly_s must be [S, K, P, R] with [S, K, P] = {shape} "
                             f"(got {np.shape(self.delay_poly_s)})")

    @classmethod
    def single(cls, delay_s: np.ndarray, doppler_hz: np.ndarray,
               gain: np.ndarray | None = None) -> PathSet:
        """One time-constant path per link from [S, K] arrays (gain 1 when None)."""
        delay_s = np.asarray(delay_s, dtype=np.float64)[:, :, None]
        doppler_hz = np.asarray(doppler_hz, dtype=np.float64)[:, :, None]
        gain = (np.ones(delay_s.shape, dtype=np.complex128) if gain is None
                else np.asarray(gain, dtype=np.complex128)[:, :, None])
        return cls(delay_s, doppler_hz, gain)

    @property
    def num_sats(self) -> int:
        return self.delay_s.shape[0]

    @property
    def num_users(self) -> int:
        return self.delay_s.shape[1]

    @property
    def num_paths(self) -> int:
        return self.delay_s.shape[2]

    @property
    def is_static(self) -> bool:
        return self.delay_poly_s is None


@dataclass(frozen=True)
class LinkState:
    """True and estimated link parameters of one drop in the paper's world, float64 [S, K]
    each (one time-constant path per link).

    delay_s, doppler_hz      true one-way delay and Doppler (eq. 1)
    delay_error_s            Delta tau = tau - tau^c (eq. 7)
    doppler_error_hz         Delta nu = nu - nu^c (eq. 7)
    fading : complex [S, K]  g_{s,k} (Rician, LoS phase removed: the propagation phase
                             -2 pi f_c tau is applied by the channel)
    """

    delay_s: np.ndarray
    doppler_hz: np.ndarray
    delay_error_s: np.ndarray
    doppler_error_hz: np.ndarray
    fading: np.ndarray

    @property
    def est_delay_s(self) -> np.ndarray:
        return self.delay_s - self.delay_error_s

    @property
    def est_doppler_hz(self) -> np.ndarray:
        return self.doppler_hz - self.doppler_error_hz

    def channel(self) -> PathSet:
        """The true channel: one path per link with gain g_{s,k}."""
        return PathSet.single(self.delay_s, self.doppler_hz, self.fading)

    def estimates(self) -> PathSet:
        """The transmitter's estimates tau^c, nu^c (unit gain)."""
        return PathSet.single(self.est_delay_s, self.est_doppler_hz)
