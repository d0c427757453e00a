"""One time-constant drop as a single kernel job: everything from the subcarrier symbols to
the received subcarriers, for back ends that keep the whole drop on one device (the
``static_drop`` field of :class:`waveforms.kernels.KernelSet`; :mod:`waveforms.torch_drop`).

The job is the composition of the four kernels of :mod:`waveforms.kernels`, per satellite s:

    x        = ofdm_modulate(data)                                    [K, B (N + N_cp)]
               (with symbol_ranges: only each user's range, zeros elsewhere)
    xt_s     = delay_doppler(x, x_start, i, pre_*[s, i], tx_start[s]) [K, tx_len]
    z_s      = combine_streams(xt_s, coupling[s], offsets[s], win_len) [J, win_len]
    z_des,s  = coupling[s, j, j] xt_s[j, offsets[s, j] + n]           [J, win_len]
    y_s, y_des,s = sum_p delay_doppler(z_s / z_des,s, 0, j, prop_*[s, j, p], 0)   [J, rx_len]

and r = sum_s y_s, r_des = sum_s y_des,s; the outputs are ofdm_demodulate of r + noise,
r_des and noise (the stages of linksim's emulator, in its order of satellites). The
reference :func:`static_drop_reference` runs exactly that with the numpy reference kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StaticDropJob", "static_drop_reference"]


@dataclass(frozen=True)
class StaticDropJob:
    """The arrays of one drop (host numpy; samples in the precision of ``data``).

    data : complex [K, B, Q]              subcarrier symbols of every user's burst
    x_start : int                          absolute sample of x[:, 0]
    fft_size, cyclic_prefix_length : int   N, N_cp
    used_bins : int64 [Q]                  FFT bins of the used subcarriers
    backoff_samples : int                  receiver DFT window start before the CP end
    pre_delay_samples : float64 [S, K]     precompensation delays (an advance: < 0)
    pre_doppler_cps : float64 [S, K]       precompensation Doppler, cycles per sample
    pre_gain : complex128 [S, K]           precompensation carrier phase
    tx_start : int64 [S]                   first emission sample of satellite s's buffers
    tx_len : int                           samples of every precompensated stream
    coupling : complex [S, J, K]           A[s, j, i] = v_{s,j}^H w_{s,i}
    offsets : int64 [S, J]                 z_{s,j}'s first sample in satellite s's buffer
    win_len : int                          samples of every z_{s,j} window
    prop_delay_samples : float64 [S, J, P] path delays in samples from the window start
    prop_doppler_cps : float64 [S, J, P]   path Doppler, cycles per sample
    prop_gain : complex128 [S, J, P]       path gains with their carrier phase
    noise : complex [J, rx_len]            receiver noise samples
    num_symbols : int                      M, DFT windows per receiver from sample 0
    num_taps : int                         fractional-delay FIR length
    symbol_ranges : int64 [K, 2] or None   user i's symbols [b0, b1) that a window reads
                                           (waveforms.ofdm_ranges); None: every symbol
    """

    data: np.ndarray
    x_start: int
    fft_size: int
    cyclic_prefix_length: int
    used_bins: np.ndarray
    backoff_samples: int
    pre_delay_samples: np.ndarray
    pre_doppler_cps: np.ndarray
    pre_gain: np.ndarray
    tx_start: np.ndarray
    tx_len: int
    coupling: np.ndarray
    offsets: np.ndarray
    win_len: int
    prop_delay_samples: np.ndarray
    prop_doppler_cps: np.ndarray
    prop_gain: np.ndarray
    noise: np.ndarray
    num_symbols: int
    num_taps: int
    symbol_ranges: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(S, K, P): satellites, users (= receivers), paths per link."""
        return self.pre_delay_samples.shape + self.prop_delay_samples.shape[2:]

    @property
    def rx_len(self) -> int:
        return self.noise.shape[1]

    def check(self) -> None:
        """Shapes consistent with (S, K, P) from the delays; a ValueError naming the field."""
        s, k, p = self.shape
        q = self.used_bins.shape[0]
        want = {"data": (k, self.data.shape[1], q), "pre_doppler_cps": (s, k),
                "pre_gain": (s, k), "tx_start": (s,), "coupling": (s, k, k),
                "offsets": (s, k), "prop_delay_samples": (s, k, p),
                "prop_doppler_cps": (s, k, p), "prop_gain": (s, k, p),
                "noise": (k, self.noise.shape[1])}
        for name, shape in want.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"{name} must have shape {shape} (got {got})")
        if self.offsets.size and (self.offsets.min() < 0
                                  or self.offsets.max() + self.win_len > self.tx_len):
            raise ValueError(f"offsets + win_len must lie in [0, tx_len = {self.tx_len}]")
        if self.symbol_ranges is not None:
            from .ofdm_ranges import check_ranges

            check_ranges(self.symbol_ranges, k, self.data.shape[1])
        if self.num_symbols * (self.fft_size + self.cyclic_prefix_length) > self.rx_len:
            raise ValueError("noise must cover num_symbols * (N + N_cp) samples")


def static_drop_reference(job: StaticDropJob) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(received, desired, noise) complex128 [K, M, Q] of ``job`` with the numpy reference
    kernels (module docstring)."""
    from .combine import combine_streams_reference
    from .delay import delay_doppler_reference
    from .ofdm import ofdm_demodulate, ofdm_modulate
    from .ofdm_ranges import ofdm_modulate_ranges_reference

    job.check()
    s_count, k, p = job.shape
    n, ncp, bins = job.fft_size, job.cyclic_prefix_length, job.used_bins
    data = job.data.astype(np.complex128)
    x = (ofdm_modulate(data, n, ncp, bins) if job.symbol_ranges is None else
         ofdm_modulate_ranges_reference(data, n, ncp, bins, job.symbol_ranges))
    users = np.arange(k, dtype=np.int64)
    rows = np.repeat(np.arange(2 * k, dtype=np.int64), p)
    r = np.zeros((k, job.rx_len), dtype=np.complex128)
    r_des = np.zeros_like(r)
    for s in range(s_count):
        xt = delay_doppler_reference(x, job.x_start, users, job.pre_delay_samples[s],
                                     job.pre_doppler_cps[s], job.pre_gain[s],
                                     np.full(k, job.tx_start[s], dtype=np.int64), job.tx_len,
                                     job.num_taps)
        z = combine_streams_reference(xt[None], job.coupling[s][None].astype(np.complex128),
                                      job.offsets[s][None], job.win_len)[0]
        z_des = np.stack([job.coupling[s, j, j] * xt[j, o:o + job.win_len]
                          for j, o in enumerate(job.offsets[s])])
        ops = [np.tile(a[s].reshape(-1), 2) for a in (job.prop_delay_samples,
                                                      job.prop_doppler_cps, job.prop_gain)]
        y = delay_doppler_reference(np.concatenate((z, z_des)), 0, rows, *ops,
                                    np.zeros(rows.size, dtype=np.int64), job.rx_len,
                                    job.num_taps).reshape(2, k, p, -1).sum(axis=2)
        r += y[0]
        r_des += y[1]
    noise = job.noise.astype(np.complex128)
    demod = [ofdm_demodulate(v, 0, job.num_symbols, n, ncp, bins, job.backoff_samples)
             for v in (r + noise, r_des, noise)]
    return demod[0], demod[1], demod[2]
