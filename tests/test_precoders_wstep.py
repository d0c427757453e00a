"""precoders.wstep / precoders.cdwmmse.closed_form_precoder: the fast W-step against a slow
dense S N_t x S N_t reference (small S, K, N_t), the exact multipliers, eq. (43)-(45)."""

from __future__ import annotations

import numpy as np
import pytest

from linksim.scsi import Scsi
from precoders.cdwmmse import CdwmmseFamily, cdwmmse_problem, closed_form_precoder
from precoders.common import ReducedModel, link_stats, mrt_coefficients
from precoders.wmmse import WmmseFamily
from precoders.wstep import WStepSolver, paper_multipliers, w_step


def random_scsi(rng: np.random.Generator, S: int = 3, K: int = 4, nx: int = 2, ny: int = 3,
                kappa: np.ndarray | None = None, rho: np.ndarray | None = None) -> Scsi:
    """Random UPA sCSI in normalised units (gamma ~ 1, noise ~ 1)."""
    vx, vy = rng.uniform(-0.9, 0.9, (S, K)), rng.uniform(-0.9, 0.9, (S, K))
    ax = np.exp(-1j * np.pi * vx[..., None] * np.arange(nx))
    ay = np.exp(-1j * np.pi * vy[..., None] * np.arange(ny))
    steering = (ax[..., :, None] * ay[..., None, :]).reshape(S, K, nx * ny)
    return Scsi(gamma=rng.uniform(0.2, 2.0, (S, K)),
                kappa=rng.uniform(0.5, 20.0, (S, K)) if kappa is None else kappa,
                rho=(rng.uniform(0.3, 0.95, (S, K)) * np.exp(1j * rng.uniform(-3, 3, (S, K)))
                     if rho is None else rho),
                steering=steering, noise_power_w=rng.uniform(0.5, 2.0, K),
                vartheta_x=vx, vartheta_y=vy, antenna_size=(nx, ny))


def dense_blocks(scsi: Scsi):
    """Dense m_k [S N], R_k, Q_k [S N, S N] (eq. 23-26) and G_k [S N, S+1] (eq. 35)."""
    S, K, N = scsi.steering.shape
    mu, d, g = scsi.mu, np.maximum(scsi.d, 0), scsi.gamma
    m = np.zeros((K, S * N), complex)
    G = np.zeros((K, S * N, S + 1), complex)
    Q = np.zeros((K, S * N, S * N), complex)
    for k in range(K):
        for s in range(S):
            v = scsi.steering[s, k]
            sl = slice(s * N, (s + 1) * N)
            m[k, sl] = mu[s, k] * v
            G[k, sl, 1 + s] = np.sqrt(d[s, k]) * v
            Q[k, sl, sl] = g[s, k] * np.outer(v, v.conj())
        G[k, :, 0] = m[k]
    R = G @ np.conj(np.swapaxes(G, 1, 2))
    return m, R, Q, G


def stack(W: np.ndarray) -> np.ndarray:
    """W [S, K, N] -> [K, S N] (row k = w_k of eq. 20)."""
    S, K, N = W.shape
    return np.swapaxes(W, 0, 1).reshape(K, S * N)


def dense_cdwmmse_wstep(scsi, U, omega, alpha, lam):
    """eq. (43) with dense S N_t x S N_t solves."""
    S, K, N = scsi.steering.shape
    _, _, Q, G = dense_blocks(scsi)
    Lam = np.kron(np.diag(lam), np.eye(N))
    aw = alpha * omega
    out = np.zeros((K, S * N), complex)
    for k in range(K):
        gu = G[k] @ U[k]
        M = aw[k] * np.outer(gu, gu.conj()) + Lam
        for i in range(K):
            if i != k:
                M += aw[i] * np.sum(np.abs(U[i]) ** 2) * Q[i]
        out[k] = aw[k] * np.linalg.solve(M, gu)
    return np.swapaxes(out.reshape(K, S, N), 0, 1)


