"""The genie receiver's measure: SINR and achieved rate from the samples, knowing the
desired component separately."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linksim.emulator.output import EmulationOutput


@dataclass(frozen=True)
class LinkMeasurement:
    """What the samples say, per user j.

    desired_gain : complex128 [K, Q]  G_j[q], least-squares coherent gain of X_j in Y_j
    desired_power : float64 [K]       mean_q |G_j[q]|^2 (unit-power symbols)
    else_power : float64 [K]          mean power of Y_j - G_j X_j (ICI, ISI, interference, noise)
    sinr : float64 [K]                desired_power / else_power
    rate : float64 [K]                mean over q of log2(1 + |G_j[q]|^2 / else_power)
    else_power_subcarrier : float64 [K, Q] or None   the per-subcarrier else-power of the
                                      frequency-selective measure (linksim.emulator.selective;
                                      then else_power is its mean over q and rate averages
                                      log2(1 + |G_j[q]|^2 / else_j[q])); None on the flat path
    """

    desired_gain: np.ndarray
    desired_power: np.ndarray
    else_power: np.ndarray
    sinr: np.ndarray
    rate: np.ndarray
    else_power_subcarrier: np.ndarray | None = None


def measure(out: EmulationOutput, window_subcarriers: int | None = None) -> LinkMeasurement:
    """SINR and achieved rate of every user, measured from the samples (eq. 19's SINR).

    The coherent gain G_j[q] is estimated from the desired component alone (user j's own
    stream at user j, via all satellites), by least squares over the observed symbols:
    G = sum_m Y_des X^* / sum_m |X|^2. Everything in the received samples that is not G X is
    "else". The channel is frequency-flat and static over the burst, so the else-power is
    averaged over subcarriers and symbols (an unbiased, low-variance estimate) and the rate is
    log2(1 + |G_j[q]|^2 / else_j) averaged over subcarriers.

    window_subcarriers : None for the flat channel (the above); an int w >= 0 for a
    frequency-selective channel: the else-power per subcarrier (noise from all samples plus
    the rest averaged over the symbols and +-w subcarriers, linksim.emulator.selective).
    """
    x = out.symbols
    gain = (out.desired * x.conj()).sum(axis=1) / (np.abs(x) ** 2).sum(axis=1)
    if window_subcarriers is not None:
        from linksim.emulator.selective import selective_else_power

        else_q = selective_else_power(out.received, x, out.noise, gain, window_subcarriers)
        power_q = np.abs(gain) ** 2
        rate_q = np.log2(1.0 + power_q / else_q).mean(axis=1)
        else_mean = else_q.mean(axis=1)
        return LinkMeasurement(gain, power_q.mean(axis=1), else_mean,
                               power_q.mean(axis=1) / else_mean, rate_q, else_q)
    residual = out.received - gain[:, None, :] * x
    else_power = np.mean(np.abs(residual) ** 2, axis=(1, 2))
    power_q = np.abs(gain) ** 2
    desired_power = power_q.mean(axis=1)
    rate = np.log2(1.0 + power_q / else_power[:, None]).mean(axis=1)
    return LinkMeasurement(gain, desired_power, else_power, desired_power / else_power, rate)
