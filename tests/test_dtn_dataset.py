"""DTN dataset (precoders.dtn.dataset): resumable, worker-count independent HDF5 generation
through the shared sweep runner (linksim.runtime.sweep)."""

from __future__ import annotations

import importlib.util

import h5py
import numpy as np
import pytest
from factories import random_scsi

from linksim.config import build_config
from linksim.runtime import sweep
from linksim.runtime.sweep import SweepError, SweepStoreError
from linksim.scenario import drop_rng
from precoders.dtn.dataset import (
    MIX_KAPPA_DB,
    MIX_PHASE_VAR_RAD2,
    DropSample,
    generate_dataset,
    label_drop,
    label_drop_mixed,
    load_arrays,
    mixed_config,
    store_path,
    stored_scsi,
)
from precoders.dtn.features import NUM_FEATURES, scsi_features

HAVE_CDWMMSE = importlib.util.find_spec("precoders.cdwmmse") is not None


def synthetic_label(cfg_dict: dict, seed: int, i: int) -> tuple[int, DropSample]:
    """A fast stand-in for label_drop: random sCSI and labels from drop_rng(seed, i)."""
    cfg = build_config(cfg_dict)
    rng = drop_rng(seed, i, 0)
    S, K, L = cfg.num_sats, cfg.num_users, len(cfg.power_levels_dbw)
    scsi = random_scsi(rng, S, K, rho=0.8)
    feats = np.stack([scsi_features(scsi, 10 ** (p / 10)) for p in cfg.power_levels_dbw])
    U = rng.standard_normal((L, K, S + 1)) + 1j * rng.standard_normal((L, K, S + 1))
    return i, DropSample(features=feats, U=U, omega=rng.uniform(1, 5, (L, K)),
                         wsr=rng.uniform(1, 9, L), iterations=np.full(L, 3, np.int32), scsi=scsi)


def failing_label(cfg_dict: dict, seed: int, i: int) -> tuple[int, DropSample]:
    """synthetic_label, except that drop 3 fails (a run that dies part-way)."""
    if i == 3:
        raise RuntimeError("drop 3 failed")
    return synthetic_label(cfg_dict, seed, i)


failing_label.__qualname__ = synthetic_label.__qualname__  # the same sweep as synthetic_label


def read_all(path) -> dict:
    with h5py.File(path, "r") as h5:
        return {name: h5[name][...] for name in ("done", "features", "U", "omega", "wsr",
                                                  "scsi/gamma", "scsi/rho")}


CFG = build_config({"num_users": 3, "num_sats": 2, "antenna_size": [2, 2]})


