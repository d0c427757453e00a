"""The practical receiver: DMRS channel estimate (linksim.emulator.estimation), one-tap
equaliser, and what it achieves: EVM, uncoded BER, and the achieved rate with estimated CSI.

On the data REs (every subcarrier of the non-DMRS symbols) of user k:

* equaliser: X^ = Y / H^ (one tap per RE, zero forcing on a flat channel);
* EVM = sqrt(sum |X^ - X|^2 / sum |X|^2); the post-equaliser SINR it implies is 1 / EVM^2
  (estimation error, bias and everything that is not the desired stream counted as noise);
* uncoded BER (QPSK, 16QAM, 64QAM): hard decisions per axis (nearest level) with the Gray
  mapping of waveforms.ofdm.qam_symbols, bit errors over bits sent;
* achieved rate with estimated CSI: the GMI of a Gaussian codebook under scaled
  nearest-neighbour decoding with the estimated channel, metric exp(-s |Y - H^ X|^2)
  = exp(-s |H^|^2 |X^ - X|^2) (the equalised symbols weighted by |H^|^2; Lapidoth and
  Shamai 2002), estimated from the samples:

      GMI = max_{s >= 0} mean_RE [ -s |Y - H^ X|^2 + ln(1 + s |H^|^2) + s |Y|^2 / (1 + s |H^|^2) ]

  in nats per RE (/ ln 2 for bits). The mean over the codebook of exp(-s |Y - H^ X'|^2),
  X' ~ CN(0, 1), is (1 + s |H^|^2)^-1 exp(-s |Y|^2 / (1 + s |H^|^2)); the bracket is concave
  in s, so one bisection on its derivative finds the maximum. Why this and not log2(1 +
  1/EVM^2): the GMI is a rate that this decoder (which only knows H^) provably achieves; it
  equals the genie's log2(1 + |G|^2 / P_else) when H^ = G and, for a Gaussian-equivalent
  channel, never exceeds it (GMI <= mutual information). log2(1 + 1/EVM^2) is reported too
  (``rate_evm``), as the rate a decoder that knew the post-equaliser SINR would get;
* with the pilot overhead: rate x (data REs / observed REs) (``rate_net``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linksim.emulator.estimation import ChannelEstimate, estimate_channel

_BITS_PER_AXIS = {"qpsk": 1, "16qam": 2, "64qam": 3}
_LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class DmrsReceiver:
    """The receiver's settings (the config's names).

    method : 'dmrs-ls' or 'dmrs-lmmse'; dmrs_symbols : slot symbols with DMRS;
    subcarrier_spacing_hz; modulation : of the data (BER only for the QAMs);
    dmrs_pdp, dmrs_delay_spread_s : the LMMSE's assumed profile
    """

    method: str
    dmrs_symbols: tuple[int, ...] = (2, 11)
    subcarrier_spacing_hz: float = 30e3
    modulation: str = "gaussian"
    dmrs_pdp: str = "exponential"
    dmrs_delay_spread_s: float = 100e-9

    @classmethod
    def from_config(cls, cfg, method: str | None = None) -> DmrsReceiver:
        method = method or cfg.receiver
        return cls(method, tuple(cfg.dmrs_symbols), cfg.subcarrier_spacing_hz, cfg.modulation,
                   cfg.dmrs_pdp, cfg.dmrs_delay_spread_s)


@dataclass(frozen=True)
class DmrsMeasurement:
    """What the practical receiver achieves, per user k (float64 [K] unless stated).

    noise_var : sigma^2 estimated from the pilots (noise plus interference per RE)
    evm : rms EVM (linear); sinr_post : 1 / EVM^2
    ber : uncoded bit error rate of the hard decisions (NaN for gaussian data)
    rate : GMI with the estimated channel, bit per data RE
    rate_net : rate x data_fraction (pilot overhead included), bit/s/Hz
    rate_evm : log2(1 + sinr_post)
    estimation_mse : mean |H^ - G|^2 / mean |G|^2 on the data REs when the genie gain G is
                     given (diagnostic only), else NaN
    data_fraction : float, data REs / observed REs
    estimate : ChannelEstimate
    sinr_pilot : the receiver's own SINR estimate, mean |H^|^2 on the data REs / noise_var
                 (what link adaptation would use)
    """

    noise_var: np.ndarray
    evm: np.ndarray
    sinr_post: np.ndarray
    ber: np.ndarray
    rate: np.ndarray
    rate_net: np.ndarray
    rate_evm: np.ndarray
    estimation_mse: np.ndarray
    data_fraction: float
    estimate: ChannelEstimate
    sinr_pilot: np.ndarray


def hard_decision(x: np.ndarray, modulation: str) -> tuple[np.ndarray, np.ndarray]:
    """Gray labels (int64, per axis: I and Q) of the nearest constellation point of
    waveforms.ofdm.qam_symbols(modulation) to every x (complex, unit average power)."""
    k = _BITS_PER_AXIS[modulation]
    side = 1 << k
    norm = np.sqrt(2.0 * (side * side - 1) / 3.0)

    def axis(v: np.ndarray) -> np.ndarray:
        b = np.clip(np.rint((v * norm + side - 1) / 2.0), 0, side - 1).astype(np.int64)
        return b ^ (b >> 1)

    return axis(x.real), axis(x.imag)


def bit_errors(x_hat: np.ndarray, x: np.ndarray, modulation: str) -> tuple[np.ndarray, int]:
    """Bit errors per entry (int64, shape of x) of the hard decisions of x_hat against the sent
    symbols x, and the bits per symbol."""
    gi, gq = hard_decision(x_hat, modulation)
    ti, tq = hard_decision(x, modulation)
    diff = np.concatenate([(gi ^ ti)[..., None], (gq ^ tq)[..., None]], axis=-1)
    k = _BITS_PER_AXIS[modulation]
    errors = sum(((diff >> b) & 1) for b in range(k)).sum(axis=-1)
    return errors, 2 * k


def qam_ber_awgn(modulation: str, snr: np.ndarray) -> np.ndarray:
    """Exact uncoded BER of Gray-mapped square M-QAM on AWGN at SNR = E_s / N_0 (linear),
    Cho and Yoon (2002), eq. (16): per bit level k of the sqrt(M)-PAM."""
    from scipy.special import erfc

    snr = np.asarray(snr, dtype=float)
    k_axis = _BITS_PER_AXIS[modulation]
    m = (1 << k_axis) ** 2
    root = 1 << k_axis
    arg = np.sqrt(3.0 * snr / (2.0 * (m - 1)))
    total = np.zeros_like(snr)
    for k in range(1, k_axis + 1):
        pk = np.zeros_like(snr)
        for i in range(int((1 - 2.0 ** -k) * root)):
            w = (-1) ** int(i * 2 ** (k - 1) / root) * (
                2 ** (k - 1) - int(np.floor(i * 2 ** (k - 1) / root + 0.5)))
            pk = pk + w * erfc((2 * i + 1) * arg)
        total = total + pk / root
    return total / k_axis


def gmi(y: np.ndarray, h_hat: np.ndarray, x: np.ndarray, iterations: int = 40) -> np.ndarray:
    """GMI (bit per RE) of a Gaussian codebook decoded with exp(-s |y - h_hat x|^2), s
    optimised per row; y, h_hat, x complex [K, ...] (the REs of each row averaged)."""
    k_count = y.shape[0]
    a = (np.abs(h_hat) ** 2).reshape(k_count, -1)
    big_a = (np.abs(y) ** 2).reshape(k_count, -1)
    big_b = (np.abs(y - h_hat * x) ** 2).reshape(k_count, -1)

    def deriv(s: np.ndarray) -> np.ndarray:
        u = 1.0 + s[:, None] * a
        return np.mean(-big_b + a / u + big_a / u ** 2, axis=1)

    def value(s: np.ndarray) -> np.ndarray:
        u = 1.0 + s[:, None] * a
        return np.mean(-s[:, None] * big_b + np.log(u) + s[:, None] * big_a / u, axis=1)

    positive = deriv(np.zeros(k_count)) > 0
    hi = 1.0 / np.maximum(big_b.mean(axis=1), 1e-300)
    for _ in range(200):
        grow = positive & (deriv(hi) > 0)
        if not grow.any():
            break
        hi = np.where(grow, hi * 4.0, hi)
    lo = np.zeros(k_count)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        up = deriv(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    s = np.where(positive, 0.5 * (lo + hi), 0.0)
    return np.maximum(value(s), 0.0) / _LN2


def dmrs_receive(rx: DmrsReceiver, received: np.ndarray, symbols: np.ndarray,
                 genie_gain: np.ndarray | None = None) -> DmrsMeasurement:
    """Estimate, equalise and measure every user.

    received : complex128 [K, M, Q] (observed symbol m = frame symbol m); symbols : the sent
    symbols complex128 [K, M, Q] (only for the metrics, never for the estimate);
    genie_gain : complex128 [K, Q], optional, for the estimation_mse diagnostic.
    """
    est = estimate_channel(received, rx.method, rx.dmrs_symbols, rx.subcarrier_spacing_hz,
                           rx.dmrs_pdp, rx.dmrs_delay_spread_s)
    data = ~est.dmrs
    y, x, h = received[:, data], symbols[:, data], est.channel[:, data]
    with np.errstate(divide="ignore", invalid="ignore"):
        x_hat = y / h
        evm2 = np.sum(np.abs(x_hat - x) ** 2, axis=(1, 2)) / np.sum(np.abs(x) ** 2, axis=(1, 2))
        sinr = 1.0 / evm2
    if rx.modulation in _BITS_PER_AXIS:
        errors, bits = bit_errors(np.nan_to_num(x_hat), x, rx.modulation)
        ber = errors.sum(axis=(1, 2)) / (bits * errors[0].size)
    else:
        ber = np.full(received.shape[0], np.nan)
    rate = gmi(y, h, x)
    fraction = float(data.sum() / data.size)
    if genie_gain is not None:
        g = genie_gain[:, None, :]
        mse = (np.mean(np.abs(h - g) ** 2, axis=(1, 2))
               / np.mean(np.abs(genie_gain) ** 2, axis=1))
    else:
        mse = np.full(received.shape[0], np.nan)
    return DmrsMeasurement(noise_var=est.noise_var, evm=np.sqrt(evm2), sinr_post=sinr, ber=ber,
                           rate=rate, rate_net=rate * fraction, rate_evm=np.log2(1.0 + sinr),
                           estimation_mse=mse, data_fraction=fraction, estimate=est,
                           sinr_pilot=np.mean(np.abs(h) ** 2, axis=(1, 2)) / est.noise_var)
