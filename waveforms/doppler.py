"""Frequency shift with phase continuous in absolute time, and the CFO closed forms.

A Doppler (or residual Doppler) of ``nu`` Hz at sample rate ``fs`` is ``nu / fs``
cycles/sample; a residual of ``eps`` subcarrier spacings is ``eps / N`` cycles/sample.
The phase is ``2 pi f t`` with ``t`` the absolute sample index (int64, converted exactly to
float64 and reduced modulo one cycle before the sine/cosine), so consecutive calls and
consecutive OFDM symbols continue the same phase.

The closed forms are math.md (15) and Sec. 11: the common gain of a CFO ``eps``
(``Psi(eps)``) and the ICI power ``1 - |Psi(eps)|^2`` for unit-power data on all N bins.
"""

from __future__ import annotations

import numba
import numpy as np

from .checks import check_integer

__all__ = [
    "reduced_cycles",
    "reduced_cycles_with",
    "frequency_shift",
    "frequency_shift_reference",
    "cfo_common_gain",
    "cfo_ici_power",
]


_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp splitting constant for float64


def reduced_cycles_with(round_):
    """:func:`reduced_cycles` for the arrays ``round_`` rounds (half to even): the one body
    for numpy (``np.round``, also compiled by numba) and torch (``torch.round``)."""

    def reduced(f, t):
        p = f * t
        c = _SPLIT * f
        fh = c - (c - f)
        fl = f - fh
        c = _SPLIT * t
        th = c - (c - t)
        tl = t - th
        e = ((fh * th - p) + fh * tl + fl * th) + fl * tl
        return (p - round_(p)) + e

    return reduced


_reduced = reduced_cycles_with(np.round)


def reduced_cycles(f: float | np.ndarray, t: float | np.ndarray) -> float | np.ndarray:
    """``f * t`` modulo 1, in [-0.5, 0.5], with the product taken exactly.

    ``f`` float64 (cycles/sample), ``t`` float64 holding an integer sample index
    (|t| < 2**53). Dekker's error-free product: ``f t = p + e`` exactly, so the result
    ``(p - round(p)) + e`` is accurate to ~1e-16 cycles even for |f t| ~ 1e6 cycles,
    where the rounded product alone would be off by ~1e-10 cycles.
    Works elementwise on arrays (compiled on scalars inside the kernels:
    ``_reduced_cycles_nb``; in torch: :func:`reduced_cycles_with`).
    """
    return _reduced(f, t)


_reduced_cycles_nb = numba.njit(cache=True)(_reduced)


