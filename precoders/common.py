"""Shared pieces of the precoders: result type, input checks, power handling, reduced model.

Conventions (docs/model.md, "Precoders"): ``W`` is complex128 [S, K, N_t] with ``W[s, k]`` =
w_{s,k}, satellite s's precoder for user k; a user receives h^H w with h_{s,k} = g_{s,k} v_{s,k}
(eq. 1). Powers are per satellite and per subcarrier, in W: sum_k ||w_{s,k}||^2 <= P_s (eq. 27).

Every precoder of this package lies, per satellite, in the span of that satellite's steering
vectors {v_{s,k}}_k (the matched filter, RZF and all WMMSE W-steps (43) do). :class:`ReducedModel`
therefore keeps one thin QR factor per satellite, V_s = Q_s Vt_s with Q_s orthonormal
[N_t, r] and Vt_s [r, K], r = min(N_t, K), and the algorithms work on the coefficients
Wt_s = Q_s^H W_s ([r, K]); ``expand`` maps back. No S N_t x S N_t matrix is ever formed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, TypeVar

import numpy as np
import scipy

from linksim.scsi import Scsi


@dataclass(frozen=True)
class DesignResult:
    """Output of every ``design`` function.

    Attributes
    ----------
    W : complex128 [S, K, N_t]     the precoders, W[s, k] = w_{s,k} (amplitude sqrt(W))
    history : dict[str, float64 [T + 1]]   per-iteration records, index 0 = the initial point:
        ``sum_rate`` (true expected sum rate sum_k R-bar_k, eq. 19), ``weighted_sum_rate``
        (sum_k alpha_k R-bar_k, eq. 27), ``surrogate`` (the method's own surrogate sum rate:
        sum_k -log2 eps_k, eq. 33, for MS-JoCDWM; sum_k -log2 e_k, eq. 29, for the WMMSE
        family; evaluated at W^(t) with the receivers and weights that produced W^(t), at the
        optimal receivers for t = 0). Non-iterative methods record one entry.
    iterations : int               number of completed iterations T (0 for closed forms)
    converged : bool               the rate-threshold rule stopped the loop before I_max
    name : str                     registry name of the method
    U : complex128 [K, S+1] | None MS-JoCDWM virtual receivers (eq. 35, 38) that produced W:
                                   column 0 = u_{k,0} (paired with m_k), columns 1..S = u_{k,s}
    omega : float64 [K] | None     the MSE weights omega_k = 1/eps_k (eq. 38) that produced W
    lam : float64 [S] | None       the per-satellite multipliers lambda_s of the last W-step
    """

    W: np.ndarray
    history: dict[str, np.ndarray]
    iterations: int
    converged: bool
    name: str = ""
    U: np.ndarray | None = None
    omega: np.ndarray | None = None
    lam: np.ndarray | None = None


# ----------------------------------------------------------------------------- BLAS threads
_F = TypeVar("_F", bound=Callable[..., Any])
_BLAS_HANDLES: list[tuple[Callable[[], int], Callable[[int], None]]] | None = None


def _blas_handles() -> list[tuple[Callable[[], int], Callable[[int], None]]]:
    """(get, set) thread-count functions of the OpenBLAS libraries bundled with numpy/scipy."""
    global _BLAS_HANDLES
    if _BLAS_HANDLES is not None:
        return _BLAS_HANDLES
    handles = []
    dirs = [os.path.join(os.path.dirname(os.path.dirname(m.__file__)), f"{m.__name__}.libs")
            for m in (np, scipy)]
    for path in sorted({p for d in dirs for p in glob.glob(os.path.join(d, "*openblas*.so*"))}):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", "_64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                handles.append((get, set_))
                break
    _BLAS_HANDLES = handles
    return handles


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with one OpenBLAS thread, then restore the previous counts.

    The algorithms work on K x K and r x r matrices (K <= a few hundred), where BLAS threads
    only cost: on a loaded 2-core machine threaded OpenBLAS made a K = 48 design 20x slower.
    A no-op where the bundled OpenBLAS is not found.
    """
    handles = _blas_handles()
    previous = [get() for get, _ in handles]
    try:
        for _, set_ in handles:
            set_(1)
        yield
    finally:
        for (_, set_), n in zip(handles, previous):
            set_(max(int(n), 1))


