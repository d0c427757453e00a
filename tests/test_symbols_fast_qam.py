"""The compiled QAM mapping (waveforms.symbols_fast) against its numpy references: the same
draws and the same numbers bit for bit, for any thread count."""

import numba
import numpy as np
import pytest

from waveforms.ofdm import qam_symbols
from waveforms.symbols_fast import (
    qam_from_gray,
    qam_from_words,
    qam_from_words_reference,
    qam_level_table,
    qam_symbols_fast,
    qam_symbols_per_stream,
)

QAMS = ["qpsk", "16qam", "64qam"]
BITS = {"qpsk": 1, "16qam": 2, "64qam": 3}


@pytest.mark.parametrize("modulation", QAMS)
def test_joint_qam_equals_the_reference_bit_for_bit_and_draws_the_same(modulation):
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    ref = qam_symbols(a, modulation, (3, 5, 301))
    fast = qam_symbols_fast(b, modulation, (3, 5, 301))
    assert fast.dtype == np.complex128 and fast.shape == ref.shape
    np.testing.assert_array_equal(fast.view(np.float64), ref.view(np.float64))
    # the generator is left where the reference leaves it (the noise is drawn next)
    assert a.bit_generator.state == b.bit_generator.state


@pytest.mark.parametrize("modulation", QAMS)
def test_every_point_maps_like_the_reference(modulation):
    k = BITS[modulation]
    side = 1 << k
    gi, gq = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    # words whose top 2k bits are (gi, gq), random lower bits
    low = np.random.default_rng(1).integers(0, 2**(64 - 2 * k), size=gi.shape, dtype=np.uint64)
    words = ((gi.astype(np.uint64) << np.uint64(64 - k))
             | (gq.astype(np.uint64) << np.uint64(64 - 2 * k)) | low)
    ref = qam_from_words_reference(words, modulation)
    np.testing.assert_array_equal(qam_from_words(words, modulation).view(np.float64),
                                  ref.view(np.float64))
    np.testing.assert_array_equal(qam_from_gray(gi, gq, modulation).view(np.float64),
                                  ref.view(np.float64))
    # unit average power over the square constellation, Gray: neighbours differ in one bit
    assert abs(np.mean(np.abs(ref) ** 2) - 1.0) < 1e-12
    table = qam_level_table(modulation)
    order = np.argsort(table)
    assert np.all(np.diff(table[order]) > 0)
    assert all(bin(int(g) ^ int(h)).count("1") == 1 for g, h in zip(order[:-1], order[1:]))


@pytest.mark.parametrize("modulation", QAMS)
def test_random_words_and_thread_counts_give_the_reference(modulation):
    words = np.random.default_rng(2).integers(0, 2**64 - 1, size=(4, 7, 999), dtype=np.uint64,
                                             endpoint=True)
    ref = qam_from_words_reference(words, modulation)
    before = numba.get_num_threads()
    try:
        outs = []
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            outs.append(qam_from_words(words, modulation))
    finally:
        numba.set_num_threads(before)
    for out in outs:
        np.testing.assert_array_equal(out.view(np.float64), ref.view(np.float64))


def test_per_stream_qam_rows_are_their_generators_reference_draws():
    rows = qam_symbols_per_stream([np.random.default_rng(s) for s in (3, 4, 5)], "16qam",
                                  (4, 50), workers=2)
    for s, row in zip((3, 4, 5), rows):
        np.testing.assert_array_equal(row, qam_symbols(np.random.default_rng(s), "16qam",
                                                       (4, 50)))


def test_bad_gray_indices_and_modulations_are_refused():
    with pytest.raises(ValueError, match=r"Gray indices of 16qam must lie in \[0, 4\)"):
        qam_from_gray(np.array([0, 4]), np.array([1, 1]), "16qam")
    with pytest.raises(ValueError, match="one shape"):
        qam_from_gray(np.array([0, 1]), np.array([1]), "qpsk")
    with pytest.raises(ValueError, match="modulation must be one of qpsk, 16qam, 64qam"):
        qam_from_words(np.zeros(3, dtype=np.uint64), "gaussian")
