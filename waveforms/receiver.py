"""Receiver helpers: AWGN and SINR measured from subcarrier samples.

With the unitary DFT of :mod:`waveforms.ofdm`, white noise of power ``P`` per time sample
has power ``P`` on every subcarrier, so ``noise_power`` is the per-subcarrier noise power
``sigma_k^2`` of math.md (18) (e.g. -152.2 dBW per 30 kHz subcarrier, Sec. 11).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["add_awgn", "measure_sinr", "measure_sinr_from_reference"]


def add_awgn(rng: np.random.Generator, y: np.ndarray, noise_power: float) -> np.ndarray:
    """Return ``y + n`` with ``n ~ CN(0, noise_power)`` i.i.d. per sample.

    Parameters
    ----------
    rng : numpy Generator.
    y : complex [any shape], time-domain samples (not modified).
    noise_power : E|n|^2 per sample (linear, same units as |y|^2); equal to the noise power
        per subcarrier after the unitary DFT.

    Returns
    -------
    complex128, same shape as ``y``.
    """
    if not np.isfinite(noise_power) or noise_power < 0:
        raise ValueError(f"noise_power must be finite and >= 0, got {noise_power}")
    y = np.asarray(y)
    scale = np.sqrt(noise_power / 2.0)
    noise = rng.standard_normal(y.shape) + 1j * rng.standard_normal(y.shape)
    return y.astype(np.complex128) + scale * noise


def _power(Y: np.ndarray, per_subcarrier: bool) -> np.ndarray | float:
    p = np.abs(Y) ** 2
    if per_subcarrier:
        return p.reshape(-1, p.shape[-1]).mean(axis=0)
    return float(p.mean())


def measure_sinr(
    Y_desired: np.ndarray,
    Y_other: np.ndarray | Sequence[np.ndarray],
    per_subcarrier: bool = False,
) -> np.ndarray | float:
    """SINR (linear) = mean |desired|^2 / mean |everything else|^2, from samples.

    Parameters
    ----------
    Y_desired : complex [..., num_used], e.g. [num_symbols, num_used]: the desired
        component alone (available by linearity in the emulator).
    Y_other : complex array of the same shape (interference + noise as received), or a
        sequence of such arrays, which are *added as signals* (so correlated components
        add coherently) before the power is taken.
    per_subcarrier : if True, average over all axes but the last and return float64
        [num_used]; else one float over all samples.
    """
    Y_desired = np.asarray(Y_desired)
    if Y_desired.ndim < 1 or Y_desired.size == 0:
        raise ValueError("Y_desired must be a non-empty array [..., num_used]")
    if isinstance(Y_other, np.ndarray):
        other = Y_other
    else:
        parts = [np.asarray(p) for p in Y_other]
        if not parts:
            raise ValueError("Y_other must be an array or a non-empty sequence of arrays")
        other = parts[0].astype(np.complex128)
        for p in parts[1:]:
            if p.shape != other.shape:
                raise ValueError(f"Y_other parts differ in shape: {p.shape} vs {other.shape}")
            other = other + p
    if other.shape != Y_desired.shape:
        raise ValueError(
            f"Y_other has shape {other.shape} but Y_desired has shape {Y_desired.shape}"
        )
    p_des = _power(Y_desired, per_subcarrier)
    p_oth = _power(other, per_subcarrier)
    if np.any(np.asarray(p_oth) == 0):
        raise ValueError("Y_other has zero power: SINR is infinite")
    return p_des / p_oth


def measure_sinr_from_reference(
    Y: np.ndarray, X: np.ndarray, per_subcarrier: bool = False
) -> tuple[np.ndarray | complex, np.ndarray | float]:
    """Gain and SINR of a received signal against the known transmitted symbols.

    Least-squares gain ``g = <Y, X> / <X, X>`` (one per subcarrier or one overall), then
    ``SINR = |g|^2 mean|X|^2 / mean|Y - g X|^2``: everything not proportional to ``X``
    (interference, ICI, noise) counts as impairment.

    Parameters
    ----------
    Y, X : complex [..., num_used], same shape.
    per_subcarrier : as in :func:`measure_sinr`.

    Returns
    -------
    gain : complex (or complex128 [num_used]); sinr : float (or float64 [num_used]), linear.
    """
    Y = np.asarray(Y)
    X = np.asarray(X)
    if Y.shape != X.shape or Y.ndim < 1 or Y.size == 0:
        raise ValueError(f"Y and X must be non-empty arrays of one shape, got {Y.shape}, {X.shape}")
    Y2 = Y.reshape(-1, Y.shape[-1])
    X2 = X.reshape(-1, X.shape[-1])
    if per_subcarrier:
        px = (np.abs(X2) ** 2).sum(axis=0)
        g = (Y2 * X2.conj()).sum(axis=0) / px
        err = (np.abs(Y2 - g[None, :] * X2) ** 2).mean(axis=0)
        sig = np.abs(g) ** 2 * px / Y2.shape[0]
        return g, sig / err
    px = float((np.abs(X2) ** 2).sum())
    g = complex((Y2 * X2.conj()).sum() / px)
    err = float((np.abs(Y2 - g * X2) ** 2).mean())
    return g, abs(g) ** 2 * px / X2.size / err
