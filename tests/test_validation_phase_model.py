"""validation.phase_model: (13)-(16) on drops, the Doppler/delay sweeps and E e^{j theta},
against closed forms and recomputations from the drawn errors."""

import numpy as np
import pytest
from factories import small_config

from linksim.config import build_config
from linksim.scenario import Stream, draw_drop, drop_rng
from linksim.scsi import CompensationErrorModel
from linksim.single_path import ici_kernel
from validation.drop_response import drop_response
from validation.phase_model import (
    approximation_nmse,
    crossing,
    desired_gain_errors,
    eps_threshold_closed_form,
    expected_phase_check,
    fig8_variances,
)

SMALL = small_config()
FULL = build_config()


class TestCrossing:
    def test_linear(self):
        x = np.array([0.0, 1.0, 2.0, 3.0])
        assert crossing(x, np.array([-40.0, -30.0, -10.0, 0.0]), -20.0) == pytest.approx(1.5)

    def test_never(self):
        assert np.isnan(crossing(np.arange(3.0), np.array([-40.0, -35.0, -30.0]), -20.0))

    def test_small_eps_formula(self):
        # (pi eps)^2 / 3 = 0.01
        assert eps_threshold_closed_form(-20.0) == pytest.approx(np.sqrt(0.03) / np.pi)


class TestApproximationNmse:
    @pytest.mark.parametrize("eps", [0.02, 0.1, 0.3])
    def test_doppler_matches_ici_kernel(self, eps):
        r = approximation_nmse(FULL, 0.0, eps * FULL.subcarrier_spacing_hz, 14, seed=1)
        assert r["nmse_16_db"] == pytest.approx(r["nmse_closed_db"], abs=0.2)
        psi = ici_kernel(eps, FULL.fft_size)
        assert r["gain_closed_db"] == pytest.approx(20 * np.log10(abs(psi)), abs=1e-12)
        # small eps: ICI power ~ (pi eps)^2 / 3
        if eps <= 0.02:
            assert 10 ** (r["nmse_16_db"] / 10) == pytest.approx((np.pi * eps) ** 2 / 3, rel=0.05)

    @pytest.mark.parametrize("late", [45.0, 72.0, 144.0])
    def test_delay_beyond_margin_is_two_e_over_n(self, late):
        fs = FULL.sample_rate_hz
        r = approximation_nmse(FULL, late / fs, 0.0, 14, seed=2)
        e = late - (FULL.cyclic_prefix_length - FULL.timing_backoff_samples)
        assert r["excess_samples"] == e
        assert r["nmse_16_db"] == pytest.approx(10 * np.log10(2 * e / FULL.fft_size), abs=1.0)

    @pytest.mark.parametrize("d", [-30.3, 0.0, 12.7, 35.0])
    def test_inside_margin_only_filter_error(self, d):
        r = approximation_nmse(FULL, d / FULL.sample_rate_hz, 0.0, 14, seed=3)
        assert r["excess_samples"] == 0.0
        assert r["nmse_16_db"] < -45.0          # the 48-tap fractional-delay filter floor


class TestDropGainErrors:
    def test_model_exact_to_filter_accuracy(self):
        r = drop_response(SMALL, seed=11, drop_index=0)
        err = desired_gain_errors([r])
        st = err.stats()
        assert err.mag_err_db.shape == (1, 3, 4, 72)
        assert st["phase_err_deg_rms"] < 0.1
        assert st["mag_err_db_rms"] < 0.01
        assert st["nmse_model_db_max"] < -40.0

    def test_perturbed_errors_are_detected(self):
        # the same drop with its delay error shifted by 0.1 ns: the model (built from the true
        # errors) then misses a carrier rotation of 2 pi f_c 0.1 ns = 72 deg
        import dataclasses

        r = drop_response(SMALL, seed=11, drop_index=0)
        links = dataclasses.replace(r.links, delay_error_s=r.links.delay_error_s + 0.1e-9)
        bad = dataclasses.replace(r, links=links)
        st = desired_gain_errors([bad]).stats()
        assert st["phase_err_deg_rms"] == pytest.approx(72.0, abs=1.0)


class TestExpectedPhase:
    def test_fig8_list(self):
        assert fig8_variances()[0] == 0.0 and len(fig8_variances()) >= 4

    def test_against_closed_form_and_the_drawn_errors(self):
        variances = (0.0, 0.5, 2.0)
        res = expected_phase_check(SMALL, seed=5, drops=6, variances=variances, num_symbols=4)
        assert np.all(res["links"] == 6 * 3 * 4)
        assert res["empirical_real"][0] == pytest.approx(1.0, abs=1e-3)
        dev = np.abs(res["empirical_real"] - res["closed_form"])
        assert np.all(dev[1:] <= 4 * res["std_err"][1:])
        # independent recomputation: mean of e^{-j 2 pi f_c Delta tau} over the same draws
        for n, v in enumerate(variances):
            cfg = SMALL.replace(phase_error_var_rad2=v)
            z = []
            for d in range(6):
                shape = draw_drop(cfg, 5, d).delay_s.shape
                rng = drop_rng(5, d, Stream.ERRORS)
                dtau, _ = CompensationErrorModel.from_config(cfg).draw(rng, shape)
                z.append(np.exp(-2j * np.pi * cfg.carrier_hz * dtau).ravel())
            ref = np.mean(np.concatenate(z))
            # the rest of theta (Doppler drift over 4 symbols, nu^c Delta tau, filter) < 0.01
            assert res["empirical_real"][n] == pytest.approx(ref.real, abs=0.01)
            assert res["empirical_imag"][n] == pytest.approx(ref.imag, abs=0.01)
