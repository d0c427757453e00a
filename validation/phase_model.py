"""Desired-signal phase-error model (eqs. 13-16) and expected phase error (eqs. 25-26) against
the waveform samples.

Closed form of the desired component of user j via satellite s (linksim/single_path.py,
docs/model.md "Waveform emulator"): with Delta tau, Delta nu the residual delay and Doppler
(eq. 7), eps = Delta nu / Delta f and t_m the start of symbol m's DFT window,

    Y_{s,j}[m, q] = g_{s,j} A[s,j,j] e^{j theta_{s,j}} e^{j 2 pi Delta nu t_m} Psi(eps)
                    e^{-j 2 pi q Delta f Delta tau} X_j[m, q] + ICI/ISI,              (13)-(15)
    theta_{s,j} = -2 pi f_c Delta tau + 2 pi nu^c Delta tau,

q the logical subcarrier index. Approximation (16) keeps the phase terms (folded into
theta[m, q], including the common phase pi eps (N-1)/N of Psi) and drops the ICI:
Y ~ e^{j theta[m, q]} g v^H w X. Its error, the NMSE ||Y - Y_16||^2 / ||Y_16||^2, is
(1 - |Psi(eps)|)^2 + sum_{p != q} |Psi(p - q + eps)|^2 for a residual Doppler (ICI), and
about 2 e / N for a residual delay e samples outside the CP margin (the window loses e samples
of its own symbol and gains e samples of the neighbour: e/N coherent-gain loss and ICI plus
e/N ISI), e = max(0, d - (N_cp - b), -b - d) with b the receiver back-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from linksim.emulator import (
    EmulatorSettings,
    LinkState,
    Numerology,
    draw_link_state,
    emulate_links,
)
from linksim.single_path import ici_kernel, ici_power_closed_form

if TYPE_CHECKING:
    from linksim.config import LinkConfig


#: NMSE above which approximation (16) is said to stop holding (dB)
NMSE_THRESHOLD_DB = -20.0
#: Fig. 8 phase-error variances (rad^2) when validation.figures does not define them
FIG8_VARIANCES_RAD2 = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
#: residual Doppler sweep, in units of the subcarrier spacing
EPS_SWEEP = (0.0, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2,
             0.3, 0.5)
#: residual delay sweep, in samples at f_s = N Delta f (negative: early)
DELAY_SWEEP_SAMPLES = (-108.0, -72.0, -54.0, -45.0, -40.0, -37.0, -36.0, -18.0, 0.0, 18.0,
                       30.0, 36.0, 37.0, 38.0, 40.0, 42.0, 45.0, 54.0, 72.0, 108.0, 144.0)


def fig8_variances() -> tuple[float, ...]:
    """The phase-error variances of Fig. 8: validation.figures' list if it defines one."""
    try:
        from validation import figures
    except ImportError:
        return FIG8_VARIANCES_RAD2
    values = getattr(figures, "FIG8_PHASE_VAR_RAD2", None)
    return FIG8_VARIANCES_RAD2 if values is None else tuple(float(v) for v in values)


