"""The stages of the signal chain, in the order :func:`linksim.emulator.emulate_links` runs
them (math.md Sec. 2.2-2.5, eq. 4-18). All times are absolute, in samples of the common grid
at f_s = N Delta f; receive sample 0 is t = 0, and symbol m of every user is meant to reach
its user at sample m (N + N_cp) (a common frame).

    plan_burst        which samples every stage must produce (windows, burst length)
    generate_bursts   data symbols -> per-user CP-OFDM streams x_i           (before eq. 4)
                      (only the symbols some receiver's window reads)
    precompensate     x~_{s,i}: advance by tau^c, carrier and Doppler pre-rotation  (eq. 5, 7)
    precode           z_{s,j} = sum_i A[s,j,i] x~_{s,i}                        (eq. 4, 9)
    propagate         sum over paths of g e^{-j2pi f_c tau} e^{j2pi nu t} z(t - tau)  (eq. 1, 6)
    draw_noise        AWGN per user (per sample = per subcarrier power)
    receive           CP removal and DFT with the timing back-off           (eq. 10-15)

Every stage takes the kernels from a :class:`waveforms.kernels.KernelSet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linksim.emulator.paths import PathSet
from linksim.emulator.settings import EmulatorSettings
from linksim.phase import phasor
from waveforms.casts import as_dtype


@dataclass(frozen=True)
class BurstPlan:
    """Sample ranges of one burst (all int64, absolute samples).

    rx_len : int                 samples observed at every receiver: num_symbols * (N + N_cp)
    margin : int                 FIR reach plus 2 samples around every window
    win_start : int64 [S, J]     first emission sample of z_{s,j} needed by receiver j via s
    win_len : int                samples of every z_{s,j} window (covers every path's delay)
    tx_start : int64 [S]         first emission sample of satellite s's stream buffers
    tx_len : int                 samples of every precompensated stream x~_{s,i}
    offsets : int64 [S, J]       win_start - tx_start: z_{s,j}'s first sample in the buffer
    first_symbol : int           frame index of the burst's first symbol (<= 0)
    num_burst_symbols : int      symbols generated per user (covers every residual delay)
    num_symbols : int            M, observed symbols per user
    """

    rx_len: int
    margin: int
    win_start: np.ndarray
    win_len: int
    tx_start: np.ndarray
    tx_len: int
    offsets: np.ndarray
    first_symbol: int
    num_burst_symbols: int
    num_symbols: int


def plan_burst(settings: EmulatorSettings, channel: PathSet, estimates: PathSet,
               num_symbols: int) -> BurstPlan:
    """Windows such that every stage reads real samples, never zeros.

    Receiver j via satellite s and path p needs z_{s,j} at emission samples
    [-tau_{s,j,p} f_s - margin, rx_len - tau_{s,j,p} f_s + margin); satellite s needs user i's
    stream at x_i(e + tau^c_{s,i} f_s) over its whole buffer; the burst holds whole symbols
    around both.
    """
    num = settings.numerology
    lsym, fs = num.symbol_length, num.sample_rate_hz
    margin = settings.fractional_delay_taps + 2
    if not (channel.is_static and estimates.is_static):     # moving satellites (motion.py)
        from linksim.emulator.motion import extra_margin
        margin += extra_margin(channel, estimates, fs, -0.01 * fs, num_symbols * lsym + 0.01 * fs)
    rx_len = num_symbols * lsym
    tau_fs = channel.delay_s * fs                                # [S, K, P]
    tau_c_fs = estimates.delay_s[:, :, 0] * fs                   # [S, K]
    win_start = np.floor(-tau_fs.max(axis=2)).astype(np.int64) - margin      # [S, J]
    spread = int(np.ceil((tau_fs.max(axis=2) - tau_fs.min(axis=2)).max()))
    win_len = rx_len + 2 * margin + 1 + spread
    tx_start = win_start.min(axis=1)                             # [S]
    tx_len = int((win_start.max(axis=1) - tx_start).max()) + win_len
    offsets = win_start - tx_start[:, None]
    lo = (tx_start[:, None] + tau_c_fs).min() - margin
    hi = (tx_start[:, None] + tx_len + tau_c_fs).max() + margin
    m_lo = min(int(np.floor(lo / lsym)) - 1, 0)
    m_hi = max(int(np.ceil(hi / lsym)) + 1, num_symbols)
    return BurstPlan(rx_len, margin, win_start, win_len, tx_start, tx_len, offsets, m_lo,
                     m_hi - m_lo, num_symbols)


def used_bins(settings: EmulatorSettings) -> np.ndarray:
    """int64 [Q]: FFT bins of the used subcarriers, ascending logical order."""
    from waveforms.ofdm import used_subcarrier_bins

    num = settings.numerology
    return used_subcarrier_bins(num.fft_size, num.num_used_subcarriers)


#: spawn-key marker of the per-user data generators ("data" in ASCII): children of the data
#: stream's SeedSequence that no SeedSequence.spawn() of the same parent can produce
_DATA_CHILD_KEY = 0x64617461


def child_seed_sequence(rng: np.random.Generator, option: str,
                        *key: int) -> np.random.SeedSequence:
    """The child of ``rng``'s SeedSequence with ``key`` appended to its spawn key (the same
    child for the same drop and stream, whatever ``rng`` drew; ``rng`` is not advanced).
    ``option`` names the setting that needs it in the error for a generator without one."""
    seq = rng.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):
        raise ValueError(f"{option} needs a generator seeded from a SeedSequence "
                         "(linksim.scenario.drop_rng)")
    return np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + key,
                                  pool_size=seq.pool_size)


def per_user_generators(rng: np.random.Generator, num_streams: int) -> list[np.random.Generator]:
    """One PCG64 generator per user, seeded by the child (marker, i) of ``rng``'s
    SeedSequence (:func:`child_seed_sequence`)."""
    return [np.random.Generator(np.random.PCG64(child_seed_sequence(
        rng, "data_stream='per-user'", _DATA_CHILD_KEY, i))) for i in range(num_streams)]


def draw_data(settings: EmulatorSettings, rng: np.random.Generator, num_streams: int,
              num_symbols: int, num_bins: int) -> np.ndarray:
    """Data symbols complex128 [num_streams, num_symbols, num_bins] of ``settings.modulation``.

    data_stream 'joint' (default): drawn from ``rng`` in one call (the noise is drawn from it
    afterwards); 'per-user': row i from :func:`per_user_generators` child i, the rows drawn
    concurrently on all cores (waveforms.symbols_fast.qam_symbols_per_stream), independent
    of the thread count; ``rng`` is left for the noise.
    """
    from waveforms.symbols_fast import qam_symbols_fast, qam_symbols_per_stream

    shape = (num_streams, num_symbols, num_bins)
    if settings.data_stream == "joint":
        return qam_symbols_fast(rng, settings.modulation, shape)
    if settings.data_stream == "counter":      # waveforms.gauss_fast, rng not advanced
        from linksim.emulator.counter_streams import counter_data
        return counter_data(settings.modulation, rng, num_streams, num_symbols, num_bins)
    if settings.data_stream != "per-user":
        raise ValueError(f"data_stream must be one of joint, per-user, counter "
                         f"(got {settings.data_stream!r})")
    return qam_symbols_per_stream(per_user_generators(rng, num_streams), settings.modulation,
                                  shape[1:])


def generate_bursts(settings: EmulatorSettings, rng: np.random.Generator, num_streams: int,
                    plan: BurstPlan, estimates: PathSet | None = None
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Every user's burst: data symbols on the used subcarriers, IFFT, CP.

    Returns (data complex128 [K, B, Q], x complex128 [K, B (N + N_cp)], x_start): data[:, b]
    is frame symbol b + plan.first_symbol, and x[:, 0] is at absolute sample x_start.
    Draws the data from ``rng`` (first, before the noise); with ``settings.receiver !=
    'genie'`` the DMRS symbols are then overwritten by the pilots (linksim.emulator.dmrs).
    With the precompensation ``estimates``, only the symbols some receiver's window reads are
    modulated (:func:`modulate_bursts`); every sample read is the same number.
    """
    num = settings.numerology
    data = burst_data(settings, rng, num_streams, plan)
    x = modulate_bursts(settings, data, plan, estimates)
    return data, x, plan.first_symbol * num.symbol_length


