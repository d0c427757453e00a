"""Held-out quality of MS-JoCDWM-DL with paired statistics (the goals of the DTN, docs/model.md).

Every *case* is a set of held-out drops (seed :data:`HELDOUT_SEED`, never a training seed)
and a list of points (sCSI, P); at every point each method designs on the same sCSI and is
evaluated with the expected sum rate (19). The cases follow the figures (same drop
construction as ``validation.figures``): ``fig5`` / ``fig6`` K = 12 / 48 against the seven
power levels, ``fig9`` S = 1..6 (the S nearest of a 6-satellite drop) and ``fig10`` K = 12..48
(the first K of a 48-user drop) at cfg.power_dbw, and ``mix``: K = 12, S = 5 drops whose link
settings come from :func:`precoders.dtn.dataset.mixed_config` (phase-error variance, fixed
kappa, N_t) at the seven levels.

Methods: the DTN, 'ms-jocdwm' and 'ms-jowm' (the config's W-step, default 'exact'), and the
input-independent control :data:`CONTROL` (eq. 45 with u_k = e_0, omega_k = 1).

Statistics per point and baseline X, paired over the D drops (d_i = R_DL,i - R_X,i):
ratio = mean R_DL / mean R_X, diff = mean d, se = std(d, ddof=1)/sqrt(D), wins = #(d_i > 0).
Goals (:func:`goals`): DL / MS-JoCDWM >= 0.97 at every point; DL >= MS-JoWM or within one
standard error (diff + se >= 0) at every point of fig5, fig6, fig9, fig10; DL / control >= 1.02
at every power level from -15 dBW up (fig5, fig6, mix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

#: seed of the held-out drops (training data uses other seeds)
HELDOUT_SEED = 1000
CONTROL = "closed-form-const"
BASELINES = ("ms-jocdwm", "ms-jowm")
DL = "ms-jocdwm-dl"
#: (case, drops) evaluated for the model JSON
DEFAULT_CASES = {"fig5": 24, "fig6": 6, "fig9": 16, "fig10": 6, "mix": 24}
FIG9_SATS = (1, 2, 3, 4, 5, 6)
FIG10_USERS = (12, 18, 24, 30, 36, 42, 48)


def case_points(case: str, cfg, drop: int, seed: int = HELDOUT_SEED
                ) -> Iterator[tuple[Any, float, float]]:
    """Yield (sCSI, power_w, x) of one drop of ``case`` (x = power in dBW, S or K)."""
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders.dtn.dataset import mixed_config

    levels = [float(v) for v in cfg.power_levels_dbw]
    p0 = 10.0 ** (cfg.power_dbw / 10.0)
    if case in ("fig5", "fig6", "mix"):
        c = cfg.replace(num_users=12 if case != "fig6" else 48, num_sats=5)
        if case == "mix":
            c = mixed_config(c, seed, drop)
        scsi = scsi_from_drop(draw_drop(c, seed, drop), c)
        for L in levels:
            yield scsi, 10.0 ** (L / 10.0), L
    elif case == "fig9":
        c = cfg.replace(num_users=12, num_sats=max(FIG9_SATS))
        base = scsi_from_drop(draw_drop(c, seed, drop), c)
        for s in FIG9_SATS:
            yield base.take(sats=np.arange(s)), p0, float(s)
    elif case == "fig10":
        c = cfg.replace(num_users=max(FIG10_USERS), num_sats=5)
        base = scsi_from_drop(draw_drop(c, seed, drop), c)
        for k in FIG10_USERS:
            yield base.take(users=np.arange(k)), p0, float(k)
    else:
        raise ValueError(f"unknown case {case!r}; one of fig5, fig6, fig9, fig10, mix")


def control_precoder(scsi, power_w: float) -> np.ndarray:
    """The control: eq. (45) with u_k = e_0 (u_{k,0} = 1, satellite entries 0), omega_k = 1."""
    from precoders.cdwmmse import closed_form_precoder

    U0 = np.zeros((scsi.num_users, scsi.num_sats + 1), np.complex128)
    U0[:, 0] = 1.0
    return closed_form_precoder(scsi, U0, np.ones(scsi.num_users), power_w)


def baseline_rates(case: str, cfg, drops: int, seed: int = HELDOUT_SEED,
                   cache: str | Path | None = None) -> dict:
    """Rates (19) of BASELINES and CONTROL, float64 [D, X] each, plus x [X].

    ``cache``: an .npz file reused when it holds the same (case, config, drops, seed).
    """
    import precoders
    from linksim.ratemodel import weighted_sum_rate

    tag = json.dumps([case, cfg.to_dict(), drops, seed], sort_keys=True)
    if cache is not None and Path(cache).exists():
        z = np.load(cache, allow_pickle=False)
        if str(z["tag"]) == tag:
            return {k: z[k] for k in z.files if k != "tag"}
    out: dict[str, list] = {m: [] for m in (*BASELINES, CONTROL)}
    xs: list[float] = []
    for d in range(drops):
        rows: dict[str, list] = {m: [] for m in out}
        xs = []
        for scsi, p, x in case_points(case, cfg, d, seed):
            xs.append(x)
            for m in BASELINES:
                rows[m].append(weighted_sum_rate(
                    scsi, precoders.design_with_config(m, scsi, p, cfg).W))
            rows[CONTROL].append(weighted_sum_rate(scsi, control_precoder(scsi, p)))
        for m in out:
            out[m].append(rows[m])
    res = {m: np.asarray(v, dtype=np.float64) for m, v in out.items()}
    res["x"] = np.asarray(xs, dtype=np.float64)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, tag=np.asarray(tag), **res)
    return res


def dl_rates(model, case: str, cfg, drops: int, seed: int = HELDOUT_SEED) -> np.ndarray:
    """Rates (19) of the DTN on the case, float64 [D, X]."""
    from precoders.dtn.infer import design_dl

    return np.asarray([[design_dl(model, scsi, p).history["sum_rate"][-1]
                        for scsi, p, _ in case_points(case, cfg, d, seed)]
                       for d in range(drops)], dtype=np.float64)


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """Paired statistics of a against b, both float64 [D, X] (module docstring)."""
    d = a - b
    n = a.shape[0]
    se = d.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1], np.nan)
    return {"ratio": (a.mean(0) / b.mean(0)).tolist(), "diff": d.mean(0).tolist(),
            "se": se.tolist(), "wins": (d > 0).sum(0).astype(int).tolist(), "drops": int(n)}


def evaluate_case(model, case: str, cfg, drops: int, seed: int = HELDOUT_SEED,
                  cache: str | Path | None = None) -> dict:
    """Mean rates and paired statistics of the DTN against every baseline on one case."""
    base = baseline_rates(case, cfg, drops, seed, cache)
    dl = dl_rates(model, case, cfg, drops, seed)
    return {"case": case, "x": base["x"].tolist(), "drops": int(drops), "seed": int(seed),
            "mean_rate": {DL: dl.mean(0).tolist(),
                          **{m: base[m].mean(0).tolist() for m in (*BASELINES, CONTROL)}},
            "vs": {m: paired(dl, base[m]) for m in (*BASELINES, CONTROL)}}


def goals(results: dict[str, dict], control_from_dbw: float = -15.0) -> dict:
    """The goals of docs/model.md on evaluated cases: each goal's verdict and its worst point."""
    out: dict[str, Any] = {}
    worst_cd = min(((min(r["vs"]["ms-jocdwm"]["ratio"]), c) for c, r in results.items()))
    out["dl_over_jocdwm_min"] = {"value": worst_cd[0], "case": worst_cd[1],
                                 "met": bool(worst_cd[0] >= 0.97)}
    fails = []
    for c in ("fig5", "fig6", "fig9", "fig10"):
        if c not in results:
            continue
        st = results[c]["vs"]["ms-jowm"]
        for x, dd, se in zip(results[c]["x"], st["diff"], st["se"]):
            if dd + se < 0:
                fails.append({"case": c, "x": x, "diff": dd, "se": se})
    out["dl_vs_jowm"] = {"met": not fails, "failing_points": fails}
    low = []
    for c in ("fig5", "fig6", "mix"):
        if c not in results:
            continue
        st = results[c]["vs"][CONTROL]
        for x, r in zip(results[c]["x"], st["ratio"]):
            if x >= control_from_dbw and r < 1.02:
                low.append({"case": c, "x": x, "ratio": r})
    out["dl_over_control_2pct"] = {"met": not low, "failing_points": low}
    return out


