"""One drop: region centre, K users in the coverage disc, the S serving satellites and the
per-(s, k) link geometry. (CONTRACT: the Drop fields and drop_rng are fixed.)

A drop (Sec. V of the paper, "each run draws a random centre in the constellation coverage,
an 800 km disc, uniform UTs, and the S satellites closest to the centre") is drawn by
:func:`draw_drop` from ``drop_rng(seed, drop_index, Stream.GEOMETRY)`` alone:

1. a snapshot time uniform in [0, orbital period);
2. a region centre uniform on the sphere restricted to the latitudes the constellation
   covers, |latitude| <= inclination ([choice]: sin(latitude) uniform, longitude uniform,
   i.e. uniform in area over that band);
3. K users uniform in area in the geodesic disc of radius ``coverage_radius_m`` around it;
4. the S satellites nearest the centre (Euclidean distance, s = 0 nearest = master) among
   those above ``min_elevation_deg`` for every user. If fewer than S qualify, steps 1-3 are
   redrawn from the same generator (at most :data:`MAX_DRAW_ATTEMPTS` times).

Per (s, k) the link geometry: slant range, delay = range / c, Doppler -f_c/c d(range)/dt
(users fixed on the rotating Earth), elevation at the user and the angle of departure in the
satellite's UPA frame (z toward the Earth centre, x along the ECEF velocity made orthogonal
to z, y = z x x). The Earth is a sphere of radius EARTH_RADIUS_M (positions in ECEF metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from linksim.constants import EARTH_RADIUS_M, SPEED_OF_LIGHT_M_S

if TYPE_CHECKING:
    from linksim.config import LinkConfig


MAX_DRAW_ATTEMPTS = 200


@dataclass(frozen=True)
class Drop:
    """Geometry of one drop, float64 throughout (ECEF metres, seconds, hertz).

    Satellites are sorted by distance to the region centre: s = 0 is the master (SS-* baselines).

    Attributes
    ----------
    seed : int                  root seed of the run
    drop_index : int            index of this drop (SeedSequence spawn_key=(drop_index, stream))
    time_s : float              constellation epoch time of the snapshot
    center_ecef_m : [3]         region centre on the Earth's surface
    user_ecef_m : [K, 3]        user positions on the surface
    sat_index : int64 [S]       indices into the constellation
    sat_ecef_m : [S, 3]         satellite positions at time_s
    sat_velocity_m_s : [S, 3]   satellite velocities (ECEF frame, Earth rotation included)
    slant_range_m : [S, K]      satellite-user distance
    delay_s : [S, K]            one-way propagation delay slant_range / c
    doppler_hz : [S, K]         Doppler shift at the carrier, -f_c * d(range)/dt / c
    elevation_deg : [S, K]      elevation of satellite s seen by user k
    aod_theta_rad : [S, K]      angle of departure from the array normal (nadir), in [0, pi/2]
    aod_phi_rad : [S, K]        azimuth of departure in the array frame, in (-pi, pi]
    """

    seed: int
    drop_index: int
    time_s: float
    center_ecef_m: np.ndarray
    user_ecef_m: np.ndarray
    sat_index: np.ndarray
    sat_ecef_m: np.ndarray
    sat_velocity_m_s: np.ndarray
    slant_range_m: np.ndarray
    delay_s: np.ndarray
    doppler_hz: np.ndarray
    elevation_deg: np.ndarray
    aod_theta_rad: np.ndarray
    aod_phi_rad: np.ndarray

    @property
    def num_sats(self) -> int:
        return int(self.slant_range_m.shape[0])

    @property
    def num_users(self) -> int:
        return int(self.slant_range_m.shape[1])


class Stream(IntEnum):
    """The named random streams of one drop (the ``stream`` of :func:`drop_rng`).

    The numbers are part of the reproducibility contract: changing one changes every result.
    """

    GEOMETRY = 0        #: drop geometry: snapshot time, region centre, users (draw_drop)
    FADING = 1          #: small-scale fading of the channel (Rician, eq. 2)
    ERRORS = 2          #: delay / Doppler compensation errors
    DATA_NOISE = 3      #: data symbols and receiver noise of the waveform emulation
    KAPPA_SPREAD = 4    #: Rician-factor spread of the sCSI
    TRACKING = 5        #: user position estimates and update ages (linksim.emulator.motion)
    ERGODIC = 10        #: ergodic Monte Carlo of the validation rates
    MULTIPATH = 12      #: NTN-TDL tap gains, sinusoid angles and phases (linksim.multipath)


def drop_rng(seed: int, drop_index: int, stream: int = Stream.GEOMETRY) -> np.random.Generator:
    """The Generator of one drop: SeedSequence(seed, spawn_key=(drop_index, stream)).

    Results never depend on how drops are distributed over workers. ``stream`` separates
    independent uses within a drop (:class:`Stream`): 0 = ``Stream.GEOMETRY``,
    1 = ``Stream.FADING`` (channel draws), 2 = ``Stream.ERRORS`` (compensation errors),
    3 = ``Stream.DATA_NOISE`` (data symbols and noise), 4 = ``Stream.KAPPA_SPREAD``
    (Rician-factor spread of the sCSI), 10 = ``Stream.ERGODIC`` (ergodic Monte Carlo of the
    validation rates).
    """
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(drop_index, int(stream))))


# --------------------------------------------------------------------------- geometry helpers
def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def surface_point(lat_rad: float | np.ndarray, lon_rad: float | np.ndarray) -> np.ndarray:
    """ECEF point on the spherical Earth, float64 [..., 3] (metres)."""
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    return EARTH_RADIUS_M * np.stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def great_circle_distance_m(a_ecef_m: np.ndarray, b_ecef_m: np.ndarray) -> np.ndarray:
    """Arc length on the Earth surface between the directions of a and b, float64 [...].

    a_ecef_m, b_ecef_m : float64 [..., 3] (broadcastable; only the directions matter).
    Uses atan2(|a x b|, a . b), accurate for small and large angles.
    """
    a = np.asarray(a_ecef_m, dtype=np.float64)
    b = np.asarray(b_ecef_m, dtype=np.float64)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return EARTH_RADIUS_M * np.arctan2(cross, dot)


def random_center(rng: np.random.Generator, max_latitude_deg: float) -> np.ndarray:
    """A point uniform in area on the sphere with |latitude| <= max_latitude_deg, float64 [3].

    sin(latitude) ~ U[-sin(max), sin(max)], longitude ~ U[-pi, pi).
    """
    lat_max = np.deg2rad(min(float(max_latitude_deg), 90.0))
    z = rng.uniform(-np.sin(lat_max), np.sin(lat_max))
    lon = rng.uniform(-np.pi, np.pi)
    return surface_point(np.arcsin(z), lon)


def geodesic_disc_points(rng: np.random.Generator, center_ecef_m: np.ndarray, radius_m: float,
                         n: int) -> np.ndarray:
    """``n`` points uniform in area in the geodesic disc of arc radius ``radius_m``.

    The central angle alpha from the centre has P(alpha <= a) = (1 - cos a)/(1 - cos alpha_max)
    (area of a spherical cap), the bearing is uniform. center_ecef_m : float64 [3] (only its
    direction is used). Returns float64 [n, 3] on the sphere of radius EARTH_RADIUS_M.
    """
    c = _unit(center_ecef_m)
    helper = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = _unit(np.cross(helper, c))
    e2 = np.cross(c, e1)
    alpha_max = float(radius_m) / EARTH_RADIUS_M
    cos_alpha = 1.0 - rng.uniform(0.0, 1.0, n) * (1.0 - np.cos(alpha_max))
    sin_alpha = np.sqrt(np.clip(1.0 - cos_alpha**2, 0.0, None))
    bearing = rng.uniform(-np.pi, np.pi, n)
    directions = (cos_alpha[:, None] * c
                  + sin_alpha[:, None] * (np.cos(bearing)[:, None] * e1
                                          + np.sin(bearing)[:, None] * e2))
    return EARTH_RADIUS_M * directions


def elevation_deg(sat_ecef_m: np.ndarray, user_ecef_m: np.ndarray) -> np.ndarray:
    """Elevation of a satellite above the local horizon of a user (spherical Earth), degrees.

    sat_ecef_m, user_ecef_m : float64 [..., 3] (broadcastable). Returns float64 [...] in
    [-90, 90]: asin(((sat - user) . up) / |sat - user|) with up = user / |user|.
    """
    sat = np.asarray(sat_ecef_m, dtype=np.float64)
    user = np.asarray(user_ecef_m, dtype=np.float64)
    los = sat - user
    up = _unit(user)
    sin_el = np.sum(los * up, axis=-1) / np.linalg.norm(los, axis=-1)
    return np.rad2deg(np.arcsin(np.clip(sin_el, -1.0, 1.0)))


def upa_frame(sat_ecef_m: np.ndarray, sat_velocity_m_s: np.ndarray) -> np.ndarray:
    """Orthonormal axes of each satellite's nadir-facing UPA, float64 [S, 3, 3].

    Rows are (x, y, z): z = -sat / |sat| (toward the Earth centre), x = the (ECEF) velocity
    made orthogonal to z and normalised, y = z x x. sat_ecef_m, sat_velocity_m_s : [S, 3].
    """
    z = -_unit(sat_ecef_m)
    v = np.asarray(sat_velocity_m_s, dtype=np.float64)
    x = _unit(v - np.sum(v * z, axis=-1, keepdims=True) * z)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-2)


def angles_of_departure(sat_ecef_m: np.ndarray, sat_velocity_m_s: np.ndarray,
                        user_ecef_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AoD of each user in each satellite's UPA frame (eqs. 2-3 inputs).

    sat_ecef_m, sat_velocity_m_s : float64 [S, 3]; user_ecef_m : float64 [K, 3].

    Returns
    -------
    aod_theta_rad : float64 [S, K]   angle from the array normal (nadir), in [0, pi]
    aod_phi_rad : float64 [S, K]     atan2(y, x) of the direction in the array frame, (-pi, pi]
    """
    frame = upa_frame(sat_ecef_m, sat_velocity_m_s)
    d = _unit(np.asarray(user_ecef_m, dtype=np.float64)[None, :, :]
              - np.asarray(sat_ecef_m, dtype=np.float64)[:, None, :])
    local = np.einsum("sij,skj->ski", frame, d)
    theta = np.arccos(np.clip(local[..., 2], -1.0, 1.0))
    phi = np.arctan2(local[..., 1], local[..., 0])
    return theta, phi


