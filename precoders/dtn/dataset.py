"""DTN training data: features X_in (eqs. 56-57) and MS-JoCDWM labels (U, omega), in HDF5.

One *drop* gives one sample per power level of ``cfg.power_levels_dbw`` (seven levels, Sec. IV):
the drop is drawn with :func:`linksim.scenario.draw_drop` (``seed``, drop index i), its sCSI with
:func:`linksim.scsi.scsi_from_drop` (its default random stream), and for every level
P the label is the converged Algorithm 1 (:func:`precoders.cdwmmse.design`): the virtual
receivers U complex [K, S+1] (column 0 = u_{k,0}) and the weights omega [K]. Everything
depends only on (cfg, seed, i), so the file is identical for any number of worker processes.

File layout (N drops, L levels, S satellites, K users, F features)::

    done                 bool [N]              drop i finished (the resume mask)
    features             float32 [N, L, S, K, F]
    U                    complex64 [N, L, K, S+1]   raw labels (not normalised)
    omega                float64 [N, L, K]
    wsr                  float64 [N, L]        sum rate of the label precoder (eq. 19), bit/s/Hz
    iterations           int32 [N, L]          Algorithm 1 iterations
    power_levels_dbw     float64 [L]
    scsi/{gamma,kappa,vartheta_x,vartheta_y} float64 [N, S, K], scsi/rho complex128 [N, S, K],
    scsi/noise_power_w   float64 [N, K]        (steering vectors are rebuilt from vartheta at any
                                                N_t by :func:`stored_scsi`)
    attrs: format_version, feature_version, seed, num_drops, num_users, num_sats,
           config (JSON of LinkConfig), label_algorithm

Datasets are chunked per drop and written as drops finish. The file is built under
``<out>.partial`` and renamed to ``<out>`` only when every drop is done; rerunning the same
command on an interrupted run keeps the finished drops and computes exactly the rest (Ctrl-C is
safe; a hard kill in the middle of an HDF5 write may corrupt the partial file, delete it then).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from linksim.config import LinkConfig, build_config
from linksim.scsi import Scsi
from precoders.dtn.features import FEATURE_VERSION, NUM_FEATURES, scsi_features

FORMAT_VERSION = 1
LABEL_ALGORITHM = "ms-jocdwm"
_SCSI_REAL = ("gamma", "kappa", "vartheta_x", "vartheta_y")


@dataclass
class DropSample:
    """Everything stored for one drop (L power levels).

    features float32 [L, S, K, F]; U complex128 [L, K, S+1]; omega float64 [L, K];
    wsr float64 [L]; iterations int32 [L]; scsi : the drop's sCSI.
    """

    features: np.ndarray
    U: np.ndarray
    omega: np.ndarray
    wsr: np.ndarray
    iterations: np.ndarray
    scsi: Scsi


def drop_scsi(cfg: LinkConfig, seed: int, drop_index: int) -> Scsi:
    """The sCSI of drop ``drop_index``: scsi_from_drop(draw_drop(cfg, seed, i), cfg), i.e. the
    same sCSI the emulator and the figures see for that drop (kappa spread from stream 4)."""
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    return scsi_from_drop(draw_drop(cfg, seed, drop_index), cfg)


def label_scsi(scsi: Scsi, cfg: LinkConfig) -> DropSample:
    """Features and MS-JoCDWM labels of one drop at every level of cfg.power_levels_dbw."""
    from linksim.ratemodel import weighted_sum_rate
    from precoders.cdwmmse import design

    levels = np.asarray(cfg.power_levels_dbw, dtype=np.float64)
    s, k = scsi.num_sats, scsi.num_users
    out = DropSample(features=np.zeros((len(levels), s, k, NUM_FEATURES), np.float32),
                     U=np.zeros((len(levels), k, s + 1), np.complex128),
                     omega=np.zeros((len(levels), k)), wsr=np.zeros(len(levels)),
                     iterations=np.zeros(len(levels), np.int32), scsi=scsi)
    for li, p_dbw in enumerate(levels):
        power_w = 10.0 ** (p_dbw / 10.0)
        # the paper's W-step: its (U, omega) reproduce W through the closed form (45) exactly
        res = design(scsi, power_w, max_iterations=cfg.max_iterations,
                     rate_threshold=cfg.rate_threshold, w_step="paper")
        out.features[li] = scsi_features(scsi, power_w)
        out.U[li] = res.U
        out.omega[li] = res.omega
        out.wsr[li] = weighted_sum_rate(scsi, res.W)
        out.iterations[li] = res.iterations
    return out


def label_drop(cfg_dict: dict, seed: int, drop_index: int) -> tuple[int, DropSample]:
    """Worker entry point: (drop_index, :func:`label_scsi` of drop ``drop_index``)."""
    cfg = build_config(cfg_dict)
    return drop_index, label_scsi(drop_scsi(cfg, seed, drop_index), cfg)


def partial_path(out: str | Path) -> Path:
    """The in-progress name of ``out``: ``<out>.partial``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _create(h5, cfg: LinkConfig, seed: int, num_drops: int) -> None:
    s, k, nl = cfg.num_sats, cfg.num_users, len(cfg.power_levels_dbw)
    h5.attrs.update(format_version=FORMAT_VERSION, feature_version=FEATURE_VERSION, seed=seed,
                    num_drops=num_drops, num_users=k, num_sats=s,
                    config=json.dumps(cfg.to_dict(), sort_keys=True),
                    label_algorithm=LABEL_ALGORITHM)
    h5.create_dataset("done", shape=(num_drops,), dtype=bool, fillvalue=False)
    h5.create_dataset("power_levels_dbw", data=np.asarray(cfg.power_levels_dbw, np.float64))

    def ds(name: str, tail: tuple[int, ...], dtype) -> None:
        h5.create_dataset(name, shape=(num_drops, *tail), dtype=dtype,
                          chunks=(1, *tail) if tail else (max(1, min(num_drops, 4096)),))

    ds("features", (nl, s, k, NUM_FEATURES), np.float32)
    ds("U", (nl, k, s + 1), np.complex64)
    ds("omega", (nl, k), np.float64)
    ds("wsr", (nl,), np.float64)
    ds("iterations", (nl,), np.int32)
    for name in _SCSI_REAL:
        ds(f"scsi/{name}", (s, k), np.float64)
    ds("scsi/rho", (s, k), np.complex128)
    ds("scsi/noise_power_w", (k,), np.float64)


