"""DTN losses (precoders.dtn.loss): SI-NMSE (eq. 63), cosine (eq. 64), training loss (eq. 65)."""

from __future__ import annotations

import pytest
import torch

from precoders.dtn.loss import cosine_loss, si_nmse, training_loss


def complex_batch(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(*shape, generator=g, dtype=torch.float64),
                         torch.randn(*shape, generator=g, dtype=torch.float64))


class TestSiNmse:
    def test_zero_for_perfect_prediction(self) -> None:
        x = complex_batch(4, 6, 3)
        assert torch.all(si_nmse(x, x, eps=0.0).abs() < 1e-12)
        # With the default eps the residual is eps / (||x||^2 ||x||^2), tiny for O(1) inputs.
        assert torch.all(si_nmse(x, x).abs() < 1e-9)

    def test_invariant_to_complex_scale(self) -> None:
        x, y = complex_batch(4, 6, 3), complex_batch(4, 6, 3, seed=1)
        c = torch.tensor(-0.3 + 2.1j, dtype=torch.complex128)
        torch.testing.assert_close(si_nmse(c * x, y, eps=0.0), si_nmse(x, y, eps=0.0),
                                   rtol=1e-10, atol=1e-12)
        assert torch.all(si_nmse(c * y, y, eps=0.0).abs() < 1e-12)

    def test_positive_otherwise_and_equals_min_over_scale(self) -> None:
        x, y = complex_batch(3, 5, seed=2), complex_batch(3, 5, seed=3)
        loss = si_nmse(x, y, eps=0.0)
        assert torch.all(loss > 0)
        # Explicit minimiser c* = x^H y / ||x||^2 gives the same value.
        c = torch.sum(x.conj() * y, 1) / torch.sum(x.abs() ** 2, 1)
        direct = torch.sum((c[:, None] * x - y).abs() ** 2, 1) / torch.sum(y.abs() ** 2, 1)
        torch.testing.assert_close(loss, direct, rtol=1e-10, atol=1e-12)

    def test_real_inputs(self) -> None:
        w = torch.rand(2, 7, dtype=torch.float64)
        assert torch.all(si_nmse(3.0 * w, w, eps=0.0).abs() < 1e-12)
        assert torch.all(si_nmse(w + 0.1 * torch.rand(2, 7, dtype=torch.float64), w) > 0)

    def test_shape_mismatch(self) -> None:
        with pytest.raises(ValueError, match="same shape"):
            si_nmse(torch.zeros(2, 3), torch.zeros(2, 4))


class TestCosine:
    def test_scale_invariant_and_zero(self) -> None:
        x, y = complex_batch(2, 8), complex_batch(2, 8, seed=5)
        assert torch.all(cosine_loss((1 - 2j) * x, x, eps=0.0).abs() < 1e-12)
        torch.testing.assert_close(cosine_loss(0.5j * x, y, eps=0.0), cosine_loss(x, y, eps=0.0))
        assert torch.all(cosine_loss(x, y) > 0)


class TestTrainingLoss:
    def test_lambda_half_mixes_both_terms(self) -> None:
        U, Uh = complex_batch(3, 4, 6), complex_batch(3, 4, 6, seed=9)
        w = torch.rand(3, 4, dtype=torch.float64)
        wh = torch.rand(3, 4, dtype=torch.float64)
        want = (0.5 * si_nmse(Uh, U) + 0.5 * si_nmse(wh, w)).mean()
        torch.testing.assert_close(training_loss(Uh, U, wh, w), want)
        assert training_loss(2j * U, U, 3 * w, w, eps=0.0).abs() < 1e-12

    def test_unknown_kind(self) -> None:
        with pytest.raises(ValueError, match="kind"):
            training_loss(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1),
                          torch.zeros(1, 1), kind="mse")
