"""MS-JoCDWM-DL inference (precoders.dtn.infer): network -> closed form (45) -> feasible W."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from factories import random_scsi

from precoders.dtn.infer import DEFAULT_MODEL_PATH, design_dl, design_dl_batch, load_model
from precoders.dtn.network import DTN, DTNConfig


def sat_power(W: np.ndarray) -> np.ndarray:
    return np.sum(np.abs(W) ** 2, axis=(1, 2))


@pytest.fixture(scope="module")
def tiny_model() -> DTN:
    torch.manual_seed(0)
    return DTN(DTNConfig(hidden=16, num_blocks=1, num_heads=2)).eval()


class TestDesignDl:
    @pytest.mark.parametrize("antenna_size", [(2, 2), (4, 4), (8, 4)])
    def test_same_network_any_nt_power_feasible(self, tiny_model, antenna_size) -> None:
        scsi = random_scsi(np.random.default_rng(1), 3, 5, antenna_size)
        res = design_dl(tiny_model, scsi, 0.1)
        assert res.W.shape == (3, 5, antenna_size[0] * antenna_size[1])
        np.testing.assert_allclose(sat_power(res.W), 0.1, rtol=1e-9)
        assert res.U.shape == (5, 4) and res.iterations == 0 and res.name == "ms-jocdwm-dl"
        assert res.history["sum_rate"][-1] > 0

    def test_per_satellite_power_and_batch(self, tiny_model) -> None:
        rng = np.random.default_rng(2)
        drops = [random_scsi(rng, 2, 4), random_scsi(rng, 3, 6), random_scsi(rng, 2, 4)]
        res = design_dl_batch(tiny_model, drops, [0.1, 0.2, 0.3])
        for r, p in zip(res, [0.1, 0.2, 0.3]):
            np.testing.assert_allclose(sat_power(r.W), p, rtol=1e-9)
        one = design_dl(tiny_model, drops[2], 0.3)
        np.testing.assert_allclose(res[2].W, one.W, rtol=1e-6, atol=1e-12)
        r = design_dl(tiny_model, drops[0], np.array([0.1, 0.4]))
        np.testing.assert_allclose(sat_power(r.W), [0.1, 0.4], rtol=1e-9)

    def test_registered(self, tiny_model, tmp_path) -> None:
        import precoders

        path = tmp_path / "m.pt"
        torch.save({"model_config": tiny_model.cfg.to_dict(),
                    "model_state": tiny_model.state_dict()}, path)
        scsi = random_scsi(np.random.default_rng(3), 2, 3)
        res = precoders.design("ms-jocdwm-dl", scsi, 0.05, model_path=path)
        np.testing.assert_allclose(res.W, design_dl(tiny_model, scsi, 0.05).W, rtol=1e-6,
                                   atol=1e-12)


class TestShippedModel:
    def test_loads_and_gives_feasible_precoder(self) -> None:
        model = load_model(DEFAULT_MODEL_PATH, device="cpu")
        assert model.train_info["data"]["num_users"] == 12
        scsi = random_scsi(np.random.default_rng(4), 5, 12, (4, 4))
        res = design_dl(model, scsi, 0.1)
        assert np.all(np.isfinite(res.W))
        np.testing.assert_allclose(sat_power(res.W), 0.1, rtol=1e-9)
