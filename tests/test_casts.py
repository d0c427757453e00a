"""waveforms.casts: complex128 -> complex64 on threads, numpy's numbers."""

import numba
import numpy as np
import pytest

from waveforms.casts import MIN_PARALLEL, as_dtype


def _wide(n: int, seed: int) -> np.ndarray:
    """Parts spread over float64's range: float32 overflow, subnormals and underflow to zero."""
    rng = np.random.default_rng(seed)
    parts = rng.standard_normal((2, n)) * np.exp(rng.uniform(-110.0, 95.0, (2, n)))
    a = parts[0] + 1j * parts[1]
    a[:6] = [np.inf, -np.inf + 1j, 1e39 - 1e-46j, -0.0 + 0.0j, 3.4028235e38 + 1.4e-45j,
             float.fromhex("0x1.000001p0") + 1j * float.fromhex("0x1.0000030000001p0")]
    return a


@pytest.mark.parametrize("n", [MIN_PARALLEL, MIN_PARALLEL + 12345])
def test_equals_numpy_bit_for_bit(n):
    a = _wide(n, n)
    with np.errstate(over="ignore"):
        want = a.astype(np.complex64)
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            with np.errstate(over="ignore"):       # one thread: numpy's cast, which warns
                got = as_dtype(a, np.complex64)
            assert got.dtype == np.complex64 and got.shape == a.shape
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), threads
    finally:
        numba.set_num_threads(before)


def test_shapes_and_the_other_cases_are_numpy_astype():
    a = _wide(3 * MIN_PARALLEL, 7).reshape(3, -1, 4)
    with np.errstate(over="ignore"):
        assert np.array_equal(as_dtype(a, np.complex64), a.astype(np.complex64))
        # not C-contiguous, small, or another pair of types: astype itself
        assert np.array_equal(as_dtype(a[:, ::2], np.complex64), a[:, ::2].astype(np.complex64))
        small = a.ravel()[:100]
        assert np.array_equal(as_dtype(small, np.complex64), small.astype(np.complex64))
        assert as_dtype(a, np.complex128) is a                      # no copy, as astype
        assert as_dtype(a.astype(np.complex64), np.complex128).dtype == np.complex128
