"""Channel model (linksim.channel): eqs. (1)-(3), Table I, math.md Secs. 7 and 11."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linksim.channel import (
    channel_vectors,
    draw_fading,
    free_space_path_loss_db,
    kappa_ntn_urban_los_db,
    link_gain,
    noise_power_w,
    rician_factor,
    spatial_frequencies,
    upa_steering,
)
from linksim.config import build_config
from linksim.constants import BOLTZMANN_J_K
from linksim.scenario import Drop


def make_drop(slant_range_m: np.ndarray, elevation_deg: np.ndarray,
              aod_theta_rad: np.ndarray | None = None,
              aod_phi_rad: np.ndarray | None = None) -> Drop:
    """A hand-made Drop: only the per-link fields matter to the channel model."""
    S, K = np.shape(slant_range_m)
    zeros = np.zeros((S, K))
    return Drop(seed=0, drop_index=0, time_s=0.0, center_ecef_m=np.zeros(3),
                user_ecef_m=np.zeros((K, 3)), sat_index=np.arange(S),
                sat_ecef_m=np.zeros((S, 3)), sat_velocity_m_s=np.zeros((S, 3)),
                slant_range_m=np.asarray(slant_range_m, float),
                delay_s=np.asarray(slant_range_m, float) / 299_792_458.0,
                doppler_hz=zeros, elevation_deg=np.asarray(elevation_deg, float),
                aod_theta_rad=zeros if aod_theta_rad is None else aod_theta_rad,
                aod_phi_rad=zeros if aod_phi_rad is None else aod_phi_rad)


class TestUpaSteering:
    def test_matches_direct_double_loop(self):
        rng = np.random.default_rng(0)
        nx, ny = 3, 4
        tx, ty = rng.uniform(-1, 1, (2, 5)), rng.uniform(-1, 1, (2, 5))
        v = upa_steering(tx, ty, (nx, ny))
        assert v.shape == (2, 5, nx * ny) and v.dtype == np.complex128
        for a in range(2):
            for b in range(5):
                want = np.empty(nx * ny, complex)
                for ix in range(nx):
                    for iy in range(ny):
                        want[ix * ny + iy] = np.exp(-1j * np.pi * (ix * tx[a, b] + iy * ty[a, b]))
                np.testing.assert_allclose(v[a, b], want, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.abs(v), 1.0, atol=1e-14)

    def test_is_kronecker_of_ulas(self):
        ax = np.exp(-1j * np.pi * 0.3 * np.arange(4))
        ay = np.exp(-1j * np.pi * -0.7 * np.arange(2))
        np.testing.assert_allclose(upa_steering(0.3, -0.7, (4, 2)), np.kron(ax, ay), atol=1e-14)

    def test_rejects_bad_size(self):
        with pytest.raises(ValueError, match="antenna_size"):
            upa_steering(0.1, 0.2, (0, 4))
        with pytest.raises(ValueError, match="finite"):
            upa_steering(np.nan, 0.2, (2, 2))


class TestSpatialFrequencies:
    def test_known_angles(self):
        vx, vy = spatial_frequencies(np.array([0.0, np.pi / 2, np.pi / 6]),
                                     np.array([1.0, 0.0, np.pi / 2]))
        np.testing.assert_allclose(vx, [0.0, 1.0, 0.0], atol=1e-15)
        np.testing.assert_allclose(vy, [0.0, 0.0, 0.5], atol=1e-15)


class TestPathLossAndGain:
    def test_path_loss_600km_2ghz(self):
        # 20 log10(4 pi 6e5 2e9 / c) = 154.03 dB (hand computed).
        assert free_space_path_loss_db(600e3, 2e9) == pytest.approx(154.03, abs=0.005)
        assert (free_space_path_loss_db(6000e3, 2e9) - free_space_path_loss_db(600e3, 2e9)
                == pytest.approx(20.0, abs=1e-12))

    def test_link_gain_includes_element_and_ut_gain(self):
        cfg = build_config({"tx_element_gain_dbi": 6.0, "rx_gain_dbi": 0.0})
        drop = make_drop(np.array([[600e3, 1200e3]]), np.array([[90.0, 40.0]]))
        gamma = link_gain(drop, cfg)
        assert gamma.shape == (1, 2)
        np.testing.assert_allclose(10 * np.log10(gamma), [[6.0 - 154.03, 6.0 - 160.05]], atol=0.01)
        cfg2 = build_config({"rx_gain_dbi": 3.0})
        np.testing.assert_allclose(link_gain(drop, cfg2) / gamma, 10 ** 0.3, rtol=1e-12)

    def test_rejects_nonpositive_range(self):
        with pytest.raises(ValueError, match="range_m"):
            free_space_path_loss_db(np.array([0.0]), 2e9)


class TestRicianFactor:
    def test_ntn_urban_los_numbers(self):
        # math.md Sec. 11 at 2 GHz: 33.3 / 28.0 / 22.8 dB at 10 / 30 / 90 deg.
        got = kappa_ntn_urban_los_db(np.array([10.0, 30.0, 90.0]), 2e9)
        np.testing.assert_allclose(got, [33.3, 28.0, 22.8], atol=0.05)

    def test_rician_factor_models(self):
        el = np.array([[10.0, 30.0, 90.0]])
        drop = make_drop(np.full((1, 3), 700e3), el)
        cfg = build_config()
        np.testing.assert_allclose(10 * np.log10(rician_factor(drop, cfg)),
                                   kappa_ntn_urban_los_db(el, 2e9), rtol=1e-12)
        fixed = rician_factor(drop, build_config({"kappa_model": "fixed", "kappa_db": 10.0}))
        np.testing.assert_allclose(fixed, 10.0, rtol=1e-12)

    def test_log_normal_spread(self):
        n = 20_000
        drop = make_drop(np.full((4, n // 4), 700e3), np.full((4, n // 4), 30.0))
        cfg = build_config({"kappa_spread_db": 5.65})
        with pytest.raises(ValueError, match="rng"):
            rician_factor(drop, cfg)
        k_db = 10 * np.log10(rician_factor(drop, cfg, np.random.default_rng(3)))
        mean_db = kappa_ntn_urban_los_db(30.0, 2e9)
        # standard errors: 5.65/sqrt(n) = 0.04 dB for the mean, 5.65/sqrt(2n) = 0.028 for the std
        assert abs(k_db.mean() - mean_db) < 4 * 5.65 / math.sqrt(n)
        assert abs(k_db.std() - 5.65) < 4 * 5.65 / math.sqrt(2 * n)


class TestNoisePower:
    def test_table_i_numbers(self):
        cfg = build_config()
        p = noise_power_w(cfg)
        dbm = 10 * math.log10(p / 1e-3)
        # -174 dBm/Hz is 10 log10(k_B 290 K / 1 mW) = -173.98 rounded: 0.03 dB tolerance.
        assert dbm == pytest.approx(-174.0 + 10 * math.log10(30e3) + 7.0, abs=0.03)
        assert dbm == pytest.approx(-122.20, abs=0.01)
        assert p / (BOLTZMANN_J_K * 30e3) == pytest.approx(1453.4, abs=0.1)  # T_sys
        exact = 10 * math.log10(BOLTZMANN_J_K * 290 / 1e-3) + 10 * math.log10(20e6) + 7.0
        assert 10 * math.log10(noise_power_w(cfg, 20e6) / 1e-3) == pytest.approx(exact, abs=1e-9)

    def test_antenna_temperature_adds(self):
        cfg = build_config({"antenna_temperature_k": 100.0, "noise_figure_db": 0.0})
        assert noise_power_w(cfg) == pytest.approx(BOLTZMANN_J_K * 100.0 * 30e3, rel=1e-12)


class TestDrawFading:
    @pytest.mark.parametrize("kappa_db", [-3.0, 10.0])
    def test_rician_moments(self, kappa_db):
        n = 200_000
        gamma, kappa = 2.5e-15, 10 ** (kappa_db / 10)
        g = draw_fading(np.random.default_rng(4), np.array([gamma]), np.array([kappa]), (n,))[:, 0]
        assert g.shape == (n,) and g.dtype == np.complex128
        los = math.sqrt(kappa * gamma / (kappa + 1))
        p = np.abs(g) ** 2
        # E|g|^2 = gamma within 4 standard errors of the sample mean
        assert abs(p.mean() - gamma) < 4 * p.std() / math.sqrt(n)
        # E g = LoS mean (real positive)
        se_mean = math.sqrt(gamma / (kappa + 1) / n)
        assert abs(g.mean() - los) < 4 * se_mean
        # K-factor recovered, |E g|^2 / var g; delta method: relative variance 2/(kappa n) + 1/n
        k_hat = abs(g.mean()) ** 2 / np.var(g)
        assert abs(k_hat / kappa - 1) < 4 * math.sqrt(2 / (kappa * n) + 1 / n)

    def test_infinite_kappa_is_deterministic_los(self):
        g = draw_fading(np.random.default_rng(5), np.array([[1.0, 4.0]]), np.inf, (3,))
        assert g.shape == (3, 1, 2)
        np.testing.assert_allclose(g, np.broadcast_to([[1.0, 2.0]], (3, 1, 2)), atol=0)

    def test_rejects_bad_inputs(self):
        with pytest.raises(ValueError, match="kappa"):
            draw_fading(np.random.default_rng(0), 1.0, -1.0)
        with pytest.raises(ValueError, match="gamma"):
            draw_fading(np.random.default_rng(0), -1.0, 1.0)


class TestChannelVectors:
    def test_h_is_g_times_v(self):
        rng = np.random.default_rng(6)
        v = upa_steering(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3)), (2, 2))
        g = rng.standard_normal((5, 2, 3)) + 1j * rng.standard_normal((5, 2, 3))
        h = channel_vectors(g, v)
        assert h.shape == (5, 2, 3, 4)
        np.testing.assert_allclose(h[4, 1, 2], g[4, 1, 2] * v[1, 2], atol=1e-15)
        with pytest.raises(ValueError, match="must agree"):
            channel_vectors(g[..., :2], v)
