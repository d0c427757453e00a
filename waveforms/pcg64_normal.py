"""numpy's ``Generator(PCG64).standard_normal``, the same numbers bit for bit, on all cores.

numpy draws normals one after another: each attempt takes the generator's next uint64 word
(8 bits layer, 1 bit sign, 52 bits abscissa of a 256-layer ziggurat), is accepted at once
(98.5 %: 1 - mean(ki) / 2^52), or takes more words (a wedge test: one word; the tail beyond
r: pairs of words until accepted). The values are a function of the word sequence alone,
so they can be computed in parallel once the sequence is known:

1. **Words.** PCG64 is a 128-bit LCG ``s <- a s + c (mod 2^128)`` with the XSL-RR output
   ``rotr64(hi(s) ^ lo(s), hi(s) >> 58)`` of the stepped state (word p is the output of the
   state after p + 1 steps). A segment of the sequence is filled by 8 interleaved lanes that
   each step by 8 (``a^8``, ``c (1 + a + ... + a^7)``), their start states from numpy's own
   ``PCG64.advance``; the lanes' stores are contiguous and the 128-bit products vectorise.
2. **Scan.** The word array is cut into segments; each segment walks the attempt chain from
   its first word as if an attempt started there, counting its outputs and recording its
   first attempt starts. The chain that starts at the true position merges with the guessed
   one within a few words (an attempt spans one word 98.5 % of the time). A sequential merge
   over the segments then finds each segment's true first attempt and output offset (a
   segment where the merge is not among the recorded starts is walked again from the true
   start, sequentially).
3. **Values.** Each segment computes its normals from its true first attempt and writes them
   at its true offset, so the segments' writes never overlap.

The ziggurat's tables are numpy's own (``ki_double``, ``wi_double``, ``fi_double``), which
numba ships for its bit-identical ``np.random.Generator`` support; ``exp`` and ``log1p`` are
the C library's, as in numpy. When that module is missing (another numba), the generator is
not a plain PCG64, or the first draw in the process through the compiled path does not equal
numpy's own (:func:`fast_path_available`), :func:`standard_normal_into` calls numpy itself:
the same numbers, slower.
The generator is left in the state numpy's own draw leaves (its buffered 32-bit half-word
kept). The values depend on neither the thread count nor the segment count (tested against
numpy itself, the reference).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

__all__ = ["standard_normal_into", "pcg64_words", "fast_path_available"]

try:        # numpy's tables, as numba's Generator support carries them
    from numba.np.random._constants import fi_double as _FI
    from numba.np.random._constants import ki_double as _KI
    from numba.np.random._constants import wi_double as _WI
    from numba.np.random._constants import ziggurat_nor_inv_r as _INV_R
    from numba.np.random._constants import ziggurat_nor_r as _R
    _KI = np.ascontiguousarray(_KI, dtype=np.uint64)
    _WI = np.ascontiguousarray(_WI, dtype=np.float64)
    _FI = np.ascontiguousarray(_FI, dtype=np.float64)
    _R, _INV_R = float(_R), float(_INV_R)
except (ImportError, AttributeError):          # pragma: no cover - another numba
    _KI = None

#: PCG64's multiplier (PCG_DEFAULT_MULTIPLIER_128, O'Neill 2014)
PCG64_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
_LANES = 8
_MOD128 = (1 << 128) - 1
_MASK64 = (1 << 64) - 1
#: below this many normals numpy's own loop is used (the set-up costs more than it saves)
MIN_PARALLEL = 1 << 17
#: attempt starts recorded per segment for the merge
RECORDED_STARTS = 64
#: the words made beyond the expected need, as a fraction of it and a constant
_MARGIN_FRACTION, _MARGIN_WORDS = 0.005, 4096
#: mean words per normal of the 256-layer ziggurat (measured 1.0220-1.0224: the wedge words plus
#: the rejected attempts and the rare tail pairs); the margin covers its spread many times over
_WORDS_PER_NORMAL = 1.0225

_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_U1, _U8, _U9, _U11 = np.uint64(1), np.uint64(8), np.uint64(9), np.uint64(11)
_U58 = np.uint64(58)
_U63, _U64 = np.uint64(63), np.uint64(64)
_MASK8, _MASK52 = np.uint64(0xFF), np.uint64((1 << 52) - 1)
_TO_UNIT = 1.0 / 9007199254740992.0


#: the compiled path's check against numpy in this process: None before the first draw
_AGREES: list[bool | None] = [None]
#: normals of that check (every layer ~1000 times, ~500 wedge and ~80 tail attempts)
_CHECK_NORMALS = MIN_PARALLEL * 2 + 4097


def checked_once(flag: list, what: str, agrees) -> bool:
    """The once-per-process check of a compiled path against numpy: ``flag[0]`` is None
    before it; then ``agrees()`` runs once (with flag[0] True, so the compiled path it calls
    is taken) and its result is kept; on False a RuntimeWarning names ``what``."""
    if flag[0] is None:
        flag[0] = True
        flag[0] = bool(agrees())
        if not flag[0]:
            import warnings

            warnings.warn(f"{what} differ from numpy's in this environment; numpy draws "
                          "instead (same numbers, slower)", RuntimeWarning, stacklevel=3)
    return bool(flag[0])


def _normals_agree() -> bool:
    a = np.random.Generator(np.random.PCG64(20261202))
    b = np.random.Generator(np.random.PCG64(20261202))
    got = np.empty(_CHECK_NORMALS)
    _normals_into(a.bit_generator, got, 1.0, None, RECORDED_STARTS, None)
    return (np.array_equal(got, b.standard_normal(_CHECK_NORMALS))
            and a.bit_generator.state == b.bit_generator.state)


def fast_path_available() -> bool:
    """True when the compiled path is used: numpy's ziggurat tables were found and, on the
    first call in the process, a draw of :data:`_CHECK_NORMALS` normals through it equalled
    numpy's own, values and generator state (otherwise numpy draws, with a warning: the
    numbers are numpy's either way)."""
    if _KI is None:
        return False
    return checked_once(_AGREES, "waveforms.pcg64_normal: the compiled normals",
                        _normals_agree)