def dense_wmmse_wstep(scsi, u, omega, alpha, lam):
    """The conventional WMMSE W-step (math.md Sec. 4) with dense solves."""
    S, K, N = scsi.steering.shape
    m, R, Q, _ = dense_blocks(scsi)
    Lam = np.kron(np.diag(lam), np.eye(N))
    aw = alpha * omega
    out = np.zeros((K, S * N), complex)
    for k in range(K):
        M = aw[k] * abs(u[k]) ** 2 * R[k] + Lam
        for i in range(K):
            if i != k:
                M += aw[i] * abs(u[i]) ** 2 * Q[i]
        out[k] = aw[k] * u[k] * np.linalg.solve(M, m[k])
    return np.swapaxes(out.reshape(K, S, N), 0, 1)


@pytest.mark.parametrize("shape", [(3, 4, 2, 3), (2, 9, 2, 2), (1, 3, 1, 4)])
class TestFastWStepEqualsDense:
    def test_cdwmmse(self, shape):
        S, K, nx, ny = shape
        rng = np.random.default_rng(1)
        scsi = random_scsi(rng, S, K, nx, ny)
        model = ReducedModel.from_scsi(scsi)
        U = rng.standard_normal((K, S + 1)) + 1j * rng.standard_normal((K, S + 1))
        omega = rng.uniform(0.5, 3.0, K)
        alpha = rng.uniform(0.5, 2.0, K)
        lam = rng.uniform(0.05, 2.0, S)
        prob, _ = cdwmmse_problem(model, U, omega, alpha, np.ones(S, bool))
        fast = model.expand(WStepSolver(model, prob).precoder(lam))
        ref = dense_cdwmmse_wstep(scsi, U, omega, alpha, lam)
        np.testing.assert_allclose(fast, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())

    def test_wmmse(self, shape):
        S, K, nx, ny = shape
        rng = np.random.default_rng(2)
        scsi = random_scsi(rng, S, K, nx, ny)
        model = ReducedModel.from_scsi(scsi)
        u = rng.standard_normal(K) + 1j * rng.standard_normal(K)
        omega = rng.uniform(0.5, 3.0, K)
        alpha = rng.uniform(0.5, 2.0, K)
        lam = rng.uniform(0.05, 2.0, S)
        prob, _ = WmmseFamily().problem(model, type("Rx", (), {"U": u[:, None],
                                                               "omega": omega})(),
                                        alpha, np.ones(S, bool))
        solver = WStepSolver(model, prob)
        fast = model.expand(solver.precoder(lam))
        ref = dense_wmmse_wstep(scsi, u, omega, alpha, lam)
        np.testing.assert_allclose(fast, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
        powers = np.sum(np.abs(ref) ** 2, axis=(1, 2))
        np.testing.assert_allclose(solver.powers(lam), powers, rtol=1e-9)


class TestExactMultipliers:
    def test_complementary_slackness_and_jacobian(self):
        rng = np.random.default_rng(3)
        scsi = random_scsi(rng, 3, 5, 2, 3)
        model = ReducedModel.from_scsi(scsi)
        stats = link_stats(model, mrt_coefficients(model, np.ones(3)))
        rx = CdwmmseFamily().receivers(model, stats, np.ones(5))
        prob, lam_num = cdwmmse_problem(model, rx.U, rx.omega, np.ones(5), np.ones(3, bool))
        solver = WStepSolver(model, prob)
        power = np.array([0.5, 1.0, 2.0])
        lam44 = paper_multipliers(lam_num, power)
        lam = solver.exact_multipliers(power, lam44, lam44)
        np.testing.assert_allclose(solver.powers(lam), power, rtol=1e-9)
        p, J = solver.jacobian(lam)
        eps = 1e-6
        for s in range(3):
            dl = np.zeros(3)
            dl[s] = eps * lam[s]
            fd = (solver.powers(lam + dl) - solver.powers(lam - dl)) / (2 * dl[s])
            np.testing.assert_allclose(J[:, s], fd, rtol=1e-5, atol=1e-9 * np.abs(J).max())

    def test_gauss_seidel_fallback_agrees_with_newton(self):
        rng = np.random.default_rng(8)
        scsi = random_scsi(rng, 3, 6, 2, 2)
        model = ReducedModel.from_scsi(scsi)
        power = np.array([0.2, 1.0, 5.0])
        stats = link_stats(model, mrt_coefficients(model, power))
        rx = CdwmmseFamily().receivers(model, stats, np.ones(6))
        prob, lam_num = cdwmmse_problem(model, rx.U, rx.omega, np.ones(6), np.ones(3, bool))
        solver = WStepSolver(model, prob)
        lam44 = paper_multipliers(lam_num, power)
        newton = solver.exact_multipliers(power, lam44, lam44)
        gs = solver._gauss_seidel(power, lam44.copy(), 1e-12 * lam44, np.ones(3, bool))
        np.testing.assert_allclose(gs, newton, rtol=1e-8)
        np.testing.assert_allclose(solver.powers(gs), power, rtol=1e-9)

    def test_exact_step_minimises_the_constrained_objective(self):
        """Any feasible perturbation of the exact W-step output does not lower (32)."""
        rng = np.random.default_rng(4)
        scsi = random_scsi(rng, 2, 4, 2, 2)
        model = ReducedModel.from_scsi(scsi)
        alpha = np.ones(4)
        power = np.array([1.0, 0.3])
        stats = link_stats(model, mrt_coefficients(model, power))
        fam = CdwmmseFamily()
        rx = fam.receivers(model, stats, alpha)
        prob, lam_num = fam.problem(model, rx, alpha, np.ones(2, bool))
        Wt, _ = w_step(model, prob, power, lam_num, "exact")
        Wp, _ = w_step(model, prob, power, lam_num, "paper")

        def objective(W):
            st = link_stats(model, W)
            g = CdwmmseFamily.gw(model, st)
            eps = (np.abs(1 - np.sum(np.conj(rx.U) * g, 1)) ** 2
                   + np.sum(np.abs(rx.U) ** 2, 1) * st.c)
            return float(np.sum(alpha * rx.omega * eps))

        best = objective(Wt)
        assert best <= objective(Wp) + 1e-12
        for _ in range(50):
            Z = Wt + 0.05 * (rng.standard_normal(Wt.shape) + 1j * rng.standard_normal(Wt.shape))
            p = np.sum(np.abs(Z) ** 2, axis=(1, 2))
            Z *= np.sqrt(np.minimum(1.0, power / p))[:, None, None]
            assert objective(Z) >= best - 1e-10


class TestClosedForm:
    def test_equals_dense_eq45(self):
        rng = np.random.default_rng(5)
        S, K = 3, 4
        scsi = random_scsi(rng, S, K, 2, 3)
        U = rng.standard_normal((K, S + 1)) + 1j * rng.standard_normal((K, S + 1))
        omega = rng.uniform(0.5, 3.0, K)
        power = np.array([1.0, 2.0, 0.5])
        lam = np.sum(omega * scsi.noise_power_w * np.sum(np.abs(U) ** 2, 1)) / (S * power)
        ref = dense_cdwmmse_wstep(scsi, U, omega, np.ones(K), lam)
        ref *= np.sqrt(power / np.sum(np.abs(ref) ** 2, axis=(1, 2)))[:, None, None]
        W = closed_form_precoder(scsi, U, omega, power)
        np.testing.assert_allclose(W, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())

    def test_scale_invariance_remark4_and_batch(self):
        rng = np.random.default_rng(6)
        scsi = random_scsi(rng, 2, 3, 2, 2)
        U = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
        omega = rng.uniform(0.5, 3.0, 3)
        W = closed_form_precoder(scsi, U, omega, 1.0)
        c1 = 0.3 - 2.0j
        W2 = closed_form_precoder(scsi, c1 * U, 7.0 * omega, 1.0)
        np.testing.assert_allclose(W2, W * c1 / abs(c1), rtol=1e-9, atol=1e-12)
        Wb = closed_form_precoder([scsi, scsi], np.stack([U, c1 * U]), np.stack([omega, omega]),
                                  1.0)
        assert Wb.shape == (2,) + W.shape
        np.testing.assert_allclose(Wb[0], W, rtol=1e-12)

    def test_bad_input(self):
        rng = np.random.default_rng(7)
        scsi = random_scsi(rng, 2, 3, 2, 2)
        with pytest.raises(ValueError, match="U must"):
            closed_form_precoder(scsi, np.ones((3, 2)), np.ones(3), 1.0)
        with pytest.raises(ValueError, match="omega"):
            closed_form_precoder(scsi, np.ones((3, 3)), -np.ones(3), 1.0)
        with pytest.raises(ValueError, match="power_w"):
            closed_form_precoder(scsi, np.ones((3, 3)), np.ones(3), -1.0)
