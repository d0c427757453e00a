"""The design functions of precoders: reductions, Remark 2, Propositions 1-2, equivariance,
power constraints, monotonicity of the exact W-step, histories, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from linksim.ratemodel import expected_rates, weighted_sum_rate, wmmse_surrogate_rates
from linksim.scsi import Scsi
from precoders import ITERATIVE, PRECODERS, closed_form_precoder, design, register

MULTI = ("mrt", "ms-sepwm", "ms-jowm", "ms-jocdwm")
SINGLE = ("ss-m", "ss-wm")


def random_scsi(rng: np.random.Generator, S: int = 3, K: int = 4, nx: int = 2, ny: int = 3,
                kappa: np.ndarray | float | None = None, rho: np.ndarray | float | None = None,
                physical: bool = False) -> Scsi:
    """Random UPA sCSI: v = a_Nx(vx) kron a_Ny(vy), a_N(t)[n] = e^{-j pi n t}.

    physical: gamma ~ 1e-16..1e-15 and noise 6e-16 W (Table I scale), else normalised units.
    """
    vx, vy = rng.uniform(-0.9, 0.9, (S, K)), rng.uniform(-0.9, 0.9, (S, K))
    ax = np.exp(-1j * np.pi * vx[..., None] * np.arange(nx))
    ay = np.exp(-1j * np.pi * vy[..., None] * np.arange(ny))
    steering = (ax[..., :, None] * ay[..., None, :]).reshape(S, K, nx * ny)
    gamma = 10 ** rng.uniform(-16, -15, (S, K)) if physical else rng.uniform(0.2, 2.0, (S, K))
    noise = np.full(K, 6e-16) if physical else rng.uniform(0.5, 2.0, K)
    kap = rng.uniform(0.5, 20.0, (S, K)) if kappa is None else np.broadcast_to(kappa, (S, K))
    rh = rng.uniform(0.3, 0.95, (S, K)) if rho is None else np.broadcast_to(rho, (S, K))
    return Scsi(gamma=gamma, kappa=np.array(kap, float), rho=np.array(rh, complex),
                steering=steering, noise_power_w=noise, vartheta_x=vx, vartheta_y=vy,
                antenna_size=(nx, ny))


def variants(name: str) -> list[dict]:
    return [{"w_step": "paper"}, {"w_step": "exact"}] if name in ITERATIVE else [{}]


class TestRegistry:
    def test_names(self):
        assert set(PRECODERS) >= {"mrt", "ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"}

    def test_register_and_unknown(self):
        register("test-dummy", PRECODERS["mrt"])
        try:
            rng = np.random.default_rng(0)
            assert design("test-dummy", random_scsi(rng), 1.0).W.shape == (3, 4, 6)
            with pytest.raises(ValueError, match="already registered"):
                register("test-dummy", PRECODERS["mrt"])
        finally:
            PRECODERS.pop("test-dummy")
        with pytest.raises(ValueError, match="unknown precoder"):
            design("nope", random_scsi(np.random.default_rng(0)), 1.0)

    @pytest.mark.parametrize("name", list(PRECODERS))
    def test_every_method_returns_a_design_result(self, name):
        """Every registered method (the DTN included) returns a DesignResult, W [S, K, N_t]
        complex128 within the per-satellite power sum_k ||w_{s,k}||^2 <= P_s."""
        from precoders.common import DesignResult

        scsi = random_scsi(np.random.default_rng(3), S=3, K=4, nx=2, ny=3)
        res = design(name, scsi, 2.0)
        assert isinstance(res, DesignResult)
        assert res.W.shape == (3, 4, 6) and res.W.dtype == np.complex128
        # the power constraint, met with equality at the master s = 0 (SS-* leave the other
        # satellites silent); to float64 rounding of the power scaling
        power = np.sum(np.abs(res.W) ** 2, axis=(1, 2))
        assert np.all(power <= 2.0 * (1 + 1e-9))
        assert power[0] == pytest.approx(2.0, rel=1e-9)


class TestSingleUserSingleSatellite:
    @pytest.mark.parametrize("name", sorted(set(MULTI) | set(SINGLE)))
    def test_matched_filter_full_power(self, name):
        rng = np.random.default_rng(1)
        scsi = random_scsi(rng, S=1, K=1, nx=3, ny=2)
        for kw in variants(name):
            W = design(name, scsi, 2.5, **kw).W
            v = scsi.steering[0, 0]
            w = W[0, 0]
            assert np.sum(np.abs(w) ** 2) == pytest.approx(2.5, rel=1e-9)
            cos = abs(np.vdot(v, w)) / (np.linalg.norm(v) * np.linalg.norm(w))
            assert cos == pytest.approx(1.0, abs=1e-9)


class TestPowerAndShapes:
    @pytest.mark.parametrize("name", sorted(set(MULTI) | set(SINGLE)))
    def test_power_constraints(self, name):
        rng = np.random.default_rng(2)
        scsi = random_scsi(rng, S=3, K=5, physical=True)
        power = np.array([0.1, 0.3, 0.05])
        for kw in variants(name):
            res = design(name, scsi, power, max_iterations=30, **kw) if name in ITERATIVE \
                else design(name, scsi, power)
            assert res.W.shape == (3, 5, 6) and res.W.dtype == np.complex128
            p = np.sum(np.abs(res.W) ** 2, axis=(1, 2))
            if name in SINGLE:
                assert p[0] == pytest.approx(power[0], rel=1e-9)
                assert np.all(p[1:] == 0)
            else:
                np.testing.assert_allclose(p, power, rtol=1e-9)

    def test_more_users_than_antennas_and_a_dead_user(self):
        rng = np.random.default_rng(3)
        scsi = random_scsi(rng, S=2, K=7, nx=2, ny=2)
        gamma = scsi.gamma.copy()
        gamma[:, 3] = 0.0
        scsi = Scsi(gamma=gamma, kappa=scsi.kappa, rho=scsi.rho, steering=scsi.steering,
                    noise_power_w=scsi.noise_power_w, vartheta_x=scsi.vartheta_x,
                    vartheta_y=scsi.vartheta_y, antenna_size=scsi.antenna_size)
        for name in PRECODERS:
            for kw in variants(name):
                res = design(name, scsi, 1.0, **kw)
                assert np.all(np.isfinite(res.W))
                assert np.all(np.isfinite(expected_rates(scsi, res.W)))

    def test_more_users_than_all_antennas(self):
        rng = np.random.default_rng(13)
        scsi = random_scsi(rng, S=2, K=5, nx=1, ny=2)  # K = 5 > S N_t = 4
        for name in ("ms-jowm", "ms-jocdwm"):
            for kw in variants(name):
                W = design(name, scsi, np.array([1.0, 2.0]), **kw).W
                np.testing.assert_allclose(np.sum(np.abs(W) ** 2, axis=(1, 2)), [1.0, 2.0],
                                           rtol=1e-9)

    def test_silent_satellite(self):
        rng = np.random.default_rng(4)
        scsi = random_scsi(rng, S=3, K=4)
        for name in ("ms-jowm", "ms-jocdwm"):
            for kw in variants(name):
                W = design(name, scsi, np.array([1.0, 0.0, 2.0]), **kw).W
                assert np.all(W[1] == 0)
                assert np.sum(np.abs(W[2]) ** 2) == pytest.approx(2.0, rel=1e-9)


class TestBadInput:
    @pytest.mark.parametrize("name", ["mrt", "ss-m", "ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"])
    def test_value_errors(self, name):
        rng = np.random.default_rng(5)
        scsi = random_scsi(rng)
        with pytest.raises(ValueError, match="power_w"):
            design(name, scsi, -1.0)
        with pytest.raises(ValueError, match="power_w"):
            design(name, scsi, np.ones(2))
        empty = Scsi(gamma=np.zeros((3, 0)), kappa=np.zeros((3, 0)), rho=np.zeros((3, 0), complex),
                     steering=np.zeros((3, 0, 6), complex), noise_power_w=np.zeros(0),
                     vartheta_x=np.zeros((3, 0)), vartheta_y=np.zeros((3, 0)))
        with pytest.raises(ValueError, match="K in"):
            design(name, empty, 1.0)
        scsi.gamma[0, 0] = np.nan  # arrays are mutable behind the frozen dataclass
        with pytest.raises(ValueError, match="gamma must be finite"):
            design(name, scsi, 1.0)

    def test_bad_options(self):
        scsi = random_scsi(np.random.default_rng(6))
        with pytest.raises(ValueError, match="w_step"):
            design("ms-jocdwm", scsi, 1.0, w_step="fast")
        with pytest.raises(ValueError, match="max_iterations"):
            design("ms-jowm", scsi, 1.0, max_iterations=0)
        with pytest.raises(ValueError, match="weights"):
            design("ms-jocdwm", scsi, 1.0, weights=-np.ones(4))


class TestRemark2:
    def test_jocdwm_equals_jowm_without_phase_error_in_pure_los(self):
        rng = np.random.default_rng(7)
        scsi = random_scsi(rng, S=3, K=4, kappa=np.inf, rho=1.0)
        opts = dict(max_iterations=500, rate_threshold=1e-10, w_step="exact")
        r_cd = weighted_sum_rate(scsi, design("ms-jocdwm", scsi, 3.0, **opts).W)
        r_wm = weighted_sum_rate(scsi, design("ms-jowm", scsi, 3.0, **opts).W)
        assert r_cd == pytest.approx(r_wm, rel=1e-3)


class TestPropositions:
    def test_prop2_cdwmmse_surrogate_is_the_rate_at_the_fixed_point(self):
        rng = np.random.default_rng(8)
        scsi = random_scsi(rng, S=3, K=4, kappa=0.5, rho=0.6)
        res = design("ms-jocdwm", scsi, 3.0, max_iterations=2000, rate_threshold=1e-11,
                     w_step="exact")
        assert res.converged
        h = res.history
        assert h["surrogate"][-1] == pytest.approx(h["sum_rate"][-1], rel=1e-6)

    def test_prop1_wmmse_surrogate_is_not_the_rate(self):
        rng = np.random.default_rng(8)
        scsi = random_scsi(rng, S=3, K=4, kappa=0.5, rho=0.6)
        res = design("ms-jowm", scsi, 3.0, max_iterations=2000, rate_threshold=1e-11,
                     w_step="exact")
        h = res.history
        assert h["surrogate"][-1] < 0.9 * h["sum_rate"][-1]
        assert np.sum(wmmse_surrogate_rates(scsi, res.W)) == pytest.approx(h["surrogate"][-1],
                                                                          rel=1e-5)


class TestEquivariance:
    @pytest.mark.parametrize("name", sorted(PRECODERS))
    def test_permuting_users_permutes_w(self, name):
        rng = np.random.default_rng(9)
        scsi = random_scsi(rng, S=2, K=5)
        perm = rng.permutation(5)
        a = design(name, scsi, 1.0).W
        b = design(name, scsi.take(users=perm), 1.0).W
        np.testing.assert_allclose(b, a[:, perm], rtol=1e-6, atol=1e-8 * np.abs(a).max())


class TestMonotoneExactWStep:
    @pytest.mark.parametrize("seed", range(6))
    def test_jocdwm_exact_is_monotone_in_the_weighted_sum_rate(self, seed):
        rng = np.random.default_rng(100 + seed)
        scsi = random_scsi(rng, S=3, K=6, nx=2, ny=3, physical=True)
        alpha = rng.uniform(0.5, 2.0, 6)
        res = design("ms-jocdwm", scsi, 10 ** rng.uniform(-2, 1), weights=alpha,
                     w_step="exact", max_iterations=60, rate_threshold=0.0)
        h = res.history["weighted_sum_rate"]
        assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:]))
        assert h[-1] == pytest.approx(weighted_sum_rate(scsi, res.W, alpha), rel=1e-9)

    @pytest.mark.parametrize("seed", range(6))
    def test_jowm_exact_is_monotone_in_its_surrogate(self, seed):
        rng = np.random.default_rng(200 + seed)
        scsi = random_scsi(rng, S=3, K=6, nx=2, ny=3, physical=True)
        # the inequality-constrained step (power_equality=False) is the monotone one; the
        # default then scales to P_s (eq. 37 with equality), which need not be monotone
        res = design("ms-jowm", scsi, 10 ** rng.uniform(-2, 1), w_step="exact",
                     max_iterations=60, rate_threshold=0.0, power_equality=False)
        h = res.history["objective"]
        assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:]))


class TestHistoryAndLabels:
    def test_history_recorded(self):
        rng = np.random.default_rng(10)
        scsi = random_scsi(rng)
        res = design("ms-jocdwm", scsi, 1.0, max_iterations=7, rate_threshold=0.0)
        assert res.iterations == 7 and not res.converged
        for key in ("sum_rate", "weighted_sum_rate", "surrogate"):
            assert res.history[key].shape == (8,)
        np.testing.assert_allclose(res.history["sum_rate"][-1],
                                   np.sum(expected_rates(scsi, res.W)), rtol=1e-9)
        assert res.U.shape == (4, 4) and res.omega.shape == (4,)

    def test_closed_form_reproduces_algorithm1(self):
        rng = np.random.default_rng(11)
        scsi = random_scsi(rng)
        alpha = rng.uniform(0.5, 2.0, 4)
        res = design("ms-jocdwm", scsi, np.array([1.0, 2.0, 0.5]), weights=alpha)
        W = closed_form_precoder(scsi, res.U, res.omega, np.array([1.0, 2.0, 0.5]), alpha)
        np.testing.assert_allclose(W, res.W, rtol=1e-9, atol=1e-12)

    def test_ordering_on_a_random_drop(self):
        rng = np.random.default_rng(12)
        scsi = random_scsi(rng, S=4, K=8, nx=3, ny=3, kappa=1.0, rho=0.7, physical=True)
        rate = {n: weighted_sum_rate(scsi, design(n, scsi, 1.0).W) for n in PRECODERS}
        assert rate["ms-jocdwm"] >= rate["ms-jowm"] >= rate["ss-wm"]
        assert rate["ms-jocdwm"] >= rate["ms-sepwm"]
        assert min(rate["ms-jowm"], rate["ms-sepwm"]) > max(rate["ss-m"], rate["ss-wm"])
