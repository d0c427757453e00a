"""Single-path physics check: one satellite, one user, given residual errors.

Runs the full waveform chain (precompensation with an estimate that is off by the given delay
and Doppler errors, true channel, receiver) and compares what the samples say with the
closed forms of eq. (13)-(16):

    Y[m, q] = e^{j theta} e^{j 2 pi Delta nu t_m} Psi(eps) e^{-j 2 pi q Delta f Delta tau} X[m, q]
              + ICI,
    theta = phi - 2 pi f_c Delta tau + 2 pi nu^c Delta tau,  eps = Delta nu / Delta f,

with t_m the absolute start time of symbol m's DFT window and Psi the ICI kernel (15). The
ICI power on used subcarrier q is sum_{p used, p != q} |Psi(p - q + eps)|^2 (unit-power data).
A residual delay beyond the CP (or early beyond the back-off) adds ISI, which the closed form
above does not contain: the comparison then shows where (16) stops holding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from linksim.emulator import EmulatorSettings, LinkState, Numerology, emulate_links

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def ici_kernel(x: np.ndarray | float, fft_size: int) -> np.ndarray:
    """Psi(x) = (1/N) sum_n e^{j 2 pi x n / N}
    = e^{j pi x (N-1)/N} sin(pi x)/(N sin(pi x/N)), eq. (15)."""
    x = np.asarray(x, dtype=float)
    num = np.sin(np.pi * x)
    den = fft_size * np.sin(np.pi * x / fft_size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.abs(den) < 1e-300, 1.0, num / np.where(den == 0, 1.0, den))
    # at integer multiples of N the kernel is 1 in magnitude; elsewhere sin(pi x)/... is exact
    ratio = np.where(np.isclose(np.mod(x, fft_size), 0.0, atol=1e-12), 1.0, ratio)
    return np.exp(1j * np.pi * x * (fft_size - 1) / fft_size) * ratio


def ici_power_closed_form(eps: float, used_logical: np.ndarray, fft_size: int) -> np.ndarray:
    """ICI power per used subcarrier for unit-power data on the used subcarriers, float64 [Q]."""
    q = np.asarray(used_logical, dtype=float)
    diff = q[None, :] - q[:, None] + eps          # [q, p] -> p - q + eps
    mag2 = np.abs(ici_kernel(diff, fft_size)) ** 2
    np.fill_diagonal(mag2, 0.0)
    return mag2.sum(axis=1)


@dataclass(frozen=True)
class SinglePathReport:
    """Measured vs closed-form single-path quantities (gains relative to the ideal 1)."""

    eps: float
    gain_closed_db: float          # 20 log10 |Psi(eps)|
    gain_measured_db: float        # mean over symbols/subcarriers of the LS gain magnitude
    phase_error_deg_max: float     # max |angle(G_meas / G_closed)| over used subcarriers
    phase_error_deg_rms: float     # rms of the same
    ici_closed_db: float           # mean ICI power relative to the signal, closed form
    ici_measured_db: float         # measured power of Y - G_closed X, relative
    isi_expected: bool             # residual delay outside [-backoff, N_cp - backoff]

    def to_dict(self) -> dict:
        return {k: (float(v) if not isinstance(v, bool) else v) for k, v in self.__dict__.items()}


def run_single_path(cfg: LinkConfig, delay_error_s: float, doppler_error_hz: float,
                    phase_error_rad: float,
                    num_symbols: int, seed: int, delay_s: float = 4.0e-3,
                    doppler_hz: float = 3.0e4) -> SinglePathReport:
    """Emulate one satellite -> one user with the given residual errors and compare."""
    from waveforms.ofdm import used_subcarrier_bins

    num = Numerology.from_config(cfg)
    fs = num.sample_rate_hz
    links = LinkState(delay_s=np.array([[delay_s]]), doppler_hz=np.array([[doppler_hz]]),
                      delay_error_s=np.array([[delay_error_s]]),
                      doppler_error_hz=np.array([[doppler_error_hz]]),
                      fading=np.array([[np.exp(1j * phase_error_rad)]]))
    from linksim.scenario import Stream, drop_rng

    rng = drop_rng(seed, 0, Stream.DATA_NOISE)
    out = emulate_links(EmulatorSettings.from_config(cfg), links.channel(), links.estimates(),
                        np.ones((1, 1, 1), dtype=complex), None, rng, num_symbols)
    bins = used_subcarrier_bins(num.fft_size, num.num_used_subcarriers)
    q = np.where(bins >= num.fft_size // 2, bins - num.fft_size, bins).astype(float)
    # closed form: common phase, Doppler drift per symbol, ICI kernel, delay ramp
    nu_c = doppler_hz - doppler_error_hz
    theta = phase_error_rad - 2 * np.pi * cfg.carrier_hz * delay_error_s \
        + 2 * np.pi * nu_c * delay_error_s
    eps = doppler_error_hz / num.subcarrier_spacing_hz
    m = np.arange(num_symbols)
    t_m = (m * num.symbol_length + num.cyclic_prefix_length - cfg.timing_backoff_samples) / fs
    drift = np.exp(2j * np.pi * doppler_error_hz * t_m)
    ramp = np.exp(-2j * np.pi * q * num.subcarrier_spacing_hz * delay_error_s)
    g_closed = np.exp(1j * theta) * ici_kernel(eps, num.fft_size) * drift[:, None] * ramp[None, :]
    y, x = out.received[0], out.symbols[0]
    # measured gain per subcarrier: LS over symbols after removing the known per-symbol drift
    g_q = (y * (drift[:, None] * x).conj()).sum(0) / (np.abs(x) ** 2).sum(0)
    closed_q = g_closed[0] / drift[0]
    phase_err = np.angle(g_q / closed_q)
    ici_meas = np.mean(np.abs(y - g_closed * x) ** 2) / np.mean(np.abs(x) ** 2)
    ici_closed = np.mean(ici_power_closed_form(eps, q, num.fft_size))
    residual_samples = delay_error_s * fs
    isi = bool(residual_samples > num.cyclic_prefix_length - cfg.timing_backoff_samples
               or residual_samples < -cfg.timing_backoff_samples)
    return SinglePathReport(
        eps=float(eps),
        gain_closed_db=float(20 * np.log10(abs(ici_kernel(eps, num.fft_size)))),
        gain_measured_db=float(20 * np.log10(np.mean(np.abs(g_q)))),
        phase_error_deg_max=float(np.degrees(np.max(np.abs(phase_err)))),
        phase_error_deg_rms=float(np.degrees(np.sqrt(np.mean(phase_err ** 2)))),
        ici_closed_db=float(10 * np.log10(max(ici_closed, 1e-30))),
        ici_measured_db=float(10 * np.log10(max(ici_meas, 1e-30))),
        isi_expected=isi)
