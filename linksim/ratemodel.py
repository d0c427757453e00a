"""Analytical expected rates of a distributed precoder under the sCSI model, eqs. (19)-(36), (92).

Conventions (docs/model.md, "Rate model"):

* ``W`` is complex128 [S, K, N_t]; ``W[s, i]`` is satellite s's precoder w_{s,i} for user i, so
  the stacked precoder of user i is w_i = [w_{1,i}^T, ..., w_{S,i}^T]^T (eq. 20).
* The channel is h_{s,k} = g_{s,k} v_{s,k} (eq. 1) and a user receives h^H w. With the
  phase-rotated stacked channel h~_k = [e^{j theta_{s,k}} h_{s,k}]_s (eq. 20), the desired
  signal is h~_k^H w_k, so that R_k = E{h~_k h~_k^H} (eq. 23) and m_k = E{h~_k} (eq. 29).
  For a symmetric phase error (real rho, the model of Sec. V) the sign of theta is immaterial.
* Everything is computed from the couplings A[s, k, i] = v_{s,k}^H w_{s,i} (eq. 36): no
  S N_t x S N_t matrix is ever built. Cost O(S K^2 N_t).
"""

from __future__ import annotations

import numpy as np

from linksim.channel import draw_fading
from linksim.scsi import Scsi


def _check_precoder(scsi: Scsi, W: np.ndarray) -> np.ndarray:
    W = np.asarray(W)
    want = (scsi.num_sats, scsi.num_users, scsi.num_antennas)
    if W.shape != want:
        raise ValueError(f"W must have shape (S, K, N_t) = {want} (got {W.shape})")
    if not np.all(np.isfinite(W)):
        raise ValueError("W must be finite")
    return W.astype(np.complex128, copy=False)


