"""Channel estimation from the DMRS pilots (linksim.emulator.dmrs): least squares with linear
interpolation, or LMMSE in frequency with an assumed power delay profile; the noise-plus-
interference variance from the pilot residuals.

Per user k and DMRS symbol d, on the user's comb (subcarriers 2n + Delta_k):

1. raw LS  r[n] = Y[2n + Delta] / P[n]                     (P the known pilot, |P|^2 = 2)
2. OCC despreading: the mean of r over each pair (n = 2p, 2p + 1), h_p at the pair's centre
   subcarrier 4p + Delta + 1. On a channel flat over the pair this removes the other port of
   the CDM group exactly; its variance is sigma^2 / (2 |P|^2) = sigma^2 / 4.
3. noise-plus-interference variance per RE: sigma^2 = |P|^2 sum |r - h_p|^2 / (N_RE - N_pairs)
   over all pairs and DMRS symbols (the pair residual, degrees-of-freedom corrected; unbiased
   for white noise on a channel flat over 3 subcarriers). It holds whatever is not the user's
   pilot on its REs: noise, the other users' streams, own ICI/ISI.
4. frequency interpolation to every subcarrier:
   * 'dmrs-ls': linear between pair centres, the edge values held. At offset t (in units of
     the 4-subcarrier spacing) from a centre the error variance is ((1 - t)^2 + t^2) times
     the pair's: 1, 5/8, 1/2, 5/8 for t = 0, 1/4, 1/2, 3/4;
   * 'dmrs-lmmse': H^ = R_hp (R_pp + (sigma_p^2 / P_h) I)^-1 h over all pairs of the symbol
     (sigma_p^2 averaged over the pairs, so one eigendecomposition of R_pp serves every user),
     R from the assumed PDP (exponential, E[H(f + D) H(f)^*] = 1 / (1 + j 2 pi D tau_rms), or
     flat on [0, sqrt(12) tau_rms]: e^{-j pi D tau_max} sinc(D tau_max)), tau_rms the config's
     dmrs_delay_spread_s (assumed, not estimated); the channel power P_h = mean |h_p|^2 -
     sigma_p^2 and sigma_p^2 = sigma^2 / 4 are estimated from the pilots;
5. time interpolation: linear between the observed DMRS symbols, held before the first and
   after the last (error variance factor (1 - u)^2 + u^2 between two symbols).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from linksim.emulator import dmrs

#: relative floor of the LMMSE regulariser (keeps the solve well posed without noise)
LMMSE_FLOOR = 1e-9


@dataclass(frozen=True)
class ChannelEstimate:
    """What the pilots say, per user k.

    channel : complex128 [K, M, Q]   H^_k[m, q] on every observed RE
    noise_var : float64 [K]          sigma^2_k, noise-plus-interference variance per RE
    pilot_gain : complex128 [K, D, Q]  the frequency-interpolated estimate on each DMRS symbol
    dmrs : bool [M]                  which observed symbols are DMRS symbols
    """

    channel: np.ndarray
    noise_var: np.ndarray
    pilot_gain: np.ndarray
    dmrs: np.ndarray


def pdp_correlation(delta_hz: np.ndarray, pdp: str, delay_spread_s: float) -> np.ndarray:
    """E[H(f + delta) H(f)^*] / E|H|^2 of the assumed power delay profile (complex128)."""
    delta_hz = np.asarray(delta_hz, dtype=float)
    if pdp == "exponential":
        return 1.0 / (1.0 + 2j * np.pi * delta_hz * delay_spread_s)
    if pdp == "flat":
        tau_max = np.sqrt(12.0) * delay_spread_s
        return np.exp(-1j * np.pi * delta_hz * tau_max) * np.sinc(delta_hz * tau_max)
    raise ValueError(f"dmrs_pdp must be one of exponential, flat (got {pdp!r})")


def time_weights(num_symbols: int, dmrs_index: np.ndarray) -> np.ndarray:
    """float64 [M, D]: linear interpolation weights in time between the DMRS symbols (held
    outside them)."""
    dmrs_index = np.asarray(dmrs_index, dtype=float)
    eye = np.eye(dmrs_index.size)
    m = np.arange(num_symbols, dtype=float)
    return np.stack([np.interp(m, dmrs_index, eye[d]) for d in range(dmrs_index.size)], axis=1)


def _pairs(num_used: int, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Comb subcarriers of a CDM group, the REs per pair (2, the last one 1 if the comb is
    odd), and the pair centres (float)."""
    sub = np.arange(group, num_used, 2, dtype=np.int64)
    pair = np.arange(sub.size) // 2
    counts = np.bincount(pair)
    centre = np.bincount(pair, weights=sub.astype(float)) / counts
    return sub, counts, centre