class TestGenerateDataset:
    def test_layout(self, tmp_path) -> None:
        out = tmp_path / "d.h5"
        info = generate_dataset(out, CFG, 3, seed=4, label_fn=synthetic_label, progress=False)
        assert info["complete"] and info["computed"] == 3 and out.exists()
        assert not store_path(out).exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]
        with h5py.File(out, "r") as h5:
            assert h5["features"].shape == (3, 7, 2, 3, NUM_FEATURES)
            assert h5["features"].dtype == np.float32 and h5["U"].dtype == np.complex64
            assert h5["U"].shape == (3, 7, 3, 3) and h5["features"].chunks[0] == 1
            assert h5.attrs["num_users"] == 3 and h5["done"][...].all()
            scsi = stored_scsi(h5, 1, (4, 4))
            assert scsi.steering.shape == (2, 3, 16)
        _, ref = synthetic_label(CFG.to_dict(), 4, 2)
        arrays = load_arrays(out)
        np.testing.assert_array_equal(arrays["U"][2], ref.U.astype(np.complex64))
        np.testing.assert_array_equal(arrays["omega"][2], ref.omega)

    def test_resume_computes_exactly_the_rest(self, tmp_path) -> None:
        out = tmp_path / "d.h5"
        first = generate_dataset(out, CFG, 5, seed=2, max_new_drops=2,
                                 label_fn=synthetic_label, progress=False)
        assert not first["complete"] and first["computed"] == 2 and not out.exists()
        assert store_path(out).exists() and first["path"] == str(store_path(out))
        second = generate_dataset(out, CFG, 5, seed=2, label_fn=synthetic_label, progress=False)
        assert second["complete"] and second["computed"] == 3 and second["done"] == 5
        assert sweep.last_run_stats.cached == 2 and sweep.last_run_stats.computed == 3
        ref = tmp_path / "ref.h5"
        generate_dataset(ref, CFG, 5, seed=2, label_fn=synthetic_label, progress=False)
        for name, value in read_all(ref).items():
            np.testing.assert_array_equal(read_all(out)[name], value, err_msg=name)
        assert generate_dataset(out, CFG, 5, seed=2, label_fn=synthetic_label)["computed"] == 0

    def test_interrupted_run_keeps_finished_drops(self, tmp_path) -> None:
        out = tmp_path / "d.h5"
        with pytest.raises(SweepError, match="drop 3 failed"):
            generate_dataset(out, CFG, 6, seed=5, label_fn=failing_label, progress=False)
        assert not out.exists() and store_path(out).exists()
        assert sweep.last_run_stats.interrupted and sweep.last_run_stats.computed == 3
        info = generate_dataset(out, CFG, 6, seed=5, label_fn=synthetic_label, progress=False)
        assert info["complete"] and info["computed"] == 3
        assert sweep.last_run_stats.cached == 3
        ref = tmp_path / "ref.h5"
        generate_dataset(ref, CFG, 6, seed=5, label_fn=synthetic_label, progress=False)
        for name, value in read_all(ref).items():
            np.testing.assert_array_equal(read_all(out)[name], value, err_msg=name)

    def test_resume_rejects_other_options(self, tmp_path) -> None:
        out = tmp_path / "d.h5"
        generate_dataset(out, CFG, 4, seed=2, max_new_drops=1, label_fn=synthetic_label,
                         progress=False)
        with pytest.raises(SweepStoreError, match="differs in: seed"):
            generate_dataset(out, CFG, 4, seed=3, label_fn=synthetic_label, progress=False)
        with pytest.raises(SweepStoreError, match="differs in: label_fn"):
            generate_dataset(out, CFG, 4, seed=2, progress=False)

    def test_one_and_two_workers_identical(self, tmp_path) -> None:
        a, b = tmp_path / "a.h5", tmp_path / "b.h5"
        generate_dataset(a, CFG, 4, seed=9, workers=1, label_fn=synthetic_label, progress=False)
        assert sweep.last_run_stats.backend == "inprocess"
        generate_dataset(b, CFG, 4, seed=9, workers=2, label_fn=synthetic_label, progress=False)
        assert sweep.last_run_stats.backend == "processes"
        ra, rb = read_all(a), read_all(b)
        for name in ra:
            np.testing.assert_array_equal(ra[name], rb[name], err_msg=name)


@pytest.mark.skipif(not HAVE_CDWMMSE, reason="precoders.cdwmmse not available")
class TestRealLabels:
    def test_labels_from_ms_jocdwm(self, tmp_path) -> None:
        cfg = build_config({"num_users": 3, "num_sats": 2, "antenna_size": [2, 2],
                            "power_levels_dbw": [-20.0, 0.0], "max_iterations": 5})
        a, b = tmp_path / "a.h5", tmp_path / "b.h5"
        generate_dataset(a, cfg, 2, seed=1, workers=1, progress=False)
        generate_dataset(b, cfg, 2, seed=1, workers=2, progress=False)
        ra, rb = read_all(a), read_all(b)
        for name in ra:
            np.testing.assert_array_equal(ra[name], rb[name], err_msg=name)
        i, sample = label_drop(cfg.to_dict(), 1, 1)
        np.testing.assert_allclose(ra["U"][1], sample.U.astype(np.complex64))
        assert np.all(ra["omega"] >= 1.0) and np.all(ra["wsr"] > 0)


