"""waveforms.checks: the one integer check of the waveform kernels."""

import numpy as np
import pytest

from waveforms.checks import check_integer, is_integer
from waveforms.ofdm import ofdm_modulate


@pytest.mark.parametrize("value", [0, -3, 7, np.int64(5), np.int32(-2), np.uint8(1)])
def test_integers(value):
    assert is_integer(value)
    assert check_integer(value, "unused") == int(value)
    assert type(check_integer(value, "unused")) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, np.float64(2), "4", None,
                                   np.array([1])])
def test_non_integers(value):
    assert not is_integer(value)
    with pytest.raises(ValueError, match="^n must be an integer$"):
        check_integer(value, "n must be an integer")


def test_kernels_keep_their_messages():
    X = np.ones((1, 2, 4), dtype=np.complex128)
    with pytest.raises(ValueError, match="^cyclic_prefix_length must be an integer$"):
        ofdm_modulate(X, 16, 4.0, np.arange(1, 5))
    with pytest.raises(ValueError, match="^fft_size must be an integer, got float$"):
        ofdm_modulate(X, 16.0, 4, np.arange(1, 5))
