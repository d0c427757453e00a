"""Measured verdicts of the flat model under NTN-TDL multipath (linksim.multipath).

Three checks, each from emulated waveforms with statistics over independent draws:

1. **Rate (19) vs achieved** on full drops (S satellites, K users, the config's geometry and
   sCSI, precoder MRT, and MS-JoWM in the full run, at cfg.power_dbw) for every NTN-TDL
   profile at the nominal delay spread and over a delay-spread sweep from 10 ns to beyond the
   CP (profile NTN-TDL-A, the config's multipath_kappa mode). Per drop: miss = ((19) sum rate
   - achieved sum rate) / (19), and the paired change against the flat profile on the same
   drop (same sCSI, precoder, data and noise): (achieved_flat - achieved_tdl) / (19).
   Mean +- standard error over drops; the delay spread where the mean miss first exceeds 5%
   (log interpolation between sweep points).
2. **Frequency correlation** of the measured per-subcarrier gain G[q] of one link (unit
   power, the profile as tabulated, no noise, exact compensation) against the closed form,
   the Fourier transform of the power delay profile (linksim.multipath.frequency_correlation),
   over independent draws.
3. **ISI onset**: the own-stream ICI/ISI power |Y - G X|^2 / |G|^2 of that link over the
   delay-spread sweep against the overlap closed form: a tap late by D samples past the CP
   margin (N_cp - back-off) leaks p [2 sum_{q' used != q} |K_D(q - q')|^2 + (D/N)^2] and keeps
   p (1 - D/N)^2 coherently (K_D as in tests/test_multipath.py), the LS gain removing 1/M.
   Onset (closed form): DS = margin / (f_s max_n tau_n).
4. **Multipath on moving satellites**: the drops of item 1 with geometry_mode = 'orbit'
   (every path on its link's light-time delay tau(t) plus the tap's excess delay), flat and
   NTN-TDL-C at the nominal delay spread: the miss of the (static) (19) prediction, and
   whether motion and multipath compose: per drop, the paired change of NTN-TDL-C against
   flat on moving satellites minus the same change on static ones, mean +- s.e., significant
   when beyond the paired t quantile (validation.significance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from validation.report_numbers import num, numbers_text

#: the sweep of delay spreads (s): 10 ns to beyond the 2.34 us CP of NR at 30 kHz
DELAY_SPREADS_S = (1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 2.3e-6, 5e-6)
QUICK_DELAY_SPREADS_S = (1e-8, 1e-6, 5e-6)
SWEEP_PROFILE = "ntn-tdl-a"
#: the full run also sweeps this profile in the other multipath_kappa mode
OTHER_SWEEP_PROFILE = "ntn-tdl-c"
#: (19) "misses" beyond this relative shortfall of the achieved sum rate
MISS_THRESHOLD = 0.05
#: the profile of the moving-satellite check (item 4): LOS plus NLOS taps
MOVING_PROFILE = "ntn-tdl-c"
#: frequency-correlation check: delay spread and lags (subcarriers)
CORRELATION_DELAY_SPREAD_S = 3e-7
CORRELATION_LAGS = (0, 1, 2, 4, 8, 16, 32, 64, 128)
#: ISI fraction level whose crossing is reported (dB), and the FIR error floor below which
#: a measured ISI fraction counts as none
ISI_LEVEL_DB = -30.0
ISI_FLOOR_DB = -50.0
#: drop stream of the single-link draws (the drops' own streams stay untouched)
SINGLE_LINK_STREAM = 13


def _emulate_links(settings, excess_s, gains, num_symbols, rng):
    """K independent links (one satellite, user k through its own paths only, coupling
    identity), exact compensation, no noise. excess_s float [K, P], gains complex [K, P].
    Returns (G complex [K, Q], else power [K], coherent power [K])."""
    from linksim.emulator import LinkState, PathSet, emulate_links, measure

    k, p = excess_s.shape
    tau0, nu0 = 4.0e-3, 2.0e4
    tau = np.full((k, 1), tau0)
    channel = PathSet(delay_s=(tau + excess_s)[None], doppler_hz=np.full((1, k, p), nu0),
                      gain=gains[None].astype(complex))
    est = LinkState(delay_s=tau.T, doppler_hz=np.full((1, k), nu0),
                    delay_error_s=np.zeros((1, k)), doppler_error_hz=np.zeros((1, k)),
                    fading=np.ones((1, k), complex)).estimates()
    out = emulate_links(settings, channel, est, np.eye(k, dtype=complex)[None], None, rng,
                        num_symbols)
    meas = measure(out)
    return meas.desired_gain, meas.else_power, meas.desired_power


def _draw_links(prof, delay_spread_s, draws, rng):
    """The profile as tabulated (unit power), f_D = 0, for ``draws`` links: [K, P] each."""
    from linksim.multipath import draw_taps, tap_powers

    los, delays, nlos = tap_powers(prof, np.zeros((1, draws)), "table")
    d, _, g = draw_taps(rng, np.ones((1, draws)), los, delays * delay_spread_s, nlos, 0.0, 1)
    return d[0], g[0]


def _overlap_leak(late: float, q: np.ndarray, n: int) -> np.ndarray:
    """2 sum_{q' != q} |K_D(q - q')|^2 + (D/N)^2 per used bin q, float [Q] (D = late >= 0)."""
    if late <= 0:
        return np.zeros(q.size)
    k = q[:, None] - q[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        kern = np.where(k == 0, 0.0, (np.sin(np.pi * k * late / n)
                                      / (n * np.sin(np.pi * k / n))) ** 2)
    return 2 * kern.sum(axis=1) + (late / n) ** 2


def isi_fraction_closed(prof, delay_spread_s: float, cfg, num_symbols: int) -> float:
    """Own ICI/ISI power over the coherent power, closed form (item 3), linear."""
    from linksim.emulator import Numerology
    from linksim.emulator.stages import used_bins

    num = Numerology.from_config(cfg)
    margin = cfg.cyclic_prefix_length - cfg.timing_backoff_samples
    los, delays, nlos = prof.normalised()
    d_samples = np.concatenate([[0.0], delays]) * delay_spread_s * num.sample_rate_hz
    powers = np.concatenate([[los], nlos])
    from linksim.emulator.settings import EmulatorSettings
    bins = used_bins(EmulatorSettings.from_config(cfg))
    q = np.where(bins >= num.fft_size // 2, bins - num.fft_size, bins).astype(float)
    leak = coh = 0.0
    for p, dd in zip(powers, d_samples):
        late = max(0.0, dd - margin)
        leak += p * np.mean(_overlap_leak(late, q, num.fft_size))
        coh += p * (1 - min(late, num.fft_size) / num.fft_size) ** 2
    return leak * (1 - 1 / num_symbols) / coh


def single_link_checks(cfg, seed: int, draws: int, delay_spreads: tuple[float, ...],
                       num_symbols: int) -> dict[str, Any]:
    """Items 2 and 3 (module docstring), ``draws`` independent links per point (one emulator
    call each)."""
    from linksim.emulator import EmulatorSettings
    from linksim.multipath import PROFILES, frequency_correlation
    from linksim.scenario import drop_rng

    settings = EmulatorSettings.from_config(cfg).replace(modulation="qpsk")
    df = cfg.subcarrier_spacing_hz
    lags = np.array([lag for lag in CORRELATION_LAGS if lag < cfg.num_used_subcarriers // 2])
    corr: dict[str, Any] = {}
    for pi, name in enumerate(PROFILES):
        prof = PROFILES[name]
        rng = drop_rng(seed, 0, SINGLE_LINK_STREAM + pi)
        excess, g = _draw_links(prof, CORRELATION_DELAY_SPREAD_S, draws, rng)
        gq, _, _ = _emulate_links(settings, excess, g, num_symbols, rng)
        den = np.mean(np.abs(gq) ** 2, axis=1)                               # [K]
        num = np.stack([np.mean(gq[:, :gq.shape[1] - lag] * gq[:, lag:].conj(), axis=1)
                        for lag in lags], axis=1)                            # [K, L]
        rho = num.mean(0) / den.mean()
        se = np.hypot(np.std(num.real, axis=0, ddof=1), np.std(num.imag, axis=0, ddof=1)) \
            / np.sqrt(draws) / den.mean()
        los, delays, nlos = prof.normalised()
        closed = frequency_correlation(los, delays * CORRELATION_DELAY_SPREAD_S, nlos, lags * df)
        dev = np.abs(rho - closed)
        tol = 4 * se + 0.02
        corr[name] = {"lags_subcarriers": lags.tolist(), "measured_real": rho.real,
                      "measured_imag": rho.imag, "closed_form_real": closed.real,
                      "closed_form_imag": closed.imag, "std_err": se,
                      "max_abs_dev": float(dev.max()),
                      "max_dev_over_se": float(np.max(dev[1:] / se[1:])) if lags.size > 1
                      else 0.0, "holds": bool(np.all(dev <= tol))}
    prof = PROFILES[SWEEP_PROFILE]
    else_p = np.zeros((len(delay_spreads), draws))
    coh_p = np.zeros_like(else_p)
    for i, ds in enumerate(delay_spreads):
        rng = drop_rng(seed, 1, SINGLE_LINK_STREAM + 10 + i)
        excess, g = _draw_links(prof, ds, draws, rng)
        _, else_p[i], coh_p[i] = _emulate_links(settings, excess, g, num_symbols, rng)
    # ratio of means (the closed form is E else / E coherent); s.e. by the delta method
    ratio = else_p.mean(1) / coh_p.mean(1)
    resid = else_p - ratio[:, None] * coh_p
    se = resid.std(1, ddof=1) / np.sqrt(draws) / coh_p.mean(1)
    closed = np.array([isi_fraction_closed(prof, ds, cfg, num_symbols) for ds in delay_spreads])
    floor = 1e-30
    m_db = 10 * np.log10(np.maximum(ratio, floor))
    c_db = 10 * np.log10(np.maximum(closed, floor))
    relevant = c_db > -40.0                 # above the FIR's error floor
    # onset: the first delay spread whose ISI rises above the FIR floor (-50 dB)
    above = np.flatnonzero(m_db > ISI_FLOOR_DB)
    margin_s = (cfg.cyclic_prefix_length - cfg.timing_backoff_samples) / cfg.sample_rate_hz
    isi = {"profile": SWEEP_PROFILE, "delay_spread_s": list(delay_spreads),
           "measured_db": m_db, "closed_form_db": c_db,
           "std_err_db": 4.343 * se / np.maximum(ratio, floor),
           "onset_delay_spread_s": margin_s / max(prof.nlos_delays),
           "cp_margin_s": margin_s,
           "onset_measured_s": float(delay_spreads[above[0]]) if above.size else None,
           "crossing_measured_s": _crossing(delay_spreads, np.maximum(m_db, ISI_FLOOR_DB),
                                            ISI_LEVEL_DB),
           "crossing_closed_form_s": _crossing(delay_spreads, np.maximum(c_db, ISI_FLOOR_DB),
                                               ISI_LEVEL_DB),
           "below_floor_measured_db": float(np.max(m_db[~relevant])) if (~relevant).any()
           else None,
           "max_abs_dev_db": float(np.max(np.abs(m_db - c_db)[relevant])) if relevant.any()
           else 0.0}
    # within 1 dB plus 3 standard errors (few Rayleigh draws scatter the ratio of means)
    tol_db = 1.0 + 3 * isi["std_err_db"]
    isi["holds"] = bool(np.all((np.abs(m_db - c_db) <= tol_db)[relevant]))
    return {"correlation": corr, "isi": isi}


def _crossing(x, y_db, level) -> float | None:
    """First x (log-interpolated) where y crosses upwards through level; None if never."""
    x = np.log(np.asarray(x, float))
    y = np.asarray(y_db, float)
    for i in range(1, y.size):
        if y[i - 1] < level <= y[i]:
            t = (level - y[i - 1]) / (y[i] - y[i - 1])
            return float(np.exp(x[i - 1] + t * (x[i] - x[i - 1])))
    return None if y[0] < level else float(np.exp(x[0]))


def _nominal_delay_spread_s(cfg) -> float:
    """The configured delay spread, or 100 ns when it is 0 (the checks' nominal spread)."""
    return cfg.delay_spread_s if cfg.delay_spread_s > 0 else 1e-7


def _std_err(a: np.ndarray) -> np.ndarray:
    """Standard error of the mean over the last axis (drops); nan for one drop."""
    if a.shape[-1] < 2:
        return np.full(a.shape[:-1], np.nan)
    return a.std(-1, ddof=1) / np.sqrt(a.shape[-1])


def _drop_rates(cfg, seed: int, drops: int, precoders: tuple[str, ...],
                case_cfgs: list) -> tuple[np.ndarray, np.ndarray]:
    """(analytical [P, D], achieved [C, P, D]) sum rates: per drop d of ``cfg`` (its sCSI)
    and precoder p, the (19) prediction and the rate emulated under each case's config."""
    from linksim.emulator import emulate_drop
    from linksim.ratemodel import expected_rates
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from validation.rates import design_precoder

    power_w = 10 ** (cfg.power_dbw / 10)
    analytical = np.zeros((len(precoders), drops))
    achieved = np.zeros((len(case_cfgs), len(precoders), drops))
    for d in range(drops):
        drop = draw_drop(cfg, seed, d)
        scsi = scsi_from_drop(drop, cfg)
        for p, name in enumerate(precoders):
            W = design_precoder(name, scsi, power_w, cfg)
            analytical[p, d] = float(np.sum(expected_rates(scsi, W)))
            for c, c_cfg in enumerate(case_cfgs):
                achieved[c, p, d] = float(np.sum(emulate_drop(c_cfg, drop, scsi, W, seed,
                                                              d)[1].rate))
    return analytical, achieved


def rate_checks(cfg, seed: int, drops: int, delay_spreads: tuple[float, ...],
                precoders: tuple[str, ...], other_mode: bool = False) -> dict[str, Any]:
    """Item 1 (module docstring): per (case, precoder, drop) the (19) and achieved sum rates.
    Cases: flat, the four profiles at the nominal delay spread, the sweep (all in
    cfg.multipath_kappa's mode), then (other_mode) the four profiles in the other mode."""
    from linksim.multipath import PROFILES

    nominal = _nominal_delay_spread_s(cfg)
    mode = cfg.multipath_kappa
    other = "table" if mode == "scsi" else "scsi"
    cases = [("flat", "flat", nominal, mode)] + [(n, n, nominal, mode) for n in PROFILES] + [
        (f"{SWEEP_PROFILE}@{ds:.0e}", SWEEP_PROFILE, ds, mode) for ds in delay_spreads]
    if other_mode:
        cases += [(f"{n} ({other})", n, nominal, other) for n in PROFILES] + [
            (f"{OTHER_SWEEP_PROFILE}@{ds:.0e} ({other})", OTHER_SWEEP_PROFILE, ds, other)
            for ds in delay_spreads]
    analytical, achieved = _drop_rates(
        cfg, seed, drops, precoders,
        [cfg.replace(channel_profile=prof, delay_spread_s=ds, multipath_kappa=c_mode)
         for _, prof, ds, c_mode in cases])
    miss = (analytical[None] - achieved) / analytical[None]             # [C, P, D]
    paired = (achieved[0][None] - achieved) / analytical[None]
    res: dict[str, Any] = {"cases": [c[0] for c in cases], "precoders": list(precoders),
                           "nominal_delay_spread_s": nominal, "power_dbw": cfg.power_dbw,
                           "multipath_kappa": cfg.multipath_kappa,
                           "analytical_sum_rate": analytical.mean(-1),
                           "achieved_sum_rate": achieved.mean(-1),
                           "miss": miss.mean(-1), "miss_std_err": _std_err(miss),
                           "paired_vs_flat": paired.mean(-1), "paired_std_err": _std_err(paired),
                           "drops": drops, "analytical_per_drop": analytical,
                           "achieved_per_drop": achieved}
    sweep = slice(1 + len(PROFILES), 1 + len(PROFILES) + len(delay_spreads))
    res["sweep_delay_spread_s"] = list(delay_spreads)
    res["miss_5pct_delay_spread_s"] = [
        _crossing(delay_spreads, 100 * miss[sweep, p].mean(-1), 100 * MISS_THRESHOLD)
        for p in range(len(precoders))]
    res["holds_at_nominal"] = bool(np.all(miss[1:1 + len(PROFILES)].mean(-1) <= MISS_THRESHOLD))
    if other_mode:
        n0 = 1 + len(PROFILES) + len(delay_spreads)
        other_sweep = slice(n0 + len(PROFILES), n0 + len(PROFILES) + len(delay_spreads))
        res["other_mode"] = other
        res["other_sweep_profile"] = OTHER_SWEEP_PROFILE
        res["other_miss_5pct_delay_spread_s"] = [
            _crossing(delay_spreads, 100 * miss[other_sweep, p].mean(-1), 100 * MISS_THRESHOLD)
            for p in range(len(precoders))]
        res["other_holds_at_nominal"] = bool(np.all(
            miss[n0:n0 + len(PROFILES)].mean(-1) <= MISS_THRESHOLD))
    return res


def moving_rate_checks(cfg, seed: int, drops: int, precoders: tuple[str, ...]
                       ) -> dict[str, Any]:
    """Item 4 (module docstring): the drops of :func:`rate_checks` on moving satellites
    (geometry_mode = 'orbit'), flat and MOVING_PROFILE at the nominal delay spread: per
    (case, precoder, drop) the achieved sum rate (the (19) prediction is the static one of
    rate_checks: the same drops, sCSI and precoders)."""
    nominal = _nominal_delay_spread_s(cfg)
    moving = cfg.replace(geometry_mode="orbit", delay_spread_s=nominal)
    cases = ("flat", MOVING_PROFILE)
    _, achieved = _drop_rates(cfg, seed, drops, precoders,
                              [moving.replace(channel_profile=prof) for prof in cases])
    return {"cases": [f"{c} (orbit)" for c in cases], "achieved": achieved}


def moving_summary(rates: dict[str, Any], moving: dict[str, Any]) -> dict[str, Any]:
    """Misses of (19) on moving satellites and the interaction of motion and multipath:
    per drop, the paired change of MOVING_PROFILE against flat on moving satellites minus the
    same change on static ones (fractions of (19)), mean, s.e. and its t test."""
    from validation.significance import paired_t_critical

    analytical = np.asarray(rates["analytical_per_drop"])                # [P, D]
    static = np.asarray(rates["achieved_per_drop"])                       # [C, P, D]
    c_prof = rates["cases"].index(MOVING_PROFILE)
    got = np.asarray(moving["achieved"])                                  # [2, P, D]
    miss = (analytical[None] - got) / analytical[None]
    inter = ((got[0] - got[1]) - (static[0] - static[c_prof])) / analytical     # [P, D]
    crit = paired_t_critical(inter.shape[-1])
    inter_se = _std_err(inter)
    significant = [bool(np.isfinite(s_) and abs(m) > crit * s_)
                   for m, s_ in zip(inter.mean(-1), inter_se)]
    return {"cases": moving["cases"], "profile": MOVING_PROFILE,
            "achieved_sum_rate": got.mean(-1), "miss": miss.mean(-1),
            "miss_std_err": _std_err(miss),
            "interaction": inter.mean(-1), "interaction_std_err": inter_se,
            "t_critical": crit, "interaction_significant": significant,
            "holds": bool(np.all(miss.mean(-1) <= MISS_THRESHOLD)),
            "composes": not any(significant)}


def _sizes(quick: bool) -> tuple[int, int]:
    """(drops of the rate checks, single-link draws per point): quick 2 / 24, else 8 / 96."""
    return (2, 24) if quick else (8, 96)


def multipath_parts(cfg, seed: int, quick: bool, num_symbols: int) -> dict[str, Any]:
    """The section's independent computations as callables {name: partial} (the resumable
    tasks of validate, validation.sections); sizes: quick 2 drops / 24 single-link draws,
    else 8 / 96."""
    import functools

    drops, draws = _sizes(quick)
    spreads = QUICK_DELAY_SPREADS_S if quick else DELAY_SPREADS_S
    precoders = ("mrt",) if quick else ("mrt", "ms-jowm")
    # the ISI sweep is cheap (one link per draw): a finer grid, 10 ns .. 5 us and the CP
    grid = np.geomspace(1e-8, 5e-6, 9 if quick else 19)
    isi_spreads = tuple(sorted(grid.tolist() + ([2.3e-6] if np.min(np.abs(grid - 2.3e-6))
                                                 > 1e-8 else [])))
    rates_cfg = cfg.replace(num_observed_symbols=num_symbols)
    return {"rates": functools.partial(rate_checks, rates_cfg, seed, drops, spreads,
                                       precoders, other_mode=not quick),
            "single_link": functools.partial(single_link_checks, cfg, seed, draws, isi_spreads,
                                             num_symbols),
            "moving": functools.partial(moving_rate_checks, rates_cfg, seed, drops,
                                        precoders)}


def multipath_result(parts: dict[str, Any], quick: bool) -> dict[str, Any]:
    """The section's result from the values of :func:`multipath_parts`."""
    return {"rates": parts["rates"], **parts["single_link"], "draws": _sizes(quick)[1],
            "moving": moving_summary(parts["rates"], parts["moving"])}


# --------------------------------------------------------------------------- figures
def figures(res: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes: 'rates' (miss vs delay spread and per profile), 'correlation', 'isi'."""
    from validation.report_figures import _plt, _png

    plt = _plt()
    r = res["rates"]
    out = {}
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    n_prof = 4
    n_ds = len(r["sweep_delay_spread_s"])
    ds = np.asarray(r["sweep_delay_spread_s"]) * 1e6
    sweep = slice(1 + n_prof, 1 + n_prof + n_ds)
    for p, name in enumerate(r["precoders"]):
        miss = 100 * np.asarray(r["miss"])[sweep, p]
        err = 100 * np.nan_to_num(np.asarray(r["miss_std_err"])[sweep, p])
        ax[0].errorbar(ds, miss, yerr=err, marker="o", capsize=3, label=name)
        bars = 100 * np.asarray(r["miss"])[:1 + n_prof, p]
        ax[1].bar(np.arange(1 + n_prof) + 0.35 * p, bars, width=0.35, label=name)
    ax[0].axhline(100 * MISS_THRESHOLD, color="k", ls="--", lw=0.8)
    ax[0].axvline(res["isi"]["cp_margin_s"] * 1e6, color="C3", ls=":", lw=0.8,
                  label="CP margin")
    ax[0].set_xscale("log")
    ax[0].set_xlabel(f"delay spread (us), {SWEEP_PROFILE}")
    ax[0].set_ylabel("(19) - achieved, % of (19)")
    ax[0].legend()
    ax[1].set_xticks(np.arange(1 + n_prof))
    ax[1].set_xticklabels(r["cases"][:1 + n_prof], rotation=20, fontsize=7)
    ax[1].set_ylabel("(19) - achieved, % of (19)")
    ax[1].axhline(100 * MISS_THRESHOLD, color="k", ls="--", lw=0.8)
    out["rates"] = _png(fig)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for i, (name, c) in enumerate(res["correlation"].items()):
        lags = np.asarray(c["lags_subcarriers"])
        closed = np.hypot(c["closed_form_real"], c["closed_form_imag"])
        ax.plot(lags, closed, color=f"C{i}", lw=1, label=f"{name} closed")
        ax.errorbar(lags, np.hypot(c["measured_real"], c["measured_imag"]), yerr=c["std_err"],
                    color=f"C{i}", ls="",
                    marker="o", ms=3, capsize=2)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("subcarrier lag")
    ax.set_ylabel("|frequency correlation|")
    ax.legend(fontsize=7)
    out["correlation"] = _png(fig)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    isi = res["isi"]
    x = np.asarray(isi["delay_spread_s"]) * 1e6
    ax.plot(x, isi["closed_form_db"], "k-", label="overlap closed form")
    ax.errorbar(x, isi["measured_db"], yerr=isi["std_err_db"], marker="o", ls="",
                capsize=3, label="measured")
    ax.axvline(isi["onset_delay_spread_s"] * 1e6, color="C3", ls=":", label="onset (closed)")
    ax.set_xscale("log")
    ax.set_xlabel(f"delay spread (us), {isi['profile']} (table)")
    ax.set_ylabel("own ICI+ISI / coherent (dB)")
    ax.legend(fontsize=7)
    out["isi"] = _png(fig)
    return out


# --------------------------------------------------------------------------- report hook
def summary_of(res: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able summary (key 'multipath' of summary.json) with its verdict rows."""
    from validation.report import _clean

    r, isi = res["rates"], res["isi"]
    corr_ok = all(c["holds"] for c in res["correlation"].values())
    rows = []
    for p, name in enumerate(r["precoders"]):
        ds5 = r["miss_5pct_delay_spread_s"][p]
        rows.append({"check": f"(19) vs achieved, {name}, {SWEEP_PROFILE} sweep",
                     "value": "never within sweep" if ds5 is None else f"{ds5 * 1e6:.3g} us",
                     "numbers": [num("delay spread where the miss first exceeds the threshold "
                                     "(none: never within the sweep)",
                                     None if ds5 is None else ds5 * 1e6, "us")],
                     "threshold": f"miss > {100 * MISS_THRESHOLD:.0f}%",
                     "verdict": "holds" if ds5 is None else f"breaks at {ds5 * 1e6:.3g} us"})
    rows.append({"check": "(19) vs achieved at the nominal delay spread, every profile",
                 "value": ", ".join(f"{c} {100 * m:+.1f}%" for c, m in
                                    zip(r["cases"][1:5], np.asarray(r["miss"])[1:5, 0])),
                 "numbers": [num(f"miss of (19) vs achieved, {c}", 100 * m, "%") for c, m in
                             zip(r["cases"][1:5], np.asarray(r["miss"])[1:5, 0])],
                 "threshold": f"miss <= {100 * MISS_THRESHOLD:.0f}%",
                 "verdict": "holds" if r["holds_at_nominal"] else "fails"})
    if "other_mode" in r:
        om = r["other_mode"]
        n0 = 5 + len(r["sweep_delay_spread_s"])
        rows.append({"check": f"(19) vs achieved at the nominal delay spread, {om} K",
                     "value": ", ".join(f"{c} {100 * m:+.1f}%" for c, m in
                                        zip(r["cases"][n0:n0 + 4],
                                            np.asarray(r["miss"])[n0:n0 + 4, 0])),
                     "numbers": [num(f"miss of (19) vs achieved, {c}, {om} K", 100 * m, "%")
                                 for c, m in zip(r["cases"][n0:n0 + 4],
                                                 np.asarray(r["miss"])[n0:n0 + 4, 0])],
                     "threshold": f"miss <= {100 * MISS_THRESHOLD:.0f}%",
                     "verdict": "holds" if r["other_holds_at_nominal"] else "fails"})
        for p, name in enumerate(r["precoders"]):
            ds5 = r["other_miss_5pct_delay_spread_s"][p]
            rows.append({"check": f"(19) vs achieved, {name}, {r['other_sweep_profile']} "
                                  f"sweep, {om} K",
                         "value": "never within sweep" if ds5 is None
                         else f"{ds5 * 1e6:.3g} us",
                         "numbers": [num("delay spread where the miss first exceeds the "
                                         "threshold (none: never within the sweep)",
                                         None if ds5 is None else ds5 * 1e6, "us")],
                         "threshold": f"miss > {100 * MISS_THRESHOLD:.0f}%",
                         "verdict": "holds" if ds5 is None
                         else f"breaks at {ds5 * 1e6:.3g} us"})
    rows.append({"check": "frequency correlation vs PDP transform",
                 "value": ", ".join(f"{n} {c['max_abs_dev']:.3f}" for n, c in
                                    res["correlation"].items()),
                 "numbers": [num(f"largest |deviation| of the frequency correlation from the "
                                 f"PDP transform, {n}", c["max_abs_dev"], "1")
                             for n, c in res["correlation"].items()],
                 "threshold": "4 s.e. + 0.02", "verdict": "holds" if corr_ok else "fails"})
    cm, om = isi["crossing_measured_s"], isi["onset_measured_s"]
    nan = float("nan")
    rows.append({"check": f"ISI onset ({isi['profile']}): first DS above {ISI_FLOOR_DB:.0f} dB; "
                          f"{ISI_LEVEL_DB:.0f} dB crossing",
                 "value": f"onset {(om or nan) * 1e6:.3g} us (closed "
                          f"{isi['onset_delay_spread_s'] * 1e6:.3g} us); crossing "
                          f"{(cm or nan) * 1e6:.3g} us (closed "
                          f"{(isi['crossing_closed_form_s'] or nan) * 1e6:.3g} us)",
                 "numbers": [num("ISI onset delay spread, measured", (om or nan) * 1e6, "us"),
                             num("ISI onset delay spread, closed form",
                                 isi["onset_delay_spread_s"] * 1e6, "us"),
                             num("ISI crossing delay spread, measured", (cm or nan) * 1e6,
                                 "us"),
                             num("ISI crossing delay spread, closed form",
                                 (isi["crossing_closed_form_s"] or nan) * 1e6, "us")],
                 "threshold": "<= 1 dB + 3 s.e. from the overlap closed form",
                 "verdict": "holds" if isi["holds"] else "fails"})
    mv = res["moving"]            # item 4, after the pinned rows of items 1-3
    rows.append({"check": f"(19) vs achieved on moving satellites (orbit), flat and "
                          f"{mv['profile']} at the nominal delay spread",
                 "value": ", ".join(f"{c} {100 * m:+.1f}% +- {100 * e:.1f}" for c, m, e in
                                    zip(mv["cases"], np.asarray(mv["miss"])[:, 0],
                                        np.asarray(mv["miss_std_err"])[:, 0])),
                 "numbers": [n for c, m, e in zip(mv["cases"], np.asarray(mv["miss"])[:, 0],
                                                  np.asarray(mv["miss_std_err"])[:, 0])
                             for n in (num(f"miss of (19) vs achieved, {c}", 100 * m, "%"),
                                       num(f"its standard error, {c}", 100 * e, "%"))],
                 "threshold": f"miss <= {100 * MISS_THRESHOLD:.0f}%",
                 "verdict": "holds" if mv["holds"] else "fails"})
    rows.append({"check": f"multipath and satellite motion compose: {mv['profile']} change "
                          "vs flat, moving minus static (paired per drop)",
                 "value": ", ".join(f"{n} {100 * m:+.2f} +- {100 * e:.2f} pp" for n, m, e in
                                    zip(r["precoders"], mv["interaction"],
                                        mv["interaction_std_err"])),
                 "numbers": [x for n, m, e in zip(r["precoders"], mv["interaction"],
                                                  mv["interaction_std_err"])
                             for x in (num(f"interaction of motion and multipath, {n}",
                                           100 * m, "pp of (19)"),
                                       num(f"its standard error, {n}", 100 * e,
                                           "pp of (19)"))]
                 + [num("paired t quantile (two-sided 95 %)", mv["t_critical"], "1")],
                 "threshold": f"|mean| <= t quantile ({mv['t_critical']:.2f}) x s.e.",
                 "verdict": "holds" if mv["composes"] else "fails"})
    return _clean({"rates": {k: v for k, v in r.items()
                             if k not in ("analytical_per_drop", "achieved_per_drop")},
                   "correlation": res["correlation"], "isi": isi, "moving": mv,
                   "draws": res["draws"], "table": rows})


def extend_report(result: dict[str, Any], res: dict[str, Any], out_dir,
                  provenance: dict | None = None) -> None:
    """Add the section's result ``res`` (:func:`multipath_result`) to a validation result in
    place (summary key 'multipath', arrays 'multipath/...', PNG figures multipath_*.png in
    out_dir, with the ``provenance`` record in their text chunks when given)."""
    from pathlib import Path

    from linksim.runtime.atomic import atomic_path
    from linksim.runtime.provenance import png_with_metadata

    figs = figures(res)
    for name, png in figs.items():
        with atomic_path(Path(out_dir) / f"multipath_{name}.png") as tmp:
            tmp.write_bytes(png if provenance is None else png_with_metadata(png, provenance))
    result["summary"]["multipath"] = summary_of(res)
    r = res["rates"]
    for key in ("analytical_sum_rate", "achieved_sum_rate", "miss", "miss_std_err",
                "paired_vs_flat", "paired_std_err"):
        result["arrays"][f"multipath/rates/{key}"] = np.asarray(r[key], dtype=float)
    for key in ("measured_db", "closed_form_db", "std_err_db"):
        result["arrays"][f"multipath/isi/{key}"] = np.asarray(res["isi"][key], dtype=float)
    for key in ("achieved_sum_rate", "miss", "miss_std_err", "interaction",
                "interaction_std_err"):
        result["arrays"][f"multipath/moving/{key}"] = np.asarray(res["moving"][key],
                                                                 dtype=float)
    result["multipath_figures"] = figs


def html_section(summary: dict[str, Any], figs: dict[str, bytes] | None) -> str:
    """The report's multipath section (empty without the 'multipath' key)."""
    from validation.report_html import _e, _img, _table

    mp = summary.get("multipath")
    if mp is None:
        return ""
    r = mp["rates"]
    rows = [[c, p, f"{r['analytical_sum_rate'][p_i]:.2f}",
             f"{r['achieved_sum_rate'][c_i][p_i]:.2f}",
             f"{100 * r['miss'][c_i][p_i]:+.2f} +- {100 * (r['miss_std_err'][c_i][p_i] or 0):.2f}",
             f"{100 * r['paired_vs_flat'][c_i][p_i]:+.2f} +- "
             f"{100 * (r['paired_std_err'][c_i][p_i] or 0):.2f}"]
            for c_i, c in enumerate(r["cases"]) for p_i, p in enumerate(r["precoders"])]
    parts = [
        "<h2>6. Multipath: NTN-TDL profiles (TR 38.811 6.9.2) vs the flat model</h2>",
        f"<p>{_e(r['drops'])} drops, precoders {_e(', '.join(r['precoders']))} at "
        f"{_e(r['power_dbw'])} dBW, multipath_kappa = {_e(r['multipath_kappa'])}, nominal "
        f"delay spread {r['nominal_delay_spread_s'] * 1e9:.0f} ns; the sweep uses "
        f"{SWEEP_PROFILE}. Miss = ((19) - achieved) / (19) of the sum rate per drop; paired = "
        "(achieved flat - achieved profile) / (19) on the same drop; mean +- 1 s.e. over "
        f"drops. Single-link checks: {mp['draws']} draws per point. Moving satellites: the "
        "same drops with geometry_mode = orbit (every path on its link's light-time delay "
        "plus the tap's excess delay); the interaction is, per drop, the paired change of "
        f"{_e(mp['moving']['profile'])} against flat on moving minus on static satellites."
        "</p>",
        _table(["check", "value", "threshold", "verdict", "the numbers, labelled"],
               [[t["check"], t["value"], t["threshold"], t["verdict"],
                 numbers_text(t.get("numbers", []))] for t in mp["table"]],
               verdict_col=3),
        _table(["case", "precoder", "(19)", "achieved", "miss %", "paired vs flat %"], rows)]
    if figs:
        parts += [_img(figs["rates"], "multipath rates"),
                  _img(figs["correlation"], "frequency correlation"),
                  _img(figs["isi"], "ISI onset")]
    return "\n".join(parts)
