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
    lam                  float64 [N, L, S]     the label's multipliers lambda_s (format 2)
    wsr_closed_form      float64 [N, L]        sum rate of (45) on the label (U, omega) (format 2)
    link                 float64 [N, 4]        (phase_error_var_rad2, kappa_db or nan, N_x, N_y)
                                               of each drop (format 2; varies with --mix)
    power_levels_dbw     float64 [L]
    scsi/{gamma,kappa,vartheta_x,vartheta_y} float64 [N, S, K], scsi/rho complex128 [N, S, K],
    scsi/noise_power_w   float64 [N, K]        (steering vectors are rebuilt from vartheta at any
                                                N_t by :func:`stored_scsi`)
    attrs: format_version, feature_version, seed, num_drops, num_users, num_sats,
           config (JSON of LinkConfig), label_algorithm, label_w_step (the config's
           w_step, default 'exact'), label_fn (label_drop, or label_drop_mixed for --mix),
           provenance_* (linksim.runtime.provenance: version, commit, command line, config,
           seed, date, numeric settings, workers; the arrays do not depend on any of them)

Generation runs through the shared sweep runner (linksim.runtime.sweep), one task per drop (key
(seed, drop index)), in-process, on local processes or on Dask. Each finished drop is appended
to the sweep store ``<out stem>.store.sqlite`` (:func:`store_path`) beside ``<out>``; rerunning the
same command on an interrupted run keeps the finished drops and computes exactly the rest
(Ctrl-C and SIGTERM are safe; a store of other options is refused). When every drop is done,
``<out>`` is assembled from the store's results (datasets chunked per drop), written under a
temporary name and renamed (linksim.runtime.atomic), and the store is deleted.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linksim.config import LinkConfig, build_config
from linksim.scsi import Scsi
from precoders.dtn.features import FEATURE_VERSION, NUM_FEATURES, scsi_features

FORMAT_VERSION = 2
LABEL_ALGORITHM = "ms-jocdwm"
_SCSI_REAL = ("gamma", "kappa", "vartheta_x", "vartheta_y")
#: random stream of :func:`mixed_config` (separate from the drop's streams 0-4)
MIX_STREAM = 100
#: ranges of the per-drop link mix (``linksim dataset --mix``): each setting keeps the
#: config value with probability 1/2, else is drawn from these ranges
MIX_PHASE_VAR_RAD2 = (0.0, 3.0)
MIX_KAPPA_DB = (-10.0, 30.0)
MIX_ANTENNA_SIZES = ((8, 8), (16, 16), (32, 32))


@dataclass
class DropSample:
    """Everything stored for one drop (L power levels).

    features float32 [L, S, K, F]; U complex128 [L, K, S+1]; omega float64 [L, K];
    wsr float64 [L]; iterations int32 [L]; scsi : the drop's sCSI; lam float64 [L, S]: the
    label's multipliers lambda_s; wsr_closed_form float64 [L]: sum rate of (45) applied to the
    label (U, omega) (how well the closed form represents the label); link float64 [4]:
    (phase_error_var_rad2, kappa_db or nan for the elevation model, N_x, N_y) of the drop.
    """

    features: np.ndarray
    U: np.ndarray
    omega: np.ndarray
    wsr: np.ndarray
    iterations: np.ndarray
    scsi: Scsi
    lam: np.ndarray | None = None
    wsr_closed_form: np.ndarray | None = None
    link: np.ndarray | None = None


def drop_scsi(cfg: LinkConfig, seed: int, drop_index: int) -> Scsi:
    """The sCSI of drop ``drop_index``: scsi_from_drop(draw_drop(cfg, seed, i), cfg), i.e. the
    same sCSI the emulator and the figures see for that drop (kappa spread from stream 4)."""
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop

    return scsi_from_drop(draw_drop(cfg, seed, drop_index), cfg)