def single_threaded(func: _F) -> _F:
    """Decorator: run ``func`` inside :func:`single_thread_blas`."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_thread_blas():
            return func(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


# ----------------------------------------------------------------------------- validation
def check_scsi(scsi: Scsi) -> None:
    """Raise ValueError (one line) unless ``scsi`` is a usable sCSI with K >= 1 users."""
    if not isinstance(scsi, Scsi):
        raise ValueError(f"scsi must be a linksim.scsi.Scsi (got {type(scsi).__name__})")
    S, K = np.shape(scsi.gamma)
    if S < 1:
        raise ValueError(f"scsi must have at least one satellite, S in [1, inf) (got S={S})")
    if K < 1:
        raise ValueError(f"scsi must have at least one user, K in [1, inf) (got K={K})")
    if scsi.num_antennas < 1:
        raise ValueError(f"scsi.steering must have N_t in [1, inf) antennas "
                         f"(got {scsi.num_antennas})")
    for name in ("gamma", "rho", "steering", "noise_power_w"):
        if not np.all(np.isfinite(getattr(scsi, name))):
            raise ValueError(f"scsi.{name} must be finite (got a NaN or inf entry)")
    if np.any(np.asarray(scsi.gamma) < 0):
        raise ValueError("scsi.gamma must be in [0, inf)")
    if np.any(np.asarray(scsi.noise_power_w) <= 0):
        raise ValueError("scsi.noise_power_w must be in (0, inf)")
    kappa = np.asarray(scsi.kappa, dtype=float)
    if np.any(np.isnan(kappa)) or np.any(kappa < 0):
        raise ValueError("scsi.kappa must be in [0, inf] (np.inf allowed)")
    if np.any(np.abs(scsi.rho) > 1 + 1e-12):
        raise ValueError("scsi.rho must satisfy |rho| in [0, 1]")


def per_satellite_power(power_w: float | np.ndarray, num_sats: int) -> np.ndarray:
    """Per-satellite power budget P_s in W, float64 [S], from a scalar or an [S] array.

    Raises ValueError for a wrong shape, a non-finite or a negative value.
    """
    p = np.asarray(power_w, dtype=float)
    if p.ndim == 0:
        p = np.full(num_sats, float(p))
    if p.shape != (num_sats,):
        raise ValueError(f"power_w must be a scalar or have shape (S,) = ({num_sats},) "
                         f"(got shape {p.shape})")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"power_w must be finite and in [0, inf) W (got {p.tolist()})")
    return p


def user_weights(weights: np.ndarray | None, num_users: int) -> np.ndarray:
    """The rate weights alpha_k of eq. (27), float64 [K]; default all ones (Sec. V)."""
    if weights is None:
        return np.ones(num_users)
    a = np.asarray(weights, dtype=float)
    if a.shape != (num_users,):
        raise ValueError(f"weights must have shape (K,) = ({num_users},) (got {a.shape})")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("weights must be finite and in [0, inf)")
    return a


def check_iteration_args(max_iterations: int, rate_threshold: float) -> None:
    """Validate I_max and the rate threshold epsilon of Algorithm 1."""
    if int(max_iterations) != max_iterations or max_iterations < 1:
        raise ValueError(f"max_iterations must be an integer in [1, inf) (got {max_iterations!r})")
    if not np.isfinite(rate_threshold) or rate_threshold < 0:
        raise ValueError(f"rate_threshold must be in [0, inf) bit/s/Hz (got {rate_threshold!r})")


# ----------------------------------------------------------------------------- power
def satellite_powers(W: np.ndarray) -> np.ndarray:
    """sum_k ||w_{s,k}||^2 per satellite, float64 [S], for W [S, K, n] (any n)."""
    return np.sum(np.abs(W) ** 2, axis=(1, 2))


def scale_to_power(W: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Scale each satellite's precoders so that sum_k ||w_{s,k}||^2 = P_s (eq. 37).

    W : complex [S, K, n] (full precoders or reduced coefficients); power : float64 [S].
    A satellite whose precoders are all zero stays zero (nothing to scale).
    """
    p = satellite_powers(W)
    beta = np.zeros_like(p)
    ok = p > 0
    beta[ok] = np.sqrt(power[ok] / p[ok])
    return W * beta[:, None, None]


