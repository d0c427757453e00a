"""Counter-based standard normals: Philox4x64-10 bits through a 256-layer ziggurat.

Each output row is its own addressable stream, so rows can be filled in any order on any
number of threads with the same values.

Bits. Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11;
numpy's ``np.random.Philox`` is the same function and serves as the independent reference
in the tests): a keyed bijection of a 256-bit counter (uint64 words c0..c3) under a 128-bit
key (k0, k1). A stream is named by its key (e.g. ``SeedSequence.generate_state(2,
np.uint64)``, :func:`stream_key`); row r of the stream uses the counters ``(j, r, 0, 0)``,
j = 0, 1, 2, ..., and block j gives the four uint64 words out0..out3, in that order: the
row's word sequence. (Philox4x64 rather than 4x32: with a 64 x 64 -> 128-bit multiply it
is about three times faster per bit on this machine's x86-64 than the vectorised 4x32.)

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
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["ZIGGURAT_R", "ZIGGURAT_V", "ziggurat_tables", "philox4x64_reference",
           "row_words_reference", "ziggurat_reference", "complex_normal_reference",
           "complex_normal", "row_words", "stream_key"]

#: Philox4x64 multipliers and Weyl key increments (Salmon et al. 2011, Random123)
PHILOX_M0, PHILOX_M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
PHILOX_W0, PHILOX_W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B
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
_CHUNK_WORDS = 8             # Philox words made at once per row (two blocks)


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
    """The 128-bit stream name: the Philox key (k0, k1) uint64 [2] of a SeedSequence."""
    return seq.generate_state(2, np.uint64)


# ---------------------------------------------------------------------------------------
# plain numpy reference
# ---------------------------------------------------------------------------------------

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def _mulhilo64(a: int, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) uint64 of the 128-bit products a b, from 32-bit halves."""
    a_lo, a_hi = np.uint64(a & 0xFFFFFFFF), np.uint64(a >> 32)
    b_lo, b_hi = b & _M32, b >> _S32
    ll, lh, hl, hh = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (ll >> _S32) + (lh & _M32) + (hl & _M32)            # < 3 * 2^32: no overflow
    hi = hh + (lh >> _S32) + (hl >> _S32) + (mid >> _S32)
    return hi, (ll & _M32) | (mid << _S32)


def philox4x64_reference(counter: np.ndarray, key: np.ndarray,
                         rounds: int = PHILOX_ROUNDS) -> np.ndarray:
    """Philox4x64-R of counters uint64 [..., 4] under keys uint64 [..., 2] (broadcast):
    uint64 [..., 4]. Round: (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2),
    hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)); the key gets (W0, W1) added (mod 2^64) between
    rounds."""
    c = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(key, dtype=np.uint64)
    c0, c1, c2, c3 = (c[..., i] for i in range(4))
    k0, k1 = k[..., 0], k[..., 1]
    with np.errstate(over="ignore"):
        for rnd in range(rounds):
            if rnd:
                k0 = k0 + np.uint64(PHILOX_W0)
                k1 = k1 + np.uint64(PHILOX_W1)
            h0, l0 = _mulhilo64(PHILOX_M0, c0)
            h1, l1 = _mulhilo64(PHILOX_M1, c2)
            c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1)


def row_words_reference(key: np.ndarray, row: int, num_words: int) -> np.ndarray:
    """The first num_words uint64 words of row ``row`` of the stream with key (k0, k1)."""
    blocks = (num_words + 3) // 4
    ctr = np.zeros((blocks, 4), dtype=np.uint64)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint64)
    ctr[:, 1] = np.uint64(row)
    return philox4x64_reference(ctr, np.asarray(key, dtype=np.uint64)).ravel()[:num_words]


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
    """complex128 [U, num_rows, n]: row (u, r) from row r of stream u (keys uint64 [U, 2]),
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

@intrinsic
def _mul128(typingctx, a, b):
    """(hi, lo) of the 128-bit product of two uint64 (one machine multiply)."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        hi = builder.trunc(builder.lshr(prod, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, signature.return_type,
                                  (hi, builder.trunc(prod, i64)))
    return sig, codegen