def _check_shift_args(
    x: np.ndarray, start_sample: int, doppler_cps: float | np.ndarray, phase_rad: float
) -> tuple[np.ndarray, int, np.ndarray, float, bool]:
    x = np.asarray(x)
    one_d = x.ndim == 1
    if x.ndim not in (1, 2):
        raise ValueError(
            f"x must be complex [num_samples] or [num_streams, num_samples], got {x.ndim}-D"
        )
    x2 = np.ascontiguousarray(np.atleast_2d(x), dtype=np.complex128)
    check_integer(start_sample,
                  f"start_sample must be an integer sample index, got {start_sample!r}")
    f = np.asarray(doppler_cps, dtype=np.float64)
    if f.ndim == 0:
        f = np.full(x2.shape[0], float(f))
    if f.shape != (x2.shape[0],):
        raise ValueError(
            f"doppler_cps must be a scalar or [num_streams={x2.shape[0]}], got shape {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError("doppler_cps must be finite (cycles/sample)")
    if not np.isfinite(phase_rad):
        raise ValueError("phase_rad must be finite")
    return x2, int(start_sample), f, float(phase_rad), one_d


@numba.njit(cache=True, parallel=True)
def _frequency_shift_kernel(x, start_sample, f, phase_cyc, y):
    num_streams, num_samples = x.shape
    for s in range(num_streams):
        fs_ = f[s]
        for n in numba.prange(num_samples):
            cyc = _reduced_cycles_nb(fs_, np.float64(start_sample + n))
            ang = 2.0 * np.pi * (cyc + phase_cyc)
            y[s, n] = x[s, n] * complex(np.cos(ang), np.sin(ang))


def frequency_shift(
    x: np.ndarray, start_sample: int, doppler_cps: float | np.ndarray, phase_rad: float = 0.0
) -> np.ndarray:
    """``y[.., n] = x[.., n] exp(j (2 pi f (start_sample + n) + phase_rad))`` (numba).

    Parameters
    ----------
    x : complex128 [num_streams, num_samples] (or [num_samples]).
    start_sample : absolute sample index of ``x[..., 0]``.
    doppler_cps : frequency in cycles/sample (doppler_hz / fs), scalar or float64
        [num_streams].
    phase_rad : phase at absolute sample 0, radians.

    Returns
    -------
    y : complex128, same shape as ``x``.
    """
    x2, start, f, phase, one_d = _check_shift_args(x, start_sample, doppler_cps, phase_rad)
    y = np.empty_like(x2)
    if x2.size:
        _frequency_shift_kernel(x2, np.int64(start), f, phase / (2.0 * np.pi), y)
    return y[0] if one_d else y


def frequency_shift_reference(
    x: np.ndarray, start_sample: int, doppler_cps: float | np.ndarray, phase_rad: float = 0.0
) -> np.ndarray:
    """Numpy reference of :func:`frequency_shift` (same signature and semantics)."""
    x2, start, f, phase, one_d = _check_shift_args(x, start_sample, doppler_cps, phase_rad)
    t = (start + np.arange(x2.shape[1], dtype=np.int64)).astype(np.float64)
    cyc = reduced_cycles(f[:, None], t[None, :])
    y = x2 * np.exp(2j * np.pi * (cyc + phase / (2.0 * np.pi)))
    return y[0] if one_d else y


def cfo_common_gain(eps: float | np.ndarray, fft_size: int) -> np.ndarray | complex:
    """Common gain of a CFO of ``eps`` subcarrier spacings (math.md (15), Psi(eps)).

    ``Psi(eps) = sin(pi eps) / (N sin(pi eps / N)) * e^{j pi eps (N-1)/N}``, the factor on
    ``X[q]`` at subcarrier ``q`` when the DFT window starts at absolute sample 0 (a window
    starting at sample ``t0`` adds the phase ``e^{j 2 pi eps t0 / N}``). ``Psi(0) = 1``.
    """
    if fft_size < 1:
        raise ValueError(f"fft_size must be >= 1, got {fft_size}")
    eps = np.asarray(eps, dtype=np.float64)
    n = float(fft_size)
    k = np.arange(fft_size)
    # exact finite sum (1/N) sum_n e^{j 2 pi eps n / N}; avoids 0/0 at integer eps
    g = np.exp(2j * np.pi * np.multiply.outer(eps, k) / n).mean(axis=-1)
    return complex(g) if g.ndim == 0 else g


def cfo_ici_power(
    eps: float | np.ndarray, fft_size: int, used_bins: np.ndarray | None = None
) -> np.ndarray | float:
    """ICI power of a CFO of ``eps`` subcarrier spacings, for unit-power white data.

    All N bins loaded (``used_bins=None``): ``1 - |Psi(eps)|^2`` (math.md Sec. 11; about
    ``(pi eps)^2 / 3`` for small eps). Partial load: the ICI power at a used bin ``q`` is
    ``sum_{p used, p != q} |Psi(p - q + eps)|^2``; this returns its mean over the used bins.
    """
    eps = np.asarray(eps, dtype=np.float64)
    if used_bins is None:
        g = np.asarray(cfo_common_gain(eps, fft_size))
        out = 1.0 - np.abs(g) ** 2
        return float(out) if out.ndim == 0 else out
    bins = np.asarray(used_bins, dtype=np.int64)
    diff = np.mod(bins[None, :] - bins[:, None], fft_size)  # p - q for all pairs
    psi2 = np.abs(np.asarray(cfo_common_gain(np.add.outer(eps, np.arange(fft_size)),
                                             fft_size))) ** 2  # [..., N]: |Psi(d + eps)|^2
    total = psi2[..., diff].sum(axis=-1) - psi2[..., 0][..., None]
    out = total.mean(axis=-1)
    return float(out) if out.ndim == 0 else out
