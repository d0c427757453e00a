"""The figures of the validation report, drawn with matplotlib (Agg) into PNG bytes.

Each function takes the report's arrays (validation.report.run_validation, keys
"group/name") and returns PNG bytes; :func:`all_figures` returns {name: PNG bytes}.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
                         "svg.hashsalt": "linksim", "figure.dpi": 110})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def phase_errors(a: dict[str, np.ndarray]) -> bytes:
    """Histograms of the measured-vs-(13)-(15) gain errors on the drops."""
    plt = _plt()
    fig, ax = plt.subplots(1, 3, figsize=(11, 3.2))
    mag = a["phase_model/drops/mag_err_db"].ravel()
    ph = a["phase_model/drops/phase_err_deg"].ravel()
    ax[0].hist(mag, bins=80, color="C0")
    ax[0].set_xlabel("magnitude error 20 log10|G_meas/G_model| (dB)")
    ax[0].set_ylabel("satellite-user-subcarrier samples")
    ax[1].hist(ph, bins=80, color="C1")
    ax[1].set_xlabel("phase error angle(G_meas/G_model) (deg)")
    nm = a["phase_model/drops/nmse_16_db"].ravel()
    ax[2].hist(nm, bins=40, color="C2")
    ax[2].set_xlabel("NMSE of (16) per link (dB)")
    fig.suptitle("Desired gain per satellite on the drops vs (13)-(16)")
    return _png(fig)


def doppler_sweep(a: dict[str, np.ndarray], threshold_db: float, eps_cfg: float) -> bytes:
    """NMSE of (16) and the gain |G| vs residual Doppler eps."""
    plt = _plt()
    eps = a["phase_model/sweep_doppler/eps"]
    pos = eps > 0
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    ax[0].semilogx(eps[pos], a["phase_model/sweep_doppler/nmse_16_db"][pos], "o",
                   label="measured (waveform)")
    ax[0].semilogx(eps[pos], a["phase_model/sweep_doppler/nmse_closed_db"][pos], "-",
                   label="(1-|Psi|)^2 + ICI, eq. (15)")
    ax[0].axhline(threshold_db, color="k", ls="--", lw=1, label=f"{threshold_db:g} dB")
    ax[0].axvline(0.1, color="C3", ls=":", lw=1, label="10% of Delta f")
    if eps_cfg > 0:
        ax[0].axvline(eps_cfg, color="C2", ls="-.", lw=1, label="configured 3 sigma")
    ax[0].set_xlabel("residual Doppler eps = Delta nu / Delta f")
    ax[0].set_ylabel("NMSE of approximation (16) (dB)")
    ax[0].legend(fontsize=7)
    ax[1].plot(eps, a["phase_model/sweep_doppler/gain_db"], "o", label="measured |G|")
    ax[1].plot(eps, a["phase_model/sweep_doppler/gain_closed_db"], "-", label="|Psi(eps)|")
    ax[1].set_xlabel("eps")
    ax[1].set_ylabel("desired gain (dB)")
    ax[1].legend(fontsize=7)
    fig.suptitle("Where 'residual frequency offset << subcarrier spacing' stops holding")
    return _png(fig)


def delay_sweep(a: dict[str, np.ndarray], threshold_db: float, margin: tuple[int, int]) -> bytes:
    """NMSE of (16) vs residual delay, with the CP margin shaded."""
    plt = _plt()
    d = a["phase_model/sweep_delay/delay_samples"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.axvspan(margin[0], margin[1], color="C2", alpha=0.15, label="no-ISI margin (case (i))")
    clip = -80.0
    ax.plot(d, np.maximum(a["phase_model/sweep_delay/nmse_16_db"], clip), "o",
            label="measured (waveform)")
    ax.plot(d, np.maximum(a["phase_model/sweep_delay/nmse_closed_db"], clip), "-",
            label="2 e / N (e samples outside the margin)")
    ax.axhline(threshold_db, color="k", ls="--", lw=1, label=f"{threshold_db:g} dB")
    ax.set_xlabel("residual delay Delta tau (samples at N Delta f)")
    ax.set_ylabel(f"NMSE of (16) (dB, clipped at {clip:g})")
    ax.legend(fontsize=7)
    ax.set_title("Residual delay beyond the CP: ISI")
    return _png(fig)


def expected_phase(a: dict[str, np.ndarray]) -> bytes:
    """Empirical E e^{j theta} with 3-sigma bars vs exp(-sigma^2/2)."""
    plt = _plt()
    v = a["expected_phase/variance_rad2"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    grid = np.linspace(0, max(v.max(), 0.1), 200)
    ax.plot(grid, np.exp(-grid / 2), "-", label="exp(-sigma^2/2), eq. (25)")
    ax.errorbar(v, a["expected_phase/empirical_real"], yerr=3 * a["expected_phase/std_err"],
                fmt="o", capsize=3, label="Re mean e^{j theta} from the samples (3 s.e.)")
    ax.plot(v, a["expected_phase/empirical_imag"], "x", label="Im (expected 0)")
    ax.set_xlabel("phase-error variance sigma_theta^2 (rad^2)")
    ax.set_ylabel("E e^{j theta}")
    ax.legend(fontsize=7)
    ax.set_title("Expected phase error over the emulated error draws")
    return _png(fig)


def correlation(a: dict[str, np.ndarray], cp_bound: float, floor: float,
                symbol_over_fft: float) -> bytes:
    """|corr| of interference copies vs their delay difference in OFDM symbols.

    symbol_over_fft : (N + N_cp) / N, to draw the envelope 1 - |D|/N in symbols."""
    plt = _plt()
    d = np.abs(a["independence/pairs/delay_diff_symbols"])
    c = a["independence/pairs/corr"]
    raw = a["independence/pairs/corr_raw"]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.maximum(d, 1e-3)
    ax.semilogx(x, raw, ".", ms=2, color="0.7", label="plain correlation (phase ramp kept)")
    ax.semilogx(x, c, ".", ms=3, color="C0", label="ramp/drift removed")
    ax.semilogx(x, a["independence/pairs/predicted"], "x", ms=3, color="C1",
                label="shared-sample prediction (with Doppler)")
    grid = np.logspace(-3, 0, 200)
    ax.semilogx(grid, np.clip(1 - grid * symbol_over_fft, 0, None), "--", color="C1", lw=0.8,
                label="1 - |D|/N (no Doppler)")
    ax.axvline(1.0, color="k", ls="--", lw=1, label="1 OFDM symbol (Remark 1)")
    ax.axhline(cp_bound, color="C3", ls=":", lw=1, label="N_cp / N (CP copies)")
    ax.axhline(floor, color="C2", ls=":", lw=1, label="estimation floor")
    ax.set_xlabel("|delay difference| of the two copies (OFDM symbols)")
    ax.set_ylabel("|correlation coefficient|")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("Interference via two satellites: same subcarriers, correlation")
    return _png(fig)


def power_ratio(a: dict[str, np.ndarray]) -> bytes:
    """Summed vs separate interference power per (receiver, interferer)."""
    plt = _plt()
    r = a["independence/power/ratio_db"]
    near = a["independence/power/min_abs_delay_diff_symbols"] < 1.0
    fig, ax = plt.subplots(figsize=(7, 3.4))
    bins = np.linspace(min(r.min(), -0.5), max(r.max(), 0.5), 60)
    ax.hist(r[~near], bins=bins, label="all satellite pairs >= 1 symbol apart")
    if near.any():
        ax.hist(r[near], bins=bins, alpha=0.7, label="some pair < 1 symbol apart")
    ax.set_xlabel("power of summed / sum of powers (dB), per (receiver, interferer)")
    ax.set_ylabel("count")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("Approximation of (19): copies add in power (0 dB)")
    return _png(fig)


def rates_vs_power(a: dict[str, np.ndarray], names: list[str]) -> bytes:
    """Left: mean sum rate vs power, measured (markers) and analytical (19) (lines). Right: the
    differences measured - (19) (markers, 2 standard errors of the paired difference over the
    drops) and ergodic - (19) (lines, Jensen's gap)."""
    plt = _plt()
    p = a["rates/power_dbw"]
    meas = a["rates/rate_measured"].sum(-1)       # [P, L, D]
    anal = a["rates/rate_analytical"].sum(-1)
    ergo = a["rates/rate_ergodic"].sum(-1)
    drops = meas.shape[2]
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, name in enumerate(names):
        col = f"C{i}"
        diff = meas[i] - anal[i]
        se = diff.std(axis=-1, ddof=1) / np.sqrt(drops) if drops > 1 else 0 * p
        ax[0].plot(p, meas[i].mean(-1), "o", color=col, ms=4, label=f"{name} measured")
        ax[0].plot(p, anal[i].mean(-1), "-", color=col, lw=1, label=f"{name} (19)")
        shift = (i - (len(names) - 1) / 2) * 0.25
        ax[1].errorbar(p + shift, diff.mean(-1), yerr=2 * se, fmt="o", color=col, capsize=2,
                       ms=4, label=f"{name} measured - (19)")
        ax[1].plot(p, (ergo[i] - anal[i]).mean(-1), "--", color=col, lw=1)
    ax[0].set_xlabel("per-satellite power per subcarrier P (dBW)")
    ax[0].set_ylabel("sum rate (bit/s/Hz)")
    ax[0].legend(fontsize=7, ncol=2)
    ax[0].set_title(f"Achieved vs analytical sum rate ({drops} drop{'s' if drops != 1 else ''}"
                    + ("; one drop: no error bars" if drops == 1 else "") + ")")
    ax[1].axhline(0.0, color="k", lw=0.8)
    ax[1].set_xlabel("P (dBW)")
    ax[1].set_ylabel("sum-rate difference (bit/s/Hz)")
    ax[1].set_title("measured - (19) (2 s.e., paired); dashed: ergodic - (19)")
    ax[1].legend(fontsize=7)
    return _png(fig)


def user_scatter(a: dict[str, np.ndarray], names: list[str]) -> bytes:
    """Per-user measured vs analytical rate, every drop and level."""
    plt = _plt()
    meas, anal = a["rates/rate_measured"], a["rates/rate_analytical"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = max(meas.max(), anal.max()) * 1.05
    for i, name in enumerate(names):
        ax.plot(anal[i].ravel(), meas[i].ravel(), ".", ms=3, color=f"C{i}", label=name)
    ax.plot([0, top], [0, top], "k-", lw=0.8)
    ax.set_xlabel("analytical rate (19) (bit/s/Hz)")
    ax.set_ylabel("measured rate (bit/s/Hz)")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.legend(fontsize=7, markerscale=3)
    ax.set_title("Per-user rates")
    return _png(fig)


def all_figures(a: dict[str, np.ndarray], summary: dict[str, Any]) -> dict[str, bytes]:
    pm = summary["phase_model"]
    corr = summary["independence"]["correlation"]
    names = summary["precoders"]
    thr = summary["nmse_threshold_db"]
    return {
        "phase_errors": phase_errors(a),
        "doppler_sweep": doppler_sweep(a, thr, pm["configured_3sigma_eps"]),
        "delay_sweep": delay_sweep(a, thr, tuple(pm["cp_margin_samples"])),
        "expected_phase": expected_phase(a),
        "correlation": correlation(a, corr["cp_bound"], corr["estimation_floor"],
                                   1.0 + corr["cp_bound"]),
        "power_ratio": power_ratio(a),
        "rates": rates_vs_power(a, names),
        "user_scatter": user_scatter(a, names),
    }
