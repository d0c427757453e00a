"""The waveform emulator against closed forms, its numpy reference and its own components."""

import numpy as np
import pytest

from linksim.config import build_config
from linksim.emulator import LinkState, Numerology, emulate_links, measure
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
    def test_numba_equals_numpy_reference(self):
        st, a = two_sat_case()
        kw = dict(numerology=NUM, links=st, coupling=a, carrier_hz=2e9,
                  noise_power_w=np.full(3, 0.1), num_symbols=2, num_taps=16, backoff_samples=36)
        y1 = emulate_links(rng=rng(1), **kw)
        y2 = emulate_links(rng=rng(1), backend="numpy", **kw)
        err = np.linalg.norm(y1.received - y2.received) / np.linalg.norm(y2.received)
        assert err < 1e-10

    def test_components_add_up_to_the_received_samples(self):
        st, a = two_sat_case()
        out = emulate_links(NUM, st, a, 2e9, np.full(3, 0.2), rng(2), 2, num_taps=16,
                            backoff_samples=36, components=True)
        total = out.components.sum(axis=(0, 2)) + out.noise
        assert np.allclose(total, out.received, rtol=0, atol=1e-10 * np.abs(out.received).max())
        jj = np.arange(3)
        desired = out.components[:, jj, jj].sum(axis=0)
        assert np.allclose(desired, out.desired, atol=1e-10 * np.abs(out.desired).max())

    def test_interference_from_far_delays_carries_other_symbols(self):
        # stream 1 is compensated for its own user (tau_{0,1} = 3 ms - 10 T_sym) but reaches
        # user 0 over tau_{0,0} = 3 ms: residual delay +10 symbols (eq. 8), so the window of
        # symbol m at user 0 holds stream 1's symbol m - 10, never symbol m (Remark 1).
        st = links([[3e-3, 3e-3 - 10 * TSYM]], [[0.0, 0.0]])
        a = np.zeros((1, 2, 2), complex)
        a[0, 0, 1] = 1.0
        out = emulate_links(NUM, st, a, 2e9, None, rng(3), 24, num_taps=48, backoff_samples=36,
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

    def test_measured_sinr_synthetic(self):
        # one satellite, two users, known powers: desired |a|^2, interference |b|^2, noise
        st = links([[3e-3, 3.2e-3]], [[1e4, -2e4]])
        a = np.zeros((1, 2, 2), complex)
        a[0, 0, 0], a[0, 0, 1] = 2.0, 0.5j
        a[0, 1, 1], a[0, 1, 0] = 1.0, 0.0
        noise = np.array([0.3, 0.1])
        out = emulate_links(NUM, st, a, 2e9, noise, rng(4), 56, num_taps=48, backoff_samples=36)
        m = measure(out)
        want0 = 4.0 / (0.25 + 0.3)
        want1 = 1.0 / 0.1
        assert 10 * np.log10(m.sinr[0]) == pytest.approx(10 * np.log10(want0), abs=0.1)
        assert 10 * np.log10(m.sinr[1]) == pytest.approx(10 * np.log10(want1), abs=0.1)

    def test_bad_input(self):
        st, a = two_sat_case()
        with pytest.raises(ValueError, match="coupling"):
            emulate_links(NUM, st, a[:, :2], 2e9, None, rng(), 2)
        with pytest.raises(ValueError, match="num_symbols"):
            emulate_links(NUM, st, a, 2e9, None, rng(), 0)
