"""DTN training (precoders.dtn.train): the loss decreases, checkpoints resume exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from factories import random_scsi

from linksim.config import build_config
from linksim.scenario import drop_rng
from precoders.dtn.dataset import DropSample, generate_dataset
from precoders.dtn.features import scsi_features
from precoders.dtn.infer import load_model
from precoders.dtn.network import DTNConfig
from precoders.dtn.train import TrainConfig, checkpoint_path, train_dtn

TINY = DTNConfig(hidden=16, num_blocks=1, num_heads=2)


def learnable_label(cfg_dict: dict, seed: int, i: int) -> tuple[int, DropSample]:
    """Random sCSI with labels that are a smooth function of the features (fast, learnable)."""
    cfg = build_config(cfg_dict)
    rng = drop_rng(seed, i, 0)
    S, K, L = cfg.num_sats, cfg.num_users, len(cfg.power_levels_dbw)
    scsi = random_scsi(rng, S, K, rho=0.8)
    x = np.stack([scsi_features(scsi, 10 ** (p / 10)) for p in cfg.power_levels_dbw])
    U = np.concatenate([np.ones((L, K, 1)),
                        np.swapaxes(x[..., 0] + 1j * x[..., 4], 1, 2)], axis=-1)
    omega = 1.0 + np.exp(x[..., 0].mean(axis=1))
    return i, DropSample(features=x, U=U, omega=omega, wsr=np.ones(L),
                         iterations=np.ones(L, np.int32), scsi=scsi)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("dtn") / "d.h5"
    cfg = build_config({"num_users": 4, "num_sats": 3, "antenna_size": [2, 2]})
    generate_dataset(path, cfg, 24, seed=3, label_fn=learnable_label, progress=False)
    return path


def quiet(_: str) -> None:
    pass


class TestTraining:
    def test_loss_decreases_and_model_loads(self, data, tmp_path) -> None:
        torch.manual_seed(0)
        out = tmp_path / "m.pt"
        tcfg = TrainConfig(epochs=6, batch_size=16, lr=3e-3, seed=1)
        res = train_dtn(data, out, tcfg, TINY, device="cpu", progress=False, log=quiet)
        hist = res["history"]
        assert len(hist) == 6 and res["epochs_done"] == 6
        assert hist[-1]["train_loss"] < 0.7 * hist[0]["train_loss"]
        assert hist[-1]["val_loss"] < hist[0]["val_loss"]
        model = load_model(out, device="cpu")
        assert model.cfg == TINY and model.train_info["train_config"]["epochs"] == 6

    def test_resume_from_checkpoint_is_exact(self, data, tmp_path) -> None:
        tcfg = TrainConfig(epochs=2, batch_size=16, seed=2)
        a, b = tmp_path / "a.pt", tmp_path / "b.pt"
        train_dtn(data, a, tcfg, TINY, device="cpu", progress=False, log=quiet)
        part = train_dtn(data, b, tcfg, TINY, device="cpu", progress=False, log=quiet,
                         max_epochs_this_run=1)
        assert part["epochs_done"] == 1 and checkpoint_path(b).exists()
        lines: list[str] = []
        done = train_dtn(data, b, tcfg, TINY, device="cpu", progress=False, log=lines.append)
        assert "resuming" in lines[0] and done["epochs_done"] == 2
        ca = torch.load(checkpoint_path(a), weights_only=False)
        cb = torch.load(checkpoint_path(b), weights_only=False)
        for key, value in ca["model_state"].items():
            torch.testing.assert_close(cb["model_state"][key], value, rtol=0, atol=0)
        assert [h["val_loss"] for h in ca["history"]] == [h["val_loss"] for h in cb["history"]]
