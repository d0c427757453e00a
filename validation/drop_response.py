"""Unit-coupling response of one drop: the waveform chain run once, reused for every precoder.

The emulator (linksim.emulator) is linear in the couplings A[s, j, i] = v_{s,j}^H w_{s,i}
(eq. 36): each (satellite s, receiver j, stream i) component is A[s, j, i] times the same
component computed with A = 1. So one run with A = 1 and ``components=True`` gives

    U[s, j, i, m, q]   the received subcarrier samples of stream i at user j via satellite s
                       for a unit coupling (precompensation, delay-Doppler channel, fading,
                       CP removal and DFT all included),

and the received samples of any precoder W follow as Y_j = sum_{s,i} A[s,j,i] U[s,j,i] + N_j,
with the same data symbols and noise as :func:`linksim.emulator.emulate_drop` (stream 3 of the
drop's SeedSequence is consumed identically). Every precoder and power level of the rate
comparison therefore sees the same waveforms (common random numbers), at the cost of one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from linksim.emulator import (
    EmulationOutput,
    EmulatorSettings,
    LinkState,
    draw_link_state,
    emulate_links,
)

if TYPE_CHECKING:
    from linksim.config import LinkConfig


@dataclass
class DropResponse:
    """Unit-coupling waveforms of one drop.

    Attributes
    ----------
    cfg : LinkConfig; drop : linksim.scenario.Drop; scsi : linksim.scsi.Scsi
    links : LinkState            true/estimated delays and Dopplers, fading, float64/complex [S, K]
    unit : complex128 [S, K, K, M, Q]   U[s, j, i] (module docstring)
    symbols : complex128 [K, M, Q]      X_j[m, q], the observed data symbols of user j
    noise : complex128 [K, M, Q]        the receiver noise after the DFT
    """

    cfg: object
    drop: object
    scsi: object
    links: LinkState
    unit: np.ndarray
    symbols: np.ndarray
    noise: np.ndarray

    @property
    def num_symbols(self) -> int:
        return int(self.symbols.shape[1])

    def output(self, coupling: np.ndarray) -> EmulationOutput:
        """The emulator output for couplings A complex [S, K, K] (received, desired, noise)."""
        A = np.asarray(coupling, dtype=np.complex128)
        if A.shape != self.unit.shape[:3]:
            raise ValueError(f"coupling must have shape {self.unit.shape[:3]} (got {A.shape})")
        k = A.shape[1]
        jj = np.arange(k)
        received = np.einsum("sji,sjimq->jmq", A, self.unit) + self.noise
        desired = np.einsum("sj,sjmq->jmq", A[:, jj, jj], self.unit[:, jj, jj])
        return EmulationOutput(received=received, symbols=self.symbols, desired=desired,
                               noise=self.noise)

    def interference(self, coupling: np.ndarray) -> np.ndarray:
        """Other users' streams at each user, complex [K, M, Q]:
        sum_{i != j} sum_s A[s,j,i] U[s,j,i]."""
        A = np.array(coupling, dtype=np.complex128)
        k = A.shape[1]
        A[:, np.arange(k), np.arange(k)] = 0.0
        return np.einsum("sji,sjimq->jmq", A, self.unit)


def drop_response(cfg: LinkConfig, seed: int, drop_index: int, num_symbols: int | None = None
                  ) -> DropResponse:
    """Draw drop ``drop_index`` (linksim.scenario.draw_drop), its sCSI, fading and compensation
    errors (streams 0-2) and run the waveform chain once with unit couplings (stream 3)."""
    from linksim.scenario import Stream, draw_drop, drop_rng
    from linksim.scsi import scsi_from_drop

    drop = draw_drop(cfg, seed, drop_index)
    scsi = scsi_from_drop(drop, cfg)
    links = draw_link_state(cfg, drop, scsi, seed, drop_index)
    s_count, k_count = links.delay_s.shape
    out = emulate_links(EmulatorSettings.from_config(cfg), links.channel(), links.estimates(),
                        np.ones((s_count, k_count, k_count), dtype=np.complex128),
                        scsi.noise_power_w, drop_rng(seed, drop_index, Stream.DATA_NOISE),
                        num_symbols or cfg.num_observed_symbols, components=True)
    return DropResponse(cfg=cfg, drop=drop, scsi=scsi, links=links, unit=out.components,
                        symbols=out.symbols, noise=out.noise)