def link_params(cfg: LinkConfig) -> np.ndarray:
    """(phase_error_var_rad2, kappa_db or nan for 'ntn-urban-los', N_x, N_y), float64 [4]."""
    kdb = cfg.kappa_db if cfg.kappa_model == "fixed" else np.nan
    return np.array([cfg.phase_error_var_rad2, kdb, *cfg.antenna_size], dtype=np.float64)


def label_scsi(scsi: Scsi, cfg: LinkConfig) -> DropSample:
    """Features and MS-JoCDWM labels of one drop at every level of cfg.power_levels_dbw.

    The labels come from Algorithm 1 with the config's W-step (``cfg.w_step``, default
    'exact', the one the figures use): U and omega are the receivers and weights that produced
    the final W, lam its multipliers. ``wsr_closed_form`` is the sum rate of the closed form
    (45) on (U, omega): for 'paper' it equals ``wsr``; for 'exact' it differs only through the
    multipliers (measured >= 0.999 of ``wsr``, docs/model.md), so (45) represents the labels.
    """
    from linksim.ratemodel import weighted_sum_rate
    from precoders.cdwmmse import closed_form_precoder, design

    levels = np.asarray(cfg.power_levels_dbw, dtype=np.float64)
    s, k = scsi.num_sats, scsi.num_users
    out = DropSample(features=np.zeros((len(levels), s, k, NUM_FEATURES), np.float32),
                     U=np.zeros((len(levels), k, s + 1), np.complex128),
                     omega=np.zeros((len(levels), k)), wsr=np.zeros(len(levels)),
                     iterations=np.zeros(len(levels), np.int32), scsi=scsi,
                     lam=np.zeros((len(levels), s)), wsr_closed_form=np.zeros(len(levels)),
                     link=link_params(cfg))
    for li, p_dbw in enumerate(levels):
        power_w = 10.0 ** (p_dbw / 10.0)
        res = design(scsi, power_w, max_iterations=cfg.max_iterations,
                     rate_threshold=cfg.rate_threshold, w_step=cfg.w_step)
        out.features[li] = scsi_features(scsi, power_w)
        out.U[li] = res.U
        out.omega[li] = res.omega
        out.lam[li] = res.lam
        out.wsr[li] = weighted_sum_rate(scsi, res.W)
        out.wsr_closed_form[li] = weighted_sum_rate(
            scsi, closed_form_precoder(scsi, res.U, res.omega, power_w))
        out.iterations[li] = res.iterations
    return out


def label_drop(cfg_dict: dict, seed: int, drop_index: int) -> tuple[int, DropSample]:
    """Default label function: (drop_index, :func:`label_scsi` of drop ``drop_index``)."""
    cfg = build_config(cfg_dict)
    return drop_index, label_scsi(drop_scsi(cfg, seed, drop_index), cfg)


def mixed_config(cfg: LinkConfig, seed: int, drop_index: int) -> LinkConfig:
    """The link settings of drop ``drop_index`` in a mixed dataset (``linksim dataset --mix``).

    From drop_rng(seed, i, MIX_STREAM), independently, each with probability 1/2 (else the
    config value): phase_error_var_rad2 ~ U(MIX_PHASE_VAR_RAD2); the Rician factor
    kappa_model = 'fixed' with kappa_db ~ U(MIX_KAPPA_DB); antenna_size uniform over
    MIX_ANTENNA_SIZES (N_t = 64, 256, 1024). K, S, the powers and the geometry stay.
    """
    from linksim.scenario import drop_rng

    rng = drop_rng(seed, drop_index, MIX_STREAM)
    u = rng.random(6)
    upd: dict[str, Any] = {}
    if u[0] < 0.5:
        lo, hi = MIX_PHASE_VAR_RAD2
        upd["phase_error_var_rad2"] = float(lo + (hi - lo) * u[1])
    if u[2] < 0.5:
        lo, hi = MIX_KAPPA_DB
        upd["kappa_model"], upd["kappa_db"] = "fixed", float(lo + (hi - lo) * u[3])
    if u[4] < 0.5:
        n = len(MIX_ANTENNA_SIZES)
        upd["antenna_size"] = list(MIX_ANTENNA_SIZES[min(int(u[5] * n), n - 1)])
    return build_config(cfg.to_dict() | upd) if upd else cfg


