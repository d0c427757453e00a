"""One drop: region centre, K users in the coverage disc, the S serving satellites and the
per-(s, k) link geometry. (CONTRACT: the Drop fields are fixed; draw_drop is implemented by
the geometry work.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Drop:
    """Geometry of one drop, float64 throughout (ECEF metres, seconds, hertz).

    Satellites are sorted by distance to the region centre: s = 0 is the master (SS-* baselines).

    Attributes
    ----------
    seed : int                  root seed of the run
    drop_index : int            index of this drop (its SeedSequence child is spawn_key=(drop_index,))
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


def drop_rng(seed: int, drop_index: int, stream: int = 0) -> np.random.Generator:
    """The Generator of one drop: SeedSequence(seed, spawn_key=(drop_index, stream)).

    Results never depend on how drops are distributed over workers. ``stream`` separates
    independent uses within a drop (0 = geometry, 1 = channel draws, 2 = compensation errors,
    3 = data symbols and noise).
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(drop_index, stream)))
