"""precoders.common: the reduced model, link statistics against linksim.ratemodel, power
handling and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from linksim.ratemodel import expected_rates, rate_terms, wmmse_surrogate_rates
from linksim.scsi import Scsi
from precoders.common import (
    ReducedModel,
    link_stats,
    per_satellite_power,
    scale_to_power,
    user_weights,
)


def random_scsi(rng: np.random.Generator, S: int = 3, K: int = 5, nx: int = 2,
                ny: int = 3) -> Scsi:
    vx, vy = rng.uniform(-0.9, 0.9, (S, K)), rng.uniform(-0.9, 0.9, (S, K))
    ax = np.exp(-1j * np.pi * vx[..., None] * np.arange(nx))
    ay = np.exp(-1j * np.pi * vy[..., None] * np.arange(ny))
    steering = (ax[..., :, None] * ay[..., None, :]).reshape(S, K, nx * ny)
    return Scsi(gamma=rng.uniform(0.2, 2.0, (S, K)), kappa=rng.uniform(0.5, 20.0, (S, K)),
                rho=rng.uniform(0.3, 0.95, (S, K)) * np.exp(1j * rng.uniform(-3, 3, (S, K))),
                steering=steering, noise_power_w=rng.uniform(0.5, 2.0, K),
                vartheta_x=vx, vartheta_y=vy, antenna_size=(nx, ny))


class TestReducedModel:
    @pytest.mark.parametrize("K", [3, 6, 9])
    def test_basis_reproduces_steering_and_rates(self, K):
        rng = np.random.default_rng(K)
        scsi = random_scsi(rng, K=K)
        model = ReducedModel.from_scsi(scsi)
        r = min(6, K)
        assert model.Q.shape == (3, 6, r) and model.Vt.shape == (3, r, K)
        np.testing.assert_allclose(model.Q @ model.Vt, np.swapaxes(scsi.steering, 1, 2),
                                   atol=1e-12)
        Wt = rng.standard_normal((3, r, K)) + 1j * rng.standard_normal((3, r, K))
        W = model.expand(Wt)
        st = link_stats(model, Wt)
        signal, interference, mean = rate_terms(scsi, W)
        np.testing.assert_allclose(st.signal, signal, rtol=1e-10)
        np.testing.assert_allclose(st.c, interference + scsi.noise_power_w, rtol=1e-10)
        np.testing.assert_allclose(np.abs(st.mean_amp) ** 2, mean, rtol=1e-10)
        np.testing.assert_allclose(st.rates, expected_rates(scsi, W), rtol=1e-10)
        np.testing.assert_allclose(st.wm_rates, wmmse_surrogate_rates(scsi, W), rtol=1e-10)


class TestPower:
    def test_scalar_and_vector(self):
        np.testing.assert_array_equal(per_satellite_power(2.0, 3), [2.0, 2.0, 2.0])
        np.testing.assert_array_equal(per_satellite_power([1, 2], 2), [1.0, 2.0])

    @pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, [1.0, -2.0]])
    def test_rejects(self, bad):
        with pytest.raises(ValueError, match="power_w"):
            per_satellite_power(bad, 2)

    def test_scaling(self):
        rng = np.random.default_rng(0)
        W = rng.standard_normal((3, 4, 5)) + 0j
        W[1] = 0
        out = scale_to_power(W, np.array([1.0, 2.0, 3.0]))
        np.testing.assert_allclose(np.sum(np.abs(out) ** 2, axis=(1, 2)), [1.0, 0.0, 3.0])

    def test_weights(self):
        np.testing.assert_array_equal(user_weights(None, 3), np.ones(3))
        with pytest.raises(ValueError, match="weights"):
            user_weights(np.ones(2), 3)


class TestSingleThreadBlas:
    def test_sets_one_thread_and_restores(self):
        from precoders.common import _blas_handles, single_thread_blas

        handles = _blas_handles()
        before = [get() for get, _ in handles]
        with single_thread_blas():
            assert all(get() == 1 for get, _ in handles)
        assert [get() for get, _ in handles] == before
