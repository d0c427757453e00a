"""Waveform-level emulation of one drop: real OFDM samples through precompensation, the
multi-satellite delay-Doppler channel and the receivers (math.md Sec. 2.2-2.5, eq. 4-18).

Signal chain (all times absolute, in samples of the common grid at f_s = N * Delta f):

1. every user's stream x_i: data symbols on the used subcarriers, IFFT, CP (eq. before (4));
   symbol m of every user is meant to reach its user at sample m * (N + N_cp) (a common frame).
2. satellite s precompensates user i's stream with its *estimated* delay and Doppler
   tau^c = tau_{s,i} - Delta tau_{s,i}, nu^c = nu_{s,i} - Delta nu_{s,i} (eq. 5, 7):
   x~_{s,i}(t) = x_i(t + tau^c) e^{j 2 pi f_c tau^c} e^{-j 2 pi nu^c (t + tau^c)}
   (delay advance after up-conversion rotates the carrier, footnote of (4); the Doppler
   pre-rotation is referred to the receive time of its user, so it is phase continuous in
   absolute time).
3. precoding collapses to z_{s,j} = sum_i A[s,j,i] x~_{s,i}, A[s,j,i] = v_{s,j}^H w_{s,i}
   (far field: one delay per satellite and receiver; no per-antenna signals).
4. the channel applies the *true* values (eq. 1, 6): r_j(t) = sum_s g_{s,j} e^{-j 2 pi f_c
   tau_{s,j}} e^{j 2 pi nu_{s,j} t} z_{s,j}(t - tau_{s,j}) + AWGN. Delay and Doppler are
   constant over the burst (the paper's model (1)); g is block fading.
5. receiver j removes the CP and takes the DFT with its window starting
   ``timing_backoff_samples`` inside the CP (case (i) of Sec. II-C), de-rotating the known
   back-off phase ramp.

The net desired path via satellite s is x_j(t - Delta tau) e^{-j 2 pi f_c Delta tau}
e^{j 2 pi Delta nu t} (up to e^{j 2 pi nu^c Delta tau}, negligible), i.e. eq. (10)-(16);
interfering streams arrive with the large residual delays tau_{s,j} - tau^c_{s,i} of eq. (8)
and carry symbols of other indices (Remark 1). Bursts are generated long enough that every
residual delay is covered by real symbols, never by zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Numerology:
    """OFDM numerology (NR at 30 kHz: N = 1024, N_cp = 72, 612 used subcarriers)."""

    fft_size: int
    cyclic_prefix_length: int
    num_used_subcarriers: int
    subcarrier_spacing_hz: float

    @classmethod
    def from_config(cls, cfg) -> "Numerology":
        return cls(cfg.fft_size, cfg.cyclic_prefix_length, cfg.num_used_subcarriers,
                   cfg.subcarrier_spacing_hz)

    @property
    def sample_rate_hz(self) -> float:
        return self.fft_size * self.subcarrier_spacing_hz

    @property
    def symbol_length(self) -> int:
        """Samples per OFDM symbol including its CP."""
        return self.fft_size + self.cyclic_prefix_length


@dataclass(frozen=True)
class LinkState:
    """True and estimated link parameters of one drop, float64 [S, K] each.

    delay_s, doppler_hz      true one-way delay and Doppler (eq. 1)
    delay_error_s            Delta tau = tau - tau^c (eq. 7)
    doppler_error_hz         Delta nu = nu - nu^c (eq. 7)
    fading : complex [S, K]  g_{s,k} (Rician, LoS phase removed: the propagation phase
                             -2 pi f_c tau is applied here by the channel)
    """

    delay_s: np.ndarray
    doppler_hz: np.ndarray
    delay_error_s: np.ndarray
    doppler_error_hz: np.ndarray
    fading: np.ndarray

    @property
    def est_delay_s(self) -> np.ndarray:
        return self.delay_s - self.delay_error_s

    @property
    def est_doppler_hz(self) -> np.ndarray:
        return self.doppler_hz - self.doppler_error_hz


@dataclass
class EmulationOutput:
    """Received subcarrier samples of every user and what was sent.

    received : complex128 [K, M, Q]   Y_j[m, q] after CP removal and DFT (all components)
    symbols : complex128 [K, M, Q]    X_j[m, q] sent to user j in the observed symbols
    desired : complex128 [K, M, Q]    user j's own stream at user j, via all satellites
    noise : complex128 [K, M, Q]      the noise component
    components : complex128 [S, K, K, M, Q] or None   per (satellite s, receiver j, stream i)
    burst_symbols : complex128 [K, B, Q]   every symbol of the generated burst; burst index b
                    is frame symbol index b + first_symbol_index (<= 0)
    """

    received: np.ndarray
    symbols: np.ndarray
    desired: np.ndarray
    noise: np.ndarray
    components: np.ndarray | None = None
    burst_symbols: np.ndarray | None = None
    first_symbol_index: int = 0
    info: dict = field(default_factory=dict)


def _phase(cycles: np.ndarray) -> np.ndarray:
    """e^{j 2 pi cycles}, reducing large cycle counts modulo 1 first (float64)."""
    frac = np.mod(cycles, 1.0)
    return np.exp(2j * np.pi * frac)


def emulate_links(numerology: Numerology, links: LinkState, coupling: np.ndarray,
                  carrier_hz: float, noise_power_w: np.ndarray | None, rng: np.random.Generator,
                  num_symbols: int, modulation: str = "gaussian", num_taps: int = 24,
                  backoff_samples: int = 0, components: bool = False,
                  backend: str = "numba") -> EmulationOutput:
    """Generate, precompensate, precode, propagate and receive one burst (module docstring).

    numerology : Numerology
    links : LinkState with [S, K] arrays
    coupling : complex128 [S, K, K]   A[s, j, i] = v_{s,j}^H w_{s,i} (linksim.ratemodel.coupling)
    noise_power_w : float64 [K] per subcarrier (and per time sample), or None for no noise
    num_symbols : M observed OFDM symbols per user
    components : also return every (s, j, i) component separately (memory S K^2 M Q)
    backend : 'numba' (the kernels) or 'numpy' (their plain references; benchmarks, tests)
    """
    from waveforms import combine, delay
    from waveforms.ofdm import ofdm_demodulate, ofdm_modulate, qam_symbols, used_subcarrier_bins

    if backend == "numba":
        combine_streams, delay_doppler = combine.combine_streams, delay.delay_doppler
    elif backend == "numpy":
        combine_streams = combine.combine_streams_reference
        delay_doppler = delay.delay_doppler_reference
    else:
        raise ValueError(f"backend must be 'numba' or 'numpy' (got {backend!r})")
    s_count, k_count = links.delay_s.shape
    if coupling.shape != (s_count, k_count, k_count):
        raise ValueError(f"coupling must have shape ({s_count}, {k_count}, {k_count}) "
                         f"(got {coupling.shape})")
    if num_symbols < 1:
        raise ValueError(f"num_symbols must be >= 1 (got {num_symbols})")
    nfft, ncp = numerology.fft_size, numerology.cyclic_prefix_length
    lsym = numerology.symbol_length
    fs = numerology.sample_rate_hz
    bins = used_subcarrier_bins(nfft, numerology.num_used_subcarriers)
    margin = num_taps + 2
    rx_len = num_symbols * lsym

    tau_fs = links.delay_s * fs                     # true delays in samples [S, K]
    tau_c_fs = links.est_delay_s * fs               # compensated delays in samples [S, K]

    # channel stage input windows: receiver j via s needs z_{s,j} at emission samples
    # [-tau_{s,j} fs - margin, rx_len - tau_{s,j} fs + margin)
    win_start = np.floor(-tau_fs).astype(np.int64) - margin      # [S, J]
    win_len = rx_len + 2 * margin + 1
    tx_start = win_start.min(axis=1)                             # [S]
    tx_len = int((win_start.max(axis=1) - tx_start).max()) + win_len
    offsets = win_start - tx_start[:, None]

    # symbols needed: x_i at emission time e + tau^c_{s,i} for e in the satellite's range
    lo = (tx_start[:, None] + tau_c_fs).min() - margin
    hi = (tx_start[:, None] + tx_len + tau_c_fs).max() + margin
    m_lo = int(np.floor(lo / lsym)) - 1
    m_hi = int(np.ceil(hi / lsym)) + 1
    m_lo = min(m_lo, 0)
    m_hi = max(m_hi, num_symbols)
    total_symbols = m_hi - m_lo
    data = qam_symbols(rng, modulation, (k_count, total_symbols, bins.size))
    x = ofdm_modulate(data, nfft, ncp, bins)                     # [K, total * lsym]
    x_start = m_lo * lsym

    # 2. precompensation at every satellite for every user (ops s*K + i)
    src = np.tile(np.arange(k_count, dtype=np.int64), s_count)
    est_nu = links.est_doppler_hz
    tx_gain = (_phase(carrier_hz * links.est_delay_s)
               * _phase(-est_nu * links.est_delay_s)).ravel()
    xt = delay_doppler(x, x_start, src, -tau_c_fs.ravel(), (-est_nu / fs).ravel(), tx_gain,
                       np.repeat(tx_start, k_count), tx_len, num_taps)
    xt = xt.reshape(s_count, k_count, tx_len)

    # 3.-4. precoding and channel
    ch_gain = (links.fading * _phase(-carrier_hz * links.delay_s)).ravel()
    ch_delay = (tau_fs + win_start).ravel()         # row (s, j) starts at emission win_start
    ch_nu = (links.doppler_hz / fs).ravel()
    ch_src = np.arange(s_count * k_count, dtype=np.int64)

    def propagate(z_rows: np.ndarray, src_rows: np.ndarray, delay, nu, gain) -> np.ndarray:
        return delay_doppler(z_rows, 0, src_rows, delay, nu, gain,
                             np.zeros(src_rows.size, dtype=np.int64), rx_len, num_taps)

    z = combine_streams(xt, coupling, offsets, win_len).reshape(s_count * k_count, win_len)
    r = propagate(z, ch_src, ch_delay, ch_nu, ch_gain).reshape(s_count, k_count, rx_len).sum(0)

    # desired-only path: z_des_{s,j} = A[s,j,j] x~_{s,j}
    jj = np.arange(k_count)
    idx = offsets[:, :, None] + np.arange(win_len)[None, None, :]
    z_des = (coupling[:, jj, jj][:, :, None]
             * np.take_along_axis(xt, idx, axis=2)).reshape(s_count * k_count, win_len)
    r_des = propagate(z_des, ch_src, ch_delay, ch_nu, ch_gain)
    r_des = r_des.reshape(s_count, k_count, rx_len).sum(0)

    if noise_power_w is None:
        noise = np.zeros((k_count, rx_len), dtype=np.complex128)
    else:
        sigma = np.sqrt(np.asarray(noise_power_w, dtype=float) / 2.0)[:, None]
        noise = sigma * (rng.standard_normal((k_count, rx_len))
                         + 1j * rng.standard_normal((k_count, rx_len)))

    def demod(y: np.ndarray) -> np.ndarray:
        return ofdm_demodulate(y, 0, num_symbols, nfft, ncp, bins, backoff_samples)

    out = EmulationOutput(received=demod(r + noise), symbols=data[:, -m_lo:-m_lo + num_symbols],
                          desired=demod(r_des), noise=demod(noise), burst_symbols=data,
                          first_symbol_index=m_lo)
    if components:
        # every (s, j, i) separately: rows ordered (s, j, i)
        z_all = (coupling[:, :, :, None]
                 * np.take_along_axis(xt[:, None, :, :],
                                      idx[:, :, None, :].repeat(k_count, axis=2), axis=3))
        z_all = z_all.reshape(-1, win_len)
        rep = np.repeat
        y_all = propagate(z_all, np.arange(z_all.shape[0], dtype=np.int64),
                          rep(ch_delay, k_count), rep(ch_nu, k_count), rep(ch_gain, k_count))
        y_all = demod(y_all).reshape(s_count, k_count, k_count, num_symbols, bins.size)
        out.components = y_all
    out.info = {"burst_symbols": total_symbols, "first_symbol_index": m_lo,
                "tx_samples_per_stream": tx_len, "rx_samples": rx_len}
    return out


@dataclass(frozen=True)
class LinkMeasurement:
    """What the samples say, per user j.

    desired_gain : complex128 [K, Q]  G_j[q], least-squares coherent gain of X_j in Y_j
    desired_power : float64 [K]       mean_q |G_j[q]|^2 (unit-power symbols)
    else_power : float64 [K]          mean power of Y_j - G_j X_j (ICI, ISI, interference, noise)
    sinr : float64 [K]                desired_power / else_power
    rate : float64 [K]                mean over q of log2(1 + |G_j[q]|^2 / else_power)
    """

    desired_gain: np.ndarray
    desired_power: np.ndarray
    else_power: np.ndarray
    sinr: np.ndarray
    rate: np.ndarray


def measure(out: EmulationOutput) -> LinkMeasurement:
    """SINR and achieved rate of every user, measured from the samples.

    The coherent gain G_j[q] is estimated from the desired component alone (user j's own
    stream at user j, via all satellites), by least squares over the observed symbols:
    G = sum_m Y_des X^* / sum_m |X|^2. Everything in the received samples that is not G X is
    "else". The channel is frequency-flat and static over the burst, so the else-power is
    averaged over subcarriers and symbols (an unbiased, low-variance estimate) and the rate is
    log2(1 + |G_j[q]|^2 / else_j) averaged over subcarriers.
    """
    x = out.symbols
    gain = (out.desired * x.conj()).sum(axis=1) / (np.abs(x) ** 2).sum(axis=1)
    residual = out.received - gain[:, None, :] * x
    else_power = np.mean(np.abs(residual) ** 2, axis=(1, 2))
    power_q = np.abs(gain) ** 2
    desired_power = power_q.mean(axis=1)
    rate = np.log2(1.0 + power_q / else_power[:, None]).mean(axis=1)
    return LinkMeasurement(gain, desired_power, else_power, desired_power / else_power, rate)


def draw_link_state(cfg, drop, scsi, seed: int, drop_index: int) -> LinkState:
    """The drop's fading (stream 1) and compensation errors (stream 2), independent of W and
    of the power level, so every precoder and SNR point sees the same channel (common random
    numbers)."""
    from linksim.channel import draw_fading
    from linksim.scenario import drop_rng
    from linksim.scsi import CompensationErrorModel

    fading = draw_fading(drop_rng(seed, drop_index, 1), scsi.gamma, scsi.kappa)
    errors = CompensationErrorModel.from_config(cfg)
    delay_err, doppler_err = errors.draw(drop_rng(seed, drop_index, 2), drop.delay_s.shape)
    return LinkState(delay_s=drop.delay_s, doppler_hz=drop.doppler_hz, delay_error_s=delay_err,
                     doppler_error_hz=doppler_err, fading=np.asarray(fading, dtype=np.complex128))


def emulate_drop(cfg, drop, scsi, W: np.ndarray, seed: int, drop_index: int,
                 num_symbols: int | None = None, components: bool = False,
                 links: LinkState | None = None) -> tuple[EmulationOutput, LinkMeasurement]:
    """Emulate precoder W [S, K, N_t] on one drop and measure every user's SINR and rate.

    Data symbols and noise come from drop_rng(seed, drop_index, 3).
    """
    from linksim.ratemodel import coupling
    from linksim.scenario import drop_rng

    if links is None:
        links = draw_link_state(cfg, drop, scsi, seed, drop_index)
    out = emulate_links(Numerology.from_config(cfg), links, coupling(scsi.steering, W),
                        cfg.carrier_hz, scsi.noise_power_w, drop_rng(seed, drop_index, 3),
                        num_symbols or cfg.num_observed_symbols, cfg.modulation,
                        cfg.fractional_delay_taps, cfg.timing_backoff_samples, components)
    return out, measure(out)