_U_M0, _U_M1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
_U_W0, _U_W1 = np.uint64(PHILOX_W0), np.uint64(PHILOX_W1)
_U0, _U1, _U8, _U11 = np.uint64(0), np.uint64(1), np.uint64(8), np.uint64(11)
_U_MASK52, _U_MASK8 = np.uint64(_MASK52), np.uint64(0xFF)
_TO_UNIT = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True, inline="always")
def _philox_fill(buf, block0, row, k0_, k1_):
    """buf[4 m + 0..3] = Philox4x64-10((block0 + m, row, 0, 0), (k0, k1)) for the
    buf.size / 4 blocks m (an even count), two blocks interleaved: the round's four
    multiplies are independent, so the multiplier stays busy."""
    for m in range(0, buf.size // 4, 2):
        a0, a1, a2, a3 = block0 + np.uint64(m), row, _U0, _U0
        b0, b1, b2, b3 = block0 + np.uint64(m + 1), row, _U0, _U0
        k0, k1 = k0_, k1_
        for _ in range(PHILOX_ROUNDS):
            ha0, la0 = _mul128(_U_M0, a0)
            ha1, la1 = _mul128(_U_M1, a2)
            hb0, lb0 = _mul128(_U_M0, b0)
            hb1, lb1 = _mul128(_U_M1, b2)
            a0, a1, a2, a3 = ha1 ^ a1 ^ k0, la1, ha0 ^ a3 ^ k1, la0
            b0, b1, b2, b3 = hb1 ^ b1 ^ k0, lb1, hb0 ^ b3 ^ k1, lb0
            k0 += _U_W0
            k1 += _U_W1
        buf[4 * m], buf[4 * m + 1], buf[4 * m + 2], buf[4 * m + 3] = a0, a1, a2, a3
        buf[4 * m + 4], buf[4 * m + 5], buf[4 * m + 6], buf[4 * m + 7] = b0, b1, b2, b3


@njit(cache=True, nogil=True)
def _slow(buf, pos, block, row, k0, k1, i, x, rabs, fi):
    """The rare word not accepted at once (1.2 %): (accepted, value, pos, block) after the
    tail (layer 0) or the wedge test of layer i, with the words it used. Kept out of the
    fast loop (fewer registers there)."""
    if i == 0:                                    # Marsaglia's tail beyond r
        while True:
            if pos == _CHUNK_WORDS:
                _philox_fill(buf, block, row, k0, k1)
                block += np.uint64(_CHUNK_WORDS // 4)
                pos = 0
            ua = np.float64(np.int64(buf[pos] >> _U11)) * _TO_UNIT
            pos += 1
            if pos == _CHUNK_WORDS:
                _philox_fill(buf, block, row, k0, k1)
                block += np.uint64(_CHUNK_WORDS // 4)
                pos = 0
            ub = np.float64(np.int64(buf[pos] >> _U11)) * _TO_UNIT
            pos += 1
            xx = -_INV_R * math.log1p(-ua)
            yy = -math.log1p(-ub)
            if yy + yy > xx * xx:
                t = ZIGGURAT_R + xx
                if (rabs >> _U8) & _U1:
                    t = -(ZIGGURAT_R + xx)
                return True, t, pos, block
    if pos == _CHUNK_WORDS:                       # wedge of layer i
        _philox_fill(buf, block, row, k0, k1)
        block += np.uint64(_CHUNK_WORDS // 4)
        pos = 0
    uw = np.float64(np.int64(buf[pos] >> _U11)) * _TO_UNIT
    pos += 1
    return (fi[i - 1] - fi[i]) * uw + fi[i] < math.exp(-0.5 * x * x), x, pos, block


@njit(cache=True, nogil=True)
def _fill_row(dst, scale, row, k0, k1, ki, wi, fi):
    """dst[k] = scale z_k, k < dst.size: the ziggurat on row ``row``'s word sequence."""
    n2 = dst.size
    buf = np.empty(_CHUNK_WORDS, dtype=np.uint64)
    block = _U0
    pos = _CHUNK_WORDS
    k = 0
    while k < n2:
        if pos == _CHUNK_WORDS:
            _philox_fill(buf, block, row, k0, k1)
            block += np.uint64(_CHUNK_WORDS // 4)
            pos = 0
        rw = buf[pos]
        pos += 1
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
            ok, v, pos, block = _slow(buf, pos, block, row, k0, k1, i, x, rabs, fi)
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
def _words(out, row, k0, k1):
    # the first out.size words of row ``row`` (two blocks at a time)
    buf = np.empty(8, dtype=np.uint64)
    for j in range(0, (out.size + 3) // 4, 2):
        _philox_fill(buf, np.uint64(j), row, k0, k1)
        for m in range(min(8, out.size - 4 * j)):
            out[4 * j + m] = buf[m]


def _keys(streams: np.ndarray) -> np.ndarray:
    keys = np.ascontiguousarray(np.atleast_2d(np.asarray(streams, dtype=np.uint64)))
    if keys.ndim != 2 or keys.shape[1] != 2:
        raise ValueError(f"streams must be Philox keys uint64 [U, 2] (got shape {keys.shape})")
    return keys


def row_words(key: np.ndarray, row: int, num_words: int) -> np.ndarray:
    """The compiled generator's first num_words uint64 words of row ``row`` (for tests)."""
    out = np.empty(num_words, dtype=np.uint64)
    k = _keys(key)[0]
    _words(out, np.uint64(row), k[0], k[1])
    return out


def complex_normal(streams: np.ndarray, num_rows: int, n: int,
                   scale: np.ndarray | float = math.sqrt(0.5)) -> np.ndarray:
    """complex128 [U, num_rows, n]: row (u, r) from row r of stream u, the values of
    :func:`complex_normal_reference` (real part scale[u, r] z_{2q}, imaginary part
    scale[u, r] z_{2q+1}), the rows on numba's threads (any count: the same values).

    streams : uint64 [U, 2] (or [2])   Philox keys, e.g. :func:`stream_key`
    scale : float or float64 [U, num_rows] (broadcast)   default sqrt(1/2): unit power
    """
    keys = _keys(streams)
    if num_rows < 0 or n < 0:
        raise ValueError(f"num_rows and n must be >= 0 (got {num_rows}, {n})")
    u_count = keys.shape[0]
    out = np.empty((u_count, num_rows, n), dtype=np.complex128)
    if out.size == 0:
        return out
    sc = np.ascontiguousarray(np.broadcast_to(np.asarray(scale, dtype=np.float64),
                                              (u_count, num_rows))).ravel()
    parts = out.view(np.float64).reshape(u_count * num_rows, 2 * n)
    _fill(parts, keys, num_rows, sc, KI, WI, FI)
    return out
