"""MS-JoCDWM-DL: the dense Transformer network (DTN) of Sec. IV (Algorithm 2).

Modules: :mod:`~precoders.dtn.features` (X_in, eqs. 56-57), :mod:`~precoders.dtn.network`
(DyT, DT_2, PMA, eqs. 51-61), :mod:`~precoders.dtn.loss` (eqs. 62-65),
:mod:`~precoders.dtn.dataset` (labels from MS-JoCDWM, HDF5), :mod:`~precoders.dtn.train`,
:mod:`~precoders.dtn.infer` (network -> closed form (45)) and :mod:`~precoders.dtn.bench`.

Public names are loaded lazily, so that importing the data-side modules does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DTN": "network", "DTNConfig": "network", "SIZES": "network", "DyT": "network",
    "count_parameters": "network",
    "si_nmse": "loss", "cosine_loss": "loss", "training_loss": "loss",
    "scsi_features": "features", "batch_features": "features", "NUM_FEATURES": "features",
    "design_dl": "infer", "load_model": "infer", "DEFAULT_MODEL_PATH": "infer",
    "generate_dataset": "dataset", "train_dtn": "train", "bench_dtn": "bench",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"precoders.dtn.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'precoders.dtn' has no attribute {name!r}")


#: Registry name of Algorithm 2.
METHOD_NAME = "ms-jocdwm-dl"


def _design_lazy(scsi, power_w, **kw: Any):
    """'ms-jocdwm-dl' for :func:`precoders.design`: imports torch and loads the model on first use
    (``model_path=`` selects a model file, default the shipped model_small.pt)."""
    from precoders.dtn.infer import design

    return design(scsi, power_w, **kw)


def register_method() -> None:
    """Register 'ms-jocdwm-dl' in the :mod:`precoders` registry (idempotent, imports no torch)."""
    import precoders

    if METHOD_NAME not in precoders.PRECODERS:
        precoders.register(METHOD_NAME, _design_lazy)


register_method()
