"""Rate model (linksim.ratemodel): eqs. (19)-(36), (92) against slow dense references and MC."""

from __future__ import annotations

import numpy as np
import pytest

from linksim.ratemodel import (
    coupling,
    ergodic_rates_mc,
    expected_rates,
    rate_terms,
    weighted_sum_rate,
    wmmse_surrogate_rates,
)
from linksim.scsi import Scsi


def random_scsi(rng: np.random.Generator, S: int = 3, K: int = 4, nx: int = 2, ny: int = 3,
                complex_rho: bool = False, kappa: np.ndarray | None = None) -> Scsi:
    """A random sCSI with UPA steering vectors and physically plausible magnitudes."""
    vx = rng.uniform(-0.8, 0.8, (S, K))
    vy = rng.uniform(-0.8, 0.8, (S, K))
    ax = np.exp(-1j * np.pi * vx[..., None] * np.arange(nx))
    ay = np.exp(-1j * np.pi * vy[..., None] * np.arange(ny))
    steering = (ax[..., :, None] * ay[..., None, :]).reshape(S, K, nx * ny)
    rho = rng.uniform(0.3, 0.95, (S, K)).astype(complex)
    if complex_rho:
        rho = rho * np.exp(1j * rng.uniform(-np.pi, np.pi, (S, K)))
    return Scsi(gamma=rng.uniform(0.2, 2.0, (S, K)),
                kappa=rng.uniform(0.5, 20.0, (S, K)) if kappa is None else kappa,
                rho=rho, steering=steering, noise_power_w=rng.uniform(0.5, 2.0, K),
                vartheta_x=vx, vartheta_y=vy, antenna_size=(nx, ny))


def random_precoder(rng: np.random.Generator, scsi: Scsi) -> np.ndarray:
    shape = (scsi.num_sats, scsi.num_users, scsi.num_antennas)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 0.3


def dense_reference(scsi: Scsi, W: np.ndarray):
    """Build m_k, R_k (eq. 26) and Q_k (eq. 23-24) as dense S N_t x S N_t matrices."""
    S, K, N = scsi.steering.shape
    los = np.array([[1.0 if np.isinf(x) else x / (x + 1) for x in row] for row in scsi.kappa])
    mu = np.sqrt(los * scsi.gamma) * scsi.rho
    signal, interference, mean_signal = np.zeros(K), np.zeros(K), np.zeros(K)
    wstack = [np.concatenate([W[s, i] for s in range(S)]) for i in range(K)]
    for k in range(K):
        R = np.zeros((S * N, S * N), complex)
        Q = np.zeros((S * N, S * N), complex)
        m = np.zeros(S * N, complex)
        for s in range(S):
            vs = scsi.steering[s, k]
            m[s * N:(s + 1) * N] = mu[s, k] * vs
            Q[s * N:(s + 1) * N, s * N:(s + 1) * N] = scsi.gamma[s, k] * np.outer(vs, vs.conj())
            for t in range(S):
                vt = scsi.steering[t, k]
                blk = (scsi.gamma[s, k] * np.outer(vs, vs.conj()) if s == t else
                       mu[s, k] * np.conj(mu[t, k]) * np.outer(vs, vt.conj()))
                R[s * N:(s + 1) * N, t * N:(t + 1) * N] = blk
        wk = wstack[k]
        signal[k] = np.real(wk.conj() @ R @ wk)
        mean_signal[k] = np.abs(m.conj() @ wk) ** 2
        interference[k] = sum(np.real(wstack[i].conj() @ Q @ wstack[i]) for i in range(K) if i != k)
    return signal, interference, mean_signal


class TestCoupling:
    def test_matches_loop(self):
        rng = np.random.default_rng(1)
        v = rng.standard_normal((2, 3, 5)) + 1j * rng.standard_normal((2, 3, 5))
        W = rng.standard_normal((2, 3, 5)) + 1j * rng.standard_normal((2, 3, 5))
        A = coupling(v, W)
        assert A.shape == (2, 3, 3) and A.dtype == np.complex128
        for s in range(2):
            for k in range(3):
                for i in range(3):
                    assert A[s, k, i] == pytest.approx(np.vdot(v[s, k], W[s, i]), abs=1e-12)

    def test_rejects_bad_shapes(self):
        with pytest.raises(ValueError, match="agree in S and N_t"):
            coupling(np.ones((2, 3, 4)), np.ones((2, 3, 5)))
        with pytest.raises(ValueError, match="finite"):
            coupling(np.ones((2, 3, 4)), np.full((2, 3, 4), np.nan))


class TestRateTerms:
    @pytest.mark.parametrize("complex_rho", [False, True])
    def test_matches_dense_reference(self, complex_rho):
        rng = np.random.default_rng(2)
        scsi = random_scsi(rng, complex_rho=complex_rho)
        W = random_precoder(rng, scsi)
        got = rate_terms(scsi, W)
        want = dense_reference(scsi, W)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10)
        sinr = want[0] / (want[1] + scsi.noise_power_w)
        np.testing.assert_allclose(expected_rates(scsi, W), np.log2(1 + sinr), rtol=1e-10)
        sur = want[2] / (want[0] - want[2] + want[1] + scsi.noise_power_w)
        np.testing.assert_allclose(wmmse_surrogate_rates(scsi, W), np.log2(1 + sur), rtol=1e-10)

    def test_infinite_kappa(self):
        rng = np.random.default_rng(3)
        scsi = random_scsi(rng, kappa=np.full((3, 4), np.inf))
        W = random_precoder(rng, scsi)
        for g, w in zip(rate_terms(scsi, W), dense_reference(scsi, W)):
            np.testing.assert_allclose(g, w, rtol=1e-10)

    def test_rejects_wrong_precoder_shape(self):
        scsi = random_scsi(np.random.default_rng(4))
        with pytest.raises(ValueError, match=r"W must have shape \(S, K, N_t\)"):
            rate_terms(scsi, np.zeros((3, 4, 5)))
        with pytest.raises(ValueError, match="W must be finite"):
            rate_terms(scsi, np.full((3, 4, 6), np.inf))


