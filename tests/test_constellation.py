"""Walker-Delta constellation (Table I): counts, radii, speeds, frames, period."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linksim.config import build_config
from linksim.constants import EARTH_MU_M3_S2, EARTH_RADIUS_M, EARTH_ROTATION_RAD_S
from linksim.constellation import (
    eci_to_ecef,
    orbital_period_s,
    orbital_speed_m_s,
    satellite_states,
    satellite_states_eci,
    walker_elements,
)

CFG = build_config()
A_M = EARTH_RADIUS_M + 600e3


class TestOrbitalPeriod:
    def test_600km_hand_computation(self):
        by_hand = 2 * math.pi * math.sqrt(A_M**3 / EARTH_MU_M3_S2)
        assert orbital_period_s(600e3) == pytest.approx(by_hand, rel=1e-12)
        # 96.54 min with the mean radius 6371 km (96.7 min is quoted with the equatorial 6378 km)
        assert orbital_period_s(600e3) / 60 == pytest.approx(96.54, abs=0.01)

    def test_speed(self):
        assert orbital_speed_m_s(600e3) == pytest.approx(math.sqrt(EARTH_MU_M3_S2 / A_M))


class TestWalkerElements:
    def test_count_and_spacing(self):
        raan, u0 = walker_elements(CFG)
        assert raan.shape == (1680,) and u0.shape == (1680,)
        assert np.unique(np.round(np.degrees(raan), 9)).size == 28
        # plane 0: in-plane spacing 360/60 = 6 deg; plane 1 offset F*360/T = 360/1680 deg
        assert np.degrees(u0[1] - u0[0]) == pytest.approx(6.0)
        assert np.degrees(u0[60] - u0[0]) == pytest.approx(360 / 1680)
        assert np.degrees(raan[60] - raan[0]) == pytest.approx(360 / 28)


class TestSatelliteStates:
    @pytest.mark.parametrize("t", [0.0, 1234.5, 5800.0])
    def test_eci_radius_speed_orthogonal(self, t):
        pos, vel = satellite_states_eci(CFG, t)
        assert pos.shape == (1680, 3) and pos.dtype == np.float64
        np.testing.assert_allclose(np.linalg.norm(pos, axis=1), A_M, rtol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(vel, axis=1), math.sqrt(EARTH_MU_M3_S2 / A_M),
                                   rtol=1e-12)
        cos = np.sum(pos * vel, axis=1) / (A_M * np.linalg.norm(vel, axis=1))
        assert np.max(np.abs(cos)) < 1e-12

    def test_inclination_bounds_latitude(self):
        pos, _ = satellite_states(CFG, 777.0)
        lat = np.degrees(np.arcsin(pos[:, 2] / np.linalg.norm(pos, axis=1)))
        assert lat.max() <= 53.0 + 1e-9 and lat.min() >= -53.0 - 1e-9
        assert lat.max() > 52.0  # some satellite is near the apex

    def test_ecef_altitude_and_rotation(self):
        t = 1000.0
        pos_i, vel_i = satellite_states_eci(CFG, t)
        pos, vel = satellite_states(CFG, t)
        np.testing.assert_allclose(np.linalg.norm(pos, axis=1), A_M, rtol=1e-12)
        # z is unchanged by the rotation about z; longitude shifts by -omega_E t
        np.testing.assert_allclose(pos[:, 2], pos_i[:, 2], atol=1e-6)
        dlon = np.angle(np.exp(1j * (np.arctan2(pos[:, 1], pos[:, 0])
                                     - np.arctan2(pos_i[:, 1], pos_i[:, 0]))))
        np.testing.assert_allclose(dlon, -EARTH_ROTATION_RAD_S * t, atol=1e-12)
        # |v_ecef|^2 = |v_eci - omega x r|^2, bounded by v + omega * a
        speed = np.linalg.norm(vel, axis=1)
        assert speed.max() <= orbital_speed_m_s(600e3) + EARTH_ROTATION_RAD_S * A_M

    def test_ecef_velocity_is_finite_difference(self):
        t, dt = 2000.0, 1e-3
        p0, v0 = satellite_states(CFG, t - dt)
        p1, _ = satellite_states(CFG, t + dt)
        _, v = satellite_states(CFG, t)
        np.testing.assert_allclose((p1 - p0) / (2 * dt), v, atol=1e-3)

    def test_eci_equals_ecef_at_epoch(self):
        pos_i, vel_i = satellite_states_eci(CFG, 0.0)
        pos, vel = eci_to_ecef(pos_i, vel_i, 0.0)
        np.testing.assert_array_equal(pos, pos_i)
        omega_cross = EARTH_ROTATION_RAD_S * np.stack([-pos_i[:, 1], pos_i[:, 0],
                                                       np.zeros(1680)], axis=1)
        np.testing.assert_allclose(vel, vel_i - omega_cross, rtol=1e-15)
