"""DTN network (precoders.dtn.network): DyT, equivariance (eqs. 49-50), size independence."""

from __future__ import annotations

import pytest
import torch

from precoders.dtn.network import DTN, SIZES, DTNConfig, DyT, count_parameters

TOL = 1e-12  # float64: permutations only reorder sums (a few ulps of O(1) outputs, ~1e-15)


@pytest.fixture
def model() -> DTN:
    torch.manual_seed(0)
    net = DTN(DTNConfig(hidden=16, num_blocks=2, num_heads=2)).double().eval()
    # A non-trivial DyT state so that the test does not depend on the init values.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, DyT):
                m.alpha.fill_(0.7)
                m.beta.normal_(0.0, 0.1)
    return net


def inputs(b: int, s: int, k: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(b, s, k, 8, generator=g, dtype=torch.float64)


class TestDyT:
    def test_init_equals_tanh_half_x(self) -> None:
        torch.manual_seed(0)
        x = torch.randn(4, 7, 32)
        torch.testing.assert_close(DyT(32)(x), torch.tanh(0.5 * x), rtol=0, atol=0)

    def test_parameters_trainable(self) -> None:
        dyt = DyT(8)
        dyt(torch.randn(3, 8)).sum().backward()
        assert dyt.alpha.grad is not None and dyt.gamma.grad.shape == (8,)


class TestEquivariance:
    def test_user_permutation_permutes_outputs(self, model: DTN) -> None:
        x = inputs(2, 4, 6)
        perm = torch.randperm(6, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            out, out_p = model(x), model(x[:, :, perm])
        torch.testing.assert_close(out_p.U, out.U[:, perm], rtol=0, atol=TOL)
        torch.testing.assert_close(out_p.omega, out.omega[:, perm], rtol=0, atol=TOL)

    def test_satellite_permutation(self, model: DTN) -> None:
        x = inputs(2, 5, 4)
        perm = torch.tensor([3, 0, 4, 1, 2])
        with torch.no_grad():
            out, out_p = model(x), model(x[:, perm])
        # U_sat (columns 1..S) permutes, u_{k,0} and omega are invariant (eq. 50).
        torch.testing.assert_close(out_p.U[..., 1:], out.U[..., 1:][..., perm], rtol=0, atol=TOL)
        torch.testing.assert_close(out_p.U[..., 0], out.U[..., 0], rtol=0, atol=TOL)
        torch.testing.assert_close(out_p.omega, out.omega, rtol=0, atol=TOL)

    def test_float32_within_tolerance(self) -> None:
        torch.manual_seed(0)
        net = DTN(DTNConfig(hidden=16, num_blocks=1, num_heads=2)).eval()
        x = inputs(1, 3, 5).float()
        perm = torch.tensor([4, 2, 0, 1, 3])
        with torch.no_grad():
            a, b = net(x), net(x[:, :, perm])
        # float32: sums reordered -> errors of order eps_32 * depth ~ 1e-6.
        torch.testing.assert_close(b.U, a.U[:, perm], rtol=0, atol=1e-5)


class TestScalability:
    @pytest.mark.parametrize("s,k", [(1, 1), (2, 7), (5, 12), (7, 30)])
    def test_runs_at_any_s_k(self, model: DTN, s: int, k: int) -> None:
        with torch.no_grad():
            out = model(inputs(3, s, k))
        assert out.U.shape == (3, k, s + 1) and out.U.is_complex()
        assert out.omega.shape == (3, k)
        assert torch.all((out.omega > 0) & (out.omega < 1))

    def test_parameter_count_independent_of_s_k(self) -> None:
        torch.manual_seed(0)
        net = DTN(SIZES["small"])
        n0 = count_parameters(net)
        for s, k in [(3, 4), (5, 48)]:
            net(torch.randn(1, s, k, 8))
            assert count_parameters(net) == n0
        assert n0 < 500_000

    def test_rejects_wrong_feature_count(self, model: DTN) -> None:
        with pytest.raises(ValueError, match="x must be"):
            model(torch.zeros(1, 2, 3, 5, dtype=torch.float64))

    def test_bad_heads(self) -> None:
        with pytest.raises(ValueError, match="multiple"):
            DTNConfig(hidden=10, num_heads=3)