def coupling(steering: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Couplings A[s, k, i] = v_{s,k}^H w_{s,i} between steering vectors and precoders (eq. 36).

    Parameters
    ----------
    steering : complex [S, K, N_t]   v_{s,k}
    W : complex [S, K, N_t]          W[s, i] = w_{s,i}

    Returns
    -------
    A : complex128 [S, K, K]         A[s, k, i] = v_{s,k}^H w_{s,i}
    """
    v = np.asarray(steering)
    W = np.asarray(W)
    if v.ndim != 3 or W.ndim != 3:
        raise ValueError(f"steering and W must be 3-D [S, K, N_t] "
                         f"(got {v.shape} and {W.shape})")
    if v.shape[0] != W.shape[0] or v.shape[2] != W.shape[2]:
        raise ValueError(f"steering [S, K, N_t] and W [S, K', N_t] must agree in S and N_t "
                         f"(got {v.shape} and {W.shape})")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(W))):
        raise ValueError("steering and W must be finite")
    return np.matmul(v.conj().astype(np.complex128, copy=False),
                     np.swapaxes(W, 1, 2).astype(np.complex128, copy=False))


def rate_terms(scsi: Scsi, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected signal, interference and coherent-mean powers per user (eqs. 19-26, 31, 34-36).

    signal_k       = w_k^H R_k w_k = |m_k^H w_k|^2 + sum_s d_{s,k} |A[s,k,k]|^2   (eq. 26, 31, 34)
                     with m_k^H w_k = sum_s conj(mu_{s,k}) A[s,k,k]
    interference_k = sum_{i != k} w_i^H Q_k w_i
                   = sum_{i != k} sum_s gamma_{s,k} |A[s,k,i]|^2                  (eq. 24, 36)
    mean_signal_k  = |m_k^H w_k|^2

    Parameters
    ----------
    scsi : Scsi                     sCSI of the drop (S satellites, K users, N_t antennas)
    W : complex [S, K, N_t]         precoders (W[s, i] = w_{s,i}), amplitude sqrt(W)

    Returns
    -------
    signal, interference, mean_signal : float64 [K] each, in W (same unit as gamma * |w|^2)
    """
    W = _check_precoder(scsi, W)
    A = coupling(scsi.steering, W)
    own = np.diagonal(A, axis1=1, axis2=2)  # [S, K]: A[s, k, k]
    own_power = np.abs(own) ** 2
    mean_amp = np.sum(np.conj(scsi.mu) * own, axis=0)
    mean_signal = np.abs(mean_amp) ** 2
    signal = mean_signal + np.sum(scsi.d * own_power, axis=0)
    cross_power = np.sum(np.abs(A) ** 2, axis=2) - own_power  # [S, K]: sum_{i != k} |A[s,k,i]|^2
    interference = np.sum(scsi.gamma * cross_power, axis=0)
    return signal, np.maximum(interference, 0.0), mean_signal


def expected_rates(scsi: Scsi, W: np.ndarray) -> np.ndarray:
    """Approximate expected rates, eq. (19): log2(1 + signal_k / (interference_k + sigma_k^2)).

    Returns float64 [K] in bit/s/Hz.
    """
    signal, interference, _ = rate_terms(scsi, W)
    return np.log2(1.0 + signal / (interference + scsi.noise_power_w))


def weighted_sum_rate(scsi: Scsi, W: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted sum rate sum_k alpha_k R-bar_k, the objective of eq. (27) (bit/s/Hz).

    weights : float [K] >= 0, default all ones (alpha_k = 1, Sec. V).
    """
    rates = expected_rates(scsi, W)
    if weights is None:
        return float(np.sum(rates))
    alpha = np.asarray(weights, dtype=float)
    if alpha.shape != rates.shape:
        raise ValueError(f"weights must have shape (K,) = {rates.shape} (got {alpha.shape})")
    if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
        raise ValueError("weights must be finite and >= 0")
    return float(np.sum(alpha * rates))


def wmmse_surrogate_rates(scsi: Scsi, W: np.ndarray) -> np.ndarray:
    """The rate conventional WMMSE (MS-JoWM) optimises, eq. (92): -log2 e_k at the optimal receiver.

    log2(1 + |m_k^H w_k|^2 / (w_k^H (R_k - m_k m_k^H) w_k + c_k)),
    c_k = sum_{i != k} w_i^H Q_k w_i + sigma_k^2, with w_k^H (R_k - m_k m_k^H) w_k =
    sum_s d_{s,k} |A[s,k,k]|^2 (eq. 31). It never exceeds :func:`expected_rates` (the
    non-coherent power moves from the numerator to the denominator; Prop. 1). float64 [K].
    """
    signal, interference, mean_signal = rate_terms(scsi, W)
    c = interference + scsi.noise_power_w
    return np.log2(1.0 + mean_signal / (signal - mean_signal + c))


def _phase_error_draw(rho: np.ndarray, rng: np.random.Generator, size: tuple[int, ...]
                      ) -> np.ndarray:
    """Gaussian theta with E e^{j theta} = rho: N(arg rho, -2 ln |rho|); uniform if rho = 0."""
    mag = np.abs(rho)
    with np.errstate(divide="ignore"):
        var = np.where(mag > 0, -2.0 * np.log(np.where(mag > 0, mag, 1.0)), 0.0)
    theta = np.angle(rho) + np.sqrt(var) * rng.standard_normal(size)
    zero = np.broadcast_to(mag == 0, size)
    if np.any(zero):
        theta = np.where(zero, rng.uniform(-np.pi, np.pi, size), theta)
    return theta


def ergodic_rates_mc(scsi: Scsi, W: np.ndarray, rng: np.random.Generator, num_samples: int,
                     *, return_stderr: bool = False
                     ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Monte Carlo of the (unnumbered) expected rate before eq. (19).

    R_k = E log2(1 + |h~_k^H w_k|^2 / (sum_{i != k} sum_s |h_{s,k}^H w_{s,i}|^2 + sigma_k^2)),
    h~_k^H w_k = sum_s e^{-j theta_{s,k}} conj(g_{s,k}) A[s,k,k], drawing independently per sample
    and link the Rician g_{s,k} (eq. 1; real positive LoS part, K-factor kappa, E|g|^2 = gamma)
    and the Gaussian phase error theta_{s,k} ~ N(arg rho, -2 ln |rho|), so that
    E e^{j theta} = rho (eq. 25; N(0, -2 ln rho) for real rho; uniform where rho = 0).

    Parameters
    ----------
    scsi : Scsi; W : complex [S, K, N_t]; rng : numpy Generator; num_samples : int >= 1

    Returns
    -------
    rates : float64 [K] (bit/s/Hz); with ``return_stderr`` also the standard errors float64 [K].
    """
    W = _check_precoder(scsi, W)
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f"num_samples must be an integer >= 1 (got {num_samples!r})")
    num_samples = int(num_samples)
    A = coupling(scsi.steering, W)
    own = np.diagonal(A, axis1=1, axis2=2)  # [S, K]
    cross_power = np.maximum(np.sum(np.abs(A) ** 2, axis=2) - np.abs(own) ** 2, 0.0)
    s, k = scsi.gamma.shape
    chunk = max(1, 262_144 // (s * k))
    total = np.zeros(k)
    total_sq = np.zeros(k)  # of r - shift (the first chunk's mean), against cancellation
    shift: np.ndarray | None = None
    done = 0
    while done < num_samples:
        m = min(chunk, num_samples - done)
        size = (m, s, k)
        g = draw_fading(rng, scsi.gamma, scsi.kappa, size=(m,))
        theta = _phase_error_draw(scsi.rho, rng, size)
        desired = np.abs(np.sum(np.exp(-1j * theta) * np.conj(g) * own, axis=1)) ** 2
        interference = np.sum(np.abs(g) ** 2 * cross_power, axis=1)
        r = np.log2(1.0 + desired / (interference + scsi.noise_power_w))
        if shift is None:
            shift = r.mean(axis=0)
        total += r.sum(axis=0)
        total_sq += ((r - shift) ** 2).sum(axis=0)
        done += m
    mean = total / num_samples
    if not return_stderr:
        return mean
    var = np.maximum(total_sq / num_samples - (mean - shift) ** 2, 0.0)
    return mean, np.sqrt(var / max(num_samples - 1, 1))
