"""Significance of paired per-drop differences: the critical value of the t statistic.

A verdict that calls a difference between two methods "significant" compares the mean of the
paired per-drop differences d_1..d_D with its standard error sd(d) / sqrt(D). With D drops
that ratio has a Student t distribution with D - 1 degrees of freedom under "no difference"
(per-drop differences independent and roughly normal), so the two-sided 95 % bound is the
t quantile, not 2: 12.7 at D = 2 (the --quick runs), 2.57 at 6, 2.20 at 12 (the default
validate), approaching 1.96 for many drops. A fixed 2 called about 30 % of true ties
significant at D = 2.
"""

from __future__ import annotations

import math

__all__ = ["paired_t_critical", "SIGNIFICANCE_LEVEL"]

#: two-sided confidence level of the "significant" marks
SIGNIFICANCE_LEVEL = 0.95


def paired_t_critical(num_drops: int, level: float = SIGNIFICANCE_LEVEL) -> float:
    """Two-sided critical value of mean(d) / (sd(d) / sqrt(D)) for D = num_drops paired
    differences (D - 1 degrees of freedom); nan for fewer than 2 drops (no standard error)."""
    if num_drops < 2:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2.0, num_drops - 1))