# ---------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------

def _lcg_jump(inc: int, steps: int) -> tuple[int, int]:
    """(A, C) with s_{p + steps} = A s_p + C (mod 2^128) for the LCG s <- a s + inc."""
    a, c = 1, 0
    for _ in range(steps):
        a, c = (a * PCG64_MULTIPLIER) & _MOD128, (c * PCG64_MULTIPLIER + inc) & _MOD128
    return a, c


@njit(cache=True, nogil=True, inline="always")
def _mulhi(a, b):
    """The high 64 bits of the 128-bit product of uint64 a and b (32-bit halves)."""
    a0, a1, b0, b1 = a & _M32, a >> _S32, b & _M32, b >> _S32
    t = a0 * b0
    u = a1 * b0 + (t >> _S32)
    v = a0 * b1 + (u & _M32)
    return a1 * b1 + (u >> _S32) + (v >> _S32)


@njit(cache=True, nogil=True, inline="always")
def _xsl_rr(hi, lo):
    x = hi ^ lo
    r = hi >> _U58
    return (x >> r) | (x << ((_U64 - r) & _U63))


@njit(cache=True, parallel=True)
def _fill_words(words, hi0, lo0, ahi, alo, chi, clo, seg_len):
    """words[t seg_len + 8 j + m] from lane m of segment t: hi0/lo0[t, m] is the state whose
    output is word t seg_len + m, and each lane steps by 8 (multiplier (ahi, alo), increment
    (chi, clo))."""
    n = words.size
    for t in prange(hi0.shape[0]):
        hi = hi0[t].copy()
        lo = lo0[t].copy()
        base = t * seg_len
        end = min(n, base + seg_len)
        full = (end - base) // _LANES
        for j in range(full):
            k = base + j * _LANES
            for m in range(_LANES):
                h, lw = hi[m], lo[m]
                words[k + m] = _xsl_rr(h, lw)
                p = lw * alo
                nh = _mulhi(lw, alo) + lw * ahi + h * alo
                nl = p + clo
                hi[m] = nh + chi + np.uint64(nl < p)
                lo[m] = nl
        k = base + full * _LANES
        for m in range(end - k):
            words[k + m] = _xsl_rr(hi[m], lo[m])


