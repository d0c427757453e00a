"""The genie receiver's measure on a frequency-selective channel: the interference-plus-noise
power per subcarrier, and the rate as the mean over subcarriers of log2(1 + SINR_j[q]).

On a selective channel the other users' streams reach user j through the same selective
links as its own (every path of link (s, j) carries all of satellite s's streams), so the
interference power varies over the subcarriers like the desired gain. The estimate per user j
and subcarrier q (the genie knows the noise component separately, as it knows the desired):

    G_j[q]      least squares over the observed symbols (as :func:`measure.measure`)
    e = Y - G X - N                   interference, own ICI/ISI, the LS residual
    else_j[q] = mean_{m,n} |N_j[m, n]|^2  +  mean_m mean_{|n - q| <= w} |e_j[m, n]|^2

i.e. the white noise power from all samples and the rest averaged over the M symbols and a
window of 2 w + 1 subcarriers (truncated at the band edges; w = selective_window_subcarriers,
which must stay well below the coherence bandwidth 1 / (delay spread) in subcarriers).
SINR_j[q] = |G_j[q]|^2 / else_j[q]; rate_j = mean_q log2(1 + SINR_j[q]).
Shapes: [K, M, Q] in, [K, Q] / [K] out.
"""

from __future__ import annotations

import numpy as np


def window_mean(power_q: np.ndarray, half_width: int) -> np.ndarray:
    """Moving mean over +-half_width subcarriers of power_q float [K, Q] (truncated at the
    edges: each output is the mean of the subcarriers that exist in its window)."""
    w = int(half_width)
    if w <= 0:
        return power_q
    q = power_q.shape[-1]
    c = np.concatenate([np.zeros(power_q.shape[:-1] + (1,)), np.cumsum(power_q, axis=-1)],
                       axis=-1)
    lo = np.clip(np.arange(q) - w, 0, q)
    hi = np.clip(np.arange(q) + w + 1, 0, q)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def selective_else_power(received: np.ndarray, symbols: np.ndarray, noise: np.ndarray,
                         gain: np.ndarray, half_width: int) -> np.ndarray:
    """else_j[q] float64 [K, Q] (module docstring). received, symbols, noise complex [K, M, Q];
    gain complex [K, Q]."""
    rest = received - gain[:, None, :] * symbols - noise
    rest_q = np.mean(np.abs(rest) ** 2, axis=1)                        # [K, Q]
    noise_power = np.mean(np.abs(noise) ** 2, axis=(1, 2))             # [K]
    return noise_power[:, None] + window_mean(rest_q, half_width)