def evaluate_model(model, cfg, cases: dict[str, int] | None = None,
                   seed: int = HELDOUT_SEED, cache_dir: str | Path | None = None) -> dict:
    """All cases (default :data:`DEFAULT_CASES`), and their goals."""
    cases = DEFAULT_CASES if cases is None else cases
    res = {}
    for c, n in cases.items():
        cache = None if cache_dir is None else Path(cache_dir) / f"{c}_{n}_{seed}.npz"
        res[c] = evaluate_case(model, c, cfg, n, seed, cache)
    return {"cases": res, "goals": goals(res)}


def small_check(model, cfg, drops: int = 2, levels_dbw: Sequence[float] = (-30.0, -5.0, 0.0)
                ) -> dict:
    """The small held-out set the tests recompute: fig5 drops 0..drops-1 at ``levels_dbw``.

    Returns the DTN's and the control's mean sum rate per level (float lists).
    """
    c = cfg.replace(power_levels_dbw=tuple(float(v) for v in levels_dbw))
    base = baseline_rates("fig5", c, drops)
    dl = dl_rates(model, "fig5", c, drops)
    return {"levels_dbw": [float(v) for v in levels_dbw], "drops": int(drops),
            "seed": HELDOUT_SEED, "dl_mean_rate": dl.mean(0).tolist(),
            "jocdwm_mean_rate": base["ms-jocdwm"].mean(0).tolist(),
            "control_mean_rate": base[CONTROL].mean(0).tolist()}