def link_geometry(sat_ecef_m: np.ndarray, sat_velocity_m_s: np.ndarray,
                  user_ecef_m: np.ndarray, carrier_hz: float) -> dict[str, np.ndarray]:
    """Per-(s, k) link geometry of satellites [S, 3] (ECEF, with ECEF velocity) and users [K, 3].

    Returns float64 [S, K] arrays: slant_range_m, delay_s = range / c, doppler_hz =
    -f_c / c * d(range)/dt with d(range)/dt = (sat - user) . v_sat / range (users fixed in
    ECEF), elevation_deg, aod_theta_rad, aod_phi_rad.
    """
    sat = np.asarray(sat_ecef_m, dtype=np.float64)
    vel = np.asarray(sat_velocity_m_s, dtype=np.float64)
    user = np.asarray(user_ecef_m, dtype=np.float64)
    los = sat[:, None, :] - user[None, :, :]
    slant = np.linalg.norm(los, axis=-1)
    range_rate = np.sum(los * vel[:, None, :], axis=-1) / slant
    theta, phi = angles_of_departure(sat, vel, user)
    return {
        "slant_range_m": slant,
        "delay_s": slant / SPEED_OF_LIGHT_M_S,
        "doppler_hz": -float(carrier_hz) / SPEED_OF_LIGHT_M_S * range_rate,
        "elevation_deg": elevation_deg(sat[:, None, :], user[None, :, :]),
        "aod_theta_rad": theta,
        "aod_phi_rad": phi,
    }