# ----------------------------------------------------------------------------- reduced model
@dataclass(frozen=True)
class ReducedModel:
    """The sCSI statistics the algorithms use, with steering vectors in a per-satellite basis.

    Attributes
    ----------
    Q : complex128 [S, N_t, r]  orthonormal basis of span{v_{s,k}}_k (thin QR), r = min(N_t, K)
    Vt : complex128 [S, r, K]   coordinates of v_{s,k}: v_{s,k} = Q_s Vt[s, :, k]
    gamma : float64 [S, K]      gamma_{s,k} (interference statistics, eq. 24)
    mu : complex128 [S, K]      mu_{s,k} (eq. 25)
    d : float64 [S, K]          d_{s,k} (eq. 31)
    noise : float64 [K]         sigma_k^2 in W
    """

    Q: np.ndarray
    Vt: np.ndarray
    gamma: np.ndarray
    mu: np.ndarray
    d: np.ndarray
    noise: np.ndarray
    gram: np.ndarray = field(repr=False, default=None)

    @classmethod
    def from_scsi(cls, scsi: Scsi) -> "ReducedModel":
        """Thin QR per satellite of V_s = [v_{s,1}, ..., v_{s,K}] (cost O(S N_t K^2))."""
        V = np.swapaxes(np.asarray(scsi.steering, dtype=np.complex128), 1, 2)  # [S, N_t, K]
        Q, Vt = np.linalg.qr(V, mode="reduced")
        d = np.maximum(np.asarray(scsi.d, dtype=float), 0.0)
        return cls(Q=Q, Vt=Vt, gamma=np.asarray(scsi.gamma, dtype=float),
                   mu=np.asarray(scsi.mu, dtype=np.complex128), d=d,
                   noise=np.asarray(scsi.noise_power_w, dtype=float),
                   gram=np.conj(np.swapaxes(Vt, 1, 2)) @ Vt)

    @property
    def num_sats(self) -> int:
        return int(self.gamma.shape[0])

    @property
    def num_users(self) -> int:
        return int(self.gamma.shape[1])

    def take_sats(self, sats) -> "ReducedModel":
        """The model restricted to a subset of satellites (users unchanged)."""
        s = np.atleast_1d(np.asarray(sats))
        return replace(self, Q=self.Q[s], Vt=self.Vt[s], gamma=self.gamma[s], mu=self.mu[s],
                       d=self.d[s], gram=self.gram[s])

    def expected_channel(self) -> "ReducedModel":
        """The deterministic model of the expected compensated channel mu_{s,k} v_{s,k}.

        What the baselines SS-M, SS-WM and MS-SepWM design for: gamma -> |mu|^2, d -> 0.
        """
        return replace(self, gamma=np.abs(self.mu) ** 2, d=np.zeros_like(self.d))

    def expand(self, Wt: np.ndarray) -> np.ndarray:
        """Coefficients Wt complex [S, r, K] -> precoders W complex128 [S, K, N_t]."""
        return np.swapaxes(self.Q @ Wt, 1, 2)

    def coupling(self, Wt: np.ndarray) -> np.ndarray:
        """A[s, k, i] = v_{s,k}^H w_{s,i} (eq. 36), complex128 [S, K, K], from coefficients."""
        return np.conj(np.swapaxes(self.Vt, 1, 2)) @ Wt


