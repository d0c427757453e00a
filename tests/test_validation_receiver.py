"""validation.receiver: level picking, loss statistics and verdicts on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from validation.receiver import LOSS_REL_MAX, pick_levels, summarise


def test_pick_levels_keeps_the_ends():
    levels = [-30, -25, -20, -15, -10, -5, 0]
    assert pick_levels(levels, 3) == [-30.0, -15.0, 0.0]
    assert pick_levels(levels, 0) == [float(v) for v in levels]


def _arrays(loss_ls: np.ndarray, rng) -> dict:
    p, l_count, d, k = 2, 3, 4, 2
    genie = 5.0 + rng.uniform(0, 1, (p, l_count, d, k)) + np.array([0.0, 3.0])[:, None, None,
                                                                               None]
    ls = genie - loss_ls[None, :, None, None] / k + rng.normal(0, 0.01, genie.shape)
    return {"rate_genie": genie, "rate_analytical": genie + 0.1, "rate_dmrs_ls": ls,
            "rate_dmrs_ls_net": ls * 12 / 14, "evm_dmrs_ls_db": np.full(genie.shape, -20.0),
            "rate_dmrs_lmmse": genie - 0.01, "rate_dmrs_lmmse_net": (genie - 0.01) * 12 / 14,
            "evm_dmrs_lmmse_db": np.full(genie.shape, -25.0),
            "power_dbw": np.array([-30.0, -15.0, 0.0])}


def test_loss_statistics_and_verdicts():
    rng = np.random.default_rng(3)
    res = _arrays(np.array([3.0, 0.2, 0.2]), rng)     # large loss only at the lowest level
    s = summarise(res, ["a", "b"])
    genie = res["rate_genie"].sum(-1)
    loss = genie - res["rate_dmrs_ls"].sum(-1)
    assert np.allclose(s["loss_dmrs_ls"], loss.mean(-1))
    assert np.allclose(s["loss_dmrs_ls_std_err"], loss.std(-1, ddof=1) / 2.0)
    assert s["loss_dmrs_ls"][0, 0] == pytest.approx(3.0, abs=0.05)
    rows = {r["assumption"]: r for r in s["table"]}
    ls_row = [r for a, r in rows.items() if "dmrs-ls receiver" in a][0]
    assert (3.0 / genie.mean(-1)[:, 0]).max() > LOSS_REL_MAX > (0.2 / genie.mean(-1)).max()
    assert ls_row["verdict"] == "breaks at <= -30 dBW"
    lmmse_row = [r for a, r in rows.items() if "dmrs-lmmse receiver" in a][0]
    assert lmmse_row["verdict"] == "holds"
    # precoder b is 3 bit/s/Hz better under every receiver: no swaps
    assert s["overall_genie"] == s["overall_dmrs_ls"] == ["b", "a"]
    assert s["swaps_dmrs_ls"] == []
