"""The modified Bessel function I0 of ``scipy.special.i0``, bit for bit, on arrays (numba).

Why: the moving satellites' delay kernel (waveforms.tv_delay) designs three Kaiser-windowed
sinc filters per block and op, ~3.6 million window values a satellite and call at the
default drop's size, and ``scipy.special.i0`` evaluates them one at a time (~60 ns each, a
quarter of an orbit drop). The numbers are pinned, so a different approximation of I0 is
not allowed.

What: scipy's I0 is the Cephes routine (S. L. Moshier, Cephes Math Library 2.8, as scipy
ships it): for |x| <= 8, exp(|x|) times a 30-term Chebyshev series in y = |x|/2 - 2; above,
exp(|x|) times a 25-term series in y = 32/|x| - 2, divided by sqrt(|x|); each series by
the Clenshaw recurrence b0 <- y b1 - b2 + c (:func:`_clenshaw`), result 0.5 (b0 - b2). The
coefficients below are Cephes' published ones. Here the same operations in the same order
run on chunks of elements at a time (each branch's elements gathered into a contiguous
chunk), so the recurrence vectorises across elements instead of waiting on itself; ``exp``
and ``sqrt`` are the C library's, as in scipy. Tested equal to ``scipy.special.i0`` over
its whole finite range (tests/test_bessel_i0.py); on a machine where they ever differed
the test says so.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["i0", "i0_into", "i0_chunk", "scratch", "CHUNK"]

#: Chebyshev coefficients of exp(-x) I0(x) on [0, 8] (Cephes i0.c, A)
_A = np.array([
    -4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
    1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
    -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
    9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
    -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
    1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
    -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
    1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
    -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
    1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1])
#: Chebyshev coefficients of exp(-x) sqrt(x) I0(x) on [8, inf) in 32/x (Cephes i0.c, B)
_B = np.array([
    -7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
    3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
    1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
    -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
    7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
    -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
    3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
    2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
    8.04490411014108831608E-1])

#: elements per chunk: the chunk's y, b0, b1, b2 and indices (5 x 2 KiB) stay in L1
CHUNK = 256


@numba.njit(cache=True, nogil=True)
def _clenshaw(y, coef, b0, b1, b2, m):
    """Cephes' chbevl recurrence of y [:m] over coef (b0 = coef[0], b1 = 0, then b2 <- b1, b1
    <- b0, b0 <- y b1 - b2 + c for c in coef[1:]), element by element in the same operations
    and order, on three buffers whose roles rotate (one store per element and step instead
    of three). Returns the buffers (b0, b2) of the last step: the series is 0.5 (b0 - b2)."""
    for e in range(m):
        b0[e] = coef[0]
        b1[e] = 0.0
    for k in range(1, coef.shape[0]):
        c = coef[k]
        for e in range(m):                   # b2 <- b1, b1 <- b0 by renaming below
            b2[e] = y[e] * b0[e] - b1[e] + c
        b0, b1, b2 = b2, b0, b1
    return b0, b2


def scratch() -> tuple[np.ndarray, np.ndarray]:
    """The work arrays of :func:`i0_chunk`: (float64 [5, CHUNK], int64 [CHUNK])."""
    return np.empty((5, CHUNK)), np.empty(CHUNK, dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def i0_chunk(x, out, work, at):
    """out[e] = I0(x[e]) for the e < x.size <= CHUNK elements of one chunk (x, out float64
    1-D; work, at: :func:`scratch`): each branch's elements gathered, its series run on them
    together (:func:`_clenshaw`), the results put back in place."""
    m = x.shape[0]
    y_small, y_large, b0, b1, b2 = work[0], work[1], work[2], work[3], work[4]
    ns = 0
    nl = 0
    for e in range(m):              # at[:ns]: small-branch elements; at[CHUNK - nl:]: large
        a = abs(x[e])
        if a <= 8.0:
            y_small[ns] = (a / 2.0) - 2.0
            at[ns] = e
            ns += 1
        else:
            nl += 1
            y_large[nl - 1] = 32.0 / a - 2.0
            at[CHUNK - nl] = e
    p, r = _clenshaw(y_small, _A, b0, b1, b2, ns)
    for e in range(ns):
        i = at[e]
        out[i] = math.exp(abs(x[i])) * (0.5 * (p[e] - r[e]))
    p, r = _clenshaw(y_large, _B, b0, b1, b2, nl)
    for e in range(nl):
        i = at[CHUNK - 1 - e]
        a = abs(x[i])
        out[i] = math.exp(a) * (0.5 * (p[e] - r[e])) / math.sqrt(a)


@numba.njit(cache=True, nogil=True)
def i0_into(x, out):
    """out[i] = I0(x[i]) as ``scipy.special.i0`` computes it, x and out float64 1-D of one
    size (module docstring)."""
    work = np.empty((5, CHUNK))
    at = np.empty(CHUNK, dtype=np.int64)
    for c0 in range(0, x.shape[0], CHUNK):
        c1 = min(c0 + CHUNK, x.shape[0])
        i0_chunk(x[c0:c1], out[c0:c1], work, at)


def i0(x: np.ndarray) -> np.ndarray:
    """I0 of every element of x (float64 array of any shape) as ``scipy.special.i0``."""
    x = np.array(x, dtype=np.float64, order="C")       # a copy; 0-d stays 0-d
    out = np.empty_like(x)
    i0_into(x.reshape(-1), out.reshape(-1))
    return out
