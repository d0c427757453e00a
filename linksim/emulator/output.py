"""What one emulated burst returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EmulationOutput:
    """Received subcarrier samples of every user and what was sent.

    received : complex128 [K, M, Q]   Y_j[m, q] after CP removal and DFT (all components)
    symbols : complex128 [K, M, Q]    X_j[m, q] sent to user j in the observed symbols
    desired : complex128 [K, M, Q]    user j's own stream at user j, via all satellites
    noise : complex128 [K, M, Q]      the noise component
    components : complex128 [S, K, K, M, Q] or None   per (satellite s, receiver j, stream i)
    burst_symbols : complex128 [K, B, Q]   every symbol of the generated burst; burst index b
                    is frame symbol index b + first_symbol_index (<= 0)
    """

    received: np.ndarray
    symbols: np.ndarray
    desired: np.ndarray
    noise: np.ndarray
    components: np.ndarray | None = None
    burst_symbols: np.ndarray | None = None
    first_symbol_index: int = 0
    info: dict = field(default_factory=dict)
