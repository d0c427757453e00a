"""HDF5 files: drop round trip (geometry and sCSI), attributes, atomic writes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from linksim.config import build_config
from linksim.runtime.io import read_arrays_h5, read_drop, write_arrays_h5, write_drop
from linksim.scenario import draw_drop

CFG = build_config({"num_users": 6, "antenna_size": [4, 2]})


@pytest.fixture(scope="module")
def drop():
    return draw_drop(CFG, 3, 2)


def _scsi(drop):
    from linksim.scsi import scsi_from_drop

    return scsi_from_drop(drop, CFG)


class TestDropRoundTrip:
    def test_geometry_and_attrs(self, drop, tmp_path):
        path = write_drop(tmp_path / "sub" / "d.h5", drop, CFG)
        back, cfg_dict, scsi = read_drop(path)
        assert scsi is None
        for f in dataclasses.fields(drop):
            a, b = getattr(drop, f.name), getattr(back, f.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
                assert a.dtype == b.dtype
            else:
                assert a == b
        assert cfg_dict == CFG.to_dict()
        assert build_config(cfg_dict) == CFG

    def test_with_scsi(self, drop, tmp_path):
        scsi = _scsi(drop)
        _, _, back = read_drop(write_drop(tmp_path / "d.h5", drop, CFG, scsi))
        assert back.antenna_size == (4, 2)
        for name in ("gamma", "kappa", "rho", "steering", "noise_power_w", "vartheta_x"):
            np.testing.assert_array_equal(getattr(back, name), getattr(scsi, name))

    def test_version_and_seed_attributes(self, drop, tmp_path):
        import h5py

        from linksim import __version__

        path = write_drop(tmp_path / "d.h5", drop, CFG.to_dict())
        with h5py.File(path) as f:
            assert f.attrs["linksim_version"] == __version__
            assert f.attrs["seed"] == 3 and f.attrs["drop_index"] == 2
            assert json.loads(f.attrs["config"])["num_users"] == 6


class TestAtomicWrite:
    def test_failed_write_leaves_nothing(self, drop, tmp_path):
        bad = dataclasses.replace(drop, doppler_hz=np.array([object()], dtype=object))
        with pytest.raises(TypeError):
            write_drop(tmp_path / "d.h5", bad, CFG)
        assert list(tmp_path.iterdir()) == []

    def test_failed_write_keeps_previous_file(self, drop, tmp_path):
        path = write_drop(tmp_path / "d.h5", drop, CFG)
        before = path.read_bytes()
        bad = dataclasses.replace(drop, doppler_hz=np.array([object()], dtype=object))
        with pytest.raises(TypeError):
            write_drop(path, bad, CFG)
        assert path.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]


class TestArrays:
    def test_round_trip(self, tmp_path):
        arrays = {"x_m": np.arange(5.0), "counts": np.arange(6, dtype=np.int64).reshape(2, 3)}
        path = write_arrays_h5(tmp_path / "a.h5", arrays,
                               {"seed": 4, "config": {"a": 1}, "title": "t"})
        back, attrs = read_arrays_h5(path)
        np.testing.assert_array_equal(back["counts"], arrays["counts"])
        assert attrs["seed"] == 4 and json.loads(attrs["config"]) == {"a": 1}
        assert attrs["title"] == "t" and "linksim_version" in attrs
