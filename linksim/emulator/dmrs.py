"""DMRS pilots of the burst: an NR-like slot with front-loaded demodulation reference signals.

Slot layout (TS 38.211 Sec. 7.4.1.1, PDSCH mapping type A, single-symbol DMRS):

* a slot is 14 OFDM symbols; frame symbol m (m = 0 is the first observed symbol, negative m
  the earlier symbols of the burst) is slot symbol l = m mod 14 of slot floor(m / 14);
* the symbols l in ``dmrs_symbols`` (config, default (2, 11): the front-loaded symbol 2 and
  one additional symbol) carry DMRS and no data; every other symbol carries data only;
* DMRS type 1 (comb 2): user k is given antenna port p = k mod 4 (ports 1000-1003):
  CDM group Delta = p // 2 (the comb: used subcarriers 2n + Delta, n = 0, 1, ...) and
  frequency-domain OCC w_f = (+1, +1) (p even) or (+1, -1) (p odd) over the two comb REs
  2n, 2n + 1 of each pair;
* the pilot on subcarrier 2n + Delta of slot symbol l is sqrt(2) w_f(n mod 2) r_k(n), with
  r_k(n) = ((1 - 2 c(2n)) + j (1 - 2 c(2n + 1))) / sqrt(2) the QPSK of the length-31 Gold
  sequence c with c_init = (2^17 (14 n_s + l + 1)(2 N_ID + 1) + 2 N_ID) mod 2^31,
  n_s = slot index mod 20 (30 kHz: 20 slots per frame) and the scrambling identity
  N_ID = floor(k / 4): the four users of one port group share it (as co-scheduled NR users
  on orthogonal ports share their DMRS scrambling, which the OCC needs), the next four get
  the next identity;
* the other comb of a DMRS symbol is empty ("CDM groups without data" = 2, as NR with more
  than two ports) and the pilot is boosted by 3 dB (NR's DMRS-to-data EPRE ratio for two CDM
  groups), so every DMRS symbol has the data symbols' unit power per subcarrier on average.

Orthogonality: four users (the four ports) are orthogonal on frame-aligned, locally flat
channels (the comb separates the CDM groups, the OCC the two ports of a group after
despreading a pair); users k and k + 4, k + 8, ... reuse a port with different Gold sequences
and interfere on the pilots. All users' pilots sit on the same resources of the frame; what a
user's pilot REs actually receive is whatever arrives there through the channel and the
precoders (other users' streams arrive with their residual delays, eq. 8, i.e. mostly their
data symbols), so pilot interference is real, not modelled.

The pilots replace the data on the DMRS symbols only when ``receiver != 'genie'``; the data
are drawn first (the random stream is unchanged) and overwritten (:func:`insert_pilots`).
"""

from __future__ import annotations

import functools

import numpy as np

#: OFDM symbols per slot (NR, normal CP)
SLOT_SYMBOLS = 14
#: slots per 10 ms frame at 30 kHz (the Gold sequence's slot index n_s)
SLOTS_PER_FRAME = 20
#: orthogonal DMRS ports of type 1 with single-symbol DMRS (2 CDM groups x 2 FD-OCC)
NUM_PORTS = 4
#: DMRS power boost (amplitude) on its comb: 3 dB
PILOT_AMPLITUDE = float(np.sqrt(2.0))
_NC = 1600


def gold_sequence(c_init: np.ndarray, length: int) -> np.ndarray:
    """The length-31 Gold sequence c(n), n = 0..length-1 (TS 38.211 Sec. 5.2.1), for every
    c_init (int64 [U]). Returns uint8 [U, length]."""
    c_init = np.atleast_1d(np.asarray(c_init, dtype=np.int64))
    total = _NC + length
    x1 = np.zeros(total + 31, dtype=np.uint8)
    x1[0] = 1
    x2 = np.zeros((c_init.size, total + 31), dtype=np.uint8)
    x2[:, :31] = (c_init[:, None] >> np.arange(31)[None, :]) & 1
    for n in range(total):
        x1[n + 31] = x1[n + 3] ^ x1[n]
        x2[:, n + 31] = x2[:, n + 3] ^ x2[:, n + 2] ^ x2[:, n + 1] ^ x2[:, n]
    return (x1[None, _NC:_NC + length] ^ x2[:, _NC:_NC + length]).astype(np.uint8)


