"""Shared fixtures."""

import pytest

from waveforms.kernels import kernel_set_names


# ------------------------------------------------------------------ kernel sets (back ends)
@pytest.fixture(params=kernel_set_names())
def backend(request) -> str:
    """Every registered kernel set: tests that take it run once per back end, so a new back
    end is tested by the same test bodies."""
    return request.param
