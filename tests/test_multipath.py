"""NTN-TDL multipath (linksim.multipath) and the frequency-selective measure, against closed
forms: the per-subcarrier response of the taps, the tables' powers and K-factors, the Jakes
autocorrelation, the ISI of a tap beyond the CP, a synthetic per-subcarrier SINR; and the flat
profile unchanged."""

import numpy as np
import pytest
from scipy.special import j0

from linksim.config import ConfigError, build_config
from linksim.emulator import (
    EmulationOutput,
    EmulatorSettings,
    LinkState,
    Numerology,
    PathSet,
    emulate_links,
    measure,
)
from linksim.multipath import (
    PROFILES,
    draw_taps,
    frequency_correlation,
    max_doppler_hz,
    multipath_channel,
    tap_powers,
)
from tests.factories import small_config

CFG = small_config()
NUM = Numerology.from_config(CFG)
FS = NUM.sample_rate_hz
TAU0 = 4.1e-3          # first-arrival delay (s)
NU0 = 2.0e4            # satellite Doppler (Hz), precompensated exactly here


def logical_subcarriers(num: Numerology) -> np.ndarray:
    from waveforms.ofdm import used_subcarrier_bins

    bins = used_subcarrier_bins(num.fft_size, num.num_used_subcarriers)
    return np.where(bins >= num.fft_size // 2, bins - num.fft_size, bins).astype(float)


def one_link(excess_samples, gains, backend="numba", num_symbols=8, modulation="gaussian",
             seed=0, noise=None):
    """One satellite -> one user through paths at tau0 + excess (samples), estimates exact."""
    excess = np.asarray(excess_samples, float) / FS
    p = excess.size
    channel = PathSet(delay_s=(TAU0 + excess).reshape(1, 1, p),
                      doppler_hz=np.full((1, 1, p), NU0),
                      gain=np.asarray(gains, complex).reshape(1, 1, p))
    est = LinkState(delay_s=np.array([[TAU0]]), doppler_hz=np.array([[NU0]]),
                    delay_error_s=np.zeros((1, 1)), doppler_error_hz=np.zeros((1, 1)),
                    fading=np.ones((1, 1), complex)).estimates()
    settings = EmulatorSettings(NUM, CFG.carrier_hz, CFG.fractional_delay_taps,
                                CFG.timing_backoff_samples, modulation, backend)
    return emulate_links(settings, channel, est, np.ones((1, 1, 1), complex), noise,
                         np.random.default_rng(seed), num_symbols)


class TestTables:
    def test_tables_are_normalised_to_unit_rms_delay_spread(self):
        # TR 38.901 7.7.3: the normalised delays are in units of the RMS delay spread; a
        # mistyped delay or power breaks this (the four tables give 1 to < 1e-4)
        for prof in PROFILES.values():
            assert prof.rms_delay_spread() == pytest.approx(1.0, abs=1e-4), prof.name

    def test_k_factors_follow_from_the_tap_powers(self):
        assert PROFILES["ntn-tdl-c"].k_factor_db == pytest.approx(10.224, abs=1e-9)
        assert PROFILES["ntn-tdl-d"].k_factor_db == pytest.approx(11.707, abs=1e-9)
        assert PROFILES["ntn-tdl-a"].k_factor_db is None

    @pytest.mark.parametrize("name", sorted(PROFILES))
    @pytest.mark.parametrize("mode", ["table", "scsi"])
    def test_tap_powers_and_k_factor_over_many_draws(self, name, mode):
        prof = PROFILES[name]
        s, k = 100, 200                                   # 20000 links
        kappa = np.full((s, k), 10 ** 2.5)
        los_f, delays, nlos = tap_powers(prof, kappa, mode)
        gamma = np.full((s, k), 3.0)
        _, _, g = draw_taps(np.random.default_rng(5), gamma, los_f, delays * 1e-7, nlos, 0.0, 1)
        n = s * k
        measured = np.mean(np.abs(g[:, :, 1:]) ** 2, axis=(0, 1)) / 3.0
        los_t, _, nlos_t = prof.normalised()
        if mode == "table":
            expected, los_exp = nlos_t, los_t
        else:
            los_exp = kappa[0, 0] / (kappa[0, 0] + 1)
            expected = (1 - los_exp) * nlos_t / nlos_t.sum()
        # |CN|^2 is exponential: relative standard error 1/sqrt(n) per tap; 4 sigma
        np.testing.assert_allclose(measured, expected, rtol=4 / np.sqrt(n))
        np.testing.assert_allclose(np.abs(g[:, :, 0]) ** 2 / 3.0, los_exp, rtol=1e-12)
        assert los_exp + expected.sum() == pytest.approx(1.0, abs=1e-12)
        if mode == "table" and prof.k_factor_db is not None:
            k_db = 10 * np.log10(los_exp / measured[0])
            assert k_db == pytest.approx(prof.k_factor_db, abs=4 * 4.343 / np.sqrt(n))

    def test_bad_names(self):
        with pytest.raises(ConfigError, match="channel_profile"):
            build_config({"channel_profile": "tdl-x"})
        with pytest.raises(ConfigError, match="multipath_kappa"):
            build_config({"multipath_kappa": "both"})
        with pytest.raises(ConfigError, match="delay_spread_s"):
            build_config({"delay_spread_s": -1e-9})


class TestDopplerSpread:
    def test_sum_of_sinusoids_autocorrelation_is_j0(self):
        f_d = max_doppler_hz(30.0, 2e9)                   # 200 Hz
        assert f_d == pytest.approx(30.0 * 2e9 / 299792458.0)
        s, k, n_sin = 100, 100, 16
        _, nu, g = draw_taps(np.random.default_rng(3), np.ones((s, k)), np.zeros((s, k)),
                             np.array([0.0]), np.ones((s, k, 1)), f_d, n_sin)
        assert g.shape == (s, k, 1 + n_sin) and np.all(np.abs(nu) <= f_d)
        dt = np.array([0.0, 0.2, 0.5, 1.0, 2.0, 4.0]) / (2 * np.pi * f_d) * 2.405
        gt = np.einsum("skp,tskp->tsk", g, np.exp(2j * np.pi * nu[None] * dt[:, None, None, None]))
        r = np.mean(gt[0][None] * gt.conj(), axis=(1, 2))          # E g(0) g*(dt)
        # per link the product has unit-order variance: standard error 1/sqrt(S K), 5 sigma
        np.testing.assert_allclose(r.real, j0(2 * np.pi * f_d * dt), atol=5 / np.sqrt(s * k))
        np.testing.assert_allclose(r.imag, 0.0, atol=5 / np.sqrt(s * k))


class TestResponse:
    def test_measured_response_is_the_sum_of_the_taps_phase_ramps(self, backend):
        # taps inside the CP margin (N_cp - back-off = 5 samples): no ISI, G[q] is exactly
        # sum_p g_p e^{-j 2 pi (f_c + q df - nu) d_p} up to the fractional-delay FIR's
        # accuracy (nu: the link's Doppler, pre-rotated for the first arrival: a path later
        # by d_p keeps e^{j 2 pi nu d_p})
        excess = np.array([0.0, 1.37, 3.81])
        gains = np.array([0.9, 0.3 - 0.2j, 0.1 + 0.15j])
        out = one_link(excess, gains, backend)
        meas = measure(out)
        q = logical_subcarriers(NUM)
        d = excess / FS
        closed = np.sum(gains[None, :] * np.exp(-2j * np.pi * (
            CFG.carrier_hz - NU0 + q[:, None] * NUM.subcarrier_spacing_hz) * d[None, :]), axis=1)
        err_db = 10 * np.log10(np.max(np.abs(meas.desired_gain[0] - closed) ** 2)
                               / np.mean(np.abs(closed) ** 2))
        assert err_db < -50.0                      # the FIR's -50 dB accuracy on the used band

    def test_two_tap_isi_beyond_the_cp_is_the_overlap_closed_form(self, backend):
        # second tap late by D samples past the margin: per used bin q it leaks
        # P2 [2 sum_{q' used, q' != q} |K_D(q - q')|^2 + (D/N)^2] (previous symbol + own
        # truncation), K_D(k) = (1/N) sum_{n<D} e^{-j 2 pi k n / N}; the LS gain over M
        # symbols removes a fraction 1/M of it (QPSK: exact)
        n, m_sym = NUM.fft_size, 64
        margin = NUM.cyclic_prefix_length - CFG.timing_backoff_samples
        late = 20
        p2 = 0.5
        out = one_link([0.0, margin + late], [1.0, np.sqrt(p2) * np.exp(0.4j)], backend,
                       num_symbols=m_sym, modulation="qpsk", seed=4)
        meas = measure(out)
        q = logical_subcarriers(NUM)
        k = q[:, None] - q[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            kern = np.where(k == 0, (late / n) ** 2, (np.sin(np.pi * k * late / n)
                                                      / (n * np.sin(np.pi * k / n))) ** 2)
        off = kern.sum(axis=1) - (late / n) ** 2
        closed = np.mean(p2 * (2 * off + (late / n) ** 2)) * (1 - 1 / m_sym)
        # M Q residual samples, about exponential: 5 / sqrt(M Q) relative
        assert meas.else_power[0] == pytest.approx(closed, rel=5 / np.sqrt(m_sym * q.size))
        # and the coherent part of the late tap shrinks to (1 - D/N)
        coh = 1 + np.sqrt(p2) * np.exp(0.4j) * (1 - late / n) * np.exp(
            -2j * np.pi * (CFG.carrier_hz - NU0 + q * NUM.subcarrier_spacing_hz)
            * (margin + late) / FS)
        np.testing.assert_allclose(meas.desired_gain[0], coh, atol=5 / np.sqrt(m_sym))

    def test_frequency_correlation_closed_form_is_the_pdp_transform(self):
        prof = PROFILES["ntn-tdl-a"]
        los, d, p = prof.normalised()
        rho = frequency_correlation(los, d * 1e-6, p, np.array([0.0, 1e5]))
        assert rho[0] == pytest.approx(1.0, abs=1e-12)
        assert rho[1] == pytest.approx(np.sum(p * np.exp(2j * np.pi * 1e5 * d * 1e-6)))


class TestFlat:
    def _drop(self, cfg):
        from linksim.emulator import emulate_drop
        from linksim.scenario import draw_drop
        from linksim.scsi import scsi_from_drop
        from precoders import design

        drop = draw_drop(cfg, 3, 0)
        scsi = scsi_from_drop(drop, cfg)
        W = design("mrt", scsi, 10 ** (cfg.power_dbw / 10)).W
        return emulate_drop(cfg, drop, scsi, W, 3, 0)[1], drop, scsi, W

    def test_flat_ignores_the_multipath_knobs_exactly(self):
        base, *_ = self._drop(CFG)
        other, *_ = self._drop(CFG.replace(delay_spread_s=3e-6, ue_speed_mps=30.0,
                                           multipath_kappa="table"))
        np.testing.assert_allclose(other.rate, base.rate, rtol=0, atol=1e-12)
        np.testing.assert_allclose(other.desired_gain, base.desired_gain, rtol=0, atol=1e-12)
        assert base.else_power_subcarrier is None

    def test_taps_at_one_delay_add_up_to_the_flat_path(self, backend):
        # the path machinery: a flat gain split into LOS + 2 NLOS paths at the same delay
        # gives the flat samples to rounding (linearity of propagate)
        g = np.array([0.8 + 0.1j])
        flat = one_link([0.0], g, backend, seed=6)
        split = one_link([0.0, 0.0, 0.0], [0.5, 0.2 + 0.1j, 0.1], backend, seed=6)
        np.testing.assert_allclose(split.received, flat.received, rtol=0, atol=1e-12)

    def test_multipath_drop_runs_and_keeps_the_link_power(self):
        cfg = CFG.replace(channel_profile="ntn-tdl-c", delay_spread_s=1e-7, ue_speed_mps=10.0)
        meas, drop, scsi, _ = self._drop(cfg)
        assert np.all(np.isfinite(meas.rate)) and meas.else_power_subcarrier.shape == (
            cfg.num_users, cfg.num_used_subcarriers)
        from linksim.emulator import draw_link_state
        links = draw_link_state(cfg, drop, scsi, 3, 0)
        ch = multipath_channel(cfg, links, scsi, 3, 0)
        # deterministic per link: LOS power + every sinusoid's power = gamma
        np.testing.assert_allclose(np.sum(np.abs(ch.gain) ** 2, axis=2), scsi.gamma, rtol=1e-12)
        np.testing.assert_allclose(ch.delay_s[:, :, 0], drop.delay_s, rtol=0, atol=0)


class TestSelectiveMeasure:
    def test_synthetic_per_subcarrier_sinr_to_a_tenth_of_a_db(self):
        # known G[q], interference power I[q] (selective) and noise: the measure's SINR per
        # subcarrier and its rate-equivalent SINR must be right to 0.1 dB
        rng = np.random.default_rng(11)
        k, q, m = 2, 128, 2000
        qq = np.arange(q)
        gain = (1.0 + 0.6 * np.cos(2 * np.pi * qq / 50))[None, :] * np.exp(1j * qq / 9)
        gain = np.repeat(gain, k, axis=0)
        interf_p = 0.3 * (1 + 0.5 * np.sin(2 * np.pi * qq / 64))[None, :].repeat(k, 0)
        n0 = 0.05

        def cn(scale):
            return np.sqrt(scale / 2) * (rng.standard_normal((k, m, q))
                                         + 1j * rng.standard_normal((k, m, q)))

        x = cn(1.0)
        desired = gain[:, None, :] * x
        noise = cn(n0)
        received = desired + np.sqrt(interf_p)[:, None, :] * cn(1.0) + noise
        meas = measure(EmulationOutput(received=received, symbols=x, desired=desired,
                                       noise=noise), window_subcarriers=2)
        true_sinr = np.abs(gain) ** 2 / (interf_p + n0)
        est_sinr = np.abs(meas.desired_gain) ** 2 / meas.else_power_subcarrier
        assert np.mean(np.abs(10 * np.log10(est_sinr / true_sinr))) < 0.1
        true_rate = np.log2(1 + true_sinr).mean(axis=1)
        eq_db = lambda r: 10 * np.log10(2 ** r - 1)       # noqa: E731
        np.testing.assert_allclose(eq_db(meas.rate), eq_db(true_rate), atol=0.1)
        # the flat measure (one else-power per user) misses the selectivity
        flat = measure(EmulationOutput(received=received, symbols=x, desired=desired,
                                       noise=noise))
        assert np.all(np.abs(flat.rate - true_rate) > np.abs(meas.rate - true_rate))


class TestEmulateCommand:
    @pytest.mark.parametrize("precoder", ["mrt", "ss-m", "ss-wm", "ms-sepwm", "ms-jowm",
                                          "ms-jocdwm"])
    def test_every_precoder_runs_on_ntn_tdl_c(self, precoder):
        from linksim.emulator import emulate_drop
        from linksim.scenario import draw_drop
        from linksim.scsi import scsi_from_drop
        from validation.rates import design_precoder

        cfg = CFG.replace(channel_profile="ntn-tdl-c", delay_spread_s=1e-7, max_iterations=5)
        drop = draw_drop(cfg, 1, 0)
        scsi = scsi_from_drop(drop, cfg)
        W = design_precoder(precoder, scsi, 10 ** (cfg.power_dbw / 10), cfg)
        meas = emulate_drop(cfg, drop, scsi, W, 1, 0)[1]
        assert np.all(np.isfinite(meas.rate)) and np.all(meas.rate > 0)

    def test_cli_records_the_profile(self, tmp_path):
        import json
        import subprocess
        import sys

        import h5py

        p = subprocess.run([sys.executable, "-m", "linksim", "emulate", "--snr", "10",
                            "--users", "4", "--sats", "2", "--symbols", "2",
                            "--set", "channel_profile=ntn-tdl-c", "--set", "delay_spread_s=1e-7",
                            "--out", str(tmp_path / "e")],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        with h5py.File(tmp_path / "e" / "emulate.h5") as f:
            cfg = json.loads(f.attrs["config_json"])
        assert cfg["channel_profile"] == "ntn-tdl-c" and cfg["delay_spread_s"] == 1e-7
        bad = subprocess.run([sys.executable, "-m", "linksim", "emulate", "--set",
                              "channel_profile=tdl-z"], capture_output=True, text=True,
                             timeout=600)
        assert bad.returncode == 2 and "channel_profile" in bad.stderr
        assert "Traceback" not in bad.stderr