def label_drop_mixed(cfg_dict: dict, seed: int, drop_index: int) -> tuple[int, DropSample]:
    """Label function of ``--mix``: :func:`label_scsi` under :func:`mixed_config`."""
    cfg = mixed_config(build_config(cfg_dict), seed, drop_index)
    return drop_index, label_scsi(drop_scsi(cfg, seed, drop_index), cfg)


LabelFn = Callable[[dict, int, int], tuple[int, DropSample]]


def dataset_task(key: dict[str, Any], *, cfg_dict: dict, label_fn: LabelFn = label_drop
                 ) -> dict[str, np.ndarray]:
    """Sweep task of one drop (key {"seed", "drop"}): ``label_fn``'s sample as a flat dict of
    arrays (features, U, omega, wsr, iterations and scsi.<name>), in the dtypes of DropSample."""
    i, d = label_fn(cfg_dict, int(key["seed"]), int(key["drop"]))
    if i != key["drop"]:
        raise ValueError(f"label function returned drop {i} for drop {key['drop']}")
    out = {"features": np.asarray(d.features), "U": np.asarray(d.U),
           "omega": np.asarray(d.omega), "wsr": np.asarray(d.wsr),
           "iterations": np.asarray(d.iterations)}
    s, nl = d.U.shape[2] - 1, d.U.shape[0]
    nan = np.full(nl, np.nan)
    out["lam"] = np.asarray(d.lam) if d.lam is not None else np.full((nl, s), np.nan)
    out["wsr_closed_form"] = np.asarray(d.wsr_closed_form) if d.wsr_closed_form is not None \
        else nan
    out["link"] = np.asarray(d.link) if d.link is not None else np.full(4, np.nan)
    for name in (*_SCSI_REAL, "rho", "noise_power_w"):
        out[f"scsi.{name}"] = np.asarray(getattr(d.scsi, name))
    return out


