"""Achieved (measured from the waveforms) vs analytical rates of every precoder (Fig. 5 sweep).

For each drop (validation.drop_response: one waveform run, reused for every precoder by
linearity), precoder and per-satellite power level P in cfg.power_levels_dbw:

* measured: linksim.emulator.measure on the synthesised samples: rate_k = mean_q
  log2(1 + |G_k[q]|^2 / P_else,k), the coherent gain G from user k's own component;
* analytical: eq. (19), log2(1 + w_k^H R_k w_k / (sum_{i != k} w_i^H Q_k w_i + sigma^2))
  (linksim.ratemodel.expected_rates), a ratio of expectations over fading and phase error;
* ergodic: E log2(1 + ...) by Monte Carlo over the same statistics
  (linksim.ratemodel.ergodic_rates_mc): what the mean of the measured rate converges to if
  the signal model (18) holds exactly; eq. (19) >= it by Jensen (log2(1 + x/y) is concave in
  x) up to the interference fluctuation;
* realised model: the signal model (18) evaluated on this drop's actual fading, phase errors
  and residual delays/Dopplers, log2(1 + |sum_s g e^{j theta} Psi ramp A|^2 /
  (sum_{i != k} sum_s |g|^2 |A|^2 + sigma^2)) per subcarrier. Measured - realised isolates the
  waveform effects (ICI, ISI, correlated interference copies, filters); realised - ergodic
  is the finite-drop spread; ergodic - analytical is Jensen's gap of (19).

Term diagnostic per user: measured desired power mean_q |G|^2 vs w^H R w (eq. 26), measured
interference power (other streams only) vs sum_{i != k} w_i^H Q_k w_i (eq. 23), measured
noise power vs sigma^2, and the own-stream ICI/ISI power that the model omits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from validation.significance import paired_t_critical

if TYPE_CHECKING:
    from linksim.config import LinkConfig


#: Monte Carlo samples of the ergodic rate per (drop, precoder, level)
ERGODIC_SAMPLES = 4000


def available_precoders(include_dl: bool = True) -> list[str]:
    """Every method of the precoder registry :data:`precoders.PRECODERS`, in its order (the
    built-in methods in the order of the paper's legends, then the DTN, then methods added
    with :func:`precoders.register`); the DTN 'ms-jocdwm-dl' only with ``include_dl`` and when
    its default model file exists (importing torch)."""
    import precoders
    from precoders.dtn import METHOD_NAME as DL_NAME

    def dl_usable() -> bool:
        try:
            from pathlib import Path

            from precoders.dtn.infer import DEFAULT_MODEL_PATH

            return Path(DEFAULT_MODEL_PATH).exists()
        except Exception:  # noqa: BLE001 - the DTN is optional here (torch, model file)
            return False

    return [n for n in precoders.PRECODERS if n != DL_NAME or (include_dl and dl_usable())]


def design_precoder(name: str, scsi, power_w: float, cfg: LinkConfig) -> np.ndarray:
    """W complex128 [S, K, N_t] of precoder ``name`` at per-satellite power ``power_w`` (W)."""
    import precoders

    return np.asarray(precoders.design_with_config(name, scsi, power_w, cfg).W,
                      dtype=np.complex128)


def realised_model_rates(response, A: np.ndarray) -> np.ndarray:
    """Rate of the signal model (18) on this drop's realisation, float64 [K] (module docstring)."""
    from linksim.emulator import Numerology
    from validation.phase_model import desired_closed_form

    cfg, links = response.cfg, response.links
    gain, _ = desired_closed_form(Numerology.from_config(cfg), links, cfg.carrier_hz,
                                  cfg.timing_backoff_samples, response.num_symbols)
    k = A.shape[1]
    jj = np.arange(k)
    g_des = np.sum(gain * A[:, jj, jj][:, :, None], axis=0)           # [K, Q]
    cross = np.abs(A) ** 2
    cross[:, jj, jj] = 0.0
    interference = np.sum(np.abs(links.fading) ** 2 * cross.sum(axis=2), axis=0)   # [K]
    sinr = np.abs(g_des) ** 2 / (interference + response.scsi.noise_power_w)[:, None]
    return np.log2(1.0 + sinr).mean(axis=1)


def compare_rates(responses: list, names: list[str], power_levels_dbw, seed: int,
                  ergodic_samples: int = ERGODIC_SAMPLES, progress=None
                  ) -> dict[str, np.ndarray]:
    """Measured, analytical, ergodic and realised-model rates and the power terms.

    Returns float64 arrays [P, L, D, K] (precoder, level, drop, user): rate_measured,
    rate_analytical, rate_ergodic, rate_realised, signal_measured, signal_model,
    interference_measured, interference_model, noise_measured, noise_model, self_measured
    (own-stream ICI/ISI power), and power_dbw [L].
    """
    from linksim.emulator import measure
    from linksim.ratemodel import coupling, ergodic_rates_mc, expected_rates, rate_terms
    from linksim.scenario import Stream, drop_rng

    levels = np.asarray(power_levels_dbw, dtype=float)
    k = responses[0].scsi.num_users
    shape = (len(names), levels.size, len(responses), k)
    keys = ("rate_measured", "rate_analytical", "rate_ergodic", "rate_realised",
            "signal_measured", "signal_model", "interference_measured", "interference_model",
            "noise_measured", "noise_model", "self_measured")
    out = {key: np.zeros(shape) for key in keys}
    for d, r in enumerate(responses):
        noise_meas = np.mean(np.abs(r.noise) ** 2, axis=(1, 2))
        for p, name in enumerate(names):
            for li, level in enumerate(levels):
                W = design_precoder(name, r.scsi, float(10 ** (level / 10)), r.cfg)
                A = coupling(r.scsi.steering, W)
                emu = r.output(A)
                meas = measure(emu)
                interf = r.interference(A)
                own = emu.desired - meas.desired_gain[:, None, :] * emu.symbols
                signal, interference, _ = rate_terms(r.scsi, W)
                rng = drop_rng(seed, r.drop.drop_index, Stream.ERGODIC)
                idx = (p, li, d)
                out["rate_measured"][idx] = meas.rate
                out["rate_analytical"][idx] = expected_rates(r.scsi, W)
                out["rate_ergodic"][idx] = ergodic_rates_mc(r.scsi, W, rng, ergodic_samples)
                out["rate_realised"][idx] = realised_model_rates(r, A)
                out["signal_measured"][idx] = meas.desired_power
                out["signal_model"][idx] = signal
                out["interference_measured"][idx] = np.mean(np.abs(interf) ** 2, axis=(1, 2))
                out["interference_model"][idx] = interference
                out["noise_measured"][idx] = noise_meas
                out["noise_model"][idx] = r.scsi.noise_power_w
                out["self_measured"][idx] = np.mean(np.abs(own) ** 2, axis=(1, 2))
                if progress is not None:
                    progress.update()
    out["power_dbw"] = levels
    return out


