"""sCSI (linksim.scsi): closed-form expectations (eqs. 24-26) vs Monte Carlo, error model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linksim.channel import (
    channel_vectors,
    draw_fading,
    kappa_ntn_urban_los_db,
    link_gain,
    noise_power_w,
    upa_steering,
)
from linksim.config import build_config
from linksim.ratemodel import rate_terms
from linksim.scenario import Drop
from linksim.scsi import CompensationErrorModel, Scsi, expected_phase_factor, scsi_from_drop


def make_drop(S: int, K: int, rng: np.random.Generator) -> Drop:
    """A hand-made Drop with plausible LEO link geometry (only per-link fields are used)."""
    el = rng.uniform(15.0, 90.0, (S, K))
    rng_m = rng.uniform(600e3, 1500e3, (S, K))
    return Drop(seed=0, drop_index=0, time_s=0.0, center_ecef_m=np.zeros(3),
                user_ecef_m=np.zeros((K, 3)), sat_index=np.arange(S),
                sat_ecef_m=np.zeros((S, 3)), sat_velocity_m_s=np.zeros((S, 3)),
                slant_range_m=rng_m, delay_s=rng_m / 299_792_458.0, doppler_hz=np.zeros((S, K)),
                elevation_deg=el, aod_theta_rad=rng.uniform(0, 1.0, (S, K)),
                aod_phi_rad=rng.uniform(-np.pi, np.pi, (S, K)))


def small_scsi(rng: np.random.Generator, S: int, K: int, antenna_size=(2, 2),
               complex_rho: bool = False) -> Scsi:
    vx, vy = rng.uniform(-0.9, 0.9, (2, S, K))
    rho = rng.uniform(0.4, 0.95, (S, K)).astype(complex)
    if complex_rho:
        rho *= np.exp(1j * rng.uniform(-np.pi, np.pi, (S, K)))
    return Scsi(gamma=rng.uniform(0.5, 2.0, (S, K)), kappa=rng.uniform(0.5, 5.0, (S, K)),
                rho=rho, steering=upa_steering(vx, vy, antenna_size),
                noise_power_w=np.ones(K), vartheta_x=vx, vartheta_y=vy,
                antenna_size=antenna_size)


def draw_phase(rng: np.random.Generator, rho: np.ndarray, n: int) -> np.ndarray:
    """Gaussian theta with E e^{j theta} = rho: N(arg rho, -2 ln |rho|)."""
    return np.angle(rho) + np.sqrt(-2 * np.log(np.abs(rho))) * rng.standard_normal((n,) + rho.shape)


def assert_within_se(samples: np.ndarray, expected: np.ndarray, n_se: float = 4.5) -> float:
    """Mean of complex/real samples (axis 0) vs expected, elementwise within n_se standard errors.

    Returns the largest deviation in standard errors.
    """
    n = samples.shape[0]
    mean = samples.mean(axis=0)
    se = np.sqrt(np.var(samples.real, axis=0) / n) + np.sqrt(np.var(samples.imag, axis=0) / n)
    z = np.abs(mean - expected) / np.maximum(se, 1e-300)
    assert np.all(z < n_se), f"max deviation {z.max():.2f} standard errors"
    return float(z.max())


class TestExpectedPhaseFactor:
    def test_closed_form_and_monte_carlo(self):
        var = np.array([0.0, 0.1, 0.5, 2.0])
        np.testing.assert_allclose(expected_phase_factor(var), np.exp(-var / 2), rtol=1e-15)
        n = 200_000
        theta = np.sqrt(var) * np.random.default_rng(0).standard_normal((n, 4))
        assert_within_se(np.exp(1j * theta), expected_phase_factor(var))

    def test_rejects_negative_variance(self):
        with pytest.raises(ValueError, match="phase_error_var_rad2"):
            expected_phase_factor(-0.1)


class TestCompensationErrorModel:
    def test_from_config_gives_configured_phase_variance(self):
        cfg = build_config({"phase_error_var_rad2": 0.5, "doppler_error_std_hz": 5.0})
        m = CompensationErrorModel.from_config(cfg)
        assert m.delay_error_std_s == pytest.approx(0.05627e-9, rel=1e-3)  # 0.056 ns at 2 GHz
        assert m.phase_error_var_rad2(0.0) == pytest.approx(0.5, rel=1e-12)
        assert m.rho() == pytest.approx(math.exp(-0.25), rel=1e-12)
        t = 1e-3
        assert m.phase_error_var_rad2(t) == pytest.approx(0.5 + (2 * np.pi * 5.0 * t) ** 2)

    def test_drawn_errors_give_the_modelled_phase_statistics(self):
        # theta(t) = -2 pi f_c dtau + 2 pi dnu t (eq. 13): its empirical variance and
        # E e^{j theta} must match phase_error_var_rad2(t) and rho(t).
        cfg = build_config({"phase_error_var_rad2": 0.3, "doppler_error_std_hz": 20.0})
        m = CompensationErrorModel.from_config(cfg)
        n = 200_000
        dtau, dnu = m.draw(np.random.default_rng(1), (n,))
        assert dtau.shape == (n,) and dnu.shape == (n,)
        for t in (0.0, 5e-3):
            theta = -2 * np.pi * cfg.carrier_hz * dtau + 2 * np.pi * dnu * t
            var = m.phase_error_var_rad2(t)
            assert abs(theta.var() - var) < 4 * var * math.sqrt(2 / n)
            assert_within_se(np.exp(1j * theta)[:, None], np.atleast_1d(m.rho(t)))

    def test_rejects_negative_std(self):
        with pytest.raises(ValueError, match="doppler_error_std_hz"):
            CompensationErrorModel(carrier_hz=2e9, delay_error_std_s=0.0, doppler_error_std_hz=-1)


class TestClosedFormVsMonteCarlo:
    @pytest.mark.parametrize("complex_rho", [False, True])
    def test_covariance_R_k(self, complex_rho):
        # Empirical E{h~_k h~_k^H} (h~ = [e^{j theta_s} h_{s,k}]_s, eq. 20) vs eq. (26).
        rng = np.random.default_rng(2)
        S, n = 3, 100_000
        scsi = small_scsi(rng, S, 1, complex_rho=complex_rho)
        g = draw_fading(rng, scsi.gamma, scsi.kappa, (n,))           # [n, S, 1]
        theta = draw_phase(rng, scsi.rho, n)
        h = channel_vectors(np.exp(1j * theta) * g, scsi.steering)     # [n, S, 1, N_t]
        ht = h[:, :, 0, :].reshape(n, -1)                              # [n, S N_t]
        outer = ht[:, :, None] * ht[:, None, :].conj()
        N = scsi.num_antennas
        R = np.zeros((S * N, S * N), complex)
        for s in range(S):
            for t in range(S):
                vs, vt = scsi.steering[s, 0], scsi.steering[t, 0]
                c = scsi.gamma[s, 0] if s == t else scsi.mu[s, 0] * np.conj(scsi.mu[t, 0])
                R[s * N:(s + 1) * N, t * N:(t + 1) * N] = c * np.outer(vs, vt.conj())
        assert_within_se(outer, R)
        assert_within_se(ht, (scsi.mu[:, 0, None] * scsi.steering[:, 0]).reshape(-1))  # m_k

    @pytest.mark.parametrize("complex_rho", [False, True])
    def test_signal_and_interference_powers_match_rate_terms(self, complex_rho):
        # For a fixed W: empirical E|h~_k^H w_k|^2, |E h~_k^H w_k|^2 and
        # E sum_{i != k} sum_s |h_{s,k}^H w_{s,i}|^2 vs rate_terms (eqs. 19-26, 36).
        rng = np.random.default_rng(3)
        S, K, n = 3, 4, 100_000
        scsi = small_scsi(rng, S, K, complex_rho=complex_rho)
        W = rng.standard_normal((S, K, 4)) + 1j * rng.standard_normal((S, K, 4))
        g = draw_fading(rng, scsi.gamma, scsi.kappa, (n,))           # [n, S, K]
        theta = draw_phase(rng, scsi.rho, n)
        h = channel_vectors(g, scsi.steering)                          # [n, S, K, N_t]
        hw = np.einsum("nskt,sit->nski", h.conj(), W)                  # h_{s,k}^H w_{s,i}
        desired = np.einsum("nsk,nskk->nk", np.exp(-1j * theta), hw)   # h~_k^H w_k
        cross = np.abs(hw) ** 2
        interf = cross.sum(axis=(1, 3)) - np.einsum("nskk->nk", cross)
        signal, interference, mean_signal = rate_terms(scsi, W)
        assert_within_se(np.abs(desired) ** 2, signal)
        assert_within_se(interf, interference)
        amp = np.sum(np.conj(scsi.mu) * np.einsum("skt,skt->sk", scsi.steering.conj(), W), axis=0)
        np.testing.assert_allclose(np.abs(amp) ** 2, mean_signal, rtol=1e-12)
        assert_within_se(desired, amp)  # E h~^H w = m^H w


class TestScsiFromDrop:
    def test_fields(self):
        rng = np.random.default_rng(4)
        cfg = build_config({"antenna_size": [2, 3], "phase_error_var_rad2": 0.5})
        drop = make_drop(2, 3, rng)
        scsi = scsi_from_drop(drop, cfg)
        assert scsi.steering.shape == (2, 3, 6) and scsi.antenna_size == (2, 3)
        np.testing.assert_allclose(scsi.gamma, link_gain(drop, cfg), rtol=1e-15)
        np.testing.assert_allclose(10 * np.log10(scsi.kappa),
                                   kappa_ntn_urban_los_db(drop.elevation_deg, 2e9), rtol=1e-12)
        np.testing.assert_allclose(scsi.rho, math.exp(-0.25), rtol=1e-15)
        np.testing.assert_allclose(scsi.noise_power_w, noise_power_w(cfg), rtol=1e-15)
        vx = np.sin(drop.aod_theta_rad) * np.cos(drop.aod_phi_rad)
        vy = np.sin(drop.aod_theta_rad) * np.sin(drop.aod_phi_rad)
        np.testing.assert_allclose(scsi.vartheta_x, vx, atol=1e-15)
        np.testing.assert_allclose(scsi.steering, upa_steering(vx, vy, (2, 3)), atol=1e-15)

    def test_kappa_spread_uses_rng(self):
        cfg = build_config({"kappa_spread_db": 5.65})
        drop = make_drop(2, 3, np.random.default_rng(5))
        # without an rng the spread comes from the drop's own stream 4: reproducible per drop
        default_a, default_b = scsi_from_drop(drop, cfg), scsi_from_drop(drop, cfg)
        np.testing.assert_array_equal(default_a.kappa, default_b.kappa)
        mean = scsi_from_drop(drop, cfg.replace(kappa_spread_db=0.0)).kappa
        assert not np.allclose(default_a.kappa, mean)
        a = scsi_from_drop(drop, cfg, np.random.default_rng(9))
        b = scsi_from_drop(drop, cfg, np.random.default_rng(9))
        np.testing.assert_array_equal(a.kappa, b.kappa)
