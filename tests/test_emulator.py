"""The waveform emulator against closed forms, its numpy reference and its own components."""

import numpy as np
import pytest

from linksim.config import build_config
from linksim.emulator import (
    EmulatorSettings,
    LinkState,
    Numerology,
    PathSet,
    emulate_links,
    measure,
)
from linksim.single_path import ici_kernel, ici_power_closed_form, run_single_path

CFG = build_config()
NUM = Numerology.from_config(CFG)
FS = NUM.sample_rate_hz
TSYM = NUM.symbol_length / FS


def links(delay_s, doppler_hz, delay_err=None, doppler_err=None, fading=None):
    delay_s = np.asarray(delay_s, float)
    z = np.zeros_like(delay_s)
    return LinkState(delay_s=delay_s, doppler_hz=np.asarray(doppler_hz, float),
                     delay_error_s=z if delay_err is None else np.asarray(delay_err, float),
                     doppler_error_hz=z if doppler_err is None else np.asarray(doppler_err, float),
                     fading=np.ones_like(delay_s, dtype=complex) if fading is None
                     else np.asarray(fading, complex))


def rng(seed=0):
    return np.random.default_rng(seed)


def run(st, a, noise, generator, num_symbols, backend="numba", num_taps=24, backoff=0,
        components=False, channel=None):
    """emulate_links on a LinkState (or an explicit channel PathSet) at the test numerology."""
    settings = EmulatorSettings(NUM, 2e9, num_taps, backoff, backend=backend)
    return emulate_links(settings, st.channel() if channel is None else channel,
                         st.estimates(), a, noise, generator, num_symbols, components)


class TestSinglePath:
    def test_perfect_compensation_is_exact(self):
        rep = run_single_path(CFG, 0.0, 0.0, 0.7, 8, seed=1)
        assert abs(rep.gain_measured_db) < 1e-9
        assert rep.phase_error_deg_max < 1e-7
        assert rep.ici_measured_db < -150

    def test_delay_inside_cp_is_a_phase_ramp_without_isi(self):
        # 300 ns = 9.2 samples, well inside the +-36-sample margin: only the ramp (eq. 16)
        rep = run_single_path(CFG, 300e-9, 0.0, 0.0, 16, seed=2)
        assert not rep.isi_expected
        assert rep.phase_error_deg_max < 0.05          # -50 dB FIR accuracy ~ 0.2 deg bound
        assert rep.ici_measured_db < -50

    def test_delay_beyond_cp_gives_isi_of_the_overlap(self):
        # late by d samples beyond the margin: the window takes d/N of the next symbol
        late = 100                                          # samples past the nominal start
        d = late - CFG.timing_backoff_samples
        rep = run_single_path(CFG, late / FS, 0.0, 0.0, 64, seed=3)
        assert rep.isi_expected
        # ISI + the signal-loss ICI: error power ~ 2 d / N (lost part d/N, foreign part d/N)
        expected_db = 10 * np.log10(2 * d / NUM.fft_size)
        assert rep.ici_measured_db == pytest.approx(expected_db, abs=0.5)

    @pytest.mark.parametrize("eps", [0.05, 0.1, 0.25])
    def test_cfo_gain_and_ici_closed_forms(self, eps):
        rep = run_single_path(CFG, 0.0, eps * NUM.subcarrier_spacing_hz, 0.0, 256, seed=4)
        assert rep.gain_closed_db == pytest.approx(20 * np.log10(
            np.sin(np.pi * eps) / (NUM.fft_size * np.sin(np.pi * eps / NUM.fft_size))), abs=1e-12)
        assert rep.gain_measured_db == pytest.approx(rep.gain_closed_db, abs=0.05)
        assert rep.ici_measured_db == pytest.approx(rep.ici_closed_db, abs=0.05)

    def test_ici_kernel_closed_form(self):
        n = 64
        for x in (0.0, 0.3, -1.7, 5.25):
            direct = np.exp(2j * np.pi * x * np.arange(n) / n).mean()
            assert ici_kernel(x, n) == pytest.approx(direct, abs=1e-12)
        # all subcarriers loaded: ICI power = 1 - |Psi(eps)|^2 (Parseval)
        q = np.arange(n)
        assert ici_power_closed_form(0.2, q, n).mean() == pytest.approx(
            1 - abs(ici_kernel(0.2, n)) ** 2, rel=1e-9)