def pcg64_words(bit_generator: np.random.PCG64, num_words: int, start: int = 0,
                segments: int | None = None) -> np.ndarray:
    """uint64 [num_words]: the words ``bit_generator.random_raw`` would give after skipping
    ``start`` words, made on numba's threads; the generator is not advanced."""
    if num_words < 0 or start < 0:
        raise ValueError(f"num_words and start must be >= 0 (got {num_words}, {start})")
    words = np.empty(num_words, dtype=np.uint64)
    if num_words == 0:
        return words
    if segments is None:
        segments = max(1, min(4 * numba.get_num_threads(), num_words // 65536))
    seg_len = -(-num_words // segments)
    seg_len = -(-seg_len // _LANES) * _LANES
    segments = -(-num_words // seg_len)
    inc = int(bit_generator.state["state"]["inc"])
    a8, c8 = _lcg_jump(inc, _LANES)
    hi0 = np.empty((segments, _LANES), dtype=np.uint64)
    lo0 = np.empty((segments, _LANES), dtype=np.uint64)
    probe = np.random.PCG64()
    state = bit_generator.state
    for t in range(segments):
        for m in range(_LANES):
            probe.state = state
            probe.advance(start + t * seg_len + m + 1)     # word p: the state after p + 1 steps
            s = int(probe.state["state"]["state"])
            hi0[t, m], lo0[t, m] = s >> 64, s & _MASK64
    _fill_words(words, hi0, lo0, np.uint64(a8 >> 64), np.uint64(a8 & _MASK64),
                np.uint64(c8 >> 64), np.uint64(c8 & _MASK64), seg_len)
    return words


# ---------------------------------------------------------------------------------------
# the ziggurat on a word array
# ---------------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _slow(words, pos, i, x, rabs, fi, r, inv_r):
    """The attempt at ``pos - 1`` was not accepted at once (1.5 %): (status, value, pos) after the
    tail (layer 0) or the wedge of layer i; status 1 accepted, 0 rejected, -1 out of words."""
    n = words.size
    if i == 0:
        while True:
            if pos + 1 >= n:
                return -1, 0.0, pos
            ua = np.float64(np.int64(words[pos] >> _U11)) * _TO_UNIT
            ub = np.float64(np.int64(words[pos + 1] >> _U11)) * _TO_UNIT
            pos += 2
            xx = -inv_r * math.log1p(-ua)
            yy = -math.log1p(-ub)
            if yy + yy > xx * xx:
                if (rabs >> _U8) & _U1:
                    return 1, -(r + xx), pos
                return 1, r + xx, pos
    if pos >= n:
        return -1, 0.0, pos
    u = np.float64(np.int64(words[pos] >> _U11)) * _TO_UNIT
    if (fi[i - 1] - fi[i]) * u + fi[i] < math.exp(-0.5 * x * x):
        return 1, x, pos + 1
    return 0, x, pos + 1


@njit(cache=True, nogil=True, inline="always")
def _attempt(words, pos, ki, wi, fi, r, inv_r):
    """One attempt starting at word ``pos``: (status, value, next pos) as :func:`_slow`."""
    w = words[pos]
    i = np.intp(w & _MASK8)
    rest = w >> _U8
    rabs = (rest >> _U1) & _MASK52
    # the sign as a factor +-1 (exact negation, numpy's ``x = -x``; no unpredictable branch)
    x = np.float64(np.int64(rabs)) * wi[i] * (1.0 - 2.0 * np.float64(np.int64(rest & _U1)))
    if rabs < ki[i]:
        return 1, x, pos + 1
    return _slow(words, pos + 1, i, x, rabs, fi, r, inv_r)


@njit(cache=True, nogil=True)
def _walk(words, pos, stop, ki, wi, fi, r, inv_r):
    """(end, count, complete): the chain from ``pos`` up to its first attempt at or beyond
    ``stop``; count its outputs; complete False when an attempt ran out of words (end is
    then that attempt's start). A word's integer acceptance test comes first: the float work
    of an attempt is done only for the 1.5 % not accepted at once."""
    count = 0
    while pos < stop:
        w = words[pos]
        if ((w >> _U9) & _MASK52) < ki[np.intp(w & _MASK8)]:
            count += 1
            pos += 1
            continue
        status, _, nxt = _attempt(words, pos, ki, wi, fi, r, inv_r)
        if status < 0:
            return pos, count, False
        count += status
        pos = nxt
    return pos, count, True


@njit(cache=True, parallel=True)
def _scan(words, cuts, rec_pos, rec_cnt, ends, counts, complete, ki, wi, fi, r, inv_r):
    """Segment t walks from cuts[t] as if an attempt started there, to its first attempt at or
    beyond cuts[t + 1]; it records its first attempt starts and the outputs before each."""
    num_rec = rec_pos.shape[1]
    for t in prange(cuts.size - 1):
        pos, stop = cuts[t], cuts[t + 1]
        count = 0
        rec = 0
        done = True
        while pos < stop and rec < num_rec:          # the recorded attempts
            rec_pos[t, rec] = pos
            rec_cnt[t, rec] = count
            rec += 1
            status, _, nxt = _attempt(words, pos, ki, wi, fi, r, inv_r)
            if status < 0:
                done = False
                break
            count += status
            pos = nxt
        for q in range(rec, num_rec):
            rec_pos[t, q] = -1
        if done:                                     # the rest of the segment
            pos, rest, done = _walk(words, pos, stop, ki, wi, fi, r, inv_r)
            count += rest
        ends[t] = pos
        counts[t] = count
        complete[t] = done


@njit(cache=True, parallel=True)
def _values(words, starts, offsets, n, dst, scale, ki, wi, fi, r, inv_r, used):
    """Segment t: the normals of the true chain from starts[t] (output offset offsets[t]) to
    starts[t + 1], written dst[k] = scale z_k while k < n; used[t] = the position after the
    attempt of output n - 1 if that is in segment t, else -1."""
    for t in prange(starts.size - 1):
        pos, stop = starts[t], starts[t + 1]
        k = offsets[t]
        used[t] = -1
        while pos < stop and k < n:
            status, v, pos = _attempt(words, pos, ki, wi, fi, r, inv_r)
            if status == 1:
                dst[k] = v * scale
                k += 1
                if k == n:
                    used[t] = pos


def _merge(words, cuts, rec_pos, rec_cnt, ends, counts, complete):
    """(starts int64 [T + 1], offsets int64 [T], total, rewalks): every segment's true first
    attempt and output offset, the outputs of the whole complete chain, and the segments
    walked again (their merge was not among the recorded starts)."""
    segs = cuts.size - 1
    starts = np.empty(segs + 1, dtype=np.int64)
    offsets = np.empty(segs, dtype=np.int64)
    starts[0], total, rewalks = cuts[0], 0, 0
    for t in range(segs):
        s = int(starts[t])
        offsets[t] = total
        hit = np.flatnonzero(rec_pos[t] == s)
        if hit.size:
            end, count, ok = int(ends[t]), int(counts[t] - rec_cnt[t, hit[0]]), bool(complete[t])
        else:
            rewalks += 1
            end, count, ok = _walk(words, s, int(cuts[t + 1]), _KI, _WI, _FI, _R, _INV_R)
            end, count = int(end), int(count)
        total += count
        starts[t + 1] = end
        if not ok:                       # the chain ran out of words here
            starts[t + 2:] = end
            offsets[t + 1:] = total
            return starts, offsets, total, rewalks
    return starts, offsets, total, rewalks


def _normals_into(bit_generator: np.random.PCG64, dst: np.ndarray, scale: float,
                  segments: int | None, recorded: int, margin_words: int | None) -> dict:
    n = dst.size
    extra = (int(_MARGIN_FRACTION * n) + _MARGIN_WORDS) if margin_words is None \
        else margin_words
    num_words = max(1, int(math.ceil(_WORDS_PER_NORMAL * n)) + extra)
    while True:
        words = pcg64_words(bit_generator, num_words)
        segs = segments if segments is not None else max(
            1, min(4 * numba.get_num_threads(), num_words // 65536))
        cuts = np.linspace(0, num_words, segs + 1).astype(np.int64)
        rec_pos = np.empty((segs, recorded), dtype=np.int64)
        rec_cnt = np.empty((segs, recorded), dtype=np.int64)
        ends = np.empty(segs, dtype=np.int64)
        counts = np.empty(segs, dtype=np.int64)
        complete = np.empty(segs, dtype=np.bool_)
        _scan(words, cuts, rec_pos, rec_cnt, ends, counts, complete, _KI, _WI, _FI, _R, _INV_R)
        starts, offsets, total, rewalks = _merge(words, cuts, rec_pos, rec_cnt, ends, counts,
                                                 complete)
        if total >= n:
            break
        num_words = 2 * num_words + 1024        # too few words (never seen at the margin)
    used = np.empty(segs, dtype=np.int64)
    _values(words, starts, offsets, n, dst, float(scale), _KI, _WI, _FI, _R, _INV_R, used)
    consumed = int(used.max())
    state = bit_generator.state
    probe = np.random.PCG64()
    probe.state = state
    probe.advance(consumed)
    new = probe.state
    new["has_uint32"], new["uinteger"] = state["has_uint32"], state["uinteger"]
    bit_generator.state = new
    return {"words": num_words, "consumed": consumed, "segments": segs, "rewalks": rewalks}


def standard_normal_into(rng: np.random.Generator, out: np.ndarray, scale: float = 1.0, *,
                         segments: int | None = None, recorded: int = RECORDED_STARTS,
                         margin_words: int | None = None) -> dict | None:
    """out[:] = scale * rng.standard_normal(out.size), bit for bit, and ``rng`` left as
    that draw leaves it (the multiply is the IEEE product numpy's ``np.multiply`` gives).

    out : float64 [n], any stride (e.g. the real parts of a complex array)
    scale : float   multiplies every normal
    segments, recorded, margin_words : the scan's segment count, recorded starts per
        segment and extra words (tests; the numbers never depend on them)

    Returns the scan's statistics (words made, used, segments, rewalks), or None when numpy
    drew (a small draw, not a plain PCG64, or numpy's tables not found).
    """
    if out.dtype != np.float64 or out.ndim != 1:
        raise ValueError(f"out must be a 1-D float64 array (got {out.ndim}-D {out.dtype})")
    bg = rng.bit_generator
    if (type(bg) is not np.random.PCG64 or (out.size < MIN_PARALLEL and segments is None)
            or not fast_path_available()):
        if out.flags.c_contiguous:
            rng.standard_normal(out=out)
        else:
            out[...] = rng.standard_normal(out.size)
        if scale != 1.0:
            np.multiply(out, scale, out=out)
        return None
    if out.size == 0:
        return {"words": 0, "consumed": 0, "segments": 0, "rewalks": 0}
    return _normals_into(bg, out, scale, segments, recorded, margin_words)