def store_path(out: str | Path) -> Path:
    """The sweep store of the dataset ``out``: ``<out without suffix>.store.sqlite`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".store.sqlite")


def dataset_sweep_id(cfg: LinkConfig, seed: int, label_fn: LabelFn) -> dict[str, Any]:
    """Identity of the sweep store: seed, config, feature/format version, label function and
    linksim version (the number of drops is not part of it: drop i depends only on i)."""
    from linksim import __version__

    return {"name": "dataset", "seed": seed, "config": cfg.to_dict(),
            "format_version": FORMAT_VERSION, "feature_version": FEATURE_VERSION,
            "label_algorithm": LABEL_ALGORITHM,
            "label_fn": f"{label_fn.__module__}.{label_fn.__qualname__}",
            "version": __version__}


def _missing(path: Path, sweep_id: dict[str, Any], tasks: list) -> list:
    """The tasks not yet complete in the store ``path`` (all of them when it does not exist)."""
    from linksim.runtime.store import SweepStore

    if not path.exists():
        return list(tasks)
    with SweepStore.open(path, sweep_id) as store:
        return [t for t in tasks if not store.has(t.digest)]


def _check_existing(path: Path, cfg: LinkConfig, seed: int, num_drops: int) -> None:
    """A finished dataset at ``path`` is reused only if it is this very dataset."""
    import h5py

    from linksim.runtime.sweep import SweepStoreError

    try:
        with h5py.File(path, "r") as h5:
            have = (int(h5.attrs["seed"]), int(h5.attrs["num_drops"]),
                    json.loads(h5.attrs["config"]), str(h5.attrs["label_algorithm"]))
    except (OSError, KeyError, ValueError) as exc:
        raise SweepStoreError(f"{path} exists but is not a linksim dataset ({exc}); "
                              f"choose another --out or delete it") from None
    want = (seed, num_drops, json.loads(json.dumps(cfg.to_dict(), sort_keys=True)),
            LABEL_ALGORITHM)
    if have != want:
        raise SweepStoreError(f"{path} exists with other options (seed {have[0]}, "
                              f"{have[1]} drops); choose another --out or delete it")


def _write_dataset(path: Path, cfg: LinkConfig, seed: int, results: list[dict],
                   label_fn: LabelFn = label_drop, prov: dict | None = None) -> None:
    """Assemble ``path`` (module docstring layout) from the per-drop results, atomically;
    ``prov`` (linksim.runtime.provenance record) is stored as the ``provenance_*`` attributes."""
    from linksim.runtime.atomic import atomic_h5
    from linksim.runtime.provenance import write_h5_attrs

    num_drops = len(results)
    s, k, nl = cfg.num_sats, cfg.num_users, len(cfg.power_levels_dbw)
    # built in memory, then written atomically: libhdf5 never meets a full disk
    with atomic_h5(path) as h5:
        h5.attrs.update(format_version=FORMAT_VERSION, feature_version=FEATURE_VERSION,
                        seed=seed, num_drops=num_drops, num_users=k, num_sats=s,
                        config=json.dumps(cfg.to_dict(), sort_keys=True),
                        label_algorithm=LABEL_ALGORITHM, label_w_step=cfg.w_step,
                        label_fn=f"{label_fn.__module__}.{label_fn.__qualname__}")
        if prov is not None:
            write_h5_attrs(h5, prov)
        h5.create_dataset("done", data=np.ones(num_drops, dtype=bool))
        h5.create_dataset("power_levels_dbw", data=np.asarray(cfg.power_levels_dbw, np.float64))

        def ds(name: str, field: str, tail: tuple[int, ...], dtype: Any) -> None:
            data = np.stack([np.asarray(r[field]).astype(dtype) for r in results])
            if data.shape != (num_drops, *tail):
                raise ValueError(f"drop results {field!r} have shape {data.shape[1:]}, "
                                 f"expected {tail}")
            h5.create_dataset(name, data=data,
                              chunks=(1, *tail) if tail else (max(1, min(num_drops, 4096)),))

        ds("features", "features", (nl, s, k, NUM_FEATURES), np.float32)
        ds("U", "U", (nl, k, s + 1), np.complex64)
        ds("omega", "omega", (nl, k), np.float64)
        ds("wsr", "wsr", (nl,), np.float64)
        ds("iterations", "iterations", (nl,), np.int32)
        ds("lam", "lam", (nl, s), np.float64)
        ds("wsr_closed_form", "wsr_closed_form", (nl,), np.float64)
        ds("link", "link", (4,), np.float64)
        for name in _SCSI_REAL:
            ds(f"scsi/{name}", f"scsi.{name}", (s, k), np.float64)
        ds("scsi/rho", "scsi.rho", (s, k), np.complex128)
        ds("scsi/noise_power_w", "scsi.noise_power_w", (k,), np.float64)


def generate_dataset(out: str | Path, cfg: LinkConfig, num_drops: int, seed: int = 1,
                     workers: int | None = 1, max_new_drops: int | None = None,
                     progress: bool | None = None, label_fn: LabelFn = label_drop,
                     scheduler: str | None = None) -> dict[str, Any]:
    """Create or resume the DTN dataset ``out`` (layout in the module docstring).

    Parameters
    ----------
    out : str | Path
        Final file name; finished drops are kept in the sweep store :func:`store_path`
        until every drop is done, then ``out`` is written atomically and the store deleted.
    cfg : LinkConfig
        num_users K, num_sats S, antenna_size of the labels, power_levels_dbw,
        max_iterations, rate_threshold.
    num_drops : int
        N >= 1.
    seed : int
        Root seed (drop i uses draw_drop(cfg, seed, i)).
    workers : int | None
        Worker processes (1 = in this process, None = one per core); the file does not
        depend on it, nor on the back end.
    max_new_drops : int | None
        Stop after this many newly computed drops (the store is kept; rerun to continue).
    progress : bool | None
        Progress bar on stderr (None: when it is a terminal).
    label_fn : Callable[[dict, int, int], tuple[int, DropSample]]
        Picklable top-level (cfg_dict, seed, i) -> (i, DropSample), default
        :func:`label_drop`.
    scheduler : str | None
        Dask scheduler address or "local" (linksim.runtime.sweep.run_sweep).

    Returns
    -------
    dict
        path (``out`` when complete, else the store), computed (drops computed now), done
        (drops finished in all), num_drops, complete (bool); provenance (the record stored
        in the file) when the file was written by this call.

    Raises
    ------
    linksim.runtime.sweep.SweepStoreError
        The store was started with other options (seed, config, label function, version).
    KeyboardInterrupt
        Ctrl-C (or SIGTERM turned into it by the command): the finished drops are kept.
    """
    from linksim.runtime import sweep

    if num_drops < 1:
        raise ValueError(f"num_drops must be >= 1 (got {num_drops})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    out = Path(out)
    if out.exists():
        _check_existing(out, cfg, seed, num_drops)
        return {"path": str(out), "computed": 0, "done": num_drops, "num_drops": num_drops,
                "complete": True}
    store = store_path(out)
    sweep_id = dataset_sweep_id(cfg, seed, label_fn)
    tasks = [sweep.Task({"seed": seed, "drop": i}) for i in range(num_drops)]
    if max_new_drops is not None:
        missing = _missing(store, sweep_id, tasks)
        skipped = set(missing[max(0, int(max_new_drops)):])
        tasks = [t for t in tasks if t not in skipped]
    func = functools.partial(dataset_task, cfg_dict=cfg.to_dict(), label_fn=label_fn)
    results = sweep.run_sweep(func, tasks, store_path=store, sweep_id=sweep_id,
                              workers=workers, scheduler=scheduler,
                              progress=progress is not False,
                              label=f"drops (K={cfg.num_users}, S={cfg.num_sats})")
    stats = sweep.last_run_stats
    computed = stats.computed if stats is not None else 0
    complete = len(results) == num_drops
    if complete:
        from linksim.runtime.provenance import provenance
        from linksim.runtime.store import remove_store

        prov = provenance(cfg, seed, num_drops=int(num_drops), workers=workers,
                          scheduler=scheduler,
                          label_fn=f"{label_fn.__module__}.{label_fn.__qualname__}")
        _write_dataset(out, cfg, seed, list(results.values()), label_fn, prov)
        remove_store(store)
        return {"path": str(out), "computed": computed, "done": len(results),
                "num_drops": num_drops, "complete": True, "provenance": prov}
    return {"path": str(out if complete else store), "computed": computed,
            "done": len(results), "num_drops": num_drops, "complete": complete}


def stored_scsi(h5, drop_index: int, antenna_size: tuple[int, int] | None = None) -> Scsi:
    """The sCSI of a stored drop, with steering rebuilt at ``antenna_size``.

    h5 : an open h5py.File of this module's layout; antenna_size default: the drop's own
    (``link``, format 2), else the dataset's config.
    """
    from linksim.channel import upa_steering

    if antenna_size is None and "link" in h5:
        antenna_size = tuple(int(x) for x in h5["link"][drop_index][2:])
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
        opt = {name: h5[name][...] for name in ("lam", "wsr_closed_form", "link") if name in h5}
        return {"features": h5["features"][...], "U": h5["U"][...], "omega": h5["omega"][...],
                "wsr": h5["wsr"][...], "done": done, **opt,
                "attrs": {k: (v.item() if isinstance(v, np.generic) else v)
                          for k, v in h5.attrs.items()}}