def two_sat_case(k=3, s=2, seed=5, delay_spread_s=0.4e-3):
    g = rng(seed)
    delay = 3e-3 + delay_spread_s * g.random((s, k))
    doppler = 4e4 * (g.random((s, k)) - 0.5)
    st = links(delay, doppler, delay_err=1e-10 * g.standard_normal((s, k)),
               doppler_err=5 * g.standard_normal((s, k)),
               fading=(g.standard_normal((s, k)) + 1j * g.standard_normal((s, k))) / 2 + 1)
    a = (g.standard_normal((s, k, k)) + 1j * g.standard_normal((s, k, k)))
    return st, a


class TestMultiLink:
    def test_every_backend_equals_the_numpy_reference(self, backend):
        st, a = two_sat_case()
        y1 = run(st, a, np.full(3, 0.1), rng(1), 2, backend=backend, num_taps=16, backoff=36)
        y2 = run(st, a, np.full(3, 0.1), rng(1), 2, backend="numpy", num_taps=16, backoff=36)
        err = np.linalg.norm(y1.received - y2.received) / np.linalg.norm(y2.received)
        assert err < 1e-10

    def test_components_add_up_to_the_received_samples(self, backend):
        st, a = two_sat_case()
        out = run(st, a, np.full(3, 0.2), rng(2), 2, backend=backend, num_taps=16, backoff=36,
                  components=True)
        total = out.components.sum(axis=(0, 2)) + out.noise
        assert np.allclose(total, out.received, rtol=0, atol=1e-10 * np.abs(out.received).max())
        jj = np.arange(3)
        desired = out.components[:, jj, jj].sum(axis=0)
        assert np.allclose(desired, out.desired, atol=1e-10 * np.abs(out.desired).max())

    def test_interference_from_far_delays_carries_other_symbols(self, backend):
        # stream 1 is compensated for its own user (tau_{0,1} = 3 ms - 10 T_sym) but reaches
        # user 0 over tau_{0,0} = 3 ms: residual delay +10 symbols (eq. 8), so the window of
        # symbol m at user 0 holds stream 1's symbol m - 10, never symbol m (Remark 1).
        st = links([[3e-3, 3e-3 - 10 * TSYM]], [[0.0, 0.0]])
        a = np.zeros((1, 2, 2), complex)
        a[0, 0, 1] = 1.0
        out = run(st, a, None, rng(3), 24, backend=backend, num_taps=48, backoff=36,
                  components=True)
        y = out.components[0, 0, 1]                       # [M, Q] at user 0 from stream 1
        first = out.first_symbol_index
        assert first <= -10                                # burst covers the delay with data
        x_same = out.burst_symbols[1, -first:-first + 24]
        x_shift = out.burst_symbols[1, -first - 10:-first + 14]

        def corr(u, v):
            return abs(np.vdot(u.ravel(), v.ravel())) / np.linalg.norm(u) / np.linalg.norm(v)

        assert corr(x_same, y) < 5 / np.sqrt(y.size)
        assert corr(x_shift, y) > 1 - 1e-4

    def test_measured_sinr_synthetic(self, backend):
        # one satellite, two users, known powers: desired |a|^2, interference |b|^2, noise
        st = links([[3e-3, 3.2e-3]], [[1e4, -2e4]])
        a = np.zeros((1, 2, 2), complex)
        a[0, 0, 0], a[0, 0, 1] = 2.0, 0.5j
        a[0, 1, 1], a[0, 1, 0] = 1.0, 0.0
        noise = np.array([0.3, 0.1])
        out = run(st, a, noise, rng(4), 56, backend=backend, num_taps=48, backoff=36)
        m = measure(out)
        want0 = 4.0 / (0.25 + 0.3)
        want1 = 1.0 / 0.1
        assert 10 * np.log10(m.sinr[0]) == pytest.approx(10 * np.log10(want0), abs=0.1)
        assert 10 * np.log10(m.sinr[1]) == pytest.approx(10 * np.log10(want1), abs=0.1)

    def test_bad_input(self):
        st, a = two_sat_case()
        with pytest.raises(ValueError, match="coupling"):
            run(st, a[:, :2], None, rng(), 2)
        with pytest.raises(ValueError, match="num_symbols"):
            run(st, a, None, rng(), 0)
        with pytest.raises(ValueError, match="backend"):
            run(st, a, None, rng(), 2, backend="fortran")


