"""Shared pytest fixtures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from waveforms.kernels import kernel_set_names


# ============================================================================ waveform tests
# The numerology of the waveform tests (tests/test_waveforms_*.py): Table I's OFDM grid
# (N = 1024, N_cp = 72, 612 used subcarriers = 51 resource blocks of 12), stated once here.
@dataclass(frozen=True)
class OfdmGrid:
    """CP-OFDM grid of the waveform tests: sizes in samples / subcarriers."""

    fft_size: int = 1024             #: N
    cp_length: int = 72              #: N_cp
    num_used: int = 612              #: used subcarriers Q

    @property
    def symbol_length(self) -> int:
        """N + N_cp samples per OFDM symbol."""
        return self.fft_size + self.cp_length


@pytest.fixture(scope="session")
def ofdm() -> OfdmGrid:
    """The waveform tests' OFDM grid (N = 1024, N_cp = 72, Q = 612)."""
    return OfdmGrid()
# ======================================================================= end waveform tests


# ================================================================= kernel sets (back ends)
@pytest.fixture(params=kernel_set_names())
def backend(request) -> str:
    """Every registered kernel set: tests that take it run once per back end, so a new back
    end is tested by the same test bodies."""
    return request.param


@pytest.fixture
def numba_variant(monkeypatch):
    """``variant(name, **fields)``: registers, for one test only, the ``numba`` kernel set
    with the given fields replaced (e.g. ``transmit_fused=None``) under ``name``; returns
    the name."""
    from dataclasses import replace

    from waveforms import kernels

    monkeypatch.setattr(kernels, "_LOADERS", dict(kernels._LOADERS))
    monkeypatch.setattr(kernels, "_LOADED", dict(kernels._LOADED))

    def variant(name: str, **fields) -> str:
        kernels.register_kernel_set(name, lambda: replace(kernels.kernel_set("numba"),
                                                          name=name, **fields))
        return name
    return variant
