"""validation.significance: the paired-t critical value of the 'significant' marks."""

import math

import numpy as np
import pytest

from validation.figure_measured import paired_ordering
from validation.significance import paired_t_critical


def test_critical_values_are_the_t_quantiles():
    # tabulated two-sided 95 % Student t quantiles (1, 5, 11 degrees of freedom)
    assert paired_t_critical(2) == pytest.approx(12.7062, abs=1e-4)
    assert paired_t_critical(6) == pytest.approx(2.5706, abs=1e-4)
    assert paired_t_critical(12) == pytest.approx(2.2010, abs=1e-4)
    assert paired_t_critical(10_000) == pytest.approx(1.9602, abs=1e-3)
    assert math.isnan(paired_t_critical(1))


def test_the_false_alarm_rate_of_a_true_tie_is_five_percent():
    # 20 000 ties (zero-mean normal differences, D = 3 drops each): the share marked
    # significant is 0.05 with binomial s.e. sqrt(0.05 0.95 / 20 000) = 0.0015; the fixed
    # bound 2 would mark 18 % (P(|t_2| > 2) = 0.18)
    rng = np.random.default_rng(4)
    d = rng.standard_normal((20_000, 3))
    z = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(3))
    share = np.mean(np.abs(z) > paired_t_critical(3))
    assert abs(share - 0.05) < 5 * np.sqrt(0.05 * 0.95 / 20_000)
    assert np.mean(np.abs(z) > 2) > 0.15


def test_paired_ordering_marks_significance_with_the_t_quantile():
    # 3 drops, one x: a - b = (1.0, 1.2, 0.8): mean 1, s.e. 0.2 / sqrt(3) = 0.115, z = 8.7,
    # beyond t(2) = 4.30: significant; (1.0, 1.6, 0.4): z = 1 / (0.6 / sqrt 3) = 2.9 > 2 but
    # below 4.30: not
    base = np.zeros((3, 1, 2))
    rates = base.copy()
    rates[:, 0, 0] = [1.0, 1.2, 0.8]
    out = paired_ordering(rates, ["ms-jocdwm", "ms-jowm"], (), ())
    assert out["ms-jocdwm>=ms-jowm"]["verdict"] == "holds, significant"
    rates[:, 0, 0] = [1.0, 1.6, 0.4]
    out = paired_ordering(rates, ["ms-jocdwm", "ms-jowm"], (), ())
    assert out["ms-jocdwm>=ms-jowm"]["z"][0] > 2
    assert out["ms-jocdwm>=ms-jowm"]["verdict"] == "holds"
