"""HDF5 files (h5py) for drops, their sCSI and figure numbers (DESIGN.md "Files").

Every file is built in memory and written through :func:`linksim.runtime.atomic.atomic_h5`: it
appears under its final name only when complete, a failed write leaves neither a partial nor a
temporary file, and a full disk is a one-line ``OutputWriteError`` naming the final path.
Each file carries its config (JSON attribute ``config``), seed and the linksim version, so a
result can be traced and re-run.

Drop file layout::

    /                       attrs: format="linksim-drop", format_version, linksim_version,
                                   seed, drop_index, time_s, config (JSON)
    /geometry/<field>       the array fields of linksim.scenario.Drop (float64; sat_index int64)
    /scsi/<field>           (optional) gamma, kappa, rho, steering, noise_power_w, vartheta_x,
                            vartheta_y; attr antenna_size = [N_x, N_y]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

DROP_FORMAT = "linksim-drop"
DROP_FORMAT_VERSION = 1

_GEOMETRY_FIELDS = ("center_ecef_m", "user_ecef_m", "sat_index", "sat_ecef_m",
                    "sat_velocity_m_s", "slant_range_m", "delay_s", "doppler_hz",
                    "elevation_deg", "aod_theta_rad", "aod_phi_rad")
_SCSI_FIELDS = ("gamma", "kappa", "rho", "steering", "noise_power_w", "vartheta_x",
                "vartheta_y")


def _version() -> str:
    from linksim import __version__

    return __version__


def _config_dict(cfg: Any) -> dict[str, Any]:
    if cfg is None:
        return {}
    if isinstance(cfg, dict):
        return dict(cfg)
    return cfg.to_dict()


def _attr_value(value: Any) -> Any:
    """An HDF5-storable attribute value (dicts and lists become JSON text)."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if value is None:
        return "null"
    return value


def write_drop(path: str | Path, drop, cfg: Any, scsi=None) -> Path:
    """Write one drop (and optionally its sCSI) to an HDF5 file, atomically.

    path : the final file name (parent directories are created).
    drop : linksim.scenario.Drop; cfg : LinkConfig or its dict; scsi : linksim.scsi.Scsi | None.
    Returns the final path.
    """
    from linksim.runtime.atomic import atomic_h5

    final = Path(path)
    with atomic_h5(final) as f:
        f.attrs["format"] = DROP_FORMAT
        f.attrs["format_version"] = DROP_FORMAT_VERSION
        f.attrs["linksim_version"] = _version()
        f.attrs["seed"] = int(drop.seed)
        f.attrs["drop_index"] = int(drop.drop_index)
        f.attrs["time_s"] = float(drop.time_s)
        f.attrs["config"] = json.dumps(_config_dict(cfg))
        from linksim.runtime.provenance import provenance, write_h5_attrs

        write_h5_attrs(f, provenance(cfg, int(drop.seed), drop_index=int(drop.drop_index)))
        geo = f.create_group("geometry")
        for name in _GEOMETRY_FIELDS:
            geo.create_dataset(name, data=np.asarray(getattr(drop, name)))
        if scsi is not None:
            grp = f.create_group("scsi")
            for name in _SCSI_FIELDS:
                grp.create_dataset(name, data=np.asarray(getattr(scsi, name)))
            grp.attrs["antenna_size"] = np.asarray(scsi.antenna_size, dtype=np.int64)
    return final


def read_drop(path: str | Path) -> tuple[Any, dict[str, Any], Any]:
    """Read a file written by :func:`write_drop`.

    Returns (drop: linksim.scenario.Drop, cfg_dict: dict, scsi: linksim.scsi.Scsi | None).
    Raises ValueError when the file is not a linksim drop file.
    """
    import h5py

    from linksim.scenario import Drop

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != DROP_FORMAT:
            raise ValueError(f"{path} is not a linksim drop file (format attribute missing)")
        geo = {name: f["geometry"][name][()] for name in _GEOMETRY_FIELDS}
        drop = Drop(seed=int(f.attrs["seed"]), drop_index=int(f.attrs["drop_index"]),
                    time_s=float(f.attrs["time_s"]), **geo)
        cfg_dict = json.loads(f.attrs["config"])
        scsi = None
        if "scsi" in f:
            from linksim.scsi import Scsi

            grp = f["scsi"]
            fields = {name: grp[name][()] for name in _SCSI_FIELDS}
            size = tuple(int(v) for v in grp.attrs["antenna_size"])
            scsi = Scsi(antenna_size=size, **fields)
    return drop, cfg_dict, scsi


def write_arrays_h5(path: str | Path, arrays: dict[str, np.ndarray],
                    attrs: dict[str, Any] | None = None) -> Path:
    """Write named arrays (datasets at the root) and attributes to an HDF5 file, atomically.

    arrays : name -> array-like; attrs : name -> scalar, string, or dict/list (stored as JSON).
    The linksim version is added as attribute ``linksim_version``. Returns the final path.
    """
    from linksim.runtime.atomic import atomic_h5

    final = Path(path)
    with atomic_h5(final) as f:
        f.attrs["linksim_version"] = _version()
        for key, value in (attrs or {}).items():
            f.attrs[key] = _attr_value(value)
        for name, arr in arrays.items():
            f.create_dataset(name, data=np.asarray(arr))
    return final


def read_arrays_h5(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the root datasets and attributes of a file written by :func:`write_arrays_h5`."""
    import h5py

    with h5py.File(path, "r") as f:
        arrays = {name: f[name][()] for name in f if isinstance(f[name], h5py.Dataset)}
        attrs = {key: (v.decode() if isinstance(v, bytes) else v) for key, v in f.attrs.items()}
    return arrays, attrs