def _check_resume(h5, cfg: LinkConfig, seed: int, num_drops: int, path: Path) -> None:
    want = {"seed": seed, "num_drops": num_drops, "num_users": cfg.num_users,
            "num_sats": cfg.num_sats, "feature_version": FEATURE_VERSION,
            "config": json.dumps(cfg.to_dict(), sort_keys=True)}
    for key, value in want.items():
        got = h5.attrs.get(key)
        if isinstance(got, np.generic):
            got = got.item()
        if got != value:
            raise ValueError(f"{path} was started with a different {key}; rerun with the same "
                             f"options or delete it to start over")


def _write(h5, i: int, d: DropSample) -> None:
    h5["features"][i] = d.features
    h5["U"][i] = d.U.astype(np.complex64)
    h5["omega"][i] = d.omega
    h5["wsr"][i] = d.wsr
    h5["iterations"][i] = d.iterations
    for name in _SCSI_REAL:
        h5[f"scsi/{name}"][i] = getattr(d.scsi, name)
    h5["scsi/rho"][i] = d.scsi.rho
    h5["scsi/noise_power_w"][i] = d.scsi.noise_power_w
    h5["done"][i] = True
    h5.flush()


def generate_dataset(out: str | Path, cfg: LinkConfig, num_drops: int, seed: int = 1,
                     workers: int = 1, max_new_drops: int | None = None,
                     progress: bool | None = None,
                     label_fn: Callable[[dict, int, int], tuple[int, DropSample]] = label_drop
                     ) -> dict:
    """Create or resume the DTN dataset ``out`` (layout in the module docstring).

    Parameters
    ----------
    out : final file name; work happens in ``<out>.partial``, renamed when all drops are done
    cfg : LinkConfig (num_users K, num_sats S, antenna_size of the labels, power_levels_dbw,
          max_iterations, rate_threshold)
    num_drops : N >= 1; seed : root seed (drop i uses draw_drop(cfg, seed, i))
    workers : processes (1 = in this process); the file does not depend on it
    max_new_drops : stop after this many newly computed drops (the file stays ``.partial``)
    label_fn : picklable (cfg_dict, seed, i) -> (i, DropSample), default :func:`label_drop`

    Returns
    -------
    dict: path (final or partial), computed (drops computed now), done (total done),
    num_drops, complete (bool).
    """
    import h5py

    from linksim.progress import Progress

    if num_drops < 1:
        raise ValueError(f"num_drops must be >= 1 (got {num_drops})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    out = Path(out)
    if out.exists():
        return {"path": str(out), "computed": 0, "done": num_drops, "num_drops": num_drops,
                "complete": True}
    part = partial_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    computed = 0
    with h5py.File(part, "a") as h5:
        if "done" in h5:
            _check_resume(h5, cfg, seed, num_drops, part)
        else:
            _create(h5, cfg, seed, num_drops)
        done = h5["done"][...]
        todo = [int(i) for i in np.flatnonzero(~done)]
        if max_new_drops is not None:
            todo = todo[:max(0, int(max_new_drops))]
        cfg_dict = cfg.to_dict()
        with Progress(len(todo), f"drops (K={cfg.num_users}, S={cfg.num_sats})",
                      enabled=progress) as bar:
            if workers == 1 or len(todo) <= 1:
                for i in todo:
                    _write(h5, *label_fn(cfg_dict, seed, i))
                    computed += 1
                    bar.update()
            else:
                method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
                ctx = multiprocessing.get_context(method)
                with ctx.Pool(min(workers, len(todo)), initializer=_worker_init) as pool:
                    jobs = pool.imap_unordered(_call, [(label_fn, cfg_dict, seed, i)
                                                       for i in todo])
                    for i, sample in jobs:
                        _write(h5, i, sample)
                        computed += 1
                        bar.update()
        total_done = int(np.count_nonzero(h5["done"][...]))
    complete = total_done == num_drops
    if complete:
        os.replace(part, out)
    return {"path": str(out if complete else part), "computed": computed, "done": total_done,
            "num_drops": num_drops, "complete": complete}


def _worker_init() -> None:
    """Workers leave Ctrl-C / SIGTERM handling to the parent (which terminates the pool)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _call(args: tuple) -> tuple[int, DropSample]:
    fn, cfg_dict, seed, i = args
    return fn(cfg_dict, seed, i)


def stored_scsi(h5, drop_index: int, antenna_size: tuple[int, int] | None = None) -> Scsi:
    """The sCSI of a stored drop, with steering rebuilt at ``antenna_size``.

    h5 : an open h5py.File of this module's layout; antenna_size default: the dataset's config.
    """
    from linksim.channel import upa_steering

    if antenna_size is None:
        antenna_size = tuple(json.loads(h5.attrs["config"])["antenna_size"])
    g = {name: h5[f"scsi/{name}"][drop_index] for name in _SCSI_REAL}
    return Scsi(gamma=g["gamma"], kappa=g["kappa"], rho=h5["scsi/rho"][drop_index],
                steering=upa_steering(g["vartheta_x"], g["vartheta_y"], antenna_size),
                noise_power_w=h5["scsi/noise_power_w"][drop_index],
                vartheta_x=g["vartheta_x"], vartheta_y=g["vartheta_y"],
                antenna_size=(int(antenna_size[0]), int(antenna_size[1])))


def load_arrays(path: str | Path) -> dict:
    """Read a finished dataset into memory for training.

    Returns dict: features float32 [N, L, S, K, F], U complex64 [N, L, K, S+1],
    omega float64 [N, L, K], wsr float64 [N, L], attrs (dict), done bool [N].
    """
    import h5py

    with h5py.File(path, "r") as h5:
        if int(h5.attrs.get("feature_version", -1)) != FEATURE_VERSION:
            raise ValueError(f"{path}: feature_version {h5.attrs.get('feature_version')} != "
                             f"{FEATURE_VERSION}; regenerate the dataset")
        done = h5["done"][...]
        return {"features": h5["features"][...], "U": h5["U"][...], "omega": h5["omega"][...],
                "wsr": h5["wsr"][...], "done": done,
                "attrs": {k: (v.item() if isinstance(v, np.generic) else v)
                          for k, v in h5.attrs.items()}}