def _db(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10 * np.log10(x)


def summarise(res: dict[str, np.ndarray], names: list[str]) -> dict[str, Any]:
    """Sum rates (mean over drops), rankings per level and overall, and the term diagnostic.

    Term ratios are ratios of means over drops and users (dB): with finite drops they scatter
    around 0 dB by the fading spread (Rician, kappa ~ 25 dB: small; the coherent sum over
    satellites with phase errors: larger).
    """
    sums = {key: res[key].sum(axis=-1).mean(axis=-1)        # [P, L]
            for key in ("rate_measured", "rate_analytical", "rate_ergodic", "rate_realised")}
    drops = res["rate_measured"].shape[2]
    se = (res["rate_measured"].sum(axis=-1).std(axis=-1, ddof=1) / np.sqrt(drops)
          if drops > 1 else np.full(sums["rate_measured"].shape, np.nan))

    def order(values: np.ndarray) -> list[str]:
        return [names[i] for i in np.argsort(-values, kind="stable")]

    levels = res["power_dbw"]
    per_level = []
    for li, level in enumerate(levels):
        m_order = order(sums["rate_measured"][:, li])
        a_order = order(sums["rate_analytical"][:, li])
        per_level.append({"power_dbw": float(level), "measured": m_order, "analytical": a_order,
                          "same": m_order == a_order})
    overall_m = order(sums["rate_measured"].mean(axis=1))
    overall_a = order(sums["rate_analytical"].mean(axis=1))
    terms = {}
    for key in ("signal", "interference", "noise"):
        ratio = res[f"{key}_measured"].mean(axis=(2, 3)) / res[f"{key}_model"].mean(axis=(2, 3))
        terms[f"{key}_ratio_db"] = _db(ratio)                                   # [P, L]
    terms["self_to_signal_db"] = _db(res["self_measured"].mean(axis=(2, 3))
                                     / res["signal_measured"].mean(axis=(2, 3)))
    gaps = {"jensen": sums["rate_analytical"] - sums["rate_ergodic"],
            "finite_drops": sums["rate_ergodic"] - sums["rate_realised"],
            "waveform": sums["rate_realised"] - sums["rate_measured"]}
    return {"sum_rates": sums, "sum_rate_measured_se": se, "per_level": per_level,
            "measured_per_drop": res["rate_measured"].sum(axis=-1),
            "overall_measured": overall_m, "overall_analytical": overall_a,
            "ranking_same": bool(overall_m == overall_a
                                 and all(p["same"] for p in per_level)),
            "terms": terms, "gaps": gaps}


def explain_swaps(summary: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """For every level where the measured order differs from the analytical one, the swapped
    pairs and which component of (analytical - measured) differs most between the two.

    Components per precoder: jensen (19 vs ergodic), finite_drops (ergodic vs this realisation
    under model (18)), waveform (model (18) vs the samples). Returns one dict per swapped pair,
    with measured_diff_se, the standard error of the paired per-drop difference, and
    significant = |measured_diff| > t measured_diff_se with t the two-sided 95 % quantile of
    the paired t statistic at the number of drops (validation.significance; otherwise the
    measured order of the pair is within the drop-to-drop noise).
    """
    out = []
    sums, gaps = summary["sum_rates"], summary["gaps"]
    for li, lev in enumerate(summary["per_level"]):
        if lev["same"]:
            continue
        for ai, a in enumerate(names):
            for b in names[ai + 1:]:
                pa, pb = names.index(a), names.index(b)
                da = sums["rate_analytical"][pa, li] - sums["rate_analytical"][pb, li]
                dm = sums["rate_measured"][pa, li] - sums["rate_measured"][pb, li]
                if np.sign(da) == np.sign(dm) or da == 0 or dm == 0:
                    continue
                comp = {key: float(g[pa, li] - g[pb, li]) for key, g in gaps.items()}
                worst = max(comp, key=lambda c: abs(comp[c]))
                per_drop = (summary["measured_per_drop"][pa, li]
                            - summary["measured_per_drop"][pb, li])
                se = (float(per_drop.std(ddof=1) / np.sqrt(per_drop.size)) if per_drop.size > 1
                      else float("nan"))
                out.append({"power_dbw": lev["power_dbw"], "pair": [a, b],
                            "analytical_diff": float(da), "measured_diff": float(dm),
                            "measured_diff_se": se,
                            "significant": bool(abs(dm) > paired_t_critical(per_drop.size)
                                                * se) if se == se else True,
                            "components": comp, "dominant": worst})
    return out
