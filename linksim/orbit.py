"""Moving satellites: the one-way delay tau(t) of every link from the orbit, with light time,
the satellite's tracking prediction tau-hat(t), and the geometry of a drop at a later time.

Frames and times (float64, metres and seconds). The frame origin (receive sample 0) is at
epoch ``drop.time_s``; t is seconds from it at the *receiver*. Users are fixed on the rotating
Earth; their inertial position at epoch T is r_u(T) = R_z(omega_E T) r_u,ecef. Satellites move
on their circular Walker orbits (linksim.constellation, inertial frame). The one-way delay of a
signal received at t solves the light-time equation (the satellite position at emission time)

    tau(t) = | r_s(T0 + t - tau(t)) - r_u(T0 + t) | / c,

by fixed-point iteration (contraction |v_s| / c = 2.5e-5 per step; :data:`LIGHT_TIME_ITERATIONS`
steps leave < 1e-20 s). In the inertial frame this includes the Sagnac term and the light-time
correction (tens of ns against the snapshot range / c of the static model, constant over a
burst). The Doppler -f_c dtau/dt, its rate and the time compression of the baseband follow
from this one function.

Over a burst, tau(t) is represented by tau(0) and the polynomial coefficients c_1..c_R of
tau(t) - tau(0) (PathSet.delay_poly_s), fitted by least squares at Chebyshev nodes of the
burst's span; the fit error is returned and tested (a cubic over a 14-symbol burst: < 1e-18 s).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from linksim.constants import EARTH_MU_M3_S2, EARTH_RADIUS_M, EARTH_ROTATION_RAD_S
from linksim.constants import SPEED_OF_LIGHT_M_S as C

LIGHT_TIME_ITERATIONS = 5
DELAY_POLY_ORDER = 3
FIT_NODES = 12

PositionFn = Callable[[np.ndarray], np.ndarray]


def _rot_z(angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R_z(angle) v for angle [...] and v [..., 3] (broadcast)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1],
                     np.broadcast_to(v[..., 2], np.broadcast_shapes(c.shape, v[..., 2].shape))],
                    axis=-1)


def satellite_eci_fn(cfg, sat_index: np.ndarray) -> PositionFn:
    """r_s(T): inertial positions [S, ..., 3] of satellites ``sat_index`` at epochs T [S, ...]."""
    from linksim.constellation import walker_elements

    a = EARTH_RADIUS_M + float(cfg.altitude_m)
    n = float(np.sqrt(EARTH_MU_M3_S2 / a**3))
    inc = np.deg2rad(float(cfg.inclination_deg))
    raan_all, u0_all = walker_elements(cfg)
    idx = np.asarray(sat_index, dtype=np.int64)
    raan, u0 = raan_all[idx], u0_all[idx]
    ci, si = np.cos(inc), np.sin(inc)

    def pos(epoch_s: np.ndarray) -> np.ndarray:
        e = np.asarray(epoch_s, dtype=np.float64)
        shape = (idx.size,) + (1,) * (e.ndim - 1)
        u = u0.reshape(shape) + n * e
        co, so = np.cos(raan).reshape(shape), np.sin(raan).reshape(shape)
        cu, su = np.cos(u), np.sin(u)
        return a * np.stack([cu * co - su * ci * so, cu * so + su * ci * co, su * si], axis=-1)

    return pos


def user_eci_fn(user_ecef_m: np.ndarray) -> PositionFn:
    """r_u(T): inertial positions [K, ..., 3] of Earth-fixed users at epochs T [K, ...]."""
    users = np.asarray(user_ecef_m, dtype=np.float64)

    def pos(epoch_s: np.ndarray) -> np.ndarray:
        e = np.asarray(epoch_s, dtype=np.float64)
        u = users.reshape((users.shape[0],) + (1,) * (e.ndim - 1) + (3,))
        return _rot_z(EARTH_ROTATION_RAD_S * e, u)

    return pos


def light_time_delay_s(sat_fn: PositionFn, user_fn: PositionFn, epoch0_s: float,
                       t_s: np.ndarray, num_sats: int, num_users: int) -> np.ndarray:
    """tau[s, k, n] of a signal received by user k at t_s[n] (seconds from epoch0_s), float64.

    sat_fn(T [S, K, n]) -> [S, K, n, 3] and user_fn(T [K, n]) -> [K, n, 3]: inertial positions.
    """
    t = np.asarray(t_s, dtype=np.float64)
    t_rx = epoch0_s + np.broadcast_to(t, (num_sats, num_users, t.size))
    r_u = user_fn(np.broadcast_to(epoch0_s + t, (num_users, t.size)))[None]   # [1, K, n, 3]
    tau = np.zeros((num_sats, num_users, t.size))
    for _ in range(LIGHT_TIME_ITERATIONS):
        r_s = sat_fn(t_rx - tau)
        tau = np.linalg.norm(r_s - r_u, axis=-1) / C
    return tau


def chebyshev_nodes(lo: float, hi: float, n: int = FIT_NODES) -> np.ndarray:
    k = np.arange(n)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (k + 0.5) / n)


def fit_delay_poly(delay_fn: Callable[[np.ndarray], np.ndarray], lo_s: float, hi_s: float,
                   order: int = DELAY_POLY_ORDER) -> tuple[np.ndarray, np.ndarray, float]:
    """tau(0) [...] and c_1..c_R [..., R] of tau(t) - tau(0) on [lo_s, hi_s] (must contain 0).

    delay_fn(t [n]) -> [..., n]. Least squares at Chebyshev nodes of the span in a scaled
    variable; returns (delay0_s, poly_s, max_fit_error_s) with the error on a dense grid.
    """
    tau0 = delay_fn(np.zeros(1))[..., 0]
    nodes = chebyshev_nodes(lo_s, hi_s)
    scale = max(abs(lo_s), abs(hi_s))
    vander = (nodes[:, None] / scale) ** np.arange(1, order + 1)[None, :]
    rhs = delay_fn(nodes) - tau0[..., None]
    coef, *_ = np.linalg.lstsq(vander, rhs.reshape(-1, nodes.size).T, rcond=None)
    poly = (coef.T / scale ** np.arange(1, order + 1)[None, :]).reshape(tau0.shape + (order,))
    dense = np.linspace(lo_s, hi_s, 4 * FIT_NODES + 1)
    fit = eval_poly(poly, dense) + tau0[..., None]
    err = float(np.max(np.abs(fit - delay_fn(dense)))) if dense.size else 0.0
    return tau0, poly, err


def eval_poly(poly_s: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """sum_r poly[..., r-1] t^r for t [n]: float64 [..., n]."""
    t = np.asarray(t_s, dtype=np.float64)
    acc = np.zeros(poly_s.shape[:-1] + t.shape)
    for r in range(poly_s.shape[-1] - 1, -1, -1):
        acc = (acc + poly_s[..., r, None]) * t
    return acc


def drop_delay_fn(cfg, drop, user_ecef_m: np.ndarray | None = None
                  ) -> Callable[[np.ndarray], np.ndarray]:
    """t [n] -> tau [S, K, n] of the drop's links (its satellites, its users or the given
    user positions), frame origin at drop.time_s."""
    sat_fn = satellite_eci_fn(cfg, drop.sat_index)
    users = drop.user_ecef_m if user_ecef_m is None else user_ecef_m
    user_fn = user_eci_fn(users)
    s_count, k_count = drop.num_sats, users.shape[0]

    def sat_all(epochs: np.ndarray) -> np.ndarray:          # [S, K, n] -> [S, K, n, 3]
        return sat_fn(epochs)

    return lambda t: light_time_delay_s(sat_all, user_fn, float(drop.time_s), t, s_count,
                                        k_count)


def burst_span_s(cfg, num_symbols: int) -> tuple[float, float]:
    """Receive-time span [lo, hi] (s) a burst's delays are fitted on: the observed symbols
    with one symbol of margin on each side."""
    t_sym = cfg.symbol_duration_s
    return -t_sym, (num_symbols + 1) * t_sym


# --------------------------------------------------------------------------- aging
def geometry_at(cfg, drop, time_s: float):
    """The drop's users and satellites (same indices) at epoch ``time_s``: a new Drop, and
    the boolean [S] of satellites below min_elevation_deg for some user (set)."""
    from linksim.constellation import satellite_states
    from linksim.scenario import Drop, link_geometry

    pos, vel = satellite_states(cfg, float(time_s))
    sat, sat_vel = pos[drop.sat_index], vel[drop.sat_index]
    geo = link_geometry(sat, sat_vel, drop.user_ecef_m, cfg.carrier_hz)
    below = np.any(geo["elevation_deg"] < float(cfg.min_elevation_deg), axis=1)
    aged = Drop(seed=drop.seed, drop_index=drop.drop_index, time_s=float(time_s),
                center_ecef_m=drop.center_ecef_m, user_ecef_m=drop.user_ecef_m,
                sat_index=drop.sat_index, sat_ecef_m=sat, sat_velocity_m_s=sat_vel, **geo)
    return aged, below


# --------------------------------------------------------------------------- tracking
def predictor_order(name: str) -> int:
    return {"hold": 0, "linear": 1, "quadratic": 2}[name]


def predicted_delay(delay_fn_est: Callable[[np.ndarray], np.ndarray], t_update_s: np.ndarray,
                    order: int) -> tuple[np.ndarray, np.ndarray]:
    """The satellite's prediction tau-hat(t) = sum_{i<=order} tau_est^(i)(t_u) (t - t_u)^i / i!
    made at the update instant t_u[s] (<= 0) from its estimated delay function, expanded
    about the frame origin: (tau-hat(0) [S, K], c_1..c_2 [S, K, 2]).

    The derivatives at t_u come from a quartic least-squares fit of tau_est on +-2 ms around
    t_u (error of tau'' < 1e-13 s/s^2).
    """
    half = 2e-3
    t_u = np.asarray(t_update_s, dtype=np.float64)
    deriv = []
    for s, tu in enumerate(t_u):
        def fn(t, s=s, tu=tu):
            return delay_fn_est(tu + t)[s]

        d0, poly, _ = fit_delay_poly(fn, -half, half, order=4)
        deriv.append(np.stack([d0, poly[..., 0], 2.0 * poly[..., 1]], axis=-1))
    der = np.stack(deriv)                                   # [S, K, 3]: tau, tau', tau''
    der[..., order + 1:] = 0.0
    a = -t_u[:, None]                                       # t - t_u = t + a
    tau0 = der[..., 0] + der[..., 1] * a + 0.5 * der[..., 2] * a * a
    c1 = der[..., 1] + der[..., 2] * a
    c2 = 0.5 * der[..., 2]
    return tau0, np.stack([c1, c2], axis=-1)


# --------------------------------------------------------------------------- sCSI views
def geometric_rho(cfg) -> float:
    """E[e^{j theta}] of the geometric model's position-error part (eq. 25): theta =
    -2 pi f_c (u_los . e) / c with e ~ N(0, sigma^2 I_3), so var = (2 pi f_c sigma / c)^2
    [choice: the deterministic prediction error of hold/linear is not in rho]."""
    sigma = 2.0 * np.pi * cfg.carrier_hz * float(cfg.ue_position_error_m) / C
    return float(np.exp(-0.5 * sigma**2))


def motion_views(cfg, drop, scsi):
    """The sCSI a precoder is designed on, and the drop and sCSI it is emulated on.

    Default config: (scsi, drop, scsi, {}) unchanged. error_model 'geometric': rho =
    :func:`geometric_rho` on every link. scsi_age_s > 0: the emulation geometry is the drop at
    time_s + scsi_age_s (same users and satellites, :func:`geometry_at`), its sCSI rebuilt
    (same kappa-spread stream); info["sats_set"] counts satellites below min_elevation_deg
    for some user then (they are kept in the emulation and reported, never hidden); a
    satellite below the horizon (elevation <= 0) of some user raises ConfigError.
    Returns (scsi_design, drop_eval, scsi_eval, info).
    """
    import dataclasses

    from linksim.scsi import scsi_from_drop

    if cfg.error_model == "drawn" and cfg.scsi_age_s == 0:
        return scsi, drop, scsi, {}

    def with_rho(s):
        if cfg.error_model != "geometric":
            return s
        return dataclasses.replace(s, rho=np.full(s.rho.shape, geometric_rho(cfg),
                                                  dtype=complex))

    design = with_rho(scsi)
    info = {"sats_set": np.int64(0)}
    if cfg.scsi_age_s == 0:
        return design, drop, design, info
    aged, below = geometry_at(cfg, drop, drop.time_s + float(cfg.scsi_age_s))
    if np.any(aged.elevation_deg <= 0.0):
        from linksim.config import ConfigError

        s, k = np.argwhere(aged.elevation_deg <= 0.0)[0]
        raise ConfigError(f"scsi_age_s={cfg.scsi_age_s:g}: satellite {s} of drop "
                          f"{drop.drop_index} is below the horizon of user {k} at t0 + age "
                          f"(elevation {aged.elevation_deg[s, k]:.1f} deg); lower scsi_age_s")
    info["sats_set"] = np.int64(np.count_nonzero(below))
    return design, aged, with_rho(scsi_from_drop(aged, cfg)), info