class TestPathSeam:
    """The propagation stage takes P paths per link; the paper's channel is P = 1."""

    def test_two_paths_are_the_sum_of_their_single_path_runs(self, backend):
        # linearity of the channel: same data (same seed), no noise; path 2 is 0.7 us late,
        # 3 dB weaker and 120 Hz off, on every link
        st, a = two_sat_case()
        one = st.channel()
        two = PathSet(np.concatenate([one.delay_s, one.delay_s + 0.7e-6], axis=2),
                      np.concatenate([one.doppler_hz, one.doppler_hz + 120.0], axis=2),
                      np.concatenate([one.gain, 0.5 ** 0.5 * 1j * one.gain], axis=2))
        second = PathSet(two.delay_s[:, :, 1:], two.doppler_hz[:, :, 1:], two.gain[:, :, 1:])
        y2 = run(st, a, None, rng(7), 3, backend=backend, num_taps=16, channel=two)
        y_a = run(st, a, None, rng(7), 3, backend=backend, num_taps=16, channel=one)
        y_b = run(st, a, None, rng(7), 3, backend=backend, num_taps=16, channel=second)
        # the sum needs the same data symbols in all three runs (the burst range follows the
        # windows, which the late path widens by one sample only here)
        assert np.array_equal(y2.symbols, y_a.symbols) and np.array_equal(y2.symbols, y_b.symbols)
        want = y_a.received + y_b.received
        err = np.linalg.norm(y2.received - want) / np.linalg.norm(want)
        assert err < 1e-12

    def test_one_path_channel_of_a_link_state(self):
        st, _ = two_sat_case()
        ch, est = st.channel(), st.estimates()
        assert ch.delay_s.shape == (2, 3, 1) and ch.num_paths == 1 and ch.is_static
        assert np.array_equal(ch.gain[:, :, 0], st.fading)
        assert np.array_equal(est.delay_s[:, :, 0], st.delay_s - st.delay_error_s)
        assert np.array_equal(est.doppler_hz[:, :, 0], st.doppler_hz - st.doppler_error_hz)

    def test_bad_path_sets(self):
        z = np.zeros((2, 3, 2))
        with pytest.raises(ValueError, match="doppler_hz"):
            PathSet(z, np.zeros((2, 3, 1)), z.astype(complex))
        with pytest.raises(ValueError, match=r"\[S, K, P\]"):
            PathSet(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3), complex))
        with pytest.raises(ValueError, match="delay_poly_s"):
            PathSet(z, z, z.astype(complex), delay_poly_s=np.zeros((2, 3, 2)))

    def test_time_varying_paths_with_zero_rate_equal_the_static_ones(self, backend):
        # delay_poly_s is applied by waveforms.tv_delay (tests/test_motion.py for the physics)
        st, a = two_sat_case()
        ch = st.channel()
        moving = PathSet(ch.delay_s, ch.doppler_hz, ch.gain,
                         delay_poly_s=np.zeros(ch.delay_s.shape + (2,)))
        y0 = run(st, a, None, rng(3), 2, backend=backend)
        y1 = run(st, a, None, rng(3), 2, backend=backend, channel=moving)
        err = np.linalg.norm(y1.received - y0.received) / np.linalg.norm(y0.received)
        assert err < 1e-12


class TestSettings:
    def test_from_config_uses_the_config_names(self):
        cfg = build_config({"fractional_delay_taps": 16, "timing_backoff_samples": 10,
                            "modulation": "qpsk", "backend": "numpy"})
        s = EmulatorSettings.from_config(cfg)
        assert (s.fractional_delay_taps, s.timing_backoff_samples, s.modulation, s.backend) \
            == (16, 10, "qpsk", "numpy")
        assert s.numerology == Numerology.from_config(cfg) and s.carrier_hz == cfg.carrier_hz
        assert s.kernels.name == "numpy"
        assert EmulatorSettings.from_config(cfg, backend="numba").kernels.name == "numba"

    def test_config_backends_are_the_kernel_sets(self):
        from linksim.config import _CHOICES
        from waveforms.kernels import kernel_set_names

        assert _CHOICES["backend"] == kernel_set_names()
