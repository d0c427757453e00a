"""validation.drop_response and validation.rates: linearity against the emulator, the realised
model (18) against the samples, and the ranking/swap bookkeeping on synthetic numbers."""

import numpy as np
import pytest

from linksim.config import build_config
from linksim.emulator import emulate_drop, measure
from linksim.ratemodel import coupling
from validation.drop_response import drop_response
from validation.rates import explain_swaps, realised_model_rates, summarise

SMALL = build_config({"fft_size": 128, "cyclic_prefix_length": 9, "num_used_subcarriers": 72,
                      "timing_backoff_samples": 4, "antenna_size": [2, 2], "num_users": 4,
                      "num_sats": 3})


def matched_filter(scsi, power_w):
    """w_{s,k} = sqrt(P/K) v_{s,k} / sqrt(N_t) (MRT on the sCSI mean), complex [S, K, N_t]."""
    n_t = scsi.num_antennas
    return np.sqrt(power_w / scsi.num_users) * scsi.steering / np.sqrt(n_t)


@pytest.fixture(scope="module")
def resp():
    return drop_response(SMALL, seed=21, drop_index=1)


class TestDropResponse:
    def test_output_equals_emulate_drop(self, resp):
        W = matched_filter(resp.scsi, 10 ** (-2.0))
        out, meas = emulate_drop(SMALL, resp.drop, resp.scsi, W, 21, 1)
        syn = resp.output(coupling(resp.scsi.steering, W))
        scale = np.max(np.abs(out.received))
        assert np.max(np.abs(syn.received - out.received)) < 1e-12 * scale
        assert np.max(np.abs(syn.desired - out.desired)) < 1e-12 * scale
        np.testing.assert_array_equal(syn.noise, out.noise)
        np.testing.assert_allclose(measure(syn).rate, meas.rate, rtol=1e-10)

    def test_interference_is_the_rest(self, resp):
        A = coupling(resp.scsi.steering, matched_filter(resp.scsi, 0.1))
        out = resp.output(A)
        np.testing.assert_allclose(resp.interference(A), out.received - out.desired - out.noise,
                                   atol=1e-12 * np.max(np.abs(out.received)))


class TestRealisedModel:
    @pytest.mark.parametrize("power_dbw", [-30.0, 0.0])
    def test_measured_rate_follows_model_18(self, resp, power_dbw):
        # waveform effects (filter error ~ -50 dB, no ISI, ICI ~ -75 dB at 5 Hz) are far below
        # the SINR, and the else-power estimate over M Q = 14 x 72 noise samples is within
        # ~3 / sqrt(1008) = 10 %: |delta rate| <= log2(1.1) = 0.14 bit/s/Hz
        A = coupling(resp.scsi.steering, matched_filter(resp.scsi, 10 ** (power_dbw / 10)))
        meas = measure(resp.output(A))
        model = realised_model_rates(resp, A)
        np.testing.assert_allclose(meas.rate, model, atol=0.14)


def synthetic(values_meas, values_anal, components):
    """A rates result with P precoders, L = 1 level, D = 2 drops, K = 1 user."""
    p = len(values_meas)
    res = {key: np.ones((p, 1, 2, 1)) for key in
           ("signal_measured", "signal_model", "interference_measured", "interference_model",
            "noise_measured", "noise_model", "self_measured")}
    ones = np.ones((p, 1, 2, 1))
    res["rate_measured"] = np.array(values_meas, float)[:, None, None, None] * ones
    res["rate_analytical"] = np.array(values_anal, float)[:, None, None, None] * ones
    ergodic = np.array(values_anal, float) - np.array(components["jensen"])
    realised = ergodic - np.array(components["finite"])
    res["rate_ergodic"] = ergodic[:, None, None, None] * np.ones((p, 1, 2, 1))
    res["rate_realised"] = realised[:, None, None, None] * np.ones((p, 1, 2, 1))
    res["power_dbw"] = np.array([-10.0])
    return res


class TestRanking:
    def test_same_ranking(self):
        res = synthetic([3.0, 2.0], [3.1, 2.1], {"jensen": [0.1, 0.1], "finite": [0.0, 0.0]})
        s = summarise(res, ["a", "b"])
        assert s["ranking_same"]
        assert s["overall_measured"] == ["a", "b"]
        assert explain_swaps(s, ["a", "b"]) == []

    def test_swap_explained_by_jensen(self):
        # analytical says a > b, measured says b > a: a loses 0.6 more to Jensen than b
        res = synthetic([2.3, 2.5], [3.0, 2.6], {"jensen": [0.7, 0.1], "finite": [0.0, 0.0]})
        s = summarise(res, ["a", "b"])
        assert not s["ranking_same"]
        swaps = explain_swaps(s, ["a", "b"])
        assert len(swaps) == 1
        w = swaps[0]
        assert w["pair"] == ["a", "b"] and w["dominant"] == "jensen"
        assert w["components"]["jensen"] == pytest.approx(0.6)
        # identical drops: zero spread, so the swap is significant
        assert w["measured_diff_se"] == pytest.approx(0.0) and w["significant"]
        total = sum(w["components"].values())
        assert total == pytest.approx(w["analytical_diff"] - w["measured_diff"])

    def test_term_ratios_in_db(self):
        res = synthetic([1.0], [1.0], {"jensen": [0.0], "finite": [0.0]})
        res["signal_measured"] = 2 * res["signal_measured"]
        s = summarise(res, ["a"])
        assert s["terms"]["signal_ratio_db"][0, 0] == pytest.approx(10 * np.log10(2))
        assert s["terms"]["interference_ratio_db"][0, 0] == pytest.approx(0.0)

    def test_swap_within_drop_noise_is_not_significant(self):
        res = synthetic([2.3, 2.45], [3.0, 2.6], {"jensen": [0.0, 0.0], "finite": [0.0, 0.0]})
        # per-drop measured sums a = (2.0, 2.6), b = (2.5, 2.4): difference (-0.5, +0.2),
        # paired standard error 0.35 > |mean difference| / 2 = 0.075
        res["rate_measured"][0, 0, :, 0] = [2.0, 2.6]
        res["rate_measured"][1, 0, :, 0] = [2.5, 2.4]
        s = summarise(res, ["a", "b"])
        (w,) = explain_swaps(s, ["a", "b"])
        assert w["measured_diff"] == pytest.approx(-0.15)
        assert w["measured_diff_se"] == pytest.approx(0.35)
        assert not w["significant"]