def port_of_user(user: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(CDM group Delta in {0, 1}, OCC sign of the second RE of a pair in {+1, -1}) of every
    user index (int [K]): port p = k mod 4."""
    port = np.asarray(user, dtype=np.int64) % NUM_PORTS
    return port // 2, np.where(port % 2 == 0, 1, -1)


def dmrs_mask(frame_symbols: np.ndarray, dmrs_symbols: tuple[int, ...]) -> np.ndarray:
    """bool [B]: which frame symbol indices (int [B], any sign) are DMRS symbols."""
    slot_sym = np.mod(np.asarray(frame_symbols, dtype=np.int64), SLOT_SYMBOLS)
    return np.isin(slot_sym, np.asarray(dmrs_symbols, dtype=np.int64))


def pilot_symbols(num_users: int, frame_symbols: np.ndarray, num_used: int) -> np.ndarray:
    """The DMRS symbol content of every user at the given frame symbols (all assumed to be
    DMRS symbols): complex128 [K, D, Q] (pilot on the user's comb, 0 on the other comb)."""
    key = tuple(int(m) for m in np.asarray(frame_symbols, dtype=np.int64))
    return _pilot_symbols(int(num_users), key, int(num_used)).copy()


@functools.lru_cache(maxsize=64)
def _pilot_symbols(num_users: int, frame_symbols: tuple[int, ...], num_used: int
                   ) -> np.ndarray:
    frame_symbols = np.asarray(frame_symbols, dtype=np.int64)
    k = np.arange(num_users, dtype=np.int64)
    slot = np.mod(np.floor_divide(frame_symbols, SLOT_SYMBOLS), SLOTS_PER_FRAME)
    sym = np.mod(frame_symbols, SLOT_SYMBOLS)
    n_id = (k // NUM_PORTS)[:, None]
    c_init = np.mod((2 ** 17) * (SLOT_SYMBOLS * slot[None, :] + sym[None, :] + 1)
                    * (2 * n_id + 1) + 2 * n_id, 2 ** 31)               # [K, D]
    n_comb = (num_used + 1) // 2
    c = gold_sequence(c_init.ravel(), 2 * n_comb).reshape(num_users, frame_symbols.size, -1)
    r = ((1.0 - 2.0 * c[..., 0::2]) + 1j * (1.0 - 2.0 * c[..., 1::2])) / np.sqrt(2.0)
    group, occ = port_of_user(k)
    out = np.zeros((num_users, frame_symbols.size, num_used), dtype=np.complex128)
    n = np.arange(n_comb)
    w = np.where(n[None, :] % 2 == 1, occ[:, None], 1).astype(float)          # [K, n_comb]
    for u in range(num_users):
        sub = 2 * n + group[u]
        keep = sub < num_used
        out[u][:, sub[keep]] = PILOT_AMPLITUDE * w[u, keep][None, :] * r[u][:, keep]
    return out


def pilot_re_mask(num_users: int, num_used: int) -> np.ndarray:
    """bool [K, Q]: the subcarriers of a DMRS symbol that carry user k's pilot (its comb)."""
    group, _ = port_of_user(np.arange(num_users))
    return (np.arange(num_used)[None, :] % 2) == group[:, None]


def insert_pilots(data: np.ndarray, first_symbol: int,
                  dmrs_symbols: tuple[int, ...]) -> np.ndarray:
    """The burst with its DMRS symbols replaced by the pilots (a copy).

    data : complex128 [K, B, Q], data[:, b] is frame symbol b + first_symbol.
    """
    k_count, b_count, q_count = data.shape
    frame = first_symbol + np.arange(b_count, dtype=np.int64)
    mask = dmrs_mask(frame, dmrs_symbols)
    out = np.array(data, dtype=np.complex128, copy=True)
    if mask.any():
        out[:, mask] = pilot_symbols(k_count, frame[mask], q_count)
    return out