@functools.lru_cache(maxsize=32)
def _linear_interp(num_used: int, group: int) -> np.ndarray:
    """float64 [pairs, Q]: linear interpolation from the pair centres to every subcarrier
    (edge values held), as a matrix: H^ = h @ matrix."""
    _, _, centre = _pairs(num_used, group)
    q_axis = np.arange(num_used, dtype=float)
    eye = np.eye(centre.size)
    return np.stack([np.interp(q_axis, centre, eye[p]) for p in range(centre.size)])


@functools.lru_cache(maxsize=32)
def _lmmse_basis(num_used: int, group: int, subcarrier_spacing_hz: float, pdp: str,
                 delay_spread_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R_pp = U diag(lam) U^H (Hermitian) of a CDM group's pair centres and the factors of
    R_hp (R_pp + reg I)^-1 = (R_hp U) diag(1 / (lam + reg)) U^H: returns (lam [P],
    left = (R_hp U)^T [P, Q], right = conj(U) [P, P]) so that H^ = ((h @ right) / (lam +
    reg)) @ left for h [D, P]."""
    _, _, centre = _pairs(num_used, group)
    q_axis = np.arange(num_used, dtype=float)
    df = subcarrier_spacing_hz
    r_pp = pdp_correlation((centre[:, None] - centre[None, :]) * df, pdp, delay_spread_s)
    r_hp = pdp_correlation((q_axis[:, None] - centre[None, :]) * df, pdp, delay_spread_s)
    lam, u = np.linalg.eigh(0.5 * (r_pp + r_pp.conj().T))
    lam = np.maximum(lam, 0.0)
    return lam, (r_hp @ u).T.copy(), u.conj()


def estimate_channel(received: np.ndarray, method: str, dmrs_symbols: tuple[int, ...],
                     subcarrier_spacing_hz: float, pdp: str = "exponential",
                     delay_spread_s: float = 100e-9) -> ChannelEstimate:
    """Estimate every user's channel from its pilots in the observed symbols.

    received : complex128 [K, M, Q], observed symbol m is frame symbol m (the burst's frame);
    method : 'dmrs-ls' or 'dmrs-lmmse'. Only the received samples and the known pilot
    pattern are used.
    """
    if method not in ("dmrs-ls", "dmrs-lmmse"):
        raise ValueError(f"method must be dmrs-ls or dmrs-lmmse (got {method!r})")
    k_count, m_count, q_count = received.shape
    frame = np.arange(m_count, dtype=np.int64)
    is_dmrs = dmrs.dmrs_mask(frame, dmrs_symbols)
    if not is_dmrs.any():
        raise ValueError(f"no DMRS symbol {list(dmrs_symbols)} among the {m_count} observed "
                         "symbols")
    pilots = dmrs.pilot_symbols(k_count, frame[is_dmrs], q_count)     # [K, D, Q]
    groups, _ = dmrs.port_of_user(np.arange(k_count))
    d_count = int(is_dmrs.sum())
    gain = np.empty((k_count, d_count, q_count), dtype=np.complex128)
    noise_var = np.empty(k_count)
    y_dmrs = received[:, is_dmrs]
    for group in (0, 1):
        users = np.flatnonzero(groups == group)
        if users.size == 0:
            continue
        sub, counts, _ = _pairs(q_count, group)
        p = pilots[users][:, :, sub]
        raw = y_dmrs[users][:, :, sub] / p                              # [Ku, D, n]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        h_pair = np.add.reduceat(raw, starts, axis=2) / counts         # [Ku, D, pairs]
        resid = raw - np.repeat(h_pair, counts, axis=2)
        dof = d_count * (sub.size - counts.size)
        pilot_power = float(np.mean(np.abs(p) ** 2))
        nv = (pilot_power * np.sum(np.abs(resid) ** 2, axis=(1, 2)) / dof if dof > 0
              else np.zeros(users.size))
        noise_var[users] = nv
        if method == "dmrs-ls":
            gain[users] = h_pair @ _linear_interp(q_count, group)
            continue
        var_pair = np.mean(1.0 / counts) * nv / pilot_power             # [Ku]
        power = np.mean(np.abs(h_pair) ** 2, axis=(1, 2)) - var_pair
        with np.errstate(divide="ignore", invalid="ignore"):
            reg = np.where(power > 0, var_pair / power, 1.0)
        reg = np.maximum(reg, LMMSE_FLOOR)
        lam, left, right = _lmmse_basis(q_count, group, subcarrier_spacing_hz, pdp,
                                        float(delay_spread_s))
        gain[users] = ((h_pair @ right) / (lam[None, None, :] + reg[:, None, None])) @ left
    t = time_weights(m_count, np.flatnonzero(is_dmrs))                 # [M, D]
    channel = np.einsum("md,kdq->kmq", t, gain)
    return ChannelEstimate(channel=channel, noise_var=noise_var, pilot_gain=gain, dmrs=is_dmrs)
