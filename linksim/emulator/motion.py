"""Time-varying paths in the emulator (moving satellites): the channel and the tracking
precompensation with delays tau(t) (PathSet.delay_poly_s), and the paths of a drop in
``geometry_mode = "orbit"``.

Channel (one path, receive time t in seconds from the frame origin):

    y(t) = g e^{-j 2 pi f_c tau(t)} e^{j 2 pi nu t} z(t - tau(t)),  tau(t) = tau_0 + sum_r c_r t^r

(nu: an extra rotation, 0 for the orbit's paths). Precompensation with the satellite's
prediction tau-hat(t) (a function of the *receive* time): the emission-time advance
tau-hat_e(t_e) solves t_e + tau-hat_e(t_e) = t_r, tau-hat_e(t_e) = tau-hat(t_e + tau-hat_e),
and

    x~(t_e) = x(t_e + tau-hat_e) e^{j 2 pi (f_c - nu^c) tau-hat_e} e^{-j 2 pi nu^c t_e},

the time-varying form of eq. (5), (7) (static: tau-hat_e = tau^c). The net desired path is
x(t - delta tau(t)) e^{-j 2 pi f_c delta tau(t)} with delta tau = tau - tau-hat: the phase
error theta and the residual Doppler come from the residual delay.
"""

from __future__ import annotations

import numpy as np

from linksim.emulator.paths import PathSet
from linksim.emulator.settings import EmulatorSettings

INVERSE_ITERATIONS = 6
INVERSE_NODES = 10


def _phase(cycles: np.ndarray) -> np.ndarray:
    return np.exp(2j * np.pi * np.mod(cycles, 1.0))


def _kernel(settings: EmulatorSettings):
    from waveforms.tv_delay import tv_delay_doppler

    return getattr(settings.kernels, "tv_delay_doppler", None) or tv_delay_doppler


def _poly_samples(poly_s: np.ndarray, fs: float) -> np.ndarray:
    """c_r (s / s^r) -> p_r (samples / sample^r) = c_r fs^(1 - r); [..., R]."""
    r = np.arange(1, poly_s.shape[-1] + 1, dtype=np.float64)
    return poly_s * fs ** (1.0 - r)


def delay_variation_samples(paths: PathSet, fs: float, lo: float, hi: float) -> float:
    """max |tau(t) - tau(0)| fs over t in [lo, hi] samples (0 for static paths)."""
    if paths.is_static:
        return 0.0
    p = _poly_samples(paths.delay_poly_s, fs)
    t = np.linspace(lo, hi, 9)
    acc = np.zeros(p.shape[:-1] + t.shape)
    for r in range(p.shape[-1] - 1, -1, -1):
        acc = (acc + p[..., r, None]) * t
    return float(np.max(np.abs(acc)))


def extra_margin(channel: PathSet, estimates: PathSet, fs: float, lo: float, hi: float) -> int:
    """Samples added to the burst plan's margin so windows cover tau(t) over the burst."""
    var = max(delay_variation_samples(channel, fs, lo, hi),
              delay_variation_samples(estimates, fs, lo, hi))
    return int(np.ceil(var)) + 1 if var > 0 else 0


def tv_propagate(settings: EmulatorSettings, z_rows: np.ndarray, link_of_row: np.ndarray,
                 channel: PathSet, plan) -> np.ndarray:
    """stages.propagate for time-varying paths; same contract (complex128 [R, rx_len])."""
    return tv_propagate_many(settings, [z_rows], link_of_row, channel, plan)[0]


def tv_propagate_many(settings: EmulatorSettings, z_list: list, link_of_row: np.ndarray,
                      channel: PathSet, plan) -> list[np.ndarray]:
    """:func:`tv_propagate` of every array of ``z_list`` (one shape) through the same links:
    with the numba kernel the ops' taps are made once (waveforms.tv_delay
    .tv_delay_doppler_many); each result the number of its own call."""
    from waveforms.tv_delay import tv_delay_doppler, tv_delay_doppler_many

    fs = settings.numerology.sample_rate_hz
    s_count, k_count, p_count = channel.delay_s.shape
    order = channel.delay_poly_s.shape[3]
    gain = (channel.gain * _phase(-settings.carrier_hz * channel.delay_s)).reshape(-1, p_count)
    d0 = (channel.delay_s * fs + plan.win_start[:, :, None]).reshape(-1, p_count)
    poly = _poly_samples(channel.delay_poly_s, fs).reshape(-1, p_count, order)
    nu = (channel.doppler_hz / fs).reshape(-1, p_count)
    rows = z_list[0].shape[0]
    ops = rows * p_count
    src = np.repeat(np.arange(rows, dtype=np.int64), p_count)
    args = (0, src, d0[link_of_row].ravel(), poly[link_of_row].reshape(ops, order),
            np.zeros(ops), np.full(ops, settings.carrier_hz / fs), nu[link_of_row].ravel(),
            gain[link_of_row].ravel(), np.zeros(ops, dtype=np.int64), plan.rx_len,
            settings.fractional_delay_taps)
    kernel = _kernel(settings)
    if kernel is tv_delay_doppler:
        ys = tv_delay_doppler_many(z_list, *args)
    else:
        ys = [kernel(z, *args) for z in z_list]
    if p_count == 1:
        return ys
    return [y.reshape(rows, p_count, plan.rx_len).sum(axis=1) for y in ys]