@dataclass(frozen=True)
class LinkStats:
    """Per-user second-order quantities of a precoder under a :class:`ReducedModel`.

    own : complex [S, K]    a_{s,k} = v_{s,k}^H w_{s,k} (A[s, k, k])
    mean_amp : complex [K]  m_k^H w_k = sum_s conj(mu_{s,k}) a_{s,k} (eq. 29)
    signal : float [K]      w_k^H R_k w_k = |m_k^H w_k|^2 + sum_s d_{s,k} |a_{s,k}|^2 (eq. 26, 31)
    c : float [K]           sum_{i != k} w_i^H Q_k w_i + sigma_k^2 (eq. 38)
    """

    own: np.ndarray
    mean_amp: np.ndarray
    signal: np.ndarray
    c: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        """R-bar_k of eq. (19), float64 [K], bit/s/Hz."""
        return np.log2(1.0 + self.signal / self.c)

    @property
    def wm_rates(self) -> np.ndarray:
        """-log2 e_k at the optimal scalar receiver (eq. 91-92), float64 [K]."""
        mean = np.abs(self.mean_amp) ** 2
        return np.log2(1.0 + mean / (np.maximum(self.signal - mean, 0.0) + self.c))


def link_stats(model: ReducedModel, Wt: np.ndarray) -> LinkStats:
    """Signal, interference-plus-noise and coherent mean of every user, eqs. (19)-(36).

    Wt : complex [S, r, K] coefficients. Cost O(S K^2 r).
    """
    A = model.coupling(Wt)
    P = np.abs(A) ** 2
    own = np.diagonal(A, axis1=1, axis2=2).copy()
    idx = np.arange(model.num_users)
    P[:, idx, idx] = 0.0
    interference = np.sum(model.gamma * np.sum(P, axis=2), axis=0)
    mean_amp = np.sum(np.conj(model.mu) * own, axis=0)
    signal = np.abs(mean_amp) ** 2 + np.sum(model.d * np.abs(own) ** 2, axis=0)
    return LinkStats(own=own, mean_amp=mean_amp, signal=signal, c=interference + model.noise)


def mrt_coefficients(model: ReducedModel, power: np.ndarray) -> np.ndarray:
    """Matched filter on the sCSI mean, equal power per user: coefficients [S, r, K].

    w_{s,k} = sqrt(P_s / K) e^{j arg mu_{s,k}} v_{s,k} / ||v_{s,k}|| (phase 0 where mu = 0), so
    that w_k is proportional, block by block, to m_k = [mu_{s,k} v_{s,k}]_s (eq. 29) and
    sum_k ||w_{s,k}||^2 = P_s.
    """
    K = model.num_users
    norms = np.linalg.norm(model.Vt, axis=1)  # [S, K]
    phase = np.where(np.abs(model.mu) > 0, np.exp(1j * np.angle(model.mu)), 1.0)
    scale = np.sqrt(power[:, None] / K) * phase / np.where(norms > 0, norms, 1.0)
    return model.Vt * scale[:, None, :]


def initial_coefficients(model: ReducedModel, power: np.ndarray,
                         init: np.ndarray | None) -> np.ndarray:
    """Initial coefficients [S, r, K] of Algorithm 1 (step 2): MRT on m_k (default), or a
    given W complex [S, K, N_t] projected on span{v_{s,k}} and scaled to P_s."""
    if init is None:
        return mrt_coefficients(model, power)
    W0 = np.asarray(init, dtype=np.complex128)
    want = (model.num_sats, model.num_users, model.Q.shape[1])
    if W0.shape != want or not np.all(np.isfinite(W0)):
        raise ValueError(f"init must be a finite complex array of shape (S, K, N_t) = {want}")
    Wt = np.conj(np.swapaxes(model.Q, 1, 2)) @ np.swapaxes(W0, 1, 2)
    return scale_to_power(Wt, power)
