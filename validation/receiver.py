"""Genie vs practical receiver in ``linksim validate``: the rate every precoder achieves when the
receiver estimates its channel from the DMRS pilots (linksim.emulator.receiver_dmrs) instead of
knowing its desired component (linksim.emulator.measure).

Per drop (one task): the drop's waveforms with DMRS pilots in the burst (validation.drop_response
with receiver = dmrs-ls: unit couplings, reused for every precoder by linearity), and for every
precoder and power level: the genie rate, the GMI of the dmrs-ls and dmrs-lmmse receivers (gross,
per data RE, and net of the pilot overhead), their EVM, and the analytical (19). Verdicts:

* estimation loss: largest relative loss (genie - receiver) / genie of the sum rate over the
  precoders and levels (the mean over drops; paired standard errors over drops), threshold
  LOSS_REL_MAX; "breaks at <= X dBW" when it fails at the levels up to X only (low rates,
  where the estimation noise is a large fraction of the rate);
* ranking: does the order of the precoders by the receiver's rate equal the genie's order at
  every level? Swapped pairs are significant when the receiver's paired per-drop difference
  exceeds 2 standard errors.

Without residual Doppler the genie bounds the receiver; with it (the default 5 Hz) the genie's
gain is constant over the burst while the receiver's time interpolation between the DMRS
symbols follows the drift, so at high post-equaliser SINR (> 35 dB) the receiver can exceed it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from validation.report_numbers import num, numbers_text
from validation.significance import paired_t_critical

#: relative loss of the sum rate (genie - receiver) / genie for "holds"
LOSS_REL_MAX = 0.05
#: the practical receivers compared with the genie
METHODS = ("dmrs-ls", "dmrs-lmmse")


def pick_levels(levels, max_levels: int) -> list[float]:
    """All levels (max_levels <= 0) or max_levels of them spread evenly, ends included."""
    levels = [float(v) for v in levels]
    if max_levels <= 0 or max_levels >= len(levels):
        return levels
    idx = np.unique(np.round(np.linspace(0, len(levels) - 1, max_levels)).astype(int))
    return [levels[i] for i in idx]


def receiver_task(cfg, seed: int, drop_index: int, num_symbols: int, names: list[str],
                  max_levels: int = 0) -> dict[str, Any]:
    """One drop: arrays [P, L, 1, K] rate_genie, rate_analytical, rate_<m>, rate_<m>_net,
    evm_<m>_db for m in dmrs_ls, dmrs_lmmse; and power_dbw [L]. Empty when the observed
    symbols hold no DMRS symbol."""
    from linksim.emulator import measure
    from linksim.emulator.receiver_dmrs import DmrsReceiver, dmrs_receive
    from linksim.ratemodel import coupling, expected_rates
    from validation.drop_response import drop_response
    from validation.rates import design_precoder

    if num_symbols <= min(cfg.dmrs_symbols):
        return {}                                   # no DMRS symbol observed: no comparison
    pilot_cfg = cfg.replace(receiver="dmrs-ls")
    r = drop_response(pilot_cfg, seed, drop_index, num_symbols)
    levels = pick_levels(cfg.power_levels_dbw, max_levels)
    k = r.scsi.num_users
    shape = (len(names), len(levels), 1, k)
    keys = ["rate_genie", "rate_analytical"] + [
        f"{pre}_{m.replace('-', '_')}{suf}" for m in METHODS
        for pre, suf in (("rate", ""), ("rate", "_net"), ("evm", "_db"))]
    out = {key: np.zeros(shape) for key in keys}
    rxs = {m: DmrsReceiver.from_config(pilot_cfg, method=m) for m in METHODS}
    for p, name in enumerate(names):
        for li, level in enumerate(levels):
            W = design_precoder(name, r.scsi, float(10 ** (level / 10)), cfg)
            emu = r.output(coupling(r.scsi.steering, W))
            genie = measure(emu)
            out["rate_genie"][p, li, 0] = genie.rate
            out["rate_analytical"][p, li, 0] = expected_rates(r.scsi, W)
            for m, rx in rxs.items():
                res = dmrs_receive(rx, emu.received, emu.symbols)
                tag = m.replace("-", "_")
                out[f"rate_{tag}"][p, li, 0] = res.rate
                out[f"rate_{tag}_net"][p, li, 0] = res.rate_net
                out[f"evm_{tag}_db"][p, li, 0] = 20 * np.log10(res.evm)
    out["power_dbw"] = np.asarray(levels)
    return out


def merge(results: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The drops' task results concatenated along the drop axis ([P, L, D, K])."""
    merged = {k: np.concatenate([r[k] for r in results], axis=2)
              for k in results[0] if k != "power_dbw"}
    merged["power_dbw"] = np.asarray(results[0]["power_dbw"])
    return merged


