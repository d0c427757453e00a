"""The practical receiver (linksim.emulator.dmrs, estimation, receiver_dmrs): BER against the
closed forms, the LS estimate's MSE against its closed form, exact recovery without noise,
estimated-CSI rate vs the genie's, and the genie's bit identity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erfc

from linksim.emulator import EmulationOutput, EmulatorSettings, PathSet, emulate_links, measure
from linksim.emulator.dmrs import (
    SLOT_SYMBOLS,
    dmrs_mask,
    gold_sequence,
    insert_pilots,
    pilot_re_mask,
    pilot_symbols,
)
from linksim.emulator.estimation import estimate_channel
from linksim.emulator.receiver_dmrs import (
    DmrsReceiver,
    bit_errors,
    dmrs_receive,
    qam_ber_awgn,
)
from waveforms.ofdm import qam_symbols

DMRS = (2, 11)


def _awgn(rng, shape, var):
    return np.sqrt(var / 2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


# ------------------------------------------------------------------ pilots
def test_gold_sequence_matches_an_independent_x1_state_and_seeds_differ():
    # c_init = 0 leaves x2 = 0, so c(n) = x1(n + 1600); an independent C implementation
    # starts from the x1 state x1(1569..1599) = 0x54D21B24 (bit i = x1(1569 + i))
    state = [(0x54D21B24 >> i) & 1 for i in range(31)]
    for n in range(31 + 31):
        state.append(state[n + 3] ^ state[n])
    assert gold_sequence(np.array([0]), 31)[0].tolist() == state[31:62]
    # different c_init: +-1 sequences nearly uncorrelated (|corr| < 4 / sqrt(n))
    s = 1 - 2 * gold_sequence(np.array([12345, 2 ** 17 * 29 + 6]), 4096).astype(float)
    assert abs(np.mean(s[0] * s[1])) < 4 / np.sqrt(4096)
    assert abs(s.mean()) < 0.1


def test_dmrs_symbols_have_unit_power_and_sit_on_the_comb():
    frame = np.arange(-20, 30)
    mask = dmrs_mask(frame, DMRS)
    assert np.array_equal(np.flatnonzero(mask), np.flatnonzero(np.isin(frame % 14, DMRS)))
    p = pilot_symbols(8, frame[mask], 72)
    comb = pilot_re_mask(8, 72)
    # the 3 dB boosted pilot on its comb (|P|^2 = 2), nothing on the other comb
    assert np.allclose(np.abs(p[:, :, :]) ** 2, 2.0 * comb[:, None, :])
    assert np.mean(np.abs(p) ** 2) == pytest.approx(1.0)


def test_four_ports_are_orthogonal_and_the_fifth_user_interferes():
    # all users' pilots on the same REs, frame aligned, flat channel, no noise: users 0-3
    # (ports 1000-1003) are separated exactly by the comb and the OCC; user 4 reuses port 0
    rng = np.random.default_rng(1)
    q, m = 72, SLOT_SYMBOLS
    h = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    x = insert_pilots(qam_symbols(rng, "qpsk", (5, m, q)), 0, DMRS)
    for users in (4, 5):
        y = np.sum(h[:users, None, None] * x[:users], axis=0)
        est = estimate_channel(np.repeat(y[None], users, axis=0), "dmrs-ls", DMRS, 30e3)
        err = np.abs(est.channel - h[:users, None, None])
        if users == 4:
            assert err.max() < 1e-12
        else:
            assert err[0].max() > 0.1 * abs(h[4]) and err[4].max() > 0.1 * abs(h[0])


# ------------------------------------------------------------------ BER
def test_closed_form_ber_equals_textbook_qpsk_and_16qam():
    snr = 10 ** (np.array([0.0, 7.0, 13.0]) / 10)
    assert np.allclose(qam_ber_awgn("qpsk", snr), 0.5 * erfc(np.sqrt(snr / 2)), rtol=1e-12)
    a = np.sqrt(snr / 10)
    want = 3 / 8 * erfc(a) + 1 / 4 * erfc(3 * a) - 1 / 8 * erfc(5 * a)
    assert np.allclose(qam_ber_awgn("16qam", snr), want, rtol=1e-12)


@pytest.mark.parametrize("modulation, snr_db", [
    ("qpsk", 0.0), ("qpsk", 4.0), ("qpsk", 8.0),
    ("16qam", 6.0), ("16qam", 10.0), ("16qam", 14.0),
    ("64qam", 12.0), ("64qam", 16.0), ("64qam", 20.0)])
def test_uncoded_ber_on_awgn_matches_closed_form(modulation, snr_db):
    rng = np.random.default_rng(int(snr_db * 10) + len(modulation))
    n = 400_000
    h = 0.7 * np.exp(0.9j)                           # known channel, equalised exactly
    x = qam_symbols(rng, modulation, (n,))
    snr = 10 ** (snr_db / 10)
    y = h * x + _awgn(rng, (n,), abs(h) ** 2 / snr)
    errors, bits = bit_errors(y / h, x, modulation)
    ber = errors.sum() / (bits * n)
    # standard error from the per-symbol error counts (bits of one symbol are dependent)
    se = errors.std(ddof=1) / np.sqrt(n) / bits
    assert abs(ber - qam_ber_awgn(modulation, snr)) < 4 * se
    assert 4 * se < 0.1 * ber                        # the check resolves 10 % of the BER


# ------------------------------------------------------------------ LS MSE
def _ls_interp_factor(q_count: int, group: int) -> np.ndarray:
    """Closed form of the linear frequency interpolation's error factor per subcarrier:
    pair centres 4p + group + 1 (q_count divisible by 4), (1 - t)^2 + t^2 at offset t, held
    (factor 1) outside the first and last centre."""
    centres = np.arange(group + 1, q_count, 4)
    q = np.arange(q_count)
    t = (q - centres[0]) % 4 / 4.0
    f = (1 - t) ** 2 + t ** 2
    f[(q < centres[0]) | (q > centres[-1])] = 1.0
    return f


def _time_factor(num_symbols: int) -> np.ndarray:
    m = np.arange(num_symbols, dtype=float)
    u = np.clip((m - DMRS[0]) / (DMRS[1] - DMRS[0]), 0.0, 1.0)
    return (1 - u) ** 2 + u ** 2


def test_ls_estimate_mse_on_awgn_equals_closed_form():
    rng = np.random.default_rng(5)
    k, m, q, var, trials = 4, SLOT_SYMBOLS, 612, 0.05, 12
    h = (rng.standard_normal(k) + 1j * rng.standard_normal(k))[:, None, None]
    mse, nvar = [], []
    for _ in range(trials):
        x = insert_pilots(qam_symbols(rng, "gaussian", (k, m, q)), 0, DMRS)
        est = estimate_channel(h * x + _awgn(rng, (k, m, q), var), "dmrs-ls", DMRS, 30e3)
        mse.append(np.mean(np.abs(est.channel - h) ** 2, axis=(1, 2)))
        nvar.append(est.noise_var)
    mse, nvar = np.concatenate(mse), np.concatenate(nvar)
    # per pair: sigma^2 / (2 |P|^2) = sigma^2 / 4; frequency and time interpolation of
    # independent errors multiply it by the sum of squared weights (separable)
    t = _time_factor(m).mean()
    closed = np.array([var / 4 * _ls_interp_factor(q, g).mean() * t for g in (0, 0, 1, 1)])
    closed = np.tile(closed, trials)
    ratio = mse / closed
    assert abs(ratio.mean() - 1) < 4 * ratio.std(ddof=1) / np.sqrt(ratio.size)
    assert ratio.std(ddof=1) / np.sqrt(ratio.size) < 0.03     # resolves a 12 % error
    # the noise variance from the pair residuals is unbiased
    r = nvar / var
    assert abs(r.mean() - 1) < 4 * r.std(ddof=1) / np.sqrt(r.size)
    assert r.std(ddof=1) / np.sqrt(r.size) < 0.02
    # without interpolation (the pair centres, DMRS symbols) the error is sigma^2 / 4
    assert (var / 4 * _ls_interp_factor(q, 0).mean() * t) < var / 4


# ------------------------------------------------------------------ exact recovery
@pytest.mark.parametrize("method", ["dmrs-ls", "dmrs-lmmse"])
def test_no_noise_no_interference_recovers_the_data_exactly(method, backend):
    from tests.factories import small_config

    cfg = small_config().replace(receiver=method, modulation="64qam", num_users=4, num_sats=1)
    settings = EmulatorSettings.from_config(cfg, backend=backend)
    # delays on the sample grid: the emulator's own chain is then exact (fractional delays
    # add the interpolation filters' error, about -55 dB in this small numerology)
    delay = (11904.0 + 7.0 * np.arange(4))[None, :] / cfg.sample_rate_hz
    doppler = np.full((1, 4), 4.2e4)
    gain = np.exp(1j * np.array([[0.3, 1.1, -2.0, 2.9]])) * np.array([[1.0, 0.5, 2.0, 0.8]])
    channel = PathSet.single(delay, doppler, gain)
    estimates = PathSet.single(delay, doppler)                     # exact precompensation
    coupling = np.eye(4, dtype=np.complex128)[None]                # no interference
    out = emulate_links(settings, channel, estimates, coupling, None, np.random.default_rng(2),
                        SLOT_SYMBOLS)
    rx = dmrs_receive(DmrsReceiver.from_config(cfg), out.received, out.symbols)
    assert np.all(rx.ber == 0.0)
    # EVM: the fractional-delay filter's error (< -100 dB) and, for the LMMSE, its bias on a
    # flat channel under the assumed 100 ns profile (about -100 dB)
    assert np.all(20 * np.log10(rx.evm) < -80.0)
    assert np.all(rx.noise_var < 1e-8 * np.abs(gain[0]) ** 2)


# ------------------------------------------------------------------ rate vs genie
def test_estimated_rate_below_genie_and_approaches_it_on_a_static_flat_channel():
    rng = np.random.default_rng(9)
    k, m, q = 8, SLOT_SYMBOLS, 612
    h = (rng.standard_normal(k) + 1j * rng.standard_normal(k))[:, None, None] / np.sqrt(2)
    rel_gap = {}
    for snr_db in (0.0, 10.0, 20.0, 30.0):
        var = 10 ** (-snr_db / 10)
        x = insert_pilots(qam_symbols(rng, "gaussian", (k, m, q)), 0, DMRS)
        n = _awgn(rng, (k, m, q), var)
        y = h * x + n
        genie = measure(EmulationOutput(received=y, symbols=x, desired=h * x, noise=n))
        for method in ("dmrs-ls", "dmrs-lmmse"):
            rx = dmrs_receive(DmrsReceiver(method), y, x, genie.desired_gain)
            gap = genie.rate - rx.rate                               # paired per user
            se = gap.std(ddof=1) / np.sqrt(k)
            assert gap.mean() > -3 * se
            rel_gap[method, snr_db] = gap.sum() / genie.rate.sum()
            if method == "dmrs-ls":
                # high-SNR closed form: the LS error (variance c sigma^2, c from the MSE
                # closed form) adds to the noise: log2(1 + g/s2) - log2(1 + g/(s2 (1 + c)))
                c = 0.25 * _ls_interp_factor(q, 0).mean() * _time_factor(m)[~dmrs_mask(
                    np.arange(m), DMRS)].mean()
                g2 = np.abs(h.ravel()) ** 2
                # the receiver's own SINR estimate: E|H^|^2 = |h|^2 + c var over its sigma^2
                # (sigma^2 from 2 x 153 pair residuals: relative std 1/sqrt(306), 0.25 dB;
                # 4 std errors = 1 dB)
                assert np.allclose(10 * np.log10(rx.sinr_pilot * var / (g2 + c * var)), 0.0,
                                   atol=1.0)
                want = np.log2(1 + g2 / var) - np.log2(1 + g2 / (var * (1 + c)))
                if snr_db >= 20:
                    assert np.mean(gap) == pytest.approx(np.mean(want), abs=0.03)
    for method in ("dmrs-ls", "dmrs-lmmse"):
        gaps = [rel_gap[method, s] for s in (0.0, 10.0, 20.0, 30.0)]
        assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
        assert gaps[-1] < 0.03


# ------------------------------------------------------------------ genie bit identity
def test_pilots_replace_only_dmrs_symbols_and_leave_the_random_streams_unchanged(backend):
    from linksim.emulator import draw_link_state, emulate_drop
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from tests.factories import small_config

    cfg = small_config().replace(backend=backend)
    drop = draw_drop(cfg, 4, 0)
    scsi = scsi_from_drop(drop, cfg)
    links = draw_link_state(cfg, drop, scsi, 4, 0)
    W = np.ones((cfg.num_sats, cfg.num_users, cfg.num_antennas), dtype=np.complex128) * 1e-2
    runs = {}
    for receiver in ("genie", "dmrs-ls"):
        runs[receiver] = emulate_drop(cfg.replace(receiver=receiver), drop, scsi, W, 4, 0,
                                      links=links)
    (g_out, g_meas), (d_out, _) = runs["genie"], runs["dmrs-ls"]
    default_out, default_meas = emulate_drop(cfg, drop, scsi, W, 4, 0, links=links)
    # receiver = genie is the default and today's chain: identical arrays
    assert np.array_equal(default_out.received, g_out.received)
    assert np.array_equal(default_meas.rate, g_meas.rate)
    # the noise and every non-DMRS symbol of the whole burst are bit-identical with pilots
    assert np.array_equal(g_out.noise, d_out.noise)
    frame = g_out.first_symbol_index + np.arange(g_out.burst_symbols.shape[1])
    mask = dmrs_mask(frame, DMRS)
    assert np.array_equal(g_out.burst_symbols[:, ~mask], d_out.burst_symbols[:, ~mask])
    assert not np.allclose(g_out.burst_symbols[:, mask], d_out.burst_symbols[:, mask])
