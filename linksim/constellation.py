"""Walker-Delta constellation (Table I): satellite positions and velocities at a time t.

Walker-Delta i:T/P/F = 53 deg : 1680/28/1 at 600 km (Table I; the phasing F = 1 is our
[choice], ``cfg.walker_phasing``). Circular Keplerian orbits of radius a = R_E + h with mean
motion n = sqrt(mu / a^3); plane p (0..P-1) has right ascension of the ascending node
Omega_p = 2 pi p / P; satellite m (0..T/P-1) of plane p has argument of latitude

    u_{p,m}(t) = 2 pi m / (T/P) + 2 pi F p / T + n t.

Positions are computed in an Earth-centred inertial frame (ECI) and rotated into the
Earth-fixed frame (ECEF) by the Earth rotation angle omega_E t (the frames coincide at
t = 0): r_ecef = R_z(-omega_E t) r_eci and v_ecef = R_z(-omega_E t)(v_eci - omega_E z x r_eci).
All geometry is float64 (metres, seconds).

Satellite index j = p * (T/P) + m.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from linksim.constants import EARTH_MU_M3_S2, EARTH_RADIUS_M, EARTH_ROTATION_RAD_S

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def orbital_period_s(altitude_m: float) -> float:
    """Period 2 pi sqrt(a^3 / mu) of a circular orbit at ``altitude_m`` above the mean radius.

    600 km -> 5801 s (96.7 min).
    """
    a = EARTH_RADIUS_M + float(altitude_m)
    return float(2.0 * np.pi * np.sqrt(a**3 / EARTH_MU_M3_S2))


def orbital_speed_m_s(altitude_m: float) -> float:
    """Inertial speed sqrt(mu / a) of a circular orbit (7.56 km/s at 600 km)."""
    return float(np.sqrt(EARTH_MU_M3_S2 / (EARTH_RADIUS_M + float(altitude_m))))


def walker_elements(cfg: LinkConfig) -> tuple[np.ndarray, np.ndarray]:
    """RAAN and argument of latitude at t = 0 of every satellite of the Walker-Delta shell.

    cfg : linksim.config.LinkConfig (num_planes P, sats_per_plane T/P, walker_phasing F).

    Returns
    -------
    raan_rad : float64 [N]    Omega_p = 2 pi p / P
    arg_lat0_rad : float64 [N]  u_{p,m}(0) = 2 pi m / (T/P) + 2 pi F p / T
    with N = T = P * (T/P), index j = p * (T/P) + m.
    """
    planes = int(cfg.num_planes)
    per_plane = int(cfg.sats_per_plane)
    total = planes * per_plane
    p = np.repeat(np.arange(planes, dtype=np.float64), per_plane)
    m = np.tile(np.arange(per_plane, dtype=np.float64), planes)
    raan = 2.0 * np.pi * p / planes
    arg_lat0 = 2.0 * np.pi * m / per_plane + 2.0 * np.pi * int(cfg.walker_phasing) * p / total
    return raan, arg_lat0


def satellite_states_eci(cfg: LinkConfig, time_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Inertial positions and velocities of all satellites at ``time_s``.

    Returns (pos_eci_m float64 [N, 3], vel_eci_m_s float64 [N, 3]); |pos| = a,
    |vel| = sqrt(mu / a), pos . vel = 0 (circular orbits).
    """
    a = EARTH_RADIUS_M + float(cfg.altitude_m)
    n = float(np.sqrt(EARTH_MU_M3_S2 / a**3))
    inc = np.deg2rad(float(cfg.inclination_deg))
    raan, u0 = walker_elements(cfg)
    u = u0 + n * float(time_s)
    cu, su = np.cos(u), np.sin(u)
    co, so = np.cos(raan), np.sin(raan)
    ci, si = np.cos(inc), np.sin(inc)
    pos = a * np.stack([cu * co - su * ci * so, cu * so + su * ci * co, su * si], axis=-1)
    vel = (a * n) * np.stack([-su * co - cu * ci * so, -su * so + cu * ci * co, cu * si], axis=-1)
    return pos, vel


def eci_to_ecef(pos_eci_m: np.ndarray, vel_eci_m_s: np.ndarray, time_s: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Rotate inertial states into the Earth-fixed frame at ``time_s``.

    r_ecef = R r_eci, v_ecef = R (v_eci - omega x r_eci) with R = R_z(-omega_E t) and
    omega = (0, 0, omega_E). pos_eci_m, vel_eci_m_s : float64 [..., 3].
    """
    pos = np.asarray(pos_eci_m, dtype=np.float64)
    vel = np.asarray(vel_eci_m_s, dtype=np.float64)
    angle = EARTH_ROTATION_RAD_S * float(time_s)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # R_z(-angle)
    omega_cross_r = EARTH_ROTATION_RAD_S * np.stack(
        [-pos[..., 1], pos[..., 0], np.zeros_like(pos[..., 0])], axis=-1)
    return pos @ rot.T, (vel - omega_cross_r) @ rot.T


def satellite_states(cfg: LinkConfig, time_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Earth-fixed positions and velocities of all N = P * (T/P) satellites at ``time_s``.

    cfg : linksim.config.LinkConfig; time_s : seconds since the epoch (ECI = ECEF at 0).

    Returns
    -------
    pos_ecef_m : float64 [N, 3]
    vel_ecef_m_s : float64 [N, 3]   velocity in the rotating frame (Earth rotation included)
    """
    pos, vel = satellite_states_eci(cfg, time_s)
    return eci_to_ecef(pos, vel, time_s)
