"""Drops (Sec. V): link geometry against hand computations, user disc, satellite selection,
Doppler, AoD frame, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linksim.config import ConfigError, build_config
from linksim.constants import (
    EARTH_MU_M3_S2,
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    SPEED_OF_LIGHT_M_S,
)
from linksim.constellation import satellite_states
from linksim.scenario import (
    Stream,
    draw_drop,
    drop_rng,
    elevation_deg,
    geodesic_disc_points,
    great_circle_distance_m,
    link_geometry,
    random_center,
    upa_frame,
)

R = EARTH_RADIUS_M
A = R + 600e3
V_ORBIT = math.sqrt(EARTH_MU_M3_S2 / A)
CFG = build_config()


def _overhead_sat():
    """A satellite above (lat, lon) = (0, 0), moving north-east in ECEF."""
    sat = np.array([[A, 0.0, 0.0]])
    vel = np.array([[0.0, 0.6 * V_ORBIT, 0.8 * V_ORBIT]])
    return sat, vel


class TestLinkGeometryHand:
    def test_zenith(self):
        sat, vel = _overhead_sat()
        geo = link_geometry(sat, vel, np.array([[R, 0.0, 0.0]]), 2e9)
        assert geo["slant_range_m"][0, 0] == pytest.approx(600e3, rel=1e-12)
        assert geo["delay_s"][0, 0] == pytest.approx(600e3 / SPEED_OF_LIGHT_M_S, rel=1e-12)
        assert geo["delay_s"][0, 0] == pytest.approx(2.001e-3, abs=1e-6)
        assert geo["elevation_deg"][0, 0] == pytest.approx(90.0, abs=1e-6)
        assert geo["aod_theta_rad"][0, 0] == pytest.approx(0.0, abs=1e-7)
        assert abs(geo["doppler_hz"][0, 0]) < 1e-6  # velocity is horizontal

    def test_disc_edge_law_of_cosines(self):
        sat, vel = _overhead_sat()
        alpha = 800e3 / R  # 800 km arc
        user = np.array([[R * math.cos(alpha), 0.0, R * math.sin(alpha)]])
        geo = link_geometry(sat, vel, user, 2e9)
        slant = math.sqrt(R**2 + A**2 - 2 * R * A * math.cos(alpha))
        assert geo["slant_range_m"][0, 0] == pytest.approx(slant, rel=1e-12)
        assert geo["delay_s"][0, 0] == pytest.approx(slant / SPEED_OF_LIGHT_M_S, rel=1e-12)
        el = math.degrees(math.asin((A * math.cos(alpha) - R) / slant))
        assert geo["elevation_deg"][0, 0] == pytest.approx(el, abs=1e-9)
        assert 31.9 < el < 32.1  # about 32 deg at the 800 km edge
        # AoD: nadir angle from the sine rule, sin(eta) = R sin(alpha) / slant
        eta = math.asin(R * math.sin(alpha) / slant)
        assert geo["aod_theta_rad"][0, 0] == pytest.approx(eta, abs=1e-12)
        # array axes: x = the (horizontal) velocity direction, y = z x x with z = nadir
        d = (user[0] - sat[0]) / slant
        x, y = np.array([0, 0.6, 0.8]), np.cross(-sat[0] / A, np.array([0, 0.6, 0.8]))
        assert geo["aod_phi_rad"][0, 0] == pytest.approx(math.atan2(d @ y, d @ x), abs=1e-12)

    def test_doppler_sign_approaching(self):
        sat = np.array([[A, 0.0, 0.0]])
        vel = np.array([[0.0, 0.0, -V_ORBIT]])  # moving south, toward a user further south
        user = np.array([[R * math.cos(0.1), 0.0, -R * math.sin(0.1)]])
        geo = link_geometry(sat, vel, user, 2e9)
        assert geo["doppler_hz"][0, 0] > 0


class TestHelpers:
    def test_elevation_horizon(self):
        user = np.array([R, 0.0, 0.0])
        assert elevation_deg(np.array([R, 1e5, 0.0]), user) == pytest.approx(0.0, abs=1e-9)
        assert elevation_deg(np.array([R + 1e5, 0.0, 0.0]), user) == pytest.approx(90.0)

    def test_disc_points_inside_and_uniform_in_area(self):
        rng = np.random.default_rng(5)
        center = random_center(rng, 53.0)
        pts = geodesic_disc_points(rng, center, 800e3, 20000)
        np.testing.assert_allclose(np.linalg.norm(pts, axis=1), R, rtol=1e-12)
        dist = great_circle_distance_m(pts, center)
        assert dist.max() <= 800e3 * (1 + 1e-12)
        # area fraction of the inner disc of half the radius (spherical caps)
        a = 800e3 / R
        p = (1 - math.cos(a / 2)) / (1 - math.cos(a))
        frac = np.mean(dist <= 400e3)
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / pts.shape[0])

    def test_random_center_latitude_band(self):
        rng = np.random.default_rng(1)
        c = np.array([random_center(rng, 53.0) for _ in range(4000)])
        sin_lat = c[:, 2] / R
        assert np.abs(sin_lat).max() <= math.sin(math.radians(53.0)) + 1e-12
        # uniform in sin(latitude): mean |sin lat| = sin(53)/2
        assert np.mean(np.abs(sin_lat)) == pytest.approx(math.sin(math.radians(53)) / 2, abs=0.02)

    def test_upa_frame_orthonormal(self):
        pos, vel = satellite_states(CFG, 321.0)
        frame = upa_frame(pos[:50], vel[:50])
        eye = np.einsum("sij,skj->sik", frame, frame)
        np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(frame), 1.0, atol=1e-12)  # right-handed
        np.testing.assert_allclose(frame[:, 2], -pos[:50] / A, atol=1e-12)


@pytest.fixture(scope="module")
def drops():
    cfg = build_config({"num_users": 12})
    return cfg, [draw_drop(cfg, 7, i) for i in range(200)]


class TestDrawDrop:
    def test_shapes_dtypes(self, drops):
        cfg, ds = drops
        d = ds[0]
        assert d.user_ecef_m.shape == (12, 3) and d.sat_ecef_m.shape == (5, 3)
        for name in ("slant_range_m", "delay_s", "doppler_hz", "elevation_deg",
                     "aod_theta_rad", "aod_phi_rad"):
            arr = getattr(d, name)
            assert arr.shape == (5, 12) and arr.dtype == np.float64
        assert d.sat_index.dtype == np.int64 and np.unique(d.sat_index).size == 5

    def test_users_inside_disc(self, drops):
        cfg, ds = drops
        for d in ds:
            dist = great_circle_distance_m(d.user_ecef_m, d.center_ecef_m)
            assert dist.max() <= cfg.coverage_radius_m * (1 + 1e-12)
            lat = math.degrees(math.asin(d.center_ecef_m[2] / R))
            assert abs(lat) <= cfg.inclination_deg + 1e-9

    def test_satellites_above_min_elevation_and_nearest(self, drops):
        cfg, ds = drops
        for d in ds[:40]:
            assert d.elevation_deg.min() >= cfg.min_elevation_deg
            pos, vel = satellite_states(cfg, d.time_s)
            np.testing.assert_array_equal(pos[d.sat_index], d.sat_ecef_m)
            dist = np.linalg.norm(pos - d.center_ecef_m, axis=1)
            assert np.all(np.diff(dist[d.sat_index]) >= 0)  # sorted, s = 0 is the master
            el = elevation_deg(pos[:, None, :], d.user_ecef_m[None, :, :])
            ok = np.all(el >= cfg.min_elevation_deg, axis=1)
            closer = ok & (dist < dist[d.sat_index[-1]])
            assert set(np.flatnonzero(closer)) <= set(d.sat_index.tolist())

    def test_delay_is_range_over_c(self, drops):
        _, ds = drops
        d = ds[3]
        np.testing.assert_allclose(d.delay_s, d.slant_range_m / SPEED_OF_LIGHT_M_S, rtol=1e-15)
        assert 600e3 <= d.slant_range_m.min() and d.delay_s.max() < 6.5e-3

    def test_doppler_is_range_rate(self, drops):
        cfg, ds = drops
        d = ds[5]
        dt = 1e-3
        rng_t = [np.linalg.norm(satellite_states(cfg, d.time_s + h)[0][d.sat_index][:, None]
                                - d.user_ecef_m[None], axis=-1) for h in (-dt, dt)]
        range_rate = (rng_t[1] - rng_t[0]) / (2 * dt)
        np.testing.assert_allclose(d.doppler_hz, -cfg.carrier_hz / SPEED_OF_LIGHT_M_S * range_rate,
                                   atol=1e-3)

    def test_doppler_bound_and_reached(self, drops):
        cfg, ds = drops
        lam = SPEED_OF_LIGHT_M_S / cfg.carrier_hz
        bound = (V_ORBIT + EARTH_ROTATION_RAD_S * A) / lam
        fd = np.array([d.doppler_hz for d in ds])
        el = np.array([d.elevation_deg for d in ds])
        assert np.abs(fd).max() <= bound
        # at 10-20 deg elevation the line of sight is within ~25 deg of the orbit plane
        # direction at best: |f_D| reaches ~0.85 v / lambda (about 43 kHz, math.md Sec. 11)
        assert np.abs(fd[el < 25]).max() >= 0.8 * V_ORBIT / lam

    def test_aod_sub_satellite_point_and_consistency(self, drops):
        cfg, ds = drops
        d = ds[2]
        sub = d.sat_ecef_m * (R / A)
        geo = link_geometry(d.sat_ecef_m, d.sat_velocity_m_s, sub, cfg.carrier_hz)
        np.testing.assert_allclose(np.diag(geo["aod_theta_rad"]), 0.0, atol=1e-7)
        # the direction rebuilt from (theta, phi) in the array frame is the line of sight
        frame = upa_frame(d.sat_ecef_m, d.sat_velocity_m_s)
        th, ph = d.aod_theta_rad, d.aod_phi_rad
        local = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1)
        world = np.einsum("sji,skj->ski", frame, local)
        los = d.user_ecef_m[None] - d.sat_ecef_m[:, None]
        np.testing.assert_allclose(world, los / d.slant_range_m[..., None], atol=1e-12)
        assert th.max() < math.pi / 2

    def test_reproducible(self):
        cfg = build_config({"num_users": 6})
        a, b, c = draw_drop(cfg, 11, 4), draw_drop(cfg, 11, 4), draw_drop(cfg, 11, 5)
        for name in ("user_ecef_m", "delay_s", "doppler_hz", "aod_phi_rad", "sat_index"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.time_s == b.time_s and a.time_s != c.time_s
        assert not np.array_equal(a.user_ecef_m, c.user_ecef_m)
        # only stream 0 is used: the draw does not depend on other streams being consumed
        drop_rng(11, 4, 1).standard_normal(100)
        np.testing.assert_array_equal(draw_drop(cfg, 11, 4).delay_s, a.delay_s)

    def test_impossible_request_is_a_clear_error(self):
        cfg = build_config({"num_sats": 60, "num_users": 4})
        with pytest.raises(ConfigError, match="num_sats=60"):
            draw_drop(cfg, 1, 0)


class TestStreams:
    def test_names_keep_their_historical_numbers(self):
        # the numbers are part of the reproducibility contract: renumbering a stream changes
        # every result, so a change must be caught here
        assert {s.name: int(s) for s in Stream} == {
            "GEOMETRY": 0, "FADING": 1, "ERRORS": 2, "DATA_NOISE": 3, "KAPPA_SPREAD": 4,
            "TRACKING": 5, "ERGODIC": 10, "MULTIPATH": 12}

    def test_named_stream_is_the_numbered_stream(self):
        for s in Stream:
            np.testing.assert_array_equal(drop_rng(7, 3, s).standard_normal(8),
                                          drop_rng(7, 3, int(s)).standard_normal(8))
        np.testing.assert_array_equal(drop_rng(7, 3).standard_normal(8),
                                      drop_rng(7, 3, 0).standard_normal(8))

    def test_two_streams_differ(self):
        draws = [drop_rng(7, 3, s).standard_normal(64) for s in Stream]
        for i in range(len(draws)):
            for j in range(i + 1, len(draws)):
                # independent N(0,1) vectors: equal with probability 0, corr ~ N(0, 1/64)
                assert abs(np.corrcoef(draws[i], draws[j])[0, 1]) < 0.6
