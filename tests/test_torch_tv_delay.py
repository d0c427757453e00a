"""The torch time-varying delay (waveforms.torch_tv_delay): against the numpy reference and
the static kernel, and moving-satellite drops on backend = torch against numba."""

import numpy as np
import pytest
from test_waveforms_tv_delay import _args

from waveforms.delay import delay_doppler_reference
from waveforms.kernels import kernel_set
from waveforms.torch_tv_delay import tv_delay_doppler_torch
from waveforms.tv_delay import tv_delay_doppler_reference


def rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("num_taps", [10, 24])
@pytest.mark.parametrize("block", [512, 37])
def test_equals_the_numpy_reference_in_double(num_taps, block):
    # one discrete model: the reference's per-sample taps and dot product against three
    # FIR sums combined, the same exact phase: float64 rounding (~1e-15); edges, partial
    # blocks (5000 samples in blocks of 512 / 37) and rows read past both ends included
    args = _args(np.random.default_rng(1))
    ref = tv_delay_doppler_reference(*args, num_taps=num_taps, block=block)
    got = tv_delay_doppler_torch(*args, num_taps=num_taps, block=block)
    assert got.dtype == np.complex128
    assert rel(got, ref) < 1e-13


def test_single_precision_keeps_complex64_within_float32_rounding():
    args = _args(np.random.default_rng(2))
    ref = tv_delay_doppler_reference(*args, num_taps=24)
    got = tv_delay_doppler_torch(args[0].astype(np.complex64), *args[1:], num_taps=24)
    # float32 samples and taps through 3 x 24-term sums: a few 1e-7 of the peak
    assert got.dtype == np.complex64 and rel(got, ref) < 1e-6


def test_constant_delay_equals_the_static_kernel():
    x, xs, src, d0, poly, t_ref, kappa, nu, gain, o, n = _args(np.random.default_rng(3))
    got = tv_delay_doppler_torch(x, xs, src, d0, 0 * poly, t_ref, kappa, nu, gain, o, n,
                                 num_taps=24)
    assert rel(got, delay_doppler_reference(x, xs, src, d0, nu, gain, o, n, 24)) < 1e-12


def test_segments_outside_the_rows_read_zeros():
    # op 0 reads wholly before the row, op 1 wholly after it, op 2 straddles its end
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 300)) + 1j * rng.standard_normal((1, 300))
    ops = 3
    args = (x, 0, np.zeros(ops, dtype=np.int64), np.array([5000.0, -5000.0, -150.0]),
            np.tile([[1e-5, 1e-10]], (ops, 1)), np.zeros(ops), np.full(ops, 60.0),
            np.zeros(ops), np.ones(ops, dtype=complex), np.zeros(ops, dtype=np.int64), 200)
    got = tv_delay_doppler_torch(*args, num_taps=10)
    ref = tv_delay_doppler_reference(*args, num_taps=10)
    assert not np.any(got[:2])
    assert np.any(got[2, :140]) and not np.any(got[2, 160:])
    assert rel(got, ref) < 1e-13


def test_registered_in_the_torch_set():
    assert kernel_set("torch").tv_delay_doppler is tv_delay_doppler_torch


def test_moving_drop_on_torch_equals_numba(monkeypatch):
    """geometry_mode = orbit, backend = torch: the time-varying FIRs run in torch (counted),
    the rest on the torch set's stages; double precision against numba: the numba kernel's
    phase recurrence (~1e-14) and float64 rounding, NMSE far below -200 dB."""
    from dataclasses import replace

    from linksim.emulator import emulate_drop
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design
    from tests.factories import small_config
    from waveforms import kernels

    cfg = small_config().replace(geometry_mode="orbit", num_users=3, num_sats=2)
    drop = draw_drop(cfg, 5, 0)
    scsi = scsi_from_drop(drop, cfg)
    W = design("mrt", scsi, 10 ** (cfg.power_dbw / 10)).W
    ref, m_ref = emulate_drop(cfg, drop, scsi, W, 5, 0, num_symbols=3)
    ks = kernel_set("torch")
    calls = []

    def counted(*args, **kw):
        calls.append(1)
        return ks.tv_delay_doppler(*args, **kw)

    monkeypatch.setitem(kernels._LOADED, "torch", replace(ks, tv_delay_doppler=counted))
    out, m = emulate_drop(cfg.replace(backend="torch"), drop, scsi, W, 5, 0, num_symbols=3)
    assert len(calls) >= 2                         # precompensation and channel
    for name in ("received", "desired", "noise"):
        got, want = getattr(out, name), getattr(ref, name)
        assert 10 * np.log10(np.sum(np.abs(got - want) ** 2) / np.sum(np.abs(want) ** 2)) < -200
    assert np.max(np.abs(10 * np.log10(m.sinr / m_ref.sinr))) < 1e-9
