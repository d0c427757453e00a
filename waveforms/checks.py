"""Argument checks shared by the waveform kernels (this package imports nothing of ours)."""

from __future__ import annotations

import numpy as np


def is_integer(value: object) -> bool:
    """True for a Python or numpy integer scalar; False for bool (and everything else)."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_integer(value: object, message: str) -> int:
    """``int(value)`` if it is an integer (:func:`is_integer`), else ValueError(message)."""
    if not is_integer(value):
        raise ValueError(message)
    return int(value)  # type: ignore[call-overload]