class TestRates:
    def test_surrogate_below_expected_rate(self):
        # eq. (92): the non-coherent part d|a|^2 moves from the numerator to the denominator.
        rng = np.random.default_rng(5)
        for _ in range(20):
            scsi = random_scsi(rng)
            W = random_precoder(rng, scsi)
            r, rw = expected_rates(scsi, W), wmmse_surrogate_rates(scsi, W)
            assert np.all(rw <= r + 1e-12)
            assert np.all(rw < r - 1e-6)  # d_{s,k} > 0 here, so the gap is strict (Prop. 1)

    def test_surrogate_equal_without_phase_error_and_scattering(self):
        # Remark 2: kappa -> inf and rho -> 1 make R_k = m_k m_k^H, and (92) equals (19).
        rng = np.random.default_rng(6)
        base = random_scsi(rng)
        scsi = Scsi(gamma=base.gamma, kappa=np.full((3, 4), np.inf), rho=np.ones((3, 4), complex),
                    steering=base.steering, noise_power_w=base.noise_power_w,
                    vartheta_x=base.vartheta_x, vartheta_y=base.vartheta_y, antenna_size=(2, 3))
        W = random_precoder(rng, scsi)
        np.testing.assert_allclose(wmmse_surrogate_rates(scsi, W), expected_rates(scsi, W),
                                   rtol=1e-12)

    def test_weighted_sum_rate(self):
        rng = np.random.default_rng(7)
        scsi = random_scsi(rng)
        W = random_precoder(rng, scsi)
        r = expected_rates(scsi, W)
        assert weighted_sum_rate(scsi, W) == pytest.approx(r.sum(), rel=1e-12)
        alpha = np.array([1.0, 0.0, 2.0, 0.5])
        assert weighted_sum_rate(scsi, W, alpha) == pytest.approx(alpha @ r, rel=1e-12)
        with pytest.raises(ValueError, match="weights must have shape"):
            weighted_sum_rate(scsi, W, np.ones(3))
        with pytest.raises(ValueError, match=">= 0"):
            weighted_sum_rate(scsi, W, -np.ones(4))


class TestErgodicRatesMc:
    def test_deterministic_limit_equals_expected_rate(self):
        # kappa = inf, rho = 1: no randomness left, the MC average equals eq. (19) exactly.
        rng = np.random.default_rng(8)
        base = random_scsi(rng)
        scsi = Scsi(gamma=base.gamma, kappa=np.full((3, 4), np.inf), rho=np.ones((3, 4), complex),
                    steering=base.steering, noise_power_w=base.noise_power_w,
                    vartheta_x=base.vartheta_x, vartheta_y=base.vartheta_y, antenna_size=(2, 3))
        W = random_precoder(rng, scsi)
        mc, se = ergodic_rates_mc(scsi, W, np.random.default_rng(0), 100, return_stderr=True)
        np.testing.assert_allclose(mc, expected_rates(scsi, W), rtol=1e-12)
        np.testing.assert_allclose(se, 0.0, atol=1e-12)

    @pytest.mark.parametrize("complex_rho", [False, True])
    def test_low_snr_limit_matches_expected_signal(self, complex_rho):
        # With sigma^2 >> signal, interference: log2(1 + X/(I + sigma^2)) ~ X/(sigma^2 ln 2), so the
        # ergodic rate is linear in E|h~^H w|^2 = w^H R w and must equal eq. (19) up to MC error
        # (bias of the linearisation ~ SINR/2 ~ 1e-4 relative).
        rng = np.random.default_rng(9)
        base = random_scsi(rng, complex_rho=complex_rho)
        W = random_precoder(rng, base)
        signal, interference, _ = rate_terms(base, W)
        noise = np.full(base.num_users, 1e4 * max(signal.max(), interference.max()))
        scsi = Scsi(gamma=base.gamma, kappa=base.kappa, rho=base.rho, steering=base.steering,
                    noise_power_w=noise, vartheta_x=base.vartheta_x,
                    vartheta_y=base.vartheta_y, antenna_size=base.antenna_size)
        mc, se = ergodic_rates_mc(scsi, W, np.random.default_rng(1), 40_000, return_stderr=True)
        ref = expected_rates(scsi, W)
        assert np.all(np.abs(mc - ref) < 4 * se + 2e-3 * ref), (mc, ref, se)
        again = ergodic_rates_mc(scsi, W, np.random.default_rng(1), 40_000)
        np.testing.assert_array_equal(mc, again)

    def test_rejects_bad_sample_count(self):
        scsi = random_scsi(np.random.default_rng(10))
        with pytest.raises(ValueError, match="num_samples"):
            ergodic_rates_mc(scsi, np.zeros((3, 4, 6)), np.random.default_rng(0), 0)