def emission_advance(delay0_s: np.ndarray, poly_s: np.ndarray, t_ref_s: np.ndarray,
                     lo_s: np.ndarray, hi_s: np.ndarray, order: int
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    """The emission-time advance tau-hat_e(t_e) - delay0 = w0 + sum_q w_q (t_e - t_ref)^q of a
    receive-time prediction tau-hat(t) = delay0 + sum_r poly_r t^r, fitted on [lo, hi] (s).

    delay0_s, t_ref_s, lo_s, hi_s : [L]; poly_s : [L, R]. Returns (w0 [L], w [L, order],
    max fit error in s). Zero poly gives w = 0 exactly.
    """
    n_links = delay0_s.shape[0]
    if not np.any(poly_s):
        return np.zeros(n_links), np.zeros((n_links, order)), 0.0
    k = np.arange(INVERSE_NODES)
    cheb = np.cos(np.pi * (k + 0.5) / INVERSE_NODES)
    te = 0.5 * (lo_s + hi_s)[:, None] + 0.5 * (hi_s - lo_s)[:, None] * cheb[None, :]
    w = np.zeros_like(te)
    for _ in range(INVERSE_ITERATIONS):     # w = tau-hat(t_e + delay0 + w) - delay0
        w = _eval_rows(poly_s, te + delay0_s[:, None] + w)
    scale = np.maximum(np.abs(lo_s - t_ref_s), np.abs(hi_s - t_ref_s))
    x = (te - t_ref_s[:, None]) / scale[:, None]
    vander = x[:, :, None] ** np.arange(order + 1)[None, None, :]
    coef = np.stack([np.linalg.lstsq(vander[i], w[i], rcond=None)[0] for i in range(n_links)])
    coef = coef / scale[:, None] ** np.arange(order + 1)[None, :]
    # dense check of the fit against the fixed point
    dense = np.linspace(0.0, 1.0, 33)
    td = lo_s[:, None] + (hi_s - lo_s)[:, None] * dense[None, :]
    wd = np.zeros_like(td)
    for _ in range(INVERSE_ITERATIONS):
        wd = _eval_rows(poly_s, td + delay0_s[:, None] + wd)
    fit = coef[:, :1] + _eval_rows(coef[:, 1:], td - t_ref_s[:, None])
    return coef[:, 0], coef[:, 1:], float(np.max(np.abs(fit - wd)))


def _eval_rows(poly: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_r poly[l, r-1] t[l, n]^r, [L, n]."""
    acc = np.zeros_like(t)
    for r in range(poly.shape[1] - 1, -1, -1):
        acc = (acc + poly[:, r, None]) * t
    return acc


def tv_precompensate(settings: EmulatorSettings, x: np.ndarray, x_start: int,
                     estimates: PathSet, plan) -> np.ndarray:
    """stages.precompensate with a time-varying prediction; same contract
    (complex128 [S, K, tx_len], xt[s, i, 0] at emission sample plan.tx_start[s])."""
    ops = tv_precompensation_ops(settings, estimates, plan)
    xt = _kernel(settings)(x, x_start, *ops, plan.tx_len, settings.fractional_delay_taps)
    return xt.reshape(estimates.num_sats, estimates.num_users, plan.tx_len)


def tv_precompensation_ops(settings: EmulatorSettings, estimates: PathSet, plan) -> tuple:
    """The delay-kernel ops of :func:`tv_precompensate`, op s K + i for (satellite s, user
    i): (src, delay_samples, delay_poly, t_ref, carrier_cps, doppler_cps, gain, out_start),
    the arguments of waveforms.tv_delay.tv_delay_doppler before x and after x_start."""
    if estimates.num_paths != 1:
        raise ValueError("precompensation estimates must be one path per link")
    s_count, k_count = estimates.num_sats, estimates.num_users
    fs = settings.numerology.sample_rate_hz
    delay0 = estimates.delay_s[:, :, 0].ravel()
    nu_c = estimates.doppler_hz[:, :, 0].ravel()
    poly = estimates.delay_poly_s[:, :, 0, :].reshape(s_count * k_count, -1)
    order = poly.shape[1] + 1
    tx0 = np.repeat(plan.tx_start, k_count).astype(np.float64)
    t_ref = np.round(-delay0 * fs)                     # emission sample of the frame origin
    lo = (tx0 - plan.margin) / fs
    hi = (tx0 + plan.tx_len + plan.margin) / fs
    w0, w, _ = emission_advance(delay0, poly, t_ref / fs, lo, hi, order)
    tau_c = delay0 + w0                                # tau-hat_e at t_ref
    d0 = -tau_c * fs
    p = -_poly_samples(w, fs)
    tx_gain = _phase(settings.carrier_hz * tau_c) * _phase(-nu_c * tau_c)
    src = np.tile(np.arange(k_count, dtype=np.int64), s_count)
    return (src, d0, p, t_ref, (settings.carrier_hz - nu_c) / fs, -nu_c / fs, tx_gain,
            tx0.astype(np.int64))


# --------------------------------------------------------------------------- a drop's paths
def orbit_paths(cfg, drop, links, seed: int, drop_index: int, num_symbols: int
                ) -> tuple[PathSet, PathSet, dict]:
    """The channel and the transmitter's prediction of a drop in geometry_mode = 'orbit'.

    Channel: tau(t) of every link from linksim.orbit (light time), fitted over the burst
    (cubic), gain = the drawn fading of ``links`` (stream 1), no extra Doppler.
    Prediction: error_model 'drawn' -> tau-hat(t) = tau(t) - Delta tau with the extra rotation
    -Delta nu (the drawn errors of ``links``, stream 2: the paper's residuals on the moving
    geometry); 'geometric' -> :func:`geometric_prediction` (stream 5).

    Returns (channel [S, K, 1], estimates [S, K, 1], info) with info the fit error (s) and
    the residual at the frame origin: delta_tau_s, theta_rad (wrapped to (-pi, pi]) and
    residual_doppler_hz = -f_c d(delta tau)/dt, float64 [S, K].
    """
    from linksim.orbit import burst_span_s, drop_delay_fn, fit_delay_poly

    lo, hi = burst_span_s(cfg, num_symbols)
    tau0, poly, fit_err = fit_delay_poly(drop_delay_fn(cfg, drop), lo, hi)
    shape = tau0.shape + (1,)
    channel = PathSet(tau0[..., None], np.zeros(shape),
                      np.asarray(links.fading, dtype=np.complex128)[..., None],
                      delay_poly_s=poly[:, :, None, :])
    if cfg.error_model == "geometric":
        est0, est_poly = geometric_prediction(cfg, drop, seed, drop_index)
        est_nu = np.zeros(tau0.shape)
    else:
        est0, est_poly = tau0 - links.delay_error_s, poly
        est_nu = -np.asarray(links.doppler_error_hz, dtype=np.float64)
    estimates = PathSet(est0[..., None], est_nu[..., None], np.ones(shape, dtype=np.complex128),
                        delay_poly_s=est_poly[:, :, None, :])
    d_tau = tau0 - est0
    d_rate = poly[..., 0] - est_poly[..., 0]
    theta = -2.0 * np.pi * cfg.carrier_hz * d_tau
    info = {"delay_fit_error_s": fit_err, "delta_tau_s": d_tau,
            "theta_rad": np.angle(np.exp(1j * theta)),
            "residual_doppler_hz": -cfg.carrier_hz * d_rate - est_nu}
    return channel, estimates, info


def geometric_prediction(cfg, drop, seed: int, drop_index: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The satellites' tracking prediction tau-hat(t) of every link (error_model 'geometric').

    From drop_rng(seed, drop_index, Stream.TRACKING): the user position estimates r^_k = r_k + e_k,
    e_k ~ N(0, ue_position_error_m^2 I_3) (ECEF, per user, the same for every satellite),
    then the age a_s ~ U[0, precomp_update_interval_s) of each satellite's last update
    (t_u = -a_s). Each satellite knows its own ephemeris exactly and predicts the light-time
    delay to r^_k with precomp_predictor (hold / linear / quadratic Taylor at t_u).
    Returns (tau-hat(0) [S, K], c_1..c_2 [S, K, 2]).
    """
    from linksim.orbit import drop_delay_fn, predicted_delay, predictor_order
    from linksim.scenario import Stream, drop_rng

    rng = drop_rng(seed, drop_index, Stream.TRACKING)
    err = float(cfg.ue_position_error_m) * rng.standard_normal((drop.num_users, 3))
    age = rng.uniform(0.0, float(cfg.precomp_update_interval_s), drop.num_sats)
    est_fn = drop_delay_fn(cfg, drop, drop.user_ecef_m + err)
    return predicted_delay(est_fn, -age, predictor_order(cfg.precomp_predictor))