class TestExactLabelsAndMix:
    def test_exact_labels_reproduce_the_design_and_closed_form_rate(self, tmp_path) -> None:
        from linksim.ratemodel import weighted_sum_rate
        from precoders.cdwmmse import closed_form_precoder, design

        cfg = build_config({"num_users": 4, "num_sats": 2, "antenna_size": [2, 2],
                            "power_levels_dbw": [0.0], "max_iterations": 20})
        assert cfg.w_step == "exact"
        _, d = label_drop(cfg.to_dict(), 1, 0)
        from precoders.dtn.dataset import drop_scsi
        scsi = drop_scsi(cfg, 1, 0)
        res = design(scsi, 1.0, max_iterations=20, rate_threshold=cfg.rate_threshold,
                     w_step="exact")
        np.testing.assert_array_equal(d.U[0], res.U)
        np.testing.assert_array_equal(d.lam[0], res.lam)
        assert d.wsr[0] == weighted_sum_rate(scsi, res.W)
        assert d.wsr_closed_form[0] == weighted_sum_rate(
            scsi, closed_form_precoder(scsi, res.U, res.omega, 1.0))
        # (45) differs from the exact step only in the multipliers: close, and not above the
        # label by more than rounding (the exact step is the W-step's minimiser)
        assert 0.95 * d.wsr[0] < d.wsr_closed_form[0] < 1.05 * d.wsr[0]

    def test_mixed_config_is_reproducible_and_in_range(self) -> None:
        base = build_config({})
        seen = {"phase": 0, "kappa": 0, "ant": 0}
        for i in range(40):
            c = mixed_config(base, 7, i)
            assert c == mixed_config(base, 7, i)
            assert c.num_users == base.num_users and c.num_sats == base.num_sats
            if c.phase_error_var_rad2 != base.phase_error_var_rad2:
                seen["phase"] += 1
                assert MIX_PHASE_VAR_RAD2[0] <= c.phase_error_var_rad2 <= MIX_PHASE_VAR_RAD2[1]
            if c.kappa_model == "fixed":
                seen["kappa"] += 1
                assert MIX_KAPPA_DB[0] <= c.kappa_db <= MIX_KAPPA_DB[1]
            if tuple(c.antenna_size) != tuple(base.antenna_size):
                seen["ant"] += 1
        # each setting changes with probability 1/2 (1/3 of those draw the default antenna):
        # 40 drops give 20 +- 3.2 (and 13 +- 3); the bounds are > 3 sigma away
        assert 8 <= seen["phase"] <= 32 and 8 <= seen["kappa"] <= 32 and 2 <= seen["ant"] <= 26

    def test_mixed_drops_store_their_link(self, tmp_path) -> None:
        cfg = build_config({"num_users": 3, "num_sats": 2, "antenna_size": [2, 2],
                            "power_levels_dbw": [-10.0], "max_iterations": 3})
        out = tmp_path / "m.h5"
        generate_dataset(out, cfg, 3, seed=2, workers=1, progress=False,
                         label_fn=label_drop_mixed)
        with h5py.File(out, "r") as h5:
            link = h5["link"][...]
            assert h5.attrs["label_w_step"] == "exact"
            for i in range(3):
                c = mixed_config(cfg, 2, i)
                assert link[i, 0] == c.phase_error_var_rad2
                assert tuple(link[i, 2:]) == tuple(c.antenna_size)
                assert stored_scsi(h5, i).steering.shape[-1] == c.num_antennas


class TestExistingFile:
    """A finished dataset is reused only for the same options, never silently for others."""

    def test_other_seed_or_size_refused_and_same_reused(self, tmp_path):
        out = tmp_path / "d.h5"
        generate_dataset(out, CFG, 2, seed=5, label_fn=synthetic_label, progress=False)
        before = out.read_bytes()
        again = generate_dataset(out, CFG, 2, seed=5, label_fn=synthetic_label, progress=False)
        assert again["computed"] == 0 and again["complete"]
        for kwargs in ({"num_drops": 2, "seed": 6}, {"num_drops": 3, "seed": 5}):
            with pytest.raises(SweepStoreError, match="other options"):
                generate_dataset(out, CFG, kwargs["num_drops"], seed=kwargs["seed"],
                                 label_fn=synthetic_label, progress=False)
        assert out.read_bytes() == before
        foreign = tmp_path / "x.h5"
        foreign.write_bytes(b"not hdf5")
        with pytest.raises(SweepStoreError, match="not a linksim dataset"):
            generate_dataset(foreign, CFG, 2, seed=5, label_fn=synthetic_label, progress=False)
