"""The drop every benchmark times: one MRT drop of the config at S satellites and K users,
with its sCSI, drawn link state, coupling and emulator settings (drop 0 of ``seed``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DropCase:
    """cfg (with the case's changes), drop, scsi, links (LinkState), coupling complex128
    [S, K, K] = v^H w of MRT at cfg.power_dbw, settings (EmulatorSettings of cfg)."""

    cfg: Any
    drop: Any
    scsi: Any
    links: Any
    coupling: np.ndarray
    settings: Any


def drop_case(cfg, num_users: int, num_sats: int, seed: int = 0, **changes: Any) -> DropCase:
    """The benchmark drop; ``changes`` replace further config fields (e.g. the profile)."""
    from linksim.emulator import EmulatorSettings, draw_link_state
    from linksim.ratemodel import coupling
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design

    cfg = cfg.replace(num_users=num_users, num_sats=num_sats, **changes)
    drop = draw_drop(cfg, seed, 0)
    scsi = scsi_from_drop(drop, cfg)
    W = design("mrt", scsi, 10 ** (cfg.power_dbw / 10)).W
    links = draw_link_state(cfg, drop, scsi, seed, 0)
    return DropCase(cfg, drop, scsi, links, coupling(scsi.steering, W),
                    EmulatorSettings.from_config(cfg))
