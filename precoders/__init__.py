"""Precoders for the cooperative multi-satellite downlink (arXiv 2505.08038, Sec. III-V).

Every method is ``design(scsi, power_w, **options) -> DesignResult`` with W complex128
[S, K, N_t] (W[s, k] = w_{s,k}) meeting sum_k ||w_{s,k}||^2 = P_s. The registry:

    'mrt'        matched filter on the sCSI mean (precoders.mrt)
    'ss-m'       SS-MMSE: RZF at the master satellite (precoders.mmse)
    'ss-wm'      SS-WM: WMMSE at the master on its expected channel (precoders.wmmse)
    'ms-sepwm'   MS-SepWM: per-satellite WMMSE, all transmit (precoders.wmmse)
    'ms-jowm'    MS-JoWM: joint conventional WMMSE, problem (28) (precoders.wmmse)
    'ms-jocdwm'  MS-JoCDWM: Algorithm 1 (precoders.cdwmmse)

Other methods (the DTN's 'ms-jocdwm-dl') join with :func:`register`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from linksim.scsi import Scsi
from precoders import cdwmmse, mmse, mrt, wmmse
from precoders.cdwmmse import closed_form_precoder
from precoders.common import DesignResult

DesignFunc = Callable[..., DesignResult]

PRECODERS: dict[str, DesignFunc] = {
    "mrt": mrt.design,
    "ss-m": mmse.design,
    "ss-wm": wmmse.design_sswm,
    "ms-sepwm": wmmse.design_sepwm,
    "ms-jowm": wmmse.design_jowm,
    "ms-jocdwm": cdwmmse.design,
}

#: options accepted by the iterative methods (passed through by :func:`design`)
ITERATIVE = frozenset({"ss-wm", "ms-sepwm", "ms-jowm", "ms-jocdwm"})


def register(name: str, func: DesignFunc, *, iterative: bool = False,
             replace: bool = False) -> None:
    """Add a method ``func(scsi, power_w, **kw) -> DesignResult`` under ``name``.

    ``iterative`` marks methods that accept max_iterations / rate_threshold / w_step.
    Raises ValueError if the name is taken (unless ``replace``).
    """
    global ITERATIVE
    if not isinstance(name, str) or not name:
        raise ValueError(f"precoder name must be a non-empty string (got {name!r})")
    if name in PRECODERS and not replace:
        raise ValueError(f"precoder {name!r} is already registered")
    PRECODERS[name] = func
    if iterative:
        ITERATIVE = ITERATIVE | {name}


def design(name: str, scsi: Scsi, power_w: float | np.ndarray, **kw: Any) -> DesignResult:
    """Run the registered method ``name``; keyword options go to its design function."""
    if name not in PRECODERS:
        raise ValueError(f"unknown precoder {name!r}; one of {', '.join(sorted(PRECODERS))}")
    return PRECODERS[name](scsi, power_w, **kw)


def design_with_config(name: str, scsi: Scsi, power_w: float | np.ndarray, cfg: LinkConfig,
                       **kw: Any) -> DesignResult:
    """:func:`design` with the iterative options of a :class:`linksim.config.LinkConfig`
    (max_iterations, rate_threshold, w_step); explicit keywords win."""
    if name in ITERATIVE:
        kw = {"max_iterations": cfg.max_iterations, "rate_threshold": cfg.rate_threshold,
              "w_step": cfg.w_step} | kw
    return design(name, scsi, power_w, **kw)


__all__ = ["PRECODERS", "ITERATIVE", "DesignResult", "closed_form_precoder", "design",
           "design_with_config", "register"]

# Algorithm 2 registers itself ('ms-jocdwm-dl'); importing it loads no torch.
import precoders.dtn  # noqa: E402,F401

if TYPE_CHECKING:
    from linksim.config import LinkConfig