def update_model_json(model_path: str | Path, json_path: str | Path | None = None,
                      cases: dict[str, int] | None = None, cache_dir: str | Path | None = None
                      ) -> dict:
    """Evaluate the model file on the held-out cases and write the ``heldout`` section (all
    cases with paired statistics, the goals, the small check the tests recompute) into its
    JSON (default: the model path with suffix .json; other sections are kept)."""
    import time

    from linksim.config import build_config
    from precoders.dtn.infer import load_model

    model = load_model(model_path, device="cpu")
    cfg = build_config({})
    json_path = Path(json_path) if json_path is not None else Path(model_path).with_suffix(".json")
    doc = json.loads(json_path.read_text()) if json_path.exists() else {}
    t0 = time.monotonic()
    ev = evaluate_model(model, cfg, cases, cache_dir=cache_dir)
    doc["heldout"] = {
        "metric": "expected sum rate (19), bit/s/Hz, per point; paired over drops: ratio = "
                  "mean DL / mean X, diff = mean(DL - X), se = its standard error, wins = "
                  "drops with DL > X",
        "baselines_w_step": cfg.w_step, "seed": HELDOUT_SEED, **ev,
        "small_check": small_check(model, cfg),
        "seconds": round(time.monotonic() - t0, 1)}
    _add_provenance(doc, model_path, cfg)
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    return doc["heldout"]


def _add_provenance(doc: dict, model_path: str | Path, cfg) -> None:
    """The sidecar's provenance: ``heldout.provenance`` (this evaluation: version, commit,
    command line, config, seed, date) and ``training_provenance`` (the record ``train-dtn``
    stored in the model file, when it has one; linksim.runtime.provenance)."""
    import torch

    from linksim.runtime.provenance import provenance

    doc["heldout"]["provenance"] = provenance(cfg, HELDOUT_SEED, model=str(model_path))
    trained = torch.load(model_path, map_location="cpu", weights_only=False).get("provenance")
    if trained is not None:
        doc["training_provenance"] = trained


if __name__ == "__main__":  # python -m precoders.dtn.heldout MODEL.pt [JSON] [CACHE_DIR]
    import sys

    args = sys.argv[1:]
    if not args:
        sys.exit("usage: python -m precoders.dtn.heldout MODEL.pt [JSON] [CACHE_DIR]")
    out = update_model_json(args[0], args[1] if len(args) > 1 else None, None,
                            args[2] if len(args) > 2 else None)
    print(json.dumps(out["goals"], indent=1))