def _order(names: list[str], values: np.ndarray) -> list[str]:
    return [names[i] for i in np.argsort(-values, kind="stable")]


def summarise(res: dict[str, np.ndarray], names: list[str]) -> dict[str, Any]:
    """Sum rates (mean over drops) per receiver, estimation loss with paired standard errors,
    rankings and swaps, and the verdict rows."""
    levels = res["power_dbw"]
    drops = res["rate_genie"].shape[2]
    genie = res["rate_genie"].sum(-1)                               # [P, L, D]
    out: dict[str, Any] = {"power_dbw": levels.tolist(), "precoders": list(names),
                           "drops": drops, "loss_rel_max": LOSS_REL_MAX,
                           "sum_rate": {"genie": genie.mean(-1),
                                        "analytical": res["rate_analytical"].sum(-1).mean(-1)}}
    rows = []
    for m in METHODS:
        tag = m.replace("-", "_")
        est = res[f"rate_{tag}"].sum(-1)
        loss = genie - est
        se = loss.std(-1, ddof=1) / np.sqrt(drops) if drops > 1 else np.full(loss.shape[:2],
                                                                                np.nan)
        rel = loss.mean(-1) / genie.mean(-1)
        out["sum_rate"][m] = est.mean(-1)
        out["sum_rate"][f"{m}_net"] = res[f"rate_{tag}_net"].sum(-1).mean(-1)
        out[f"loss_{tag}"] = loss.mean(-1)
        out[f"loss_{tag}_std_err"] = se
        out[f"loss_{tag}_rel"] = rel
        out[f"evm_{tag}_db_mean"] = res[f"evm_{tag}_db"].mean(axis=(2, 3))
        worst = np.unravel_index(int(np.nanargmax(rel)), rel.shape)
        bad_levels = [float(levels[li]) for li in range(levels.size)
                      if np.any(rel[:, li] >= LOSS_REL_MAX)]
        if not bad_levels:
            verdict = "holds"
        elif len(bad_levels) == levels.size:
            verdict = "fails"
        else:
            verdict = f"breaks at <= {max(bad_levels):g} dBW"
        rows.append({
            "assumption": f"a {m} receiver (DMRS, estimated CSI) achieves the genie rate",
            "metric": f"largest (genie - {m}) / genie sum rate over precoders and levels "
                      f"(GMI per data RE, mean of {drops} drops); its loss +- paired s.e.",
            "value": f"{rel[worst]:.3f} ({names[worst[0]]} at {levels[worst[1]]:g} dBW: "
                     f"{loss.mean(-1)[worst]:.2f} +- {se[worst]:.2f} bit/s/Hz)",
            "numbers": [num(f"largest (genie - {m}) / genie sum rate", rel[worst], "1"),
                        num("power of that point", levels[worst[1]], "dBW"),
                        num(f"its loss, genie - {m} sum rate", loss.mean(-1)[worst],
                            "bit/s/Hz"),
                        num("paired standard error of the loss", se[worst], "bit/s/Hz")],
            "threshold": f"< {LOSS_REL_MAX:g}",
            "verdict": verdict})
        swaps = []
        crit = paired_t_critical(drops)
        for li, level in enumerate(levels):
            g_order = _order(names, genie.mean(-1)[:, li])
            e_order = _order(names, est.mean(-1)[:, li])
            if g_order == e_order:
                continue
            for ai, a in enumerate(names):
                for b in names[ai + 1:]:
                    pa, pb = names.index(a), names.index(b)
                    dg = genie.mean(-1)[pa, li] - genie.mean(-1)[pb, li]
                    d = est[pa, li] - est[pb, li]
                    if np.sign(dg) == np.sign(d.mean()) or dg == 0:
                        continue
                    dse = float(d.std(ddof=1) / np.sqrt(drops)) if drops > 1 else float("nan")
                    swaps.append({"power_dbw": float(level), "pair": [a, b],
                                  "genie_diff": float(dg), "receiver_diff": float(d.mean()),
                                  "receiver_diff_se": dse,
                                  "significant": bool(abs(d.mean()) > crit * dse)
                                  if dse == dse else True})
        out[f"swaps_{tag}"] = swaps
        out[f"overall_{tag}"] = _order(names, est.mean(-1).mean(-1))
        rows.append({
            "assumption": f"precoder ranking unchanged by {m} channel estimation",
            "metric": f"order by the {m} rate vs by the genie rate per level; swapped pairs "
                      f"(significant: beyond {crit:.2f} paired s.e. over drops, the "
                      f"two-sided 95 % t quantile at {drops} drops)",
            "value": " > ".join(out[f"overall_{tag}"]) + "; " + (
                "; ".join(f"{w['pair'][0]}/{w['pair'][1]} at {w['power_dbw']:g} dBW "
                          f"({'significant' if w['significant'] else 'n.s.'})" for w in swaps)
                if swaps else "no swaps"),
            "numbers": [num(f"power of the swap {w['pair'][0]}/{w['pair'][1]}",
                            w["power_dbw"], "dBW") for w in swaps]
                       + [num("swapped pairs", len(swaps), "pairs"),
                          num("significant swapped pairs",
                              sum(bool(w["significant"]) for w in swaps), "pairs")],
            "threshold": "same order, or swaps not significant",
            "verdict": "holds" if not any(w["significant"] for w in swaps) else "fails"})
    out["overall_genie"] = _order(names, genie.mean(-1).mean(-1))
    out["table"] = rows
    return out