def select_satellites(sat_ecef_m: np.ndarray, center_ecef_m: np.ndarray,
                      user_ecef_m: np.ndarray, num_sats: int, min_elevation_deg: float
                      ) -> np.ndarray:
    """Indices of the ``num_sats`` satellites nearest the centre that are above
    ``min_elevation_deg`` for every user, sorted by distance (nearest first), int64 [<= S].

    Fewer than ``num_sats`` indices are returned when fewer qualify.
    sat_ecef_m : [N, 3]; center_ecef_m : [3]; user_ecef_m : [K, 3].
    """
    sat = np.asarray(sat_ecef_m, dtype=np.float64)
    dist = np.linalg.norm(sat - np.asarray(center_ecef_m, dtype=np.float64), axis=-1)
    # Only satellites within reach of the centre can serve the whole disc; test those.
    candidates = np.flatnonzero(dist < EARTH_RADIUS_M)
    el = elevation_deg(sat[candidates, None, :], np.asarray(user_ecef_m)[None, :, :])
    ok = candidates[np.all(el >= float(min_elevation_deg), axis=1)]
    order = np.argsort(dist[ok], kind="stable")
    return ok[order][: int(num_sats)].astype(np.int64)


def draw_drop(cfg: LinkConfig, seed: int, drop_index: int) -> Drop:
    """Draw one drop of the scenario (Sec. V; module docstring) from
    drop_rng(seed, drop_index, Stream.GEOMETRY).

    cfg : linksim.config.LinkConfig (altitude, Walker shell, inclination, min_elevation_deg,
    coverage_radius_m, num_users K, num_sats S, carrier_hz). Reproducible: the same
    (cfg, seed, drop_index) gives identical arrays on any worker.

    Raises ConfigError when no draw in MAX_DRAW_ATTEMPTS finds S satellites above
    min_elevation_deg for every user.
    """
    from linksim.config import ConfigError
    from linksim.constellation import orbital_period_s, satellite_states

    rng = drop_rng(seed, drop_index, Stream.GEOMETRY)
    period = orbital_period_s(cfg.altitude_m)
    best = 0
    for _ in range(MAX_DRAW_ATTEMPTS):
        time_s = float(rng.uniform(0.0, period))
        center = random_center(rng, cfg.inclination_deg)
        users = geodesic_disc_points(rng, center, cfg.coverage_radius_m, cfg.num_users)
        pos, vel = satellite_states(cfg, time_s)
        chosen = select_satellites(pos, center, users, cfg.num_sats, cfg.min_elevation_deg)
        best = max(best, chosen.size)
        if chosen.size == cfg.num_sats:
            break
    else:
        raise ConfigError(
            f"num_sats={cfg.num_sats}: at most {best} satellites are above min_elevation_deg="
            f"{cfg.min_elevation_deg} for every user of a {cfg.coverage_radius_m / 1e3:.0f} km "
            f"disc in {MAX_DRAW_ATTEMPTS} draws; lower num_sats, coverage_radius_m or "
            f"min_elevation_deg")
    sat, sat_vel = pos[chosen], vel[chosen]
    geo = link_geometry(sat, sat_vel, users, cfg.carrier_hz)
    return Drop(seed=int(seed), drop_index=int(drop_index), time_s=time_s,
                center_ecef_m=center, user_ecef_m=users, sat_index=chosen,
                sat_ecef_m=sat, sat_velocity_m_s=sat_vel, **geo)
