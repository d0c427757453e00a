"""waveforms.bessel_i0: scipy.special.i0's numbers on arrays, and I0 itself."""

from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.special as sp

from waveforms.bessel_i0 import CHUNK, i0, i0_into


def _i0_series(x: float) -> float:
    """I0(x) = sum_k (x^2 / 4)^k / (k!)^2 in 50-digit decimal arithmetic, rounded once."""
    getcontext().prec = 50
    q = Decimal(x) ** 2 / 4
    term, total, k = Decimal(1), Decimal(1), 0
    while term > total * Decimal(10) ** -45:
        k += 1
        term = term * q / (k * k)
        total += term
    return float(total)


def test_equals_scipy_bit_for_bit_on_both_branches_and_chunk_edges():
    rng = np.random.default_rng(11)
    x = np.concatenate([
        rng.uniform(0.0, 30.0, 200_000),                   # the Kaiser windows' range
        rng.uniform(-40.0, 40.0, 50_000),                  # negative arguments: I0 is even
        np.exp(rng.uniform(-700.0, np.log(709.0), 50_000)),  # tiny to the largest finite
        rng.uniform(8.0 - 1e-9, 8.0 + 1e-9, 5_000),        # the branch point
        [0.0, -0.0, 8.0, np.nextafter(8.0, 0.0), np.nextafter(8.0, 9.0), 5e-324, 709.0]])
    # chunks mixing both branches in every order, and sizes around the chunk length
    for n in (1, CHUNK - 1, CHUNK, CHUNK + 1, x.size):
        assert np.array_equal(i0(x[:n]), sp.i0(x[:n])), n
    with np.errstate(over="ignore", invalid="ignore"):
        special = np.array([np.nan, np.inf, -np.inf, 1e6])
        assert np.array_equal(i0(special), sp.i0(special), equal_nan=True)


def test_against_the_power_series():
    # Cephes states a peak relative error of 5.8e-16 on [0, 30]: 4 ulp (8.9e-16) bounds it
    xs = np.linspace(0.0, 30.0, 121)
    got = i0(xs)
    want = np.array([_i0_series(v) for v in xs])
    assert got[0] == 1.0
    np.testing.assert_allclose(got, want, rtol=8.9e-16, atol=0.0)


def test_shapes_and_the_out_form():
    x = np.linspace(-3.0, 12.0, 12).reshape(3, 4)
    assert i0(x).shape == (3, 4)
    assert np.array_equal(i0(x), sp.i0(x))
    assert i0(np.float64(2.5)).shape == ()
    out = np.empty(12)
    i0_into(x.ravel(), out)
    assert np.array_equal(out, sp.i0(x.ravel()))
    assert i0(np.empty(0)).size == 0


@pytest.mark.parametrize("num_taps", [2, 8, 24, 48])
def test_windowed_sinc_taps_equal_the_numpy_reference(num_taps):
    # the fused kernel does np.sinc's operations with the C library's sin: where numpy's own
    # sin is that library's (checked on a sample first), the taps are the reference's bit for
    # bit; elsewhere they may differ in the last bits of sin, so to 4 ulp of the largest tap
    import math

    from waveforms.delay import _taps_matrix, _taps_matrix_reference, default_kaiser_beta

    rng = np.random.default_rng(num_taps)
    frac = np.concatenate([rng.uniform(0.0, 1.0, 20_000), rng.uniform(-1.0, 2.0, 1_000),
                           [0.0, 0.5, 1e-17, 1.0 - 1e-16, 1.0]])
    y = np.pi * rng.uniform(-num_taps, num_taps, 10_000)
    same_sin = np.array_equal(np.sin(y), [math.sin(v) for v in y])
    for beta in (0.0, 5.0, default_kaiser_beta(num_taps)):
        got = _taps_matrix(frac, num_taps, beta)
        want = _taps_matrix_reference(frac, num_taps, beta)
        if same_sin:
            assert np.array_equal(got, want), beta
        else:
            np.testing.assert_allclose(got, want, rtol=0, atol=8.9e-16)
        assert np.all(got[frac == 0.0] == np.eye(num_taps)[num_taps // 2 - 1])
