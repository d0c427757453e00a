"""HTML rendering of the validation report: summary table first, then one section per check,
figures embedded as base64 PNG (self-contained, one file)."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 1.5em auto; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.holds { background: #dff0d8; } td.fails { background: #f2dede; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.note { color: #555; font-size: 0.9em; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[Any]], verdict_col: int | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = f' class="{_e(cell)}"' if i == verdict_col else ""
            cells.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _n(count: int, noun: str) -> str:
    """'1 drop', '2 drops'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _f(x: Any, fmt: str = ".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def render_html(arrays: dict[str, np.ndarray], summary: dict[str, Any], cfg: LinkConfig,
                multipath_figures: dict[str, bytes] | None = None) -> str:
    """The report as one HTML string."""
    from validation.receiver import render_section as receiver_section
    from validation.report_figures import all_figures
    from validation.report_numbers import numbers_text

    figs = all_figures(arrays, summary)
    s = summary
    pm, rho, ind, rates = s["phase_model"], s["expected_phase"], s["independence"], s["rates"]
    sc, st = s["scenario"], s["settings"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>linksim validation"
             f"</title><style>{CSS}</style></head><body>",
             "<h1>Model vs waveform: validation report</h1>",
             f"<p class='note'>Seed {s['seed']}; {_n(st['drops'], 'drop')} with full waveforms "
             f"(S = {sc['num_sats']}, K = {sc['num_users']}, UPA {sc['antenna_size']}, "
             f"{st['num_symbols']} OFDM symbols each), {st['phase_drops']} drops per phase-error "
             f"variance, {st['geometry_drops']} geometry drops for Fig. 2; "
             f"sigma_theta^2 = {sc['phase_error_var_rad2']} rad^2, sigma_nu = "
             f"{sc['doppler_error_std_hz']} Hz, receiver back-off {sc['timing_backoff_samples']} "
             f"samples. Precoders: {', '.join(s['precoders'])}.</p>",
             "<h2>Summary</h2>",
             _table(["assumption", "metric", "measured", "threshold", "verdict",
                     "the measured numbers, labelled"],
                    [[r["assumption"], r["metric"], r["value"], r["threshold"], r["verdict"],
                      numbers_text(r.get("numbers", []))]
                     for r in s["table"]], verdict_col=4)]

    # 1. phase model
    d = pm["drops"]
    pct = None if pm["eps_threshold"] is None else 100 * pm["eps_threshold"]
    parts += [
        "<h2>1. Desired-signal phase-error model (eqs. 13-16)</h2>",
        "<p>For every satellite s and user j of the drops, the desired component of the "
        "waveform (unit coupling) is compared with the closed form g e^{j theta} Psi(eps) "
        "e^{-j 2 pi q Delta f Delta tau} X, theta = -2 pi f_c Delta tau + 2 pi nu^c Delta tau, "
        "with the drawn compensation errors. The per-subcarrier gain is the least-squares "
        "estimate over the observed symbols after removing the known drift e^{j 2 pi Delta nu "
        "t_m}.</p>",
        _table(["statistic", "value"], [
            ["samples (drop x satellite x user x subcarrier)", d["samples"]],
            ["magnitude error: mean / rms / max |.| (dB)",
             f"{d['mag_err_db_mean']:.2e} / {d['mag_err_db_rms']:.2e} / "
             f"{d['mag_err_db_max_abs']:.2e}"],
            ["phase error: mean / rms / max |.| (deg)",
             f"{d['phase_err_deg_mean']:.2e} / {d['phase_err_deg_rms']:.2e} / "
             f"{d['phase_err_deg_max_abs']:.2e}"],
            ["NMSE of (13)-(15) per link: median / worst (dB)",
             f"{d['nmse_model_db_median']:.1f} / {d['nmse_model_db_max']:.1f}"],
            ["NMSE of (16) per link: median / worst (dB)",
             f"{d['nmse_16_db_median']:.1f} / {d['nmse_16_db_max']:.1f}"],
            ["largest |eps| in the drops", f"{d['eps_abs_max']:.2e}"]]),
        "<p>With the configured errors the model is exact to the accuracy of the emulator's "
        "fractional-delay filter (the residual NMSE floor). The sweeps below move one link's "
        "residual Doppler and delay far beyond the configured errors.</p>",
        _img(figs["phase_errors"], "phase errors"),
        f"<p>Threshold: (16) is said to hold while its NMSE stays below "
        f"{s['nmse_threshold_db']:g} dB. Residual Doppler: NMSE(16) reaches it at eps = "
        f"{_f(pm['eps_threshold'], '.4f')} (closed form with the ICI kernel (15): "
        f"{_f(pm['eps_threshold_closed_form'], '.4f')}; small-eps formula (pi eps)^2/3: "
        f"{_f(pm['eps_threshold_small_eps_formula'], '.4f')}). At 10% of the subcarrier spacing "
        f"the NMSE is {_f(pm['nmse_16_db_at_eps_0.1'], '.1f')} dB, so '|Delta nu| &lt;&lt; "
        f"Delta f' means below about {_f(pct, '.1f')}% of the spacing "
        f"for a {s['nmse_threshold_db']:g} dB model error. The configured errors (3 sigma: eps = "
        f"{pm['configured_3sigma_eps']:.1e}) are far inside.</p>",
        _img(figs["doppler_sweep"], "doppler sweep"),
        f"<p>Residual delay: no ISI inside the margin [{pm['cp_margin_samples'][0]}, "
        f"{pm['cp_margin_samples'][1]}] samples (the window starts "
        f"{sc['timing_backoff_samples']} samples into the CP); outside it the NMSE grows as "
        f"2e/N and crosses {s['nmse_threshold_db']:g} dB at a late delay of "
        f"{_f(pm['late_delay_threshold_samples'], '.1f')} samples (closed form "
        f"{_f(pm['late_delay_threshold_closed_form_samples'], '.1f')}), i.e. "
        f"{_f(pm['late_delay_threshold_beyond_margin_us'], '.2f')} us beyond the margin. "
        f"Configured delay errors: 3 sigma = "
        f"{pm['configured_3sigma_delay_samples']:.1e} samples.</p>",
        _img(figs["delay_sweep"], "delay sweep"),
    ]

    # 2. expected phase
    rows = []
    for i, v in enumerate(rho["variance_rad2"]):
        rows.append([f"{v:g}", f"{rho['closed_form'][i]:.4f}",
                     f"{rho['empirical_real'][i]:.4f} + {rho['empirical_imag'][i]:.4f}j",
                     f"{rho['std_err'][i]:.4f}",
                     f"{rho['implied_variance_rad2'][i]:.3f}", rho["links"][i]])
    parts += [
        "<h2>2. Expected phase error (eqs. 25-26)</h2>",
        "<p>For each phase-error variance (Fig. 8), the compensation errors are drawn exactly "
        "as the emulator draws them; theta is measured on every link from its samples "
        "(including the Doppler drift over the symbols) and e^{j theta} is averaged over links, "
        "symbols and drops.</p>",
        _table(["sigma^2 (rad^2)", "exp(-sigma^2/2)", "empirical mean", "std err (Re)",
                "implied variance -2 ln|mean|", "links"], rows),
        _img(figs["expected_phase"], "expected phase"),
    ]

    # 3. independence
    c, pr, sw = ind["correlation"], ind["power_ratio"], ind["subcarrier_swing"]
    wp = sw["worst_pair"]
    parts += [
        "<h2>3. Inter-satellite interference independence (Remark 1, Fig. 2)</h2>",
        "<p>For each receiving user, interfering user and satellite pair, the two copies of "
        "the interfering stream on the same subcarriers are correlated after removing their "
        "deterministic relative phase (the delay ramp across subcarriers and the Doppler drift "
        "across symbols; without it even identical symbols give a near-zero sum, grey "
        "points). Two DFT windows share N - |D| transmitted samples when the copies are D "
        "samples apart, so the correlation falls as 1 - |D|/N and vanishes at N samples = "
        f"{cfg.fft_size / (cfg.fft_size + cfg.cyclic_prefix_length):.3f} symbols; between N "
        "and 2N only cyclic-prefix copies remain (at most N_cp/N). One OFDM symbol "
        "(Remark 1's threshold) is therefore sufficient up to the CP leakage.</p>",
        _table(["statistic", "value"], [
            ["pairs (drop, receiver, interferer, satellite pair)", c["pairs"]],
            ["|delay diff| >= 1 symbol: mean / 99th pct / max |corr|",
             f"{c['corr_far_mean']:.4f} / {c['corr_far_p99']:.4f} / {c['corr_far_max']:.4f}"],
            ["|delay diff| < 1 symbol: mean / min |corr|",
             f"{_f(c['corr_near_mean'])} / {_f(c['corr_near_min'])}"],
            ["rms deviation from the shared-sample prediction (< 1 symbol)",
             _f(c["near_rms_dev_from_prediction"])],
            ["estimation floor 0.89/sqrt(MQ); CP bound N_cp/N",
             f"{c['estimation_floor']:.4f}; {c['cp_bound']:.4f}"],
            ["fraction of pairs < 1 symbol: emulated drops",
             f"{ind['fraction_near_emulated']:.4f} +- "
             f"{_f(ind['fraction_near_emulated_std_err'], '.4f')}"],
            [f"fraction < 1 symbol from the geometry (Fig. 2 complement, "
             f"{ind['geometry_drops']} drops)",
             f"{ind['fraction_near_geometry']:.4f} +- "
             f"{_f(ind['fraction_near_geometry_std_err'], '.4f')}"],
            ["summed / separate interference power per (receiver, interferer): mean, "
             "99th pct |.|, max |.| (dB)",
             f"{pr['mean_db']:+.3f}, {pr['p99_abs_db']:.3f}, {pr['max_abs_db']:.3f}"],
            ["the same per receiver, all interferers: mean, max |.| (dB)",
             f"{pr['user_mean_db']:+.3f}, {pr['user_max_abs_db']:.3f}"],
            ["(receiver, interferer) with a satellite pair < 1 symbol apart: count, "
             "mean |ratio| (dB)", f"{pr['pairs_with_a_near_copy']}, {_f(pr['mean_abs_db_near'])}"],
            ["per-subcarrier swing bound 10 log10(1 + r), (receiver, interferer): median / max "
             "with a copy pair < 1 symbol; max with all pairs >= 1 symbol (dB)",
             f"{_f(sw['pair_near_median_db'], '.2f')} / {_f(sw['pair_near_max_db'], '.2f')}; "
             f"{_f(sw['pair_far_max_db'], '.2f')}"],
            ["the same for the total interference at each receiver: median / 90th pct / max "
             "(dB); fraction of receivers above 1 dB",
             f"{sw['user_median_db']:.2f} / {sw['user_p90_db']:.2f} / {sw['user_max_db']:.2f}; "
             f"{sw['receivers_above_1db']:.3f}"],
            [f"worst pair (drop {wp['drop']}, receiver {wp['j']}, interferer {wp['i']}): bound "
             "vs measured per-subcarrier range of summed / separate power (dB)",
             f"{wp['bound_max_db']:+.2f} vs [{wp['measured_min_db']:+.2f}, "
             f"{wp['measured_max_db']:+.2f}]"],
        ]),
        "<p>Even for correlated copies the band-averaged summed power equals the sum of the "
        "powers: the cross term rotates with the delay ramp across the subcarriers and averages "
        "out unless the copies are within a few samples. Per subcarrier it does not: the power "
        "of copies less than one symbol apart swings by up to r = 2 sum c sqrt(p p') / sum p "
        "around the sum of the powers, so on individual subcarriers the block-diagonal Q_k of "
        "(19) misstates the interference of close users (the pairs of Fig. 2's complement), "
        "and these are the strongest interferers of an MRT-like beam. The measured rate "
        "averages the interference power over the subcarriers (linksim.emulator.measure), so "
        "it does not see this ripple. The bound adds the estimation floor of every |c| "
        "(about 0.01 per pair), which sets the median of a few tenths of a dB. Power ratios "
        "use the MRT precoder at the configured power.</p>",
        _img(figs["correlation"], "correlation"),
        _img(figs["power_ratio"], "power ratio"),
    ]

    # 4. rates
    names = s["precoders"]
    levels = rates["power_dbw"]
    sr = rates["sum_rate"]
    se = rates["sum_rate_measured_std_err"]
    rate_rows = []
    for p, name in enumerate(names):
        for li, lev in enumerate(levels):
            rate_rows.append([
                name, f"{lev:g}", f"{sr['rate_measured'][p][li]:.2f} +- {_f(se[p][li], '.2f')}",
                f"{sr['rate_analytical'][p][li]:.2f}", f"{sr['rate_ergodic'][p][li]:.2f}",
                f"{sr['rate_realised'][p][li]:.2f}",
                f"{rates['terms_db']['signal_ratio_db'][p][li]:+.2f}",
                f"{rates['terms_db']['interference_ratio_db'][p][li]:+.2f}",
                f"{rates['terms_db']['noise_ratio_db'][p][li]:+.2f}",
                f"{rates['terms_db']['self_to_signal_db'][p][li]:.1f}"])
    rank_rows = [[f"{r['power_dbw']:g}", " > ".join(r["measured"]), " > ".join(r["analytical"]),
                  "same" if r["same"] else "differs"] for r in rates["per_level_ranking"]]
    rank_rows.append(["overall (mean over levels)", " > ".join(rates["overall_measured"]),
                      " > ".join(rates["overall_analytical"]),
                      "same" if rates["overall_measured"] == rates["overall_analytical"]
                      else "differs"])
    if rates["swaps"]:
        swap_txt = "<p><b>The measured ranking differs from the analytical one.</b> For each " \
                   "swapped pair, the difference of (analytical - measured) between the two " \
                   "precoders splits into Jensen (19 vs ergodic), finite drops (ergodic vs " \
                   "model (18) on these realisations) and waveform (model (18) vs samples); " \
                   "the dominant part says which term is off:</p>" + _table(
                       ["P (dBW)", "pair", "analytical diff", "measured diff (+-1 s.e.)",
                        "jensen", "finite drops", "waveform", "dominant"],
                       [[f"{w['power_dbw']:g}", " vs ".join(w["pair"]),
                         f"{w['analytical_diff']:+.2f}",
                         f"{w['measured_diff']:+.2f} +- {_f(w['measured_diff_se'], '.2f')}"
                         f"{'' if w['significant'] else ' (n.s.)'}",
                         f"{w['components']['jensen']:+.2f}",
                         f"{w['components']['finite_drops']:+.2f}",
                         f"{w['components']['waveform']:+.2f}", w["dominant"]]
                        for w in rates["swaps"]])
    else:
        swap_txt = "<p>The measured ranking equals the analytical one at every power level.</p>"
    parts += [
        "<h2>4. Achieved vs analytical rates (eq. 19, Fig. 5 sweep)</h2>",
        "<p>Measured: the rate of the waveform samples (coherent gain per subcarrier over "
        "everything else), one fading and phase-error realisation per drop. Analytical: eq. "
        "(19), a ratio of expectations. Ergodic: E log2(1 + SINR) over the same statistics "
        "(Monte Carlo), which the mean measured rate approaches if the signal model (18) "
        "holds; (19) exceeds it by Jensen's inequality (log is concave), most where the "
        "desired power fluctuates (coherent combining across satellites under phase errors, "
        "low kappa). Realised: model (18) on each drop's actual fading and phase errors, so "
        "measured - realised is the waveform effect alone and realised - ergodic the finite "
        "number of drops. Term ratios: measured / model power, ratio of means over drops and "
        "users (dB); with few drops the signal term scatters by the fading spread. Iterative "
        "precoders run with the config's max_iterations and rate_threshold and their default "
        "W-step, as in 'linksim emulate'.</p>",
        _img(figs["rates"], "rates vs power"),
        _table(["precoder", "P (dBW)", "measured (+-1 s.e.)", "analytical (19)", "ergodic",
                "realised (18)", "signal dB", "interference dB", "noise dB",
                "own ICI/ISI to signal dB"], rate_rows),
        "<h3>Ranking</h3>",
        _table(["P (dBW)", "measured", "analytical (19)", ""], rank_rows),
        swap_txt,
        _img(figs["user_scatter"], "per-user scatter"),
        receiver_section(arrays, s),                                    # section 5
    ]
    from validation.multipath import html_section

    parts.append(html_section(summary, multipath_figures))               # section 6
    if "orbit" in summary:                      # moving satellites (validation.orbit)
        from validation.orbit import render_section

        parts.append(render_section(summary["orbit"]))                   # section 7
    parts.append("<p class='note'>Numbers: validation.h5 (all arrays) and summary.json next to "
                 "this file.</p></body></html>")
    return "\n".join(parts)
