"""Scale-invariant training losses of the DTN, eqs. (62)-(65) (math.md Sec. 5.4).

The closed-form precoder (45) is invariant to U -> c_1 U (c_1 complex, nonzero) and
omega -> c_2 omega (c_2 > 0) (Remark 4, eq. 62), so the losses are minimised over that scale.
The eps in the denominators assumes O(1) inputs: datasets store labels normalised to unit
Frobenius norm per sample (:mod:`precoders.dtn.dataset`), the network outputs are O(1).
"""

from __future__ import annotations

import torch

#: Default eps of eqs. (63)-(64).
EPS = 1e-8
#: lambda of eq. (65) [T].
LAMBDA = 0.5


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def si_nmse(pred: torch.Tensor, target: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Scale-invariant NMSE, eq. (63), per sample.

    min_c ||c X-hat - X||_F^2 / ||X||_F^2 = 1 - |tr(X-hat^H X)|^2 / (||X-hat||_F^2 ||X||_F^2 + eps),
    with c complex (real inputs are treated as complex with zero imaginary part).

    pred, target : real or complex [B, ...] (same shape). Returns real [B] in [0, 1].
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape ({tuple(pred.shape)} vs "
                         f"{tuple(target.shape)})")
    p, t = _flat(pred), _flat(target)
    inner = torch.sum(p.conj() * t, dim=1) if p.is_complex() or t.is_complex() \
        else torch.sum(p * t, dim=1)
    num = inner.abs() ** 2
    den = torch.sum(p.abs() ** 2, dim=1) * torch.sum(t.abs() ** 2, dim=1) + eps
    return 1.0 - num / den


def cosine_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Cosine-similarity loss, eq. (64): 1 - |vec(X-hat)^H vec(X)| / (||X-hat|| ||X|| + eps).

    pred, target : real or complex [B, ...]. Returns real [B] in [0, 1].
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape ({tuple(pred.shape)} vs "
                         f"{tuple(target.shape)})")
    p, t = _flat(pred), _flat(target)
    inner = torch.sum(p.conj() * t, dim=1) if p.is_complex() or t.is_complex() \
        else torch.sum(p * t, dim=1)
    den = torch.linalg.vector_norm(p, dim=1) * torch.linalg.vector_norm(t, dim=1) + eps
    return 1.0 - inner.abs() / den


LOSSES = {"si-nmse": si_nmse, "cosine": cosine_loss}


def training_loss(U_hat: torch.Tensor, U: torch.Tensor, omega_hat: torch.Tensor,
                  omega: torch.Tensor, lam: float = LAMBDA, kind: str = "si-nmse",
                  eps: float = EPS) -> torch.Tensor:
    """Mini-batch loss of eq. (65): mean_n [lam L(U-hat, U) + (1 - lam) L(omega-hat, omega)].

    U_hat, U : complex [B, K, S+1]; omega_hat, omega : real [B, K]; kind : 'si-nmse' (eq. 63)
    or 'cosine' (eq. 64). Returns a real scalar.
    """
    if kind not in LOSSES:
        raise ValueError(f"kind must be one of {', '.join(LOSSES)} (got {kind!r})")
    f = LOSSES[kind]
    return torch.mean(lam * f(U_hat, U, eps) + (1.0 - lam) * f(omega_hat, omega, eps))
