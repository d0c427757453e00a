"""linksim.phase: exact cycle reduction against the naive formulas."""

from __future__ import annotations

import numpy as np

from linksim.phase import cycles_to_rad, phasor, wrap_rad


def test_phasor_equals_the_naive_formula_on_small_cycles():
    # |cycles| < 4: exp(2 pi j c) and exp(2 pi j (c mod 1)) differ by the rounding of 2 pi c
    # (a few ulp of 8 pi ~ 1e-14 rad), so they agree to 1e-13
    c = np.random.default_rng(0).uniform(-4, 4, 1000)
    np.testing.assert_allclose(phasor(c), np.exp(2j * np.pi * c), rtol=0, atol=1e-13)


def test_phasor_is_exact_on_a_billion_and_a_quarter_cycles():
    # 1e9 + 0.25 is exact in float64 (ulp 1.2e-7) and its phase is pi/2: e^{j pi/2} = j
    c = 1e9 + 0.25
    assert np.mod(c, 1.0) == 0.25
    z = phasor(c)
    assert abs(z - 1j) < 1e-15
    # the naive product 2 pi c rounds at the ulp of 6.3e9 (9.5e-7 rad) before the exp
    naive = np.exp(2j * np.pi * c)
    assert abs(naive - 1j) > 1e-8


def test_phasor_matches_the_emulators_reduction_bit_for_bit():
    c = np.random.default_rng(1).uniform(-1e8, 1e8, 257)
    np.testing.assert_array_equal(phasor(c), np.exp(2j * np.pi * np.mod(c, 1.0)))


def test_cycles_to_rad():
    c = np.array([0.0, 0.25, -0.25, 0.5, -0.5, 1e9 + 0.25, 3.75])
    expected = np.array([0.0, np.pi / 2, -np.pi / 2, -np.pi, -np.pi, np.pi / 2, -np.pi / 2])
    np.testing.assert_allclose(cycles_to_rad(c), expected, rtol=0, atol=1e-15)
    c = np.random.default_rng(2).uniform(-1e6, 1e6, 500)
    r = cycles_to_rad(c)
    assert np.all((r >= -np.pi) & (r < np.pi))
    np.testing.assert_allclose(np.exp(1j * r), phasor(c), rtol=0, atol=1e-14)


def test_wrap_rad_range_and_congruence():
    x = np.concatenate([np.random.default_rng(3).uniform(-50, 50, 500),
                        [np.pi, -np.pi, 3 * np.pi, 0.0, -1e-300]])
    w = wrap_rad(x)
    assert np.all((w > -np.pi) & (w <= np.pi))
    assert wrap_rad(np.pi) == np.pi and wrap_rad(-np.pi) == np.pi
    # same angle: |x| <= 50 rad, the reduction rounds at ulp(64) ~ 1.4e-14
    np.testing.assert_allclose(np.exp(1j * w), np.exp(1j * x), rtol=0, atol=1e-13)
    # away from the +-pi seam (where angle() may give -pi), it is the naive angle(e^{jx})
    np.testing.assert_allclose(w[:500], np.angle(np.exp(1j * x[:500])), rtol=0, atol=1e-13)