def modulate_bursts(settings: EmulatorSettings, data: np.ndarray, plan: BurstPlan,
                    estimates: PathSet | None = None) -> np.ndarray:
    """x [K, B (N + N_cp)] in the samples' precision: the OFDM modulation of ``data``.

    With one-path ``estimates`` (time-constant or moving) and a kernel set that has
    ``ofdm_modulate_ranges``, user i's symbols outside :func:`needed_symbol_ranges` are not
    modulated (zeros, never read by the precompensation of a window sample); the rest equal
    the full modulation.
    """
    num = settings.numerology
    bins = used_bins(settings)
    X = as_dtype(data, settings.sample_dtype)
    kernels = settings.kernels
    ranges = None
    if kernels.ofdm_modulate_ranges is not None and estimates is not None:
        ranges = needed_symbol_ranges(settings, estimates, plan)
    if ranges is None:
        return kernels.ofdm_modulate(X, num.fft_size, num.cyclic_prefix_length, bins)
    return kernels.ofdm_modulate_ranges(X, num.fft_size, num.cyclic_prefix_length, bins,
                                        ranges)


def needed_symbol_ranges(settings: EmulatorSettings, estimates: PathSet,
                         plan: BurstPlan) -> np.ndarray | None:
    """int64 [K, 2]: burst symbols [b0, b1) of user i that hold every sample of x_i the
    precompensation FIR reads for an emission sample inside some window of the plan.

    Satellite s emits z_{s,j} on [offsets[s].min(), offsets[s].max() + win_len) of its
    buffer; op (s, i) of the delay kernel (waveforms.delay: integer part floor(-tau^c f_s),
    taps reaching num_taps/2 - 1 before and num_taps/2 after) reads x_i on that span moved
    by its delay. The range of user i is the envelope over the satellites. Moving estimates
    (one path per link): the same span read by the time-varying kernel with its blocks'
    integer delays (waveforms.tv_delay.read_spans of linksim.emulator.motion's ops). None
    for more than one path.
    """
    if estimates.num_paths != 1:
        return None
    read = _static_read_spans if estimates.is_static else _moving_read_spans
    lo, hi = read(settings, estimates, plan)                         # [S, K] x indices
    lsym = settings.numerology.symbol_length
    b0 = np.clip(lo.min(axis=0) // lsym, 0, plan.num_burst_symbols)
    b1 = np.clip(hi.max(axis=0) // lsym + 1, b0, plan.num_burst_symbols)
    return np.stack([b0, b1], axis=1).astype(np.int64)


def _static_read_spans(settings: EmulatorSettings, estimates: PathSet,
                       plan: BurstPlan) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) int64 [S, K]: the x indices op (s, i) of the static delay kernel reads
    for the emission samples of satellite s's windows."""
    delay, _, _ = precompensation_ops(settings, estimates)          # [S, K] samples
    dint = np.floor(delay).astype(np.int64)
    taps = settings.fractional_delay_taps
    x_start = plan.first_symbol * settings.numerology.symbol_length
    first = plan.tx_start + plan.offsets.min(axis=1)                 # [S] absolute
    last = plan.tx_start + plan.offsets.max(axis=1) + plan.win_len - 1
    lo = first[:, None] - dint - x_start - taps // 2
    return lo, lo + (last - first)[:, None] + taps - 1


def _moving_read_spans(settings: EmulatorSettings, estimates: PathSet,
                       plan: BurstPlan) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_static_read_spans` for time-varying estimates: the time-varying kernel's
    spans from its blocks' integer delays (waveforms.tv_delay.read_spans)."""
    from linksim.emulator.motion import tv_precompensation_ops
    from waveforms.tv_delay import read_spans

    s_count, k_count = estimates.num_sats, estimates.num_users
    _, d0, poly, t_ref, _, _, _, out_start = tv_precompensation_ops(settings, estimates, plan)
    n0 = np.repeat(plan.offsets.min(axis=1), k_count)               # the windows' span
    n1 = np.repeat(plan.offsets.max(axis=1) + plan.win_len, k_count)
    spans = read_spans(d0, poly, t_ref, out_start, plan.tx_len, n0, n1,
                       settings.fractional_delay_taps).reshape(s_count, k_count, 2)
    x_start = plan.first_symbol * settings.numerology.symbol_length
    return spans[..., 0] - x_start, spans[..., 1] - x_start


def burst_data(settings: EmulatorSettings, rng: np.random.Generator, num_streams: int,
               plan: BurstPlan) -> np.ndarray:
    """The burst's subcarrier symbols complex128 [K, B, Q] (:func:`generate_bursts` before
    the IFFT): :func:`draw_data`, then the DMRS pilots with ``settings.receiver != 'genie'``."""
    data = draw_data(settings, rng, num_streams, plan.num_burst_symbols,
                     used_bins(settings).size)
    if settings.receiver != "genie":
        from linksim.emulator.dmrs import insert_pilots

        data = insert_pilots(data, plan.first_symbol, settings.dmrs_symbols)
    return data


def precompensate(settings: EmulatorSettings, x: np.ndarray, x_start: int,
                  estimates: PathSet, plan: BurstPlan) -> np.ndarray:
    """Satellite s precompensates user i's stream with its estimates (eq. 5, 7):

        x~_{s,i}(t) = x_i(t + tau^c) e^{j 2 pi f_c tau^c} e^{-j 2 pi nu^c (t + tau^c)}

    (the delay advance after up-conversion rotates the carrier, footnote of (4); the Doppler
    pre-rotation is referred to the receive time of its user, so it is phase continuous in
    absolute time). estimates: one time-constant path per (s, i), gain unused.

    Returns xt complex128 [S, K, tx_len], xt[s, i, 0] at emission sample plan.tx_start[s].
    """
    if not estimates.is_static:             # moving satellites: waveforms.tv_delay
        from linksim.emulator.motion import tv_precompensate
        return tv_precompensate(settings, x, x_start, estimates, plan)
    s_count, k_count = estimates.num_sats, estimates.num_users
    delay, doppler, tx_gain = precompensation_ops(settings, estimates)
    src = np.tile(np.arange(k_count, dtype=np.int64), s_count)
    xt = settings.kernels.delay_doppler(
        x, x_start, src, delay.ravel(), doppler.ravel(), tx_gain.ravel(),
        np.repeat(plan.tx_start, k_count), plan.tx_len, settings.fractional_delay_taps)
    return xt.reshape(s_count, k_count, plan.tx_len)


def precompensation_ops(settings: EmulatorSettings, estimates: PathSet):
    """The delay-kernel ops of eq. (5, 7) for time-constant estimates: (delay_samples float64
    [S, K] = -tau^c f_s, doppler_cps float64 [S, K] = -nu^c / f_s, gain complex128 [S, K] =
    e^{j 2 pi f_c tau^c} e^{-j 2 pi nu^c tau^c})."""
    if estimates.num_paths != 1 or not estimates.is_static:
        raise ValueError("precompensation estimates must be one time-constant path per link")
    fs = settings.numerology.sample_rate_hz
    est_delay = estimates.delay_s[:, :, 0]
    est_nu = estimates.doppler_hz[:, :, 0]
    tau_c_fs = est_delay * fs
    tx_gain = phasor(settings.carrier_hz * est_delay) * phasor(-est_nu * est_delay)
    return -tau_c_fs, -est_nu / fs, tx_gain


def _joined(pairs: list) -> tuple[np.ndarray, np.ndarray]:
    """The satellites' (z, z_des) pairs of a fused pass as (z [S J, W], z_des [S J, W])."""
    if len(pairs) == 1:
        return pairs[0]
    return (np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]))


def uses_transmit_fused(settings: EmulatorSettings, x: np.ndarray, estimates: PathSet) -> bool:
    """Whether :func:`transmit_fused` runs for these samples: the kernel set has the fused
    pass for x's dtype and the estimates are time-constant (moving satellites:
    :func:`uses_transmit_fused_tv`)."""
    kernels = settings.kernels
    return (kernels.transmit_fused is not None and estimates.is_static
            and np.dtype(x.dtype).name in kernels.transmit_fused_dtypes)


def transmit_fused(settings: EmulatorSettings, x: np.ndarray, x_start: int,
                   estimates: PathSet, coupling: np.ndarray,
                   plan: BurstPlan, **options) -> tuple[np.ndarray, np.ndarray]:
    """:func:`precode` and :func:`precode_desired` of :func:`precompensate`'s streams in one
    tiled pass per satellite (waveforms.transmit_fused; the streams [S, K, tx_len] never
    made): bit for bit in the ``numba`` set's double precision (the pinned combine's order),
    to rounding where the set combines with BLAS. Returns (z, z_des) [S J, win_len] in the
    samples' precision.
    ``options`` go to the kernel (e.g. ``profile``, ``tile``).
    """
    delay, doppler, tx_gain = precompensation_ops(settings, estimates)
    coupling = coupling.astype(settings.sample_dtype, copy=False)
    pairs = [settings.kernels.transmit_fused(
        x, x_start, delay[s], doppler[s], tx_gain[s], int(plan.tx_start[s]), plan.tx_len,
        coupling[s], plan.offsets[s], plan.win_len, settings.fractional_delay_taps, **options)
        for s in range(estimates.num_sats)]
    return _joined(pairs)


def uses_transmit_fused_tv(settings: EmulatorSettings, x: np.ndarray,
                           estimates: PathSet) -> bool:
    """Whether :func:`transmit_fused_tv` runs: the kernel set has the moving satellites'
    fused pass, the estimates move with one path per link, the samples are complex128."""
    return (settings.kernels.transmit_fused_tv is not None and not estimates.is_static
            and estimates.num_paths == 1 and np.dtype(x.dtype) == np.complex128)


def transmit_fused_tv(settings: EmulatorSettings, x: np.ndarray, x_start: int,
                      estimates: PathSet, coupling: np.ndarray,
                      plan: BurstPlan, **options) -> tuple[np.ndarray, np.ndarray]:
    """:func:`transmit_fused` for moving estimates (waveforms.transmit_fused_tv: the ops of
    linksim.emulator.motion.tv_precompensate, the combine in the pinned order): the numbers
    of :func:`precompensate`, :func:`precode` and :func:`precode_desired` bit for bit.
    Returns (z, z_des) complex128 [S J, win_len]."""
    from linksim.emulator.motion import tv_precompensation_ops

    k_count = estimates.num_users
    ops = tv_precompensation_ops(settings, estimates, plan)
    coupling = coupling.astype(np.complex128, copy=False)
    pairs = [settings.kernels.transmit_fused_tv(
        x, x_start, *(op[s * k_count:(s + 1) * k_count] for op in ops), plan.tx_len,
        coupling[s], plan.offsets[s], plan.win_len, settings.fractional_delay_taps, **options)
        for s in range(estimates.num_sats)]
    return _joined(pairs)


def precode(settings: EmulatorSettings, xt: np.ndarray, coupling: np.ndarray,
            plan: BurstPlan) -> np.ndarray:
    """z_{s,j} = sum_i A[s,j,i] x~_{s,i} over receiver j's window (far field: one delay per
    satellite and receiver, no per-antenna signals; A[s,j,i] = v_{s,j}^H w_{s,i}).

    Returns complex128 [S J, win_len], row s J + j.
    """
    s_count, j_count = coupling.shape[:2]
    coupling = coupling.astype(settings.sample_dtype, copy=False)
    z = settings.kernels.combine_streams(xt, coupling, plan.offsets, plan.win_len)
    return z.reshape(s_count * j_count, plan.win_len)


def _windows(xt: np.ndarray, plan: BurstPlan) -> np.ndarray:
    """int64 [S, J, win_len]: sample indices of receiver j's window in satellite s's buffer."""
    return plan.offsets[:, :, None] + np.arange(plan.win_len)[None, None, :]


def precode_desired(xt: np.ndarray, coupling: np.ndarray, plan: BurstPlan) -> np.ndarray:
    """Only user j's own stream in z_{s,j}: A[s,j,j] x~_{s,j}. complex128 [S J, win_len]."""
    s_count, k_count = coupling.shape[:2]
    jj = np.arange(k_count)
    a_jj = coupling[:, jj, jj].astype(xt.dtype, copy=False)              # keeps the precision
    z = np.empty((s_count, k_count, plan.win_len), dtype=np.result_type(a_jj, xt))
    for s in range(s_count):                # window slices: no [S, J, W] index array
        for j in range(k_count):
            o = plan.offsets[s, j]
            np.multiply(a_jj[s, j], xt[s, j, o:o + plan.win_len], out=z[s, j])
    return z.reshape(s_count * k_count, plan.win_len)


def precode_components(xt: np.ndarray, coupling: np.ndarray, plan: BurstPlan) -> np.ndarray:
    """Every (s, j, i) term A[s,j,i] x~_{s,i} separately: complex128 [S J K, win_len]
    (memory S K^2 win_len), rows ordered (s, j, i)."""
    k_count = coupling.shape[2]
    idx = _windows(xt, plan)
    z = (coupling[:, :, :, None]
         * np.take_along_axis(xt[:, None, :, :], idx[:, :, None, :].repeat(k_count, axis=2),
                              axis=3))
    return z.reshape(-1, plan.win_len)


def propagate(settings: EmulatorSettings, z_rows: np.ndarray, link_of_row: np.ndarray,
              channel: PathSet, plan: BurstPlan) -> np.ndarray:
    """The true channel (eq. 1, 6): every row through all paths of its link, summed.

        y_r(t) = sum_p g_p e^{-j 2 pi f_c tau_p} e^{j 2 pi nu_p t} z_r(t - tau_p)

    z_rows : complex128 [R, win_len]   row r starts at emission sample win_start of its link
    link_of_row : int64 [R]            link s J + j of each row
    Returns complex128 [R, rx_len] at receive samples 0..rx_len-1.
    """
    if not channel.is_static:               # moving satellites: waveforms.tv_delay
        from linksim.emulator.motion import tv_propagate
        return tv_propagate(settings, z_rows, link_of_row, channel, plan)
    delay, nu, gain = propagation_ops(settings, channel, plan)
    p_count = delay.shape[1]
    rows = z_rows.shape[0]
    src = np.repeat(np.arange(rows, dtype=np.int64), p_count)
    y = settings.kernels.delay_doppler(
        z_rows, 0, src, delay[link_of_row].ravel(), nu[link_of_row].ravel(),
        gain[link_of_row].ravel(), np.zeros(rows * p_count, dtype=np.int64), plan.rx_len,
        settings.fractional_delay_taps)
    if p_count == 1:
        return y
    return y.reshape(rows, p_count, plan.rx_len).sum(axis=1)


def propagate_many(settings: EmulatorSettings, z_list: list, link_of_row: np.ndarray,
                   channel: PathSet, plan: BurstPlan) -> list[np.ndarray]:
    """:func:`propagate` of every array of ``z_list`` (one shape) through the same links;
    for moving paths the time-varying kernel's taps are made once
    (linksim.emulator.motion.tv_propagate_many). Each result is its own call's number."""
    if not channel.is_static:
        from linksim.emulator.motion import tv_propagate_many
        return tv_propagate_many(settings, list(z_list), link_of_row, channel, plan)
    return [propagate(settings, z, link_of_row, channel, plan) for z in z_list]


def propagation_ops(settings: EmulatorSettings, channel: PathSet, plan: BurstPlan):
    """The delay-kernel ops of eq. (1, 6) for time-constant paths, per link s J + j and path
    p: (delay_samples float64 [S J, P] = tau f_s + win_start (a row starts at its window),
    doppler_cps float64 [S J, P] = nu / f_s, gain complex128 [S J, P] = g e^{-j 2 pi f_c tau})."""
    fs = settings.numerology.sample_rate_hz
    p_count = channel.delay_s.shape[2]
    tau_fs = channel.delay_s * fs
    gain = (channel.gain * phasor(-settings.carrier_hz * channel.delay_s)).reshape(-1, p_count)
    delay = (tau_fs + plan.win_start[:, :, None]).reshape(-1, p_count)   # row starts at win
    nu = (channel.doppler_hz / fs).reshape(-1, p_count)
    return delay, nu, gain


def draw_noise(rng: np.random.Generator, noise_power_w: np.ndarray | None, num_users: int,
               num_samples: int, stream: str = "joint") -> np.ndarray:
    """Complex AWGN complex128 [K, num_samples] of power noise_power_w[k] per sample (= per
    subcarrier after the unitary DFT); zeros when noise_power_w is None. stream
    (noise_stream): 'joint' draws from ``rng``, 'counter' from the counter-based generator
    (linksim.emulator.counter_streams.counter_noise, ``rng`` not advanced)."""
    if noise_power_w is None:
        return np.zeros((num_users, num_samples), dtype=np.complex128)
    if stream != "joint":
        if stream != "counter":
            raise ValueError(f"noise_stream must be one of joint, counter (got {stream!r})")
        from linksim.emulator.counter_streams import counter_noise
        return counter_noise(rng, noise_power_w, num_users, num_samples)
    from waveforms.pcg64_normal import standard_normal_into

    sigma = np.sqrt(np.asarray(noise_power_w, dtype=float) / 2.0)[:, None]
    parts = np.empty((2, num_users, num_samples))     # numpy's normals, on all cores
    for part in parts:
        standard_normal_into(rng, part.reshape(-1))
    return sigma * (parts[0] + 1j * parts[1])


def receive(settings: EmulatorSettings, y: np.ndarray, num_symbols: int) -> np.ndarray:
    """CP removal and unitary DFT at every receiver: the window of symbol m starts
    timing_backoff_samples inside the CP (case (i) of Sec. II-C), the known back-off phase
    ramp de-rotated. y complex128 [R, rx_len] -> Y complex128 [R, M, Q]."""
    num = settings.numerology
    return settings.kernels.ofdm_demodulate(y, 0, num_symbols, num.fft_size,
                                            num.cyclic_prefix_length, used_bins(settings),
                                            settings.timing_backoff_samples)
