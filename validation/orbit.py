"""Moving satellites in ``linksim validate``: measured verdicts of the orbit model (issue 11).

Four checks, each on seeded drops (linksim.scenario.drop_rng streams; common random numbers
across the swept parameter), in-process, sized by :class:`OrbitSettings`:

a. phase error and residual Doppler of the geometric tracking model versus the user position
   error std (ue_position_error_m) and the update interval (precomp_update_interval_s), from
   the residual delay delta tau(0) = tau(0) - tau-hat(0) of every link (geometry only); the
   paper's sigma_theta^2 = 0.5 rad^2 located on the position-error axis against the closed
   form sigma_pos = sqrt(0.5) c / (2 pi f_c) (the LoS projection of an isotropic error);
b. time compression: one link whose delay drifts at the drop's largest rate |tau'|, with the
   paper's precompensation (constant delay, Doppler pre-rotation): the baseband is x((1 - a) t),
   a sampling-offset phase ramp -2 pi (f_p a + f_c a^2) t across subcarriers and symbols and
   the ICI of the per-subcarrier CFO eps_p = -(a f_p + a^2 f_c) / Delta f; measured vs the
   closed form (noise-free);
c. achieved sum rate versus sCSI age (design at t0, emulation at t0 + age) for every precoder,
   measured and (19) on the aged geometry, and the age at which each loses 10 %;
d. achieved sum rate versus the update interval (geometric model, orbit geometry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linksim.constants import SPEED_OF_LIGHT_M_S as C
from validation.report_numbers import num

#: the paper's assumed phase-error variance (Sec. V)
PAPER_PHASE_VAR_RAD2 = 0.5
#: time-compression check: measured ICI within this of the closed form (dB)
ICI_DB_TOL = 0.5
#: and the measured phase ramp within this relative error of the closed form
RAMP_REL_TOL = 0.02
#: the sCSI is "stale" when the mean sum rate falls by this fraction
RATE_LOSS = 0.10
#: position-error crossing within this relative error of the closed form
SIGMA_REL_TOL = 0.15
#: precoders of the update-interval sweep (d): a single- and the multi-satellite baseline
INTERVAL_PRECODERS = ("mrt", "ms-jocdwm")


@dataclass(frozen=True)
class OrbitSettings:
    phase_drops: int = 24
    rate_drops: int = 4
    num_symbols: int = 4
    sigmas_m: tuple[float, ...] = (0.002, 0.005, 0.01, 0.017, 0.03, 0.1, 1.0)
    intervals_s: tuple[float, ...] = (5e-4, 5e-3, 5e-2, 2e-1, 1.0)
    ages_s: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 20.0, 40.0, 60.0)

    @classmethod
    def quick(cls) -> OrbitSettings:
        return cls(phase_drops=4, rate_drops=1, num_symbols=2,
                   sigmas_m=(0.005, 0.017, 0.05), intervals_s=(5e-4, 1.0),
                   ages_s=(0.0, 5.0, 60.0))


# --------------------------------------------------------------------------- a. phase error
def _residuals(cfg, drop, seed: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """delta tau(0) [S, K] (s) and residual Doppler [S, K] (Hz) of the geometric model."""
    from linksim.emulator.motion import geometric_prediction
    from linksim.orbit import burst_span_s, drop_delay_fn, fit_delay_poly

    lo, hi = burst_span_s(cfg, 1)
    tau0, poly, _ = fit_delay_poly(drop_delay_fn(cfg, drop), lo, hi)
    est0, est_poly = geometric_prediction(cfg, drop, seed, d)
    return tau0 - est0, -cfg.carrier_hz * (poly[..., 0] - est_poly[..., 0])


def phase_error_sweep(cfg, seed: int, st: OrbitSettings) -> dict[str, np.ndarray]:
    """Phase error and residual Doppler of the geometric model (item a).

    Returns float64 arrays: sigma_m [A], var_rad2 [A] (mean square of the unwrapped theta =
    -2 pi f_c delta tau over all links), var_equiv_rad2 [A] (-2 ln |mean e^{j theta}|, what
    rho = exp(-var/2) of (25) sees), var_se [A] (over the (drop, user) units); interval_s [B],
    doppler_rms_hz [B],
    theta_rms_rad [B] (at zero position error, cfg.precomp_predictor).
    """
    from linksim.scenario import draw_drop

    base = cfg.replace(geometry_mode="orbit", error_model="geometric")
    drops = [draw_drop(base, seed, d) for d in range(st.phase_drops)]
    var, var_eq, var_se = [], [], []
    for sigma in st.sigmas_m:
        c = base.replace(ue_position_error_m=float(sigma), precomp_update_interval_s=1e-5,
                         precomp_predictor="quadratic")
        th_dsk = np.stack([-2 * np.pi * c.carrier_hz * _residuals(c, dr, seed, d)[0]
                           for d, dr in enumerate(drops)])                # [D, S, K]
        theta = th_dsk.ravel()
        # independent units: (drop, user) (one position error serves all S links of a
        # user); var = mean of the per-unit mean squares (theta has zero mean), s.e. over units
        unit = np.mean(th_dsk ** 2, axis=1).ravel()
        var.append(unit.mean())
        var_se.append(unit.std(ddof=1) / np.sqrt(unit.size) if unit.size > 1 else np.nan)
        var_eq.append(-2.0 * np.log(max(abs(np.mean(np.exp(1j * theta))), 1e-300)))
    dop, th = [], []
    for interval in st.intervals_s:
        c = base.replace(ue_position_error_m=0.0, precomp_update_interval_s=float(interval))
        res = [_residuals(c, dr, seed, d) for d, dr in enumerate(drops)]
        dt = np.concatenate([r[0].ravel() for r in res])
        nu = np.concatenate([r[1].ravel() for r in res])
        dop.append(np.sqrt(np.mean(nu ** 2)))
        th.append(np.sqrt(np.mean((2 * np.pi * cfg.carrier_hz * dt) ** 2)))
    return {"sigma_m": np.asarray(st.sigmas_m, float), "var_rad2": np.asarray(var),
            "var_equiv_rad2": np.asarray(var_eq), "var_se": np.asarray(var_se),
            "interval_s": np.asarray(st.intervals_s, float),
            "doppler_rms_hz": np.asarray(dop), "theta_rms_rad": np.asarray(th)}


def sigma_for_paper_variance(cfg) -> float:
    """Closed form: sigma_pos with (2 pi f_c sigma_pos / c)^2 = 0.5 rad^2 (metres)."""
    return float(np.sqrt(PAPER_PHASE_VAR_RAD2) * C / (2 * np.pi * cfg.carrier_hz))


# --------------------------------------------------------------------------- b. compression
def time_compression_check(cfg, rate: float, num_symbols: int = 14) -> dict[str, float]:
    """One link, tau(t) = tau0 + a t, the paper's precompensation (constant delay tau0,
    Doppler pre-rotation nu^c = -f_c a), noise-free, against the closed form (module
    docstring). Returns the measured and closed-form ICI power (dB, own-stream error power
    over signal, mean over subcarriers) and phase ramp at the band edge over the burst (rad).
    """
    from linksim.emulator import EmulatorSettings, PathSet, emulate_links
    from waveforms.ofdm import used_subcarrier_bins

    settings = EmulatorSettings.from_config(cfg)
    num = settings.numerology
    fs, n_fft, lsym, df = (num.sample_rate_hz, num.fft_size, num.symbol_length,
                           num.subcarrier_spacing_hz)
    fc, a = cfg.carrier_hz, float(rate)
    tau0 = 1.9e-3 + 0.37 / fs
    one = np.ones((1, 1, 1))
    channel = PathSet(tau0 * one, 0 * one, one.astype(complex),
                      delay_poly_s=np.full((1, 1, 1, 1), a))
    est = PathSet.single(np.full((1, 1), tau0), np.full((1, 1), -fc * a))
    out = emulate_links(settings, channel, est, np.ones((1, 1, 1), complex), None,
                        np.random.default_rng(0), num_symbols)
    bins = used_subcarrier_bins(n_fft, num.num_used_subcarriers)
    p = np.where(bins < n_fft // 2, bins, bins - n_fft)
    f_p = p * df
    eps = -(a * f_p + a * a * fc) / df
    b = settings.timing_backoff_samples
    # Psi_{p->q} = (1/N) sum_n e^{j 2 pi x n / N} = e^{j pi x (N-1)/N} sinc(x) / sinc(x/N),
    # x = p - q + eps_p, times the back-off factor e^{-j 2 pi (p - q) b / N}
    x = p[None, :] - p[:, None] + eps[None, :]                                  # [q, p]
    psi = (np.exp(1j * np.pi * x * (n_fft - 1) / n_fft) * np.sinc(x) / np.sinc(x / n_fft)
           * np.exp(-2j * np.pi * (p[None, :] - p[:, None]) * b / n_fft))
    t_m = (np.arange(num_symbols) * lsym + num.cyclic_prefix_length - b) / fs
    ramp = -2 * np.pi * (f_p[None, :] * a + fc * a * a) * t_m[:, None]         # [M, Q]
    X = out.symbols[0]
    Y = out.received[0]
    want = np.einsum("qp,mp->mq", psi, X * np.exp(1j * ramp))
    diag = np.diagonal(psi)[None, :] * np.exp(1j * ramp)
    sig = np.mean(np.abs(diag * X) ** 2)
    ici_meas = np.mean(np.abs(Y - diag * X) ** 2) / sig
    ici_closed = np.mean(np.sum(np.abs(psi) ** 2, axis=1) - np.abs(np.diagonal(psi)) ** 2) \
        / np.mean(np.abs(np.diagonal(psi)) ** 2)
    # measured ramp: phase of Y X* / Psi_qq, the last symbol against the first, band edge
    h = Y * np.conj(X) / np.diagonal(psi)[None, :]
    edge = np.argmax(np.abs(f_p))
    ramp_meas = float(np.angle(h[-1, edge] / h[0, edge]))
    ramp_closed = float(ramp[-1, edge] - ramp[0, edge])
    # the band-edge ramp from a weighted least-squares line over every used subcarrier (the
    # closed form is linear in f_p): one subcarrier's phase carries its ICI divided by its
    # own data symbol, variance ~ (ICI / 2)(1/|X_0q|^2 + 1/|X_Mq|^2) (0.006 rad and more at
    # -44 dB, about the 2 % tolerance of a 0.5 rad ramp, heavy-tailed for Gaussian data);
    # the line weights each subcarrier by the inverse of that variance, and its standard
    # error comes from the weighted residuals
    d_phase = np.angle(h[-1] / h[0])
    w = 1.0 / (1.0 / np.abs(X[0]) ** 2 + 1.0 / np.abs(X[-1]) ** 2)
    design = np.stack([np.ones_like(f_p), f_p], axis=1)
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(design * sw[:, None], d_phase * sw, rcond=None)[0]
    resid_var = np.sum(w * (d_phase - design @ coef) ** 2) / max(f_p.size - 2, 1)
    at_edge = np.array([1.0, f_p[edge]])
    ramp_fit = float(at_edge @ coef)
    ramp_fit_se = float(np.sqrt(resid_var * at_edge
                                @ np.linalg.inv(design.T @ (design * w[:, None])) @ at_edge))
    # wideband: slope of the ramp across subcarriers (least squares over the symbols)
    rel = np.angle(h[-1] / h[0]) - np.angle(h[-1, p == p[np.argmin(np.abs(p))]][0]
                                             / h[0, p == p[np.argmin(np.abs(p))]][0])
    slope_meas = float(np.polyfit(f_p, rel, 1)[0])
    slope_closed = float(-2 * np.pi * a * (t_m[-1] - t_m[0]))
    return {"rate": a, "doppler_hz": -fc * a,
            "ici_measured_db": float(10 * np.log10(ici_meas)),
            "ici_closed_db": float(10 * np.log10(ici_closed)),
            "model_error_db": float(10 * np.log10(np.sum(np.abs(Y - want) ** 2)
                                                  / np.sum(np.abs(want) ** 2))),
            "ramp_edge_measured_rad": ramp_meas, "ramp_edge_closed_rad": ramp_closed,
            "ramp_edge_fit_rad": ramp_fit, "ramp_edge_fit_se_rad": ramp_fit_se,
            "ramp_slope_measured_rad_per_hz": slope_meas,
            "ramp_slope_closed_rad_per_hz": slope_closed,
            "burst_s": float(t_m[-1] - t_m[0])}


# --------------------------------------------------------------------------- c, d. rates
def _design(cfg, name, scsi):
    from validation.rates import design_precoder

    return design_precoder(name, scsi, 10 ** (cfg.power_dbw / 10), cfg)


def aging_rates(cfg, seed: int, st: OrbitSettings, names: list[str]) -> dict[str, np.ndarray]:
    """Sum rate [P, A, D] measured and (19) on the aged geometry; sats_set [A, D]; NaN where a
    satellite is below the horizon at t0 + age."""
    from linksim.config import ConfigError
    from linksim.emulator import emulate_drop
    from linksim.orbit import motion_views
    from linksim.ratemodel import expected_rates
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    shape = (len(names), len(st.ages_s), st.rate_drops)
    meas, anal = np.full(shape, np.nan), np.full(shape, np.nan)
    sets = np.zeros(shape[1:], dtype=np.int64)
    for d in range(st.rate_drops):
        drop = draw_drop(cfg, seed, d)
        scsi0 = scsi_from_drop(drop, cfg)
        Ws = [_design(cfg, name, scsi0) for name in names]
        for a, age in enumerate(st.ages_s):
            c = cfg.replace(scsi_age_s=float(age))
            try:
                _, drop_e, scsi_e, info = motion_views(c, drop, scsi0)
            except ConfigError:
                continue
            sets[a, d] = int(info.get("sats_set", 0))
            for i, W in enumerate(Ws):
                _, m = emulate_drop(c, drop_e, scsi_e, W, seed, d, num_symbols=st.num_symbols)
                meas[i, a, d] = m.rate.sum()
                anal[i, a, d] = expected_rates(scsi_e, W).sum()
    return {"age_s": np.asarray(st.ages_s, float), "rate_measured": meas,
            "rate_analytical": anal, "sats_set": sets}


def interval_rates(cfg, seed: int, st: OrbitSettings, names: list[str]
                   ) -> dict[str, np.ndarray]:
    """Sum rate [P, B, D] in orbit geometry with the geometric error model versus the update
    interval (cfg.ue_position_error_m, cfg.precomp_predictor), measured and (19)."""
    from linksim.emulator import emulate_drop
    from linksim.orbit import motion_views
    from linksim.ratemodel import expected_rates
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    base = cfg.replace(geometry_mode="orbit", error_model="geometric", scsi_age_s=0.0)
    shape = (len(names), len(st.intervals_s), st.rate_drops)
    meas, anal = np.full(shape, np.nan), np.full(shape, np.nan)
    for d in range(st.rate_drops):
        drop = draw_drop(base, seed, d)
        scsi, _, _, _ = motion_views(base, drop, scsi_from_drop(drop, base))
        Ws = [_design(base, name, scsi) for name in names]
        for b, interval in enumerate(st.intervals_s):
            c = base.replace(precomp_update_interval_s=float(interval))
            for i, W in enumerate(Ws):
                _, m = emulate_drop(c, drop, scsi, W, seed, d, num_symbols=st.num_symbols)
                meas[i, b, d] = m.rate.sum()
                anal[i, b, d] = expected_rates(scsi, W).sum()
    return {"interval_s": np.asarray(st.intervals_s, float), "rate_measured": meas,
            "rate_analytical": anal}


def age_at_loss(ages: np.ndarray, rates: np.ndarray, loss: float = RATE_LOSS) -> float:
    """First age (linear interpolation) where mean rate / rate at age 0 falls below 1 - loss;
    NaN if never within the ages. rates [A, D] (paired over drops)."""
    mean = np.nanmean(rates, axis=-1)
    rel = mean / mean[0]
    below = np.flatnonzero(rel < 1.0 - loss)
    if below.size == 0:
        return float("nan")
    j = int(below[0])
    if j == 0:
        return float(ages[0])
    x0, x1, y0, y1 = ages[j - 1], ages[j], rel[j - 1], rel[j]
    return float(x0 + (1.0 - loss - y0) * (x1 - x0) / (y1 - y0))


# --------------------------------------------------------------------------- run
def _delay_fit(cfg, seed: int, st: OrbitSettings) -> tuple[float, float]:
    """(max |tau'| over the links, cubic fit error in s) of drop 0 over the burst."""
    from linksim.orbit import burst_span_s, drop_delay_fn, fit_delay_poly
    from linksim.scenario import draw_drop

    drop = draw_drop(cfg, seed, 0)
    lo, hi = burst_span_s(cfg, st.num_symbols)
    _, poly, fit_err = fit_delay_poly(drop_delay_fn(cfg, drop), lo, hi)
    return float(np.max(np.abs(poly[..., 0]))), fit_err


def _interval_names(names: list[str]) -> list[str]:
    return [n for n in INTERVAL_PRECODERS if n in names] or names[:1]


def _time_compression(cfg, seed: int, st: OrbitSettings) -> dict[str, Any]:
    """Item b at drop 0's largest delay rate, with that drop's delay-fit error."""
    max_rate, fit_err = _delay_fit(cfg, seed, st)
    return {"check": time_compression_check(cfg, max_rate, 14), "delay_fit_error_s": fit_err}


def orbit_parts(cfg, seed: int, st: OrbitSettings, names: list[str]) -> dict[str, Any]:
    """Items a-d as independent callables {name: partial} (the resumable tasks of validate,
    validation.sections)."""
    import functools

    return {"phase_error": functools.partial(phase_error_sweep, cfg, seed, st),
            "time_compression": functools.partial(_time_compression, cfg, seed, st),
            "aging": functools.partial(aging_rates, cfg, seed, st, names),
            "update_interval": functools.partial(interval_rates, cfg, seed, st,
                                                 _interval_names(names))}


def run_orbit_validation(cfg, seed: int, st: OrbitSettings, names: list[str]) -> dict:
    """Items a-d: {"arrays": {"orbit/...": ndarray}, "summary": dict (key "orbit")}, all
    computed in this process (:func:`orbit_parts`, then :func:`orbit_result`)."""
    parts = orbit_parts(cfg, seed, st, names)
    return orbit_result(cfg, seed, st, names, {name: part() for name, part in parts.items()})


def orbit_result(cfg, seed: int, st: OrbitSettings, names: list[str],
                 parts: dict[str, Any]) -> dict:
    """The section from the values of :func:`orbit_parts`."""
    pe, ag, iv = (parts[k] for k in ("phase_error", "aging", "update_interval"))
    tc, fit_err = (parts["time_compression"][k] for k in ("check", "delay_fit_error_s"))
    max_rate = tc["rate"]
    iv_names = _interval_names(names)
    sigma_closed = sigma_for_paper_variance(cfg)
    log_s, log_v = np.log(pe["sigma_m"]), np.log(np.maximum(pe["var_rad2"], 1e-300))
    sigma_meas = float(np.exp(np.interp(np.log(PAPER_PHASE_VAR_RAD2), log_v, log_s,
                                        left=np.nan, right=np.nan)))
    sig_ok = bool(np.isfinite(sigma_meas)
                  and abs(sigma_meas - sigma_closed) <= SIGMA_REL_TOL * sigma_closed)
    tc_ok = bool(abs(tc["ici_measured_db"] - tc["ici_closed_db"]) <= ICI_DB_TOL
                 and abs(tc["ramp_edge_fit_rad"] - tc["ramp_edge_closed_rad"])
                 <= RAMP_REL_TOL * abs(tc["ramp_edge_closed_rad"]))
    age10 = {n: {"measured": age_at_loss(ag["age_s"], ag["rate_measured"][i]),
                 "analytical": age_at_loss(ag["age_s"], ag["rate_analytical"][i])}
             for i, n in enumerate(names)}

    def table(rates):
        mean = np.nanmean(rates, axis=-1)
        se = (np.nanstd(rates, axis=-1, ddof=1) / np.sqrt(rates.shape[-1])
              if rates.shape[-1] > 1 else np.full(mean.shape, np.nan))
        return mean, se

    ag_m, ag_se = table(ag["rate_measured"])
    ag_a, _ = table(ag["rate_analytical"])
    iv_m, iv_se = table(iv["rate_measured"])
    iv_a, _ = table(iv["rate_analytical"])
    summary = {
        "settings": {k: list(v) if isinstance(v, tuple) else v
                     for k, v in st.__dict__.items()},
        "delay_fit_error_s": fit_err,
        "phase_error": {"sigma_m": pe["sigma_m"], "var_rad2": pe["var_rad2"],
                        "var_equiv_rad2": pe["var_equiv_rad2"], "var_se": pe["var_se"],
                        "sigma_for_paper_var_measured_m": sigma_meas,
                        "sigma_for_paper_var_closed_m": sigma_closed,
                        "verdict": "holds" if sig_ok else "fails",
                        "interval_s": pe["interval_s"],
                        "doppler_rms_hz": pe["doppler_rms_hz"],
                        "theta_rms_rad": pe["theta_rms_rad"],
                        "predictor": cfg.precomp_predictor},
        "time_compression": tc | {"verdict": "holds" if tc_ok else "fails"},
        "aging": {"age_s": ag["age_s"], "precoders": names, "measured_mean": ag_m,
                  "measured_se": ag_se, "analytical_mean": ag_a, "age_10pct_loss_s": age10,
                  "sats_set": ag["sats_set"].sum(axis=1),
                  "verdict": _aging_verdict(names, ag_m)},
        "update_interval": {"interval_s": iv["interval_s"], "precoders": iv_names,
                            "measured_mean": iv_m, "measured_se": iv_se,
                            "analytical_mean": iv_a,
                            "ue_position_error_m": cfg.ue_position_error_m,
                            "predictor": cfg.precomp_predictor},
    }
    summary["table"] = [
        {"assumption": "sigma_theta^2 = 0.5 rad^2 (Sec. V) from tracking physics",
         "metric": "user position error std per axis giving var(theta) = 0.5 rad^2, measured "
                   "(geometric model) vs closed form sqrt(0.5) c / (2 pi f_c)",
         "value": f"{1e3 * sigma_meas:.1f} mm vs {1e3 * sigma_closed:.1f} mm",
         "numbers": [num("user position error std per axis, measured", 1e3 * sigma_meas,
                         "mm"),
                     num("the same, closed form", 1e3 * sigma_closed, "mm")],
         "threshold": f"within {100 * SIGMA_REL_TOL:.0f} %",
         "verdict": "holds" if sig_ok else "fails"},
        {"assumption": "time compression of tau(t) (omitted by (1))",
         "metric": f"ICI and band-edge phase ramp over the burst at |tau'| = {max_rate:.2e}, "
                   "measured vs closed form",
         "value": f"{tc['ici_measured_db']:.2f} vs {tc['ici_closed_db']:.2f} dB; "
                  f"{tc['ramp_edge_fit_rad']:.3f} vs {tc['ramp_edge_closed_rad']:.3f} rad",
         "numbers": [num("ICI power over the burst, measured", tc["ici_measured_db"], "dB"),
                     num("ICI power, closed form", tc["ici_closed_db"], "dB"),
                     num("band-edge phase ramp over the burst, measured",
                         tc["ramp_edge_fit_rad"], "rad"),
                     num("band-edge phase ramp, closed form", tc["ramp_edge_closed_rad"],
                         "rad")],
         "threshold": f"{ICI_DB_TOL:g} dB; {100 * RAMP_REL_TOL:g} %",
         "verdict": "holds" if tc_ok else "fails"},
        {"assumption": "sCSI of t0 still serves at t0 + age (pointing)",
         "metric": "age of 10 % sum-rate loss, measured (min / max over precoders)",
         "value": f"{np.nanmin([v['measured'] for v in age10.values()]):.1f} / "
                  f"{np.nanmax([v['measured'] for v in age10.values()]):.1f} s",
         "numbers": [num("age of 10 % sum-rate loss, shortest over precoders",
                         np.nanmin([v["measured"] for v in age10.values()]), "s"),
                     num("age of 10 % sum-rate loss, longest over precoders",
                         np.nanmax([v["measured"] for v in age10.values()]), "s")],
         "threshold": f"rate at {st.ages_s[-1]:g} s below the rate at 0 s",
         "verdict": "holds" if summary["aging"]["verdict"] == "holds" else "fails"},
    ]
    arrays = {f"orbit/phase_error/{k}": v for k, v in pe.items()}
    arrays |= {f"orbit/aging/{k}": v for k, v in ag.items()}
    arrays |= {f"orbit/update_interval/{k}": v for k, v in iv.items()}
    return {"arrays": arrays, "summary": summary}


def _aging_verdict(names, mean) -> str:
    """'holds' when every precoder's mean measured rate at the largest age is below its rate
    at age 0 (the pointing loss the issue predicts), else 'fails at <precoder>'."""
    bad = [n for i, n in enumerate(names) if not mean[i, -1] < mean[i, 0]]
    return "holds" if not bad else "fails at " + ", ".join(bad)


# --------------------------------------------------------------------------- figures, html
def figures(summary: dict) -> dict[str, bytes]:
    """PNG bytes of the four verdicts (validation.report_figures style)."""
    from validation.report_figures import _plt, _png

    plt = _plt()
    out: dict[str, bytes] = {}
    pe = summary["phase_error"]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    ax[0].loglog(pe["sigma_m"], pe["var_rad2"], "o-", label="measured var(theta)")
    s = np.asarray(pe["sigma_m"])
    ax[0].loglog(s, (s / pe["sigma_for_paper_var_closed_m"]) ** 2 * PAPER_PHASE_VAR_RAD2,
                 "k--", label="(2 pi f_c sigma / c)^2")
    ax[0].axhline(PAPER_PHASE_VAR_RAD2, color="C3", lw=0.8, label="paper 0.5 rad^2")
    ax[0].set_xlabel("ue_position_error_m (std per axis)")
    ax[0].set_ylabel("phase-error variance (rad^2)")
    ax[0].legend(fontsize=7)
    ax[1].loglog(pe["interval_s"], np.maximum(pe["doppler_rms_hz"], 1e-6), "o-",
                 label="residual Doppler rms (Hz)")
    ax[1].loglog(pe["interval_s"], np.maximum(pe["theta_rms_rad"], 1e-6), "s-",
                 label="phase error rms (rad)")
    ax[1].axhline(5.0, color="C3", lw=0.8, label="paper sigma_nu 5 Hz")
    ax[1].set_xlabel(f"precomp_update_interval_s ({pe['predictor']} predictor)")
    ax[1].legend(fontsize=7)
    out["orbit_phase"] = _png(fig)

    tc = summary["time_compression"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(["ICI measured", "ICI closed form"], [tc["ici_measured_db"], tc["ici_closed_db"]],
           color=["C0", "C1"])
    ax.set_ylabel("dB relative to the signal")
    ax.set_title(f"time compression at |tau'| = {tc['rate']:.2e}: ramp at the band edge "
                 f"{tc['ramp_edge_fit_rad']:.3f} rad ({tc['ramp_edge_closed_rad']:.3f})",
                 fontsize=8)
    out["orbit_compression"] = _png(fig)

    for key, xlab, name in (("aging", "sCSI age (s)", "orbit_aging"),
                            ("update_interval", "update interval (s)", "orbit_interval")):
        g = summary[key]
        x = np.asarray(g["age_s" if key == "aging" else "interval_s"], float)
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        for i, n in enumerate(g["precoders"]):
            m = np.asarray(g["measured_mean"][i], dtype=float)
            a = np.asarray(g["analytical_mean"][i], dtype=float)
            ax.plot(x, m, "o-", color=f"C{i}", label=f"{n} measured")
            ax.plot(x, a, "--", color=f"C{i}", lw=0.8)
        if key == "update_interval":
            ax.set_xscale("log")
        ax.set_xlabel(xlab)
        ax.set_ylabel("sum rate (bit/s/Hz); dashed: (19)")
        ax.legend(fontsize=6, ncol=2)
        out[name] = _png(fig)
    return out


def render_section(summary: dict) -> str:
    """The HTML section "5. Moving satellites" (validation.report_html style)."""
    from validation.report_html import _e, _f, _img, _table

    figs = figures(summary)
    pe, tc, ag, iv = (summary["phase_error"], summary["time_compression"], summary["aging"],
                      summary["update_interval"])
    pe_rows = [[_f(s, ".3g"), _f(v, ".3g"), _f(e, ".3g"), _f(q, ".3g")]
               for s, v, e, q in zip(pe["sigma_m"], pe["var_rad2"], pe["var_equiv_rad2"],
                                     pe["var_se"])]
    iv_pe_rows = [[_f(t, ".3g"), _f(d, ".3g"), _f(r, ".3g")]
                  for t, d, r in zip(pe["interval_s"], pe["doppler_rms_hz"],
                                     pe["theta_rms_rad"])]
    age_rows = [[n, *[f"{_f(m, '.2f')} ({_f(a, '.2f')})"
                      for m, a in zip(ag["measured_mean"][i], ag["analytical_mean"][i])],
                 _f(ag["age_10pct_loss_s"][n]["measured"], ".1f"),
                 _f(ag["age_10pct_loss_s"][n]["analytical"], ".1f")]
                for i, n in enumerate(ag["precoders"])]
    iv_rows = [[n, *[f"{_f(m, '.2f')} ({_f(a, '.2f')})"
                     for m, a in zip(iv["measured_mean"][i], iv["analytical_mean"][i])]]
               for i, n in enumerate(iv["precoders"])]
    return "\n".join([
        "<h2>7. Moving satellites (geometry_mode = orbit, tracking, sCSI aging)</h2>",
        f"<p>Delay tau(t) of every link from the orbit with light time, fitted per burst "
        f"(fit error {_f(summary['delay_fit_error_s'], '.1e')} s).</p>",
        "<h3>a. Phase error of the geometric tracking model</h3>",
        f"<p>theta = -2 pi f_c delta tau(0) with a fresh quadratic prediction: the paper's "
        f"sigma_theta^2 = 0.5 rad^2 corresponds to a user position error of "
        f"{_f(1e3 * pe['sigma_for_paper_var_measured_m'], '.1f')} mm per axis (closed form "
        f"{_f(1e3 * pe['sigma_for_paper_var_closed_m'], '.1f')} mm): verdict "
        f"<b>{_e(pe['verdict'])}</b> (within {100 * SIGMA_REL_TOL:.0f} %). Larger errors "
        f"wrap the phase uniformly (rho -> 0: no coherent combining).</p>",
        _img(figs["orbit_phase"], "phase error vs position error and update interval"),
        _table(["sigma_pos (m)", "var theta (rad^2)", "-2 ln|E e^{j theta}|", "s.e."],
               pe_rows),
        _table(["update interval (s)", "residual Doppler rms (Hz)", "theta rms (rad)"],
               iv_pe_rows),
        "<h3>b. Time compression</h3>",
        f"<p>Largest delay rate of drop 0 |tau'| = {_f(tc['rate'], '.3e')} (Doppler "
        f"{_f(tc['doppler_hz'], '.0f')} Hz), compensated by the paper's constant delay and "
        f"Doppler pre-rotation: ICI measured {_f(tc['ici_measured_db'], '.2f')} dB vs closed "
        f"form {_f(tc['ici_closed_db'], '.2f')} dB; phase ramp at the band edge over "
        f"{_f(1e3 * tc['burst_s'], '.2f')} ms (least-squares line over the subcarriers): "
        f"{_f(tc['ramp_edge_fit_rad'], '.4f')} +- {_f(tc['ramp_edge_fit_se_rad'], '.4f')} "
        f"rad vs {_f(tc['ramp_edge_closed_rad'], '.4f')} rad (one subcarrier alone: "
        f"{_f(tc['ramp_edge_measured_rad'], '.4f')} rad); verdict <b>{_e(tc['verdict'])}</b>. "
        f"Model (1) with a constant delay omits this ramp.</p>",
        _img(figs["orbit_compression"], "time compression"),
        "<h3>c. Achieved rate vs sCSI age</h3>",
        f"<p>Design at t0, emulation on the geometry at t0 + age (measured, (19) in "
        f"parentheses, mean sum rate over {summary['settings']['rate_drops']} drop(s)); "
        f"verdict (rate at the largest age below age 0 for every precoder): "
        f"<b>{_e(ag['verdict'])}</b>. Satellites below min_elevation_deg per age: "
        f"{_e(list(ag['sats_set']))}.</p>",
        _img(figs["orbit_aging"], "rate vs sCSI age"),
        _table(["precoder", *[f"{_f(a, 'g')} s" for a in ag["age_s"]],
                "10 % loss at (s), measured", "(19)"], age_rows),
        "<h3>d. Achieved rate vs update interval</h3>",
        f"<p>Geometric model, ue_position_error_m = {_f(iv['ue_position_error_m'], 'g')}, "
        f"{_e(iv['predictor'])} predictor.</p>",
        _img(figs["orbit_interval"], "rate vs update interval"),
        _table(["precoder", *[f"{_f(t, 'g')} s" for t in iv["interval_s"]]], iv_rows),
    ])