def logical_subcarriers(numerology: Numerology) -> np.ndarray:
    """Logical indices q of the used subcarriers (negative below DC), float64 [Q]."""
    from waveforms.ofdm import used_subcarrier_bins

    n = numerology.fft_size
    bins = used_subcarrier_bins(n, numerology.num_used_subcarriers)
    return np.where(bins >= n // 2, bins - n, bins).astype(np.float64)


def window_times_s(numerology: Numerology, backoff_samples: int, num_symbols: int) -> np.ndarray:
    """t_m: absolute start time of symbol m's DFT window, float64 [M] (seconds)."""
    m = np.arange(num_symbols)
    return ((m * numerology.symbol_length + numerology.cyclic_prefix_length - backoff_samples)
            / numerology.sample_rate_hz)


def carrier_phase_error(links: LinkState, carrier_hz: float) -> np.ndarray:
    """theta = -2 pi f_c Delta tau + 2 pi nu^c Delta tau (eq. 13), float64 [S, K] (rad, wrapped)."""
    from linksim.phase import cycles_to_rad

    return cycles_to_rad((-carrier_hz + links.est_doppler_hz) * links.delay_error_s)


def desired_closed_form(numerology: Numerology, links: LinkState, carrier_hz: float,
                        backoff_samples: int, num_symbols: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Closed form (13)-(15) of each satellite's desired component for a unit coupling.

    Returns (gain complex128 [S, K, Q] = g e^{j theta} Psi(eps) e^{-j 2 pi q Delta f Delta tau},
    drift complex128 [S, K, M] = e^{j 2 pi Delta nu t_m}); Y[m, q] = gain[q] drift[m] X[m, q].
    """
    q = logical_subcarriers(numerology)
    eps = links.doppler_error_hz / numerology.subcarrier_spacing_hz
    ramp = np.exp(-2j * np.pi * q[None, None, :] * numerology.subcarrier_spacing_hz
                  * links.delay_error_s[:, :, None])
    gain = (links.fading * np.exp(1j * carrier_phase_error(links, carrier_hz))
            * ici_kernel(eps, numerology.fft_size))[:, :, None] * ramp
    t_m = window_times_s(numerology, backoff_samples, num_symbols)
    drift = np.exp(2j * np.pi * links.doppler_error_hz[:, :, None] * t_m[None, None, :])
    return gain, drift


def ls_gain(y: np.ndarray, x: np.ndarray, drift: np.ndarray) -> np.ndarray:
    """Least-squares gain per subcarrier over symbols after removing a known per-symbol drift.

    y, x : complex [..., M, Q]; drift : complex [..., M]. Returns complex128 [..., Q]:
    sum_m y conj(drift x) / sum_m |x|^2.
    """
    return (np.sum(y * np.conj(drift[..., :, None] * x), axis=-2)
            / np.sum(np.abs(x) ** 2, axis=-2))


# --------------------------------------------------------------------------- item 1a: drops
@dataclass(frozen=True)
class DesiredGainErrors:
    """Measured vs closed-form desired gain per (drop, satellite, user, subcarrier).

    mag_err_db : float64 [D, S, K, Q]   20 log10 |G_meas / G_closed|
    phase_err_deg : float64 [D, S, K, Q]   angle(G_meas / G_closed) in degrees
    nmse_model_db : float64 [D, S, K]   NMSE of (13)-(15) (Y against gain drift X), dB
    nmse_16_db : float64 [D, S, K]      NMSE of (16) (Psi -> its phase only, no ICI), dB
    eps : float64 [D, S, K]             residual Doppler / subcarrier spacing
    """

    mag_err_db: np.ndarray
    phase_err_deg: np.ndarray
    nmse_model_db: np.ndarray
    nmse_16_db: np.ndarray
    eps: np.ndarray

    def stats(self) -> dict[str, float]:
        mag, ph = self.mag_err_db, self.phase_err_deg
        return {
            "mag_err_db_mean": float(np.mean(mag)),
            "mag_err_db_rms": float(np.sqrt(np.mean(mag**2))),
            "mag_err_db_max_abs": float(np.max(np.abs(mag))),
            "phase_err_deg_mean": float(np.mean(ph)),
            "phase_err_deg_rms": float(np.sqrt(np.mean(ph**2))),
            "phase_err_deg_max_abs": float(np.max(np.abs(ph))),
            "nmse_model_db_median": float(np.median(self.nmse_model_db)),
            "nmse_model_db_max": float(np.max(self.nmse_model_db)),
            "nmse_16_db_median": float(np.median(self.nmse_16_db)),
            "nmse_16_db_max": float(np.max(self.nmse_16_db)),
            "eps_abs_max": float(np.max(np.abs(self.eps))),
            "samples": int(mag.size),
        }


def desired_gain_errors(responses: list) -> DesiredGainErrors:
    """Compare each satellite's desired component U[s, j, j] of real drops with (13)-(16).

    responses : list of validation.drop_response.DropResponse (unit couplings, so the
    component is g e^{j theta} ... X without the precoder factor A[s,j,j]).
    """
    mags, phases, nm, n16, epss = [], [], [], [], []
    for r in responses:
        num = Numerology.from_config(r.cfg)
        k = r.unit.shape[1]
        jj = np.arange(k)
        y = r.unit[:, jj, jj]                       # [S, K, M, Q]
        x = r.symbols[None]                         # [1, K, M, Q]
        gain, drift = desired_closed_form(num, r.links, r.cfg.carrier_hz,
                                          r.cfg.timing_backoff_samples, r.num_symbols)
        g_meas = ls_gain(y, x, drift)
        ratio = g_meas / gain
        mags.append(20 * np.log10(np.abs(ratio)))
        phases.append(np.degrees(np.angle(ratio)))
        model = gain[:, :, None, :] * drift[..., None] * x
        nm.append(10 * np.log10(np.sum(np.abs(y - model) ** 2, axis=(-2, -1))
                                / np.sum(np.abs(model) ** 2, axis=(-2, -1))))
        psi = ici_kernel(r.links.doppler_error_hz / num.subcarrier_spacing_hz, num.fft_size)
        approx16 = model / np.abs(psi)[:, :, None, None]
        n16.append(10 * np.log10(np.sum(np.abs(y - approx16) ** 2, axis=(-2, -1))
                                 / np.sum(np.abs(approx16) ** 2, axis=(-2, -1))))
        epss.append(r.links.doppler_error_hz / num.subcarrier_spacing_hz)
    return DesiredGainErrors(np.stack(mags), np.stack(phases), np.stack(nm), np.stack(n16),
                             np.stack(epss))


# --------------------------------------------------------------------------- item 1b: sweeps
def _single_link(cfg: LinkConfig, delay_error_s: float, doppler_error_hz: float, num_symbols: int,
                 seed: int, delay_s: float = 4.0e-3, doppler_hz: float = 3.0e4
                 ) -> tuple[np.ndarray, np.ndarray, LinkState]:
    """One satellite -> one user, unit fading and coupling, no noise.

    Returns (Y complex128 [M, Q], X complex128 [M, Q], the LinkState)."""
    links = LinkState(delay_s=np.array([[delay_s]]), doppler_hz=np.array([[doppler_hz]]),
                      delay_error_s=np.array([[delay_error_s]]),
                      doppler_error_hz=np.array([[doppler_error_hz]]),
                      fading=np.ones((1, 1), dtype=np.complex128))
    from linksim.scenario import Stream, drop_rng

    rng = drop_rng(seed, 0, Stream.DATA_NOISE)
    out = emulate_links(EmulatorSettings.from_config(cfg), links.channel(), links.estimates(),
                        np.ones((1, 1, 1), dtype=np.complex128), None, rng, num_symbols)
    return out.received[0], out.symbols[0], links


def approximation_nmse(cfg: LinkConfig, delay_error_s: float, doppler_error_hz: float,
                       num_symbols: int,
                       seed: int) -> dict[str, float]:
    """Measured NMSE of (16) and gain |G| for one residual delay/Doppler (single link).

    (16) here: Y_16 = e^{j theta} e^{j pi eps (N-1)/N} drift ramp X (|Psi| -> 1, no ICI/ISI).
    Returns nmse_16_db, gain_db (20 log10 of the mean LS gain magnitude), and the closed forms
    gain_closed_db = 20 log10 |Psi(eps)| and nmse_closed_db (module docstring).
    """
    num = Numerology.from_config(cfg)
    y, x, links = _single_link(cfg, delay_error_s, doppler_error_hz, num_symbols, seed)
    gain, drift = desired_closed_form(num, links, cfg.carrier_hz, cfg.timing_backoff_samples,
                                      num_symbols)
    gain, drift = gain[0, 0], drift[0, 0]
    eps = doppler_error_hz / num.subcarrier_spacing_hz
    psi = ici_kernel(eps, num.fft_size)
    y16 = (gain / np.abs(psi))[None, :] * drift[:, None] * x
    nmse = np.sum(np.abs(y - y16) ** 2) / np.sum(np.abs(y16) ** 2)
    g_meas = ls_gain(y, x, drift)
    q = logical_subcarriers(num)
    ici = float(np.mean(ici_power_closed_form(eps, q, num.fft_size)))
    d = delay_error_s * num.sample_rate_hz
    b = cfg.timing_backoff_samples
    excess = max(0.0, d - (num.cyclic_prefix_length - b), -b - d)
    closed = (1 - abs(psi)) ** 2 + ici + 2 * excess / num.fft_size
    return {"nmse_16_db": float(10 * np.log10(max(nmse, 1e-30))),
            "gain_db": float(20 * np.log10(np.mean(np.abs(g_meas)))),
            "gain_closed_db": float(20 * np.log10(abs(psi))),
            "nmse_closed_db": float(10 * np.log10(max(closed, 1e-30))),
            "excess_samples": float(excess)}


def crossing(x: np.ndarray, y_db: np.ndarray, threshold_db: float) -> float:
    """First x where the piecewise-linear y_db(x) rises through threshold_db (NaN if never).

    x must be increasing; the search starts at the first point below the threshold.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y_db, dtype=float)
    below = np.flatnonzero(y < threshold_db)
    if below.size == 0:
        return float("nan")
    for i in range(below[0], x.size - 1):
        if y[i] < threshold_db <= y[i + 1]:
            return float(x[i] + (threshold_db - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    return float("nan")


def eps_threshold_closed_form(threshold_db: float = NMSE_THRESHOLD_DB) -> float:
    """eps at which (pi eps)^2 / 3 (the small-eps ICI power) reaches threshold_db."""
    return float(np.sqrt(3 * 10 ** (threshold_db / 10)) / np.pi)


def sweep_doppler(cfg: LinkConfig, eps_values=EPS_SWEEP, num_symbols: int = 14, seed: int = 0
                  ) -> dict[str, np.ndarray]:
    """NMSE of (16) vs residual Doppler eps = Delta nu / Delta f (zero residual delay).

    Returns float64 [E] arrays eps, nmse_16_db, nmse_closed_db, gain_db, gain_closed_db.
    """
    rows = [approximation_nmse(cfg, 0.0, e * cfg.subcarrier_spacing_hz, num_symbols, seed)
            for e in eps_values]
    out = {"eps": np.asarray(eps_values, dtype=float)}
    for key in ("nmse_16_db", "nmse_closed_db", "gain_db", "gain_closed_db"):
        out[key] = np.array([r[key] for r in rows])
    return out


def sweep_delay(cfg: LinkConfig, delay_samples=DELAY_SWEEP_SAMPLES, num_symbols: int = 14,
                seed: int = 0
                ) -> dict[str, np.ndarray]:
    """NMSE of (16) vs residual delay (samples; zero residual Doppler).

    Returns float64 [D] arrays delay_samples, excess_samples, nmse_16_db, nmse_closed_db.
    """
    fs = cfg.sample_rate_hz
    rows = [approximation_nmse(cfg, d / fs, 0.0, num_symbols, seed) for d in delay_samples]
    out = {"delay_samples": np.asarray(delay_samples, dtype=float)}
    for key in ("excess_samples", "nmse_16_db", "nmse_closed_db"):
        out[key] = np.array([r[key] for r in rows])
    return out


# --------------------------------------------------------------------------- item 2
def measured_phase_factors(cfg: LinkConfig, drop, scsi, links: LinkState, seed: int,
                           drop_index: int,
                           num_symbols: int) -> np.ndarray:
    """e^{j theta} measured from the samples of every link (s, k) and symbol m.

    All S K links are emulated as S K one-user "satellites" sharing one data stream, each with
    its own delay, Doppler, errors and fading, and returned as separate components, so
    component (s K + k) is the desired signal of link (s, k) alone. theta_meas[m] =
    angle(sum_q Y conj(ramp X) / (g Psi)): the carrier phase error of (13) including the
    Doppler drift 2 pi Delta nu t_m. Returns complex128 [S, K, M] of unit modulus.
    """
    from linksim.scenario import Stream, drop_rng

    num = Numerology.from_config(cfg)
    s_count, k_count = links.delay_s.shape
    gain, _ = desired_closed_form(num, links, cfg.carrier_hz, cfg.timing_backoff_samples,
                                  num_symbols)
    theta = carrier_phase_error(links, cfg.carrier_hz)
    det = (gain / np.exp(1j * theta)[:, :, None]).reshape(s_count * k_count, -1)
    flat = LinkState(*(a.reshape(-1, 1) for a in (links.delay_s, links.doppler_hz,
                                                  links.delay_error_s, links.doppler_error_hz,
                                                  links.fading)))
    ones = np.ones((s_count * k_count, 1, 1), dtype=np.complex128)
    res = emulate_links(EmulatorSettings.from_config(cfg), flat.channel(), flat.estimates(),
                        ones, None, drop_rng(seed, drop_index, Stream.DATA_NOISE), num_symbols,
                        components=True)
    y = res.components[:, 0, 0]                               # [S K, M, Q]
    z = np.sum(y * np.conj(det[:, None, :] * res.symbols[0][None]), axis=-1)
    return (z / np.abs(z)).reshape(s_count, k_count, num_symbols)


def phase_factor_means(cfg: LinkConfig, seed: int, variance: float, drop_index: int,
                       num_symbols: int = 14) -> np.ndarray:
    """Measured e^{j theta} of drop ``drop_index`` at one phase-error variance, averaged over
    the observed symbols: complex128 [S K] (one value per link, s-major).

    The errors are drawn exactly as the emulator draws them (cfg with
    ``phase_error_var_rad2 = variance``, drop stream 2); pure in its arguments, so it runs on
    any worker (the per-(variance, drop) task of ``linksim validate``).
    """
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    cfg_v = cfg.replace(phase_error_var_rad2=float(variance))
    drop = draw_drop(cfg_v, seed, drop_index)
    scsi = scsi_from_drop(drop, cfg_v)
    links = draw_link_state(cfg_v, drop, scsi, seed, drop_index)
    f = measured_phase_factors(cfg_v, drop, scsi, links, seed, drop_index, num_symbols)
    return f.mean(axis=-1).ravel()


def expected_phase_summary(cfg: LinkConfig, variances, per_link: list[list[np.ndarray]],
                           num_symbols: int = 14) -> dict[str, np.ndarray]:
    """E e^{j theta} per variance from the per-drop link means (:func:`phase_factor_means`).

    variances : sequence of V floats (rad^2); per_link : for each variance, the complex [S K]
    means of its drops in drop order. Returns the arrays of :func:`expected_phase_check`.
    """
    from linksim.scsi import CompensationErrorModel, expected_phase_factor

    num = Numerology.from_config(cfg)
    t_m = window_times_s(num, cfg.timing_backoff_samples, num_symbols)
    rows = []
    for v, links in zip(variances, per_link):
        cfg_v = cfg.replace(phase_error_var_rad2=float(v))
        z = np.concatenate(links)
        n = z.size
        emp = z.mean()
        se = float(np.std(z.real, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        se_im = float(np.std(z.imag, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        model_t = float(np.mean(CompensationErrorModel.from_config(cfg_v).rho(t_m)))
        rows.append((float(v), float(expected_phase_factor(v)), model_t, float(emp.real),
                     float(emp.imag), se, se_im, float(-2 * np.log(max(abs(emp), 1e-300))), n))
    cols = list(zip(*rows))
    names = ("variance_rad2", "closed_form", "closed_form_t", "empirical_real", "empirical_imag",
             "std_err", "std_err_imag", "implied_variance_rad2")
    out = {name: np.array(col, dtype=float) for name, col in zip(names, cols)}
    out["links"] = np.array(cols[-1], dtype=np.int64)
    return out


def expected_phase_check(cfg: LinkConfig, seed: int, drops: int, variances=None,
                         num_symbols: int = 14,
                         progress=None) -> dict[str, np.ndarray]:
    """Empirical E e^{j theta} over the emulated error draws vs exp(-sigma^2/2) (eq. 25).

    For every variance, the errors of drops 0..drops-1 are drawn exactly as the emulator draws
    them (CompensationErrorModel.from_config(cfg with that variance), drop stream 2).
    Returns float64 [V] arrays: variance_rad2, closed_form, closed_form_t (the model's
    rho(t) averaged over the observed window times), empirical_real, empirical_imag,
    std_err, std_err_imag (standard errors of the real and imaginary parts: std of the
    per-link means / sqrt(links)),
    implied_variance_rad2 (-2 ln |empirical|), and links [V].
    """
    variances = tuple(fig8_variances() if variances is None else variances)
    per_link = []
    for v in variances:
        links = []
        for d in range(drops):
            links.append(phase_factor_means(cfg, seed, v, d, num_symbols))
            if progress is not None:
                progress.update()
        per_link.append(links)
    return expected_phase_summary(cfg, variances, per_link, num_symbols)
