"""Counter-based standard normals: Philox4x32-10 bits through a 256-layer ziggurat.

Each output row is its own addressable stream, so rows can be filled in any order on any
number of threads with the same values.

Bits. Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11;
the Random123 library's known-answer vectors are the independent reference in the tests):
a keyed bijection of a 128-bit counter (uint32 words c0..c3) under a 64-bit key (k0, k1).
A stream is named by 128 bits, two uint64 ``(s0, s1)`` (e.g. ``SeedSequence.generate_state(2,
np.uint64)``, :func:`stream_key`): key ``(k0, k1) = (lo(s0), hi(s0))``, and row r of the
stream uses the counters ``(j, r, lo(s1), hi(s1))``, j = 0, 1, 2, ... (j, r < 2^32). Block j
gives the uint64 words ``out0 | out1 << 32`` and ``out2 | out3 << 32``, in that order: the
row's word sequence. (Philox4x32 rather than 4x64: its 32 x 32 -> 64-bit multiplies
vectorise with AVX2, 1.8 ns per 64-bit word on the development VM, against 3-4 ns for 4x64
with its 64 x 64 -> 128-bit multiplies.)

Normals. The ziggurat of Marsaglia and Tsang ("The ziggurat method for generating random
variables", J. Stat. Softw. 5, 2000) with 256 layers and 52-bit uniforms in the arrangement
numpy's ``standard_normal`` uses (one uint64 per attempt: 8 bits layer, 1 bit sign, 52 bits
abscissa; the tail beyond r by Marsaglia's method, wedges by one uniform each). The tables
are computed here from their defining equations: f(x) = exp(-x^2 / 2), base r and layer
area v (float64), x_255 = r, x_{i-1} = f^{-1}(v / x_i + f(x_i)) for i = 255..2, x_0 = 0; the
base strip (layer 0) has the width v / f(r) (rectangle plus tail). A row's normals consume
its word sequence in order: the values depend only on (stream, row, position).

:func:`complex_normal` writes complex128 [U, R, n] with real and imaginary parts
``scale * z_{2q}`` and ``scale * z_{2q+1}`` of row (u, r)'s normals z (``scale =
sqrt(1/2)``: unit-power complex Gaussian, like the 'gaussian' modulation), in one pass.
:func:`complex_normal_reference` is the same discrete algorithm in plain numpy and Python.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["ZIGGURAT_R", "ZIGGURAT_V", "ziggurat_tables", "philox4x32_reference",
           "row_words_reference", "ziggurat_reference", "complex_normal_reference",
           "complex_normal", "row_words", "stream_key", "word_grid"]

#: Philox4x32 multipliers and Weyl key increments (Salmon et al. 2011, Random123)
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
PHILOX_ROUNDS = 10

#: base abscissa r of the 256-layer normal ziggurat (Marsaglia and Tsang 2000, for n = 256)
#: and the common layer area v = r f(r) + int_r^inf f(x) dx = r f(r) + sqrt(pi/2) erfc(r/sqrt 2)
#: of the unnormalised density f(x) = exp(-x^2 / 2), both float64 (r makes the 256 layers
#: close: the top layer x_1 (1 - f(x_1)) = v; a test checks it)
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_V = (ZIGGURAT_R * math.exp(-0.5 * ZIGGURAT_R ** 2)
              + math.sqrt(math.pi / 2) * math.erfc(ZIGGURAT_R / math.sqrt(2.0)))
_LAYERS = 256
_MANT = 2.0 ** 52
_MASK52 = (1 << 52) - 1
_CHUNK_WORDS = 64            # Philox words made at once per row (32 blocks, vectorised)


def ziggurat_tables(r: float = ZIGGURAT_R, v: float = ZIGGURAT_V):
    """(ki uint64 [256], wi float64 [256], fi float64 [256]) of the ziggurat.

    Layer i >= 1 is the strip of x in [0, x_i], f in [f(x_i), f(x_{i-1})]; a word with layer
    i and 52-bit abscissa a gives x = a wi[i] (wi[i] = x_i / 2^52) and is accepted at once if
    a < ki[i] = floor(2^52 x_{i-1} / x_i) (inside the curve); fi[i] = f(x_i), fi[0] = 1.
    Layer 0 (the base) has width q = v / f(r): wi[0] = q / 2^52, ki[0] = floor(2^52 r / q);
    its words beyond r go to the tail.
    """
    ki = np.zeros(_LAYERS, dtype=np.uint64)
    wi = np.zeros(_LAYERS)
    fi = np.zeros(_LAYERS)
    f_r = math.exp(-0.5 * r * r)
    q = v / f_r
    ki[0] = int(r / q * _MANT)
    wi[0] = q / _MANT
    fi[0] = 1.0
    wi[_LAYERS - 1] = r / _MANT
    fi[_LAYERS - 1] = f_r
    x_next = r
    for i in range(_LAYERS - 2, 0, -1):
        x = math.sqrt(-2.0 * math.log(v / x_next + math.exp(-0.5 * x_next * x_next)))
        ki[i + 1] = int(x / x_next * _MANT)
        fi[i] = math.exp(-0.5 * x * x)
        wi[i] = x / _MANT
        x_next = x
    ki[1] = 0                               # x_0 = 0: the top layer is all wedge
    return ki, wi, fi


KI, WI, FI = ziggurat_tables()
_INV_R = 1.0 / ZIGGURAT_R


def stream_key(seq: np.random.SeedSequence) -> np.ndarray:
    """The 128-bit stream name (s0, s1) uint64 [2] of a SeedSequence."""
    return seq.generate_state(2, np.uint64)


# ---------------------------------------------------------------------------------------
# plain numpy reference
# ---------------------------------------------------------------------------------------

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def philox4x32_reference(counter: np.ndarray, key: np.ndarray,
                         rounds: int = PHILOX_ROUNDS) -> np.ndarray:
    """Philox4x32-R of counters uint32 [..., 4] under keys uint32 [..., 2] (broadcast):
    uint32 [..., 4]. Round: (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2),
    hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)); the key gets (W0, W1) added (mod 2^32) between
    rounds."""
    c = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(key, dtype=np.uint64)
    c0, c1, c2, c3 = (c[..., i] for i in range(4))
    k0, k1 = k[..., 0], k[..., 1]
    for rnd in range(rounds):
        if rnd:
            k0 = (k0 + np.uint64(PHILOX_W0)) & _M32
            k1 = (k1 + np.uint64(PHILOX_W1)) & _M32
        p0 = np.uint64(PHILOX_M0) * c0                 # < 2^64: exact in uint64
        p1 = np.uint64(PHILOX_M1) * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ k0, p1 & _M32, (p0 >> _S32) ^ c3 ^ k1, p0 & _M32
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1).astype(np.uint32)


def row_words_reference(stream: np.ndarray, row: int, num_words: int) -> np.ndarray:
    """The first num_words uint64 words of row ``row`` of stream (s0, s1)."""
    s0, s1 = (int(v) for v in np.asarray(stream, dtype=np.uint64))
    blocks = (num_words + 1) // 2
    ctr = np.zeros((blocks, 4), dtype=np.uint32)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint64).astype(np.uint32)
    ctr[:, 1] = row
    ctr[:, 2], ctr[:, 3] = s1 & 0xFFFFFFFF, s1 >> 32
    key = np.array([s0 & 0xFFFFFFFF, s0 >> 32], dtype=np.uint32)
    out = philox4x32_reference(ctr, key).astype(np.uint64)
    words = np.empty((blocks, 2), dtype=np.uint64)
    words[:, 0] = out[:, 0] | (out[:, 1] << _S32)
    words[:, 1] = out[:, 2] | (out[:, 3] << _S32)
    return words.ravel()[:num_words]


def _unit_double(word) -> float:
    """[0, 1) from the top 53 bits of a uint64 word."""
    return float(int(word) >> 11) * (1.0 / 9007199254740992.0)


def ziggurat_reference(words: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """The first n normals from a word sequence and the number of words they used.

    The accepted-at-once words are found vectorised; each rejected word is then resolved in
    order (wedge: one more word; tail: pairs of words until accepted), math.exp/log1p
    (the C library's, as the compiled kernel).
    """
    words = np.asarray(words, dtype=np.uint64)
    idx = (words & np.uint64(0xFF)).astype(np.intp)
    rest = words >> np.uint64(8)
    neg = (rest & np.uint64(1)).astype(bool)
    rabs = (rest >> np.uint64(1)) & np.uint64(_MASK52)
    x = rabs.astype(np.float64) * WI[idx]
    x = np.where(neg, -x, x)
    fast = rabs < KI[idx]
    slow_at = np.flatnonzero(~fast)
    out = np.empty(n)
    k = p = 0
    while k < n:
        nxt = slow_at[np.searchsorted(slow_at, p)] if slow_at.size and slow_at[-1] >= p \
            else words.size
        take = min(nxt - p, n - k)
        out[k:k + take] = x[p:p + take]
        k += take
        p += take
        if k == n:
            break
        if p >= words.size:
            raise ValueError("ziggurat_reference: word sequence too short")
        i, xv, ra = int(idx[p]), float(x[p]), int(rabs[p])
        p += 1
        if i == 0:                               # Marsaglia's tail beyond r
            while True:
                xx = -_INV_R * math.log1p(-_unit_double(words[p]))
                yy = -math.log1p(-_unit_double(words[p + 1]))
                p += 2
                if yy + yy > xx * xx:
                    out[k] = -(ZIGGURAT_R + xx) if (ra >> 8) & 1 else ZIGGURAT_R + xx
                    k += 1
                    break
        else:                                    # wedge of layer i
            u = _unit_double(words[p])
            p += 1
            if (FI[i - 1] - FI[i]) * u + FI[i] < math.exp(-0.5 * xv * xv):
                out[k] = xv
                k += 1
    return out, p


def complex_normal_reference(streams: np.ndarray, num_rows: int, n: int,
                             scale: np.ndarray | float = math.sqrt(0.5)) -> np.ndarray:
    """complex128 [U, num_rows, n]: row (u, r) from row r of stream u (uint64 [U, 2]),
    real part scale[u, r] z_{2q}, imaginary part scale[u, r] z_{2q+1}."""
    streams = np.atleast_2d(np.asarray(streams, dtype=np.uint64))
    u_count = streams.shape[0]
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (u_count, num_rows))
    out = np.empty((u_count, num_rows, n), dtype=np.complex128)
    for u in range(u_count):
        for r in range(num_rows):
            need = 2 * n + 64
            while True:
                words = row_words_reference(streams[u], r, need)
                try:
                    z, _ = ziggurat_reference(words, 2 * n)
                    break
                except (ValueError, IndexError):
                    need *= 2
            out[u, r].real = z[0::2] * scale[u, r]
            out[u, r].imag = z[1::2] * scale[u, r]
    return out


# ---------------------------------------------------------------------------------------
# compiled kernel
# ---------------------------------------------------------------------------------------

_U_M0, _U_M1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
_U_W0, _U_W1 = np.uint64(PHILOX_W0), np.uint64(PHILOX_W1)
_U0, _U1, _U8, _U11 = np.uint64(0), np.uint64(1), np.uint64(8), np.uint64(11)
_U_MASK52, _U_MASK8 = np.uint64(_MASK52), np.uint64(0xFF)
_U_M32, _U_S32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True, inline="always")
def _philox_fill(buf, block0, row, s0, s1):
    """buf[2 m], buf[2 m + 1] = the words of block block0 + m of row ``row`` of stream
    (s0, s1), m < buf.size / 2: independent blocks in a branch-free loop (vectorised;
    32-bit values in uint64 lanes)."""
    k0_, k1_ = s0 & _U_M32, s0 >> _U_S32
    c1, c2, c3 = row & _U_M32, s1 & _U_M32, s1 >> _U_S32
    for m in range(buf.size // 2):
        x0 = (block0 + np.uint64(m)) & _U_M32
        x1, x2, x3 = c1, c2, c3
        k0, k1 = k0_, k1_
        for _ in range(PHILOX_ROUNDS):
            p0 = _U_M0 * x0
            p1 = _U_M1 * x2
            x0, x1, x2, x3 = ((p1 >> _U_S32) ^ x1 ^ k0, p1 & _U_M32,
                              (p0 >> _U_S32) ^ x3 ^ k1, p0 & _U_M32)
            k0 = (k0 + _U_W0) & _U_M32
            k1 = (k1 + _U_W1) & _U_M32
        buf[2 * m] = x0 | (x1 << _U_S32)
        buf[2 * m + 1] = x2 | (x3 << _U_S32)


@njit(cache=True, nogil=True, inline="always")
def _take(buf, pos, block, row, s0, s1):
    """(word, pos, block): the next word of the row's sequence from the buffer, refilled with
    the next len(buf) / 2 blocks when used up (pos == buf.size)."""
    if pos == buf.size:
        _philox_fill(buf, block, row, s0, s1)
        block += np.uint64(buf.size // 2)
        pos = 0
    return buf[pos], pos + 1, block


@njit(cache=True, nogil=True)
def _slow(buf, pos, block, row, s0, s1, i, x, rabs, fi):
    """The rare word not accepted at once (1.2 %): (accepted, value, pos, block) after the
    tail (layer 0) or the wedge test of layer i, with the words it used. Kept out of the
    fast loop (fewer registers there)."""
    if i == 0:                                    # Marsaglia's tail beyond r
        while True:
            wa, pos, block = _take(buf, pos, block, row, s0, s1)
            wb, pos, block = _take(buf, pos, block, row, s0, s1)
            ua = np.float64(np.int64(wa >> _U11)) * _TO_UNIT
            ub = np.float64(np.int64(wb >> _U11)) * _TO_UNIT
            xx = -_INV_R * math.log1p(-ua)
            yy = -math.log1p(-ub)
            if yy + yy > xx * xx:
                t = ZIGGURAT_R + xx
                if (rabs >> _U8) & _U1:
                    t = -(ZIGGURAT_R + xx)
                return True, t, pos, block
    ww, pos, block = _take(buf, pos, block, row, s0, s1)       # wedge of layer i
    uw = np.float64(np.int64(ww >> _U11)) * _TO_UNIT
    return (fi[i - 1] - fi[i]) * uw + fi[i] < math.exp(-0.5 * x * x), x, pos, block


@njit(cache=True, nogil=True)
def _fill_row(dst, scale, row, s0, s1, ki, wi, fi):
    """dst[k] = scale z_k, k < dst.size: the ziggurat on row ``row``'s word sequence."""
    n2 = dst.size
    # the words in batches of 32 blocks (the values do not depend on the batch size: the
    # word sequence is the block counter's)
    buf = np.empty(_CHUNK_WORDS, dtype=np.uint64)
    block = _U0
    pos = _CHUNK_WORDS
    k = 0
    while k < n2:
        rw, pos, block = _take(buf, pos, block, row, s0, s1)
        i = np.intp(rw & _U_MASK8)
        rest = rw >> _U8
        rabs = (rest >> _U1) & _U_MASK52
        # rabs < 2^52: exact; the sign as a factor +-1 (exact, no unpredictable branch)
        sign = 1.0 - 2.0 * np.float64(np.int64(rest & _U1))
        x = np.float64(np.int64(rabs)) * wi[i] * sign
        if rabs < ki[i]:
            dst[k] = x * scale
            k += 1
        else:
            ok, v, pos, block = _slow(buf, pos, block, row, s0, s1, i, x, rabs, fi)
            if ok:
                dst[k] = v * scale
                k += 1


@njit(cache=True, parallel=True)
def _fill(parts, keys, num_rows, scale, ki, wi, fi):
    # parts float64 [U R, 2 n] (the complex output's parts), scale float64 [U R]
    for t in prange(parts.shape[0]):
        u = t // num_rows
        _fill_row(parts[t], scale[t], np.uint64(t - u * num_rows), keys[u, 0], keys[u, 1],
                  ki, wi, fi)


@njit(cache=True)
def _words(out, row, s0, s1, block0):
    # out.size words of row ``row`` from block block0 on (one block at a time)
    buf = np.empty(2, dtype=np.uint64)
    for j in range((out.size + 1) // 2):
        _philox_fill(buf, block0 + np.uint64(j), row, s0, s1)
        for m in range(min(2, out.size - 2 * j)):
            out[2 * j + m] = buf[m]


@njit(cache=True, parallel=True)
def _word_rows(out, keys, num_rows):
    # out uint64 [U R, n]: the first n words of row r of stream u, rows on numba's threads
    n = out.shape[1]
    for t in prange(out.shape[0]):
        u = t // num_rows
        buf = np.empty(_CHUNK_WORDS, dtype=np.uint64)
        row = np.uint64(t - u * num_rows)
        k = 0
        block = _U0
        while k < n:
            _philox_fill(buf, block, row, keys[u, 0], keys[u, 1])
            block += np.uint64(_CHUNK_WORDS // 2)
            m = min(_CHUNK_WORDS, n - k)
            out[t, k:k + m] = buf[:m]
            k += m


def word_grid(streams: np.ndarray, num_rows: int, n: int) -> np.ndarray:
    """uint64 [U, num_rows, n]: the first n words of row r of stream u (the row word sequences
    of the module docstring, :func:`row_words_reference`), rows on numba's threads (any count:
    the same values). For draws that take one word per value (e.g. QAM indices)."""
    keys = _keys(streams)
    if not (0 <= num_rows <= 2**32 and 0 <= n <= 2**31):
        raise ValueError(f"num_rows must be in [0, 2^32] and n in [0, 2^31] (32-bit row and "
                         f"block counters; got {num_rows}, {n})")
    out = np.empty((keys.shape[0], num_rows, n), dtype=np.uint64)
    if out.size:
        _word_rows(out.reshape(-1, n), keys, num_rows)
    return out


def _keys(streams: np.ndarray) -> np.ndarray:
    keys = np.ascontiguousarray(np.atleast_2d(np.asarray(streams, dtype=np.uint64)))
    if keys.ndim != 2 or keys.shape[1] != 2:
        raise ValueError(f"streams must be uint64 [U, 2] (got shape {keys.shape})")
    return keys


def row_words(stream: np.ndarray, row: int, num_words: int, first_block: int = 0) -> np.ndarray:
    """The compiled generator's num_words uint64 words of row ``row`` from block
    first_block on (word 2 first_block of the row's sequence; for tests)."""
    out = np.empty(num_words, dtype=np.uint64)
    k = _keys(stream)[0]
    _words(out, np.uint64(row), k[0], k[1], np.uint64(first_block))
    return out


def complex_normal(streams: np.ndarray, num_rows: int, n: int,
                   scale: np.ndarray | float = math.sqrt(0.5)) -> np.ndarray:
    """complex128 [U, num_rows, n]: row (u, r) from row r of stream u, the values of
    :func:`complex_normal_reference` (real part scale[u, r] z_{2q}, imaginary part
    scale[u, r] z_{2q+1}), the rows on numba's threads (any count: the same values).

    streams : uint64 [U, 2] (or [2])   stream names (s0, s1), e.g. :func:`stream_key`
    scale : float or float64 [U, num_rows] (broadcast)   default sqrt(1/2): unit power
    """
    keys = _keys(streams)
    if not (0 <= num_rows <= 2**32 and 0 <= n <= 2**30):
        raise ValueError(f"num_rows must be in [0, 2^32] and n in [0, 2^30] (32-bit row and "
                         f"block counters; got {num_rows}, {n})")
    u_count = keys.shape[0]
    out = np.empty((u_count, num_rows, n), dtype=np.complex128)
    if out.size == 0:
        return out
    sc = np.ascontiguousarray(np.broadcast_to(np.asarray(scale, dtype=np.float64),
                                              (u_count, num_rows))).ravel()
    parts = out.view(np.float64).reshape(u_count * num_rows, 2 * n)
    _fill(parts, keys, num_rows, sc, KI, WI, FI)
    return out