def rates_figure(res: dict[str, np.ndarray], names: list[str]) -> bytes:
    """Sum rate vs power: genie (solid), dmrs-ls (dashed), dmrs-lmmse (dotted) per precoder;
    right: the estimation loss with +-1 paired standard error."""
    from validation.report_figures import _plt, _png

    plt = _plt()
    levels = res["power_dbw"]
    drops = res["rate_genie"].shape[2]
    genie = res["rate_genie"].sum(-1)
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    for p, name in enumerate(names):
        c = f"C{p}"
        ax[0].plot(levels, genie[p].mean(-1), "-", color=c, label=name)
        for m, style in zip(METHODS, ("--", ":")):
            est = res[f"rate_{m.replace('-', '_')}"].sum(-1)[p]
            ax[0].plot(levels, est.mean(-1), style, color=c)
            loss = genie[p] - est
            se = loss.std(-1, ddof=1) / np.sqrt(drops) if drops > 1 else 0 * loss[:, 0]
            ax[1].errorbar(levels + (0.3 if m == "dmrs-lmmse" else 0.0), loss.mean(-1), se,
                           fmt="o" + style[0], color=c, ms=3, capsize=2)
    ax[0].set_xlabel("per-satellite power (dBW per subcarrier)")
    ax[0].set_ylabel("sum rate (bit/s/Hz)")
    ax[0].set_title("genie (solid), dmrs-ls (dashed), dmrs-lmmse (dotted)")
    ax[0].legend(fontsize=7)
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set_xlabel("per-satellite power (dBW per subcarrier)")
    ax[1].set_ylabel("genie - receiver sum rate (bit/s/Hz)")
    ax[1].set_title("estimation loss, +-1 paired s.e. (lmmse shifted right)")
    return _png(fig)


def render_section(arrays: dict[str, np.ndarray], summary: dict[str, Any]) -> str:
    """The HTML section of the receiver comparison (empty when the run had none)."""
    from validation.report_html import _e, _img, _table

    s = summary.get("receiver")
    if not s:
        return ""
    res = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("receiver/")}
    names = s["precoders"]
    rows = []
    for p, name in enumerate(names):
        for li, lev in enumerate(s["power_dbw"]):
            sr = s["sum_rate"]
            rows.append([name, f"{lev:g}", f"{sr['analytical'][p][li]:.2f}",
                         f"{sr['genie'][p][li]:.2f}"] + [
                f"{sr[m][p][li]:.2f} ({sr[m + '_net'][p][li]:.2f})" for m in METHODS] + [
                f"{s['loss_' + t][p][li]:+.2f} +- {_fmt(s['loss_' + t + '_std_err'][p][li])}"
                for t in ("dmrs_ls", "dmrs_lmmse")] + [
                f"{s['evm_' + t + '_db_mean'][p][li]:.1f}" for t in ("dmrs_ls", "dmrs_lmmse")])
    return "\n".join([
        "<h2>5. Practical receiver: DMRS channel estimation vs the genie</h2>",
        "<p>The same drops with DMRS pilots in the burst (NR type 1, comb 2, slot symbols "
        f"{_e(s.get('dmrs_symbols'))}, 4 orthogonal ports, users beyond 4 reuse them); every "
        "precoder's samples by linearity. Genie: the measured rate of section 4 (desired "
        "component known). dmrs-ls / dmrs-lmmse: GMI of a Gaussian codebook decoded with the "
        "estimated channel (per data RE; in brackets net of the pilot overhead). Loss = genie "
        "- receiver, mean over drops +- paired standard error. With the residual Doppler the "
        "genie's gain is constant over the burst while the receiver interpolates in time, so "
        "at high SINR the loss can be negative.</p>",
        _img(rates_figure(res, names), "genie vs estimated-CSI rates"),
        _table(["precoder", "P (dBW)", "analytical (19)", "genie", "dmrs-ls (net)",
                "dmrs-lmmse (net)", "loss ls", "loss lmmse", "EVM ls dB", "EVM lmmse dB"],
               rows),
        _table(["assumption", "metric", "measured", "threshold", "verdict",
                "the measured numbers, labelled"],
               [[r["assumption"], r["metric"], r["value"], r["threshold"], r["verdict"],
                 numbers_text(r.get("numbers", []))] for r in s["table"]])])


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"
