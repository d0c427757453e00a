"""waveforms.pcg64_normal against numpy itself (the reference): the words of PCG64, the
normals of Generator.standard_normal and the generator's state afterwards, bit for bit."""

import numba
import numpy as np
import pytest

from waveforms.pcg64_normal import (
    MIN_PARALLEL,
    fast_path_available,
    pcg64_words,
    standard_normal_into,
)


def _pair(seed, warmup=0):
    """Two equal generators, both advanced by ``warmup`` normals."""
    a = np.random.default_rng(np.random.SeedSequence(seed))
    b = np.random.default_rng(np.random.SeedSequence(seed))
    a.standard_normal(warmup)
    b.standard_normal(warmup)
    return a, b


def test_compiled_path_is_in_use():
    # CI must exercise the compiled path, not only the numpy fallback
    assert fast_path_available()
    rng = np.random.default_rng(1)
    stats = standard_normal_into(rng, np.empty(MIN_PARALLEL))
    assert stats is not None and stats["consumed"] >= MIN_PARALLEL


class TestWords:
    @pytest.mark.parametrize("num_words,start,segments",
                             [(1, 0, None), (7, 3, 1), (1001, 0, 3), (65537, 12345, None),
                              (200003, 5, 13)])
    def test_words_equal_random_raw(self, num_words, start, segments):
        bg = np.random.PCG64(np.random.SeedSequence(99))
        before = bg.state
        words = pcg64_words(bg, num_words, start, segments)
        assert bg.state == before                      # not advanced
        ref = np.random.PCG64()
        ref.state = before
        ref.random_raw(start)
        np.testing.assert_array_equal(words, ref.random_raw(num_words))

    def test_empty(self):
        assert pcg64_words(np.random.PCG64(1), 0).size == 0


class TestNormals:
    @pytest.mark.parametrize("n", [MIN_PARALLEL, 300_001])
    @pytest.mark.parametrize("segments", [None, 1, 2, 7, 64])
    def test_values_and_state_equal_numpy(self, n, segments):
        rng, ref = _pair(2024, warmup=5)
        out = np.empty(n)
        standard_normal_into(rng, out, segments=segments)
        np.testing.assert_array_equal(out, ref.standard_normal(n))
        assert rng.bit_generator.state == ref.bit_generator.state
        # and the next draw continues the same stream
        np.testing.assert_array_equal(rng.standard_normal(3), ref.standard_normal(3))

    def test_sample_exercises_wedges_and_tail(self):
        # the equality test above only means something if its words include the slow paths:
        # count the words with layer 0 beyond the base strip (tail) among the first n
        from waveforms.pcg64_normal import _KI

        words = pcg64_words(np.random.default_rng(np.random.SeedSequence(2024)).bit_generator,
                            300_001)
        idx = (words & np.uint64(0xFF)).astype(np.intp)
        rabs = (words >> np.uint64(9)) & np.uint64((1 << 52) - 1)
        slow = rabs >= _KI[idx]
        tail = slow & (idx == 0)
        # the rates the tables imply: slow 1 - mean(ki) / 2^52, tail (1 - ki[0] / 2^52) / 256
        p_slow = 1.0 - float(np.mean(_KI.astype(float))) / 2.0**52
        p_tail = (1.0 - float(_KI[0]) / 2.0**52) / 256
        n = words.size
        assert slow.mean() == pytest.approx(p_slow, abs=5 * np.sqrt(p_slow / n))
        assert tail.sum() >= n * p_tail - 5 * np.sqrt(n * p_tail) > 10

    def test_buffered_half_word_is_kept(self):
        rng, ref = _pair(5)
        rng.integers(0, 2**32, dtype=np.uint32)        # leaves a buffered 32-bit half
        ref.integers(0, 2**32, dtype=np.uint32)
        assert rng.bit_generator.state["has_uint32"] == 1
        out = np.empty(MIN_PARALLEL + 11)
        standard_normal_into(rng, out)
        np.testing.assert_array_equal(out, ref.standard_normal(out.size))
        assert rng.bit_generator.state == ref.bit_generator.state
        assert rng.integers(0, 2**32, dtype=np.uint32) == ref.integers(0, 2**32, dtype=np.uint32)

    def test_scale_and_strided_output(self):
        rng, ref = _pair(6)
        z = np.zeros((MIN_PARALLEL, 2))
        standard_normal_into(rng, z[:, 1], np.sqrt(0.5))
        np.testing.assert_array_equal(z[:, 1], np.multiply(ref.standard_normal(MIN_PARALLEL),
                                                           np.sqrt(0.5)))
        assert not z[:, 0].any()                       # the other column untouched
        assert rng.bit_generator.state == ref.bit_generator.state

    def test_merge_outside_recorded_starts_is_walked_again(self):
        # one recorded start per segment: every segment whose true first attempt is not its
        # first word (~1.2 % of 2000 segments) is walked again, sequentially
        rng, ref = _pair(7)
        out = np.empty(400_000)
        stats = standard_normal_into(rng, out, segments=2000, recorded=1)
        assert stats["rewalks"] > 0
        np.testing.assert_array_equal(out, ref.standard_normal(out.size))
        assert rng.bit_generator.state == ref.bit_generator.state

    def test_too_few_words_are_made_again(self):
        rng, ref = _pair(8)
        out = np.empty(200_000)
        stats = standard_normal_into(rng, out, margin_words=-20_000)
        # the first try made fewer words than normals: only a second try can have succeeded
        assert stats["words"] > out.size
        np.testing.assert_array_equal(out, ref.standard_normal(out.size))
        assert rng.bit_generator.state == ref.bit_generator.state

    def test_thread_count_does_not_change_numbers(self):
        outs = []
        before = numba.get_num_threads()
        try:
            for threads in (1, before):
                numba.set_num_threads(threads)
                rng = np.random.default_rng(9)
                out = np.empty(300_000)
                standard_normal_into(rng, out)
                outs.append((out, rng.bit_generator.state))
        finally:
            numba.set_num_threads(before)
        np.testing.assert_array_equal(outs[0][0], outs[1][0])
        assert outs[0][1] == outs[1][1]

    @pytest.mark.parametrize("n", [0, 1, 1000])
    def test_small_draws_are_numpy(self, n):
        rng, ref = _pair(10)
        out = np.empty(n)
        assert standard_normal_into(rng, out, 2.0) is None
        np.testing.assert_array_equal(out, 2.0 * ref.standard_normal(n))
        assert rng.bit_generator.state == ref.bit_generator.state

    def test_other_bit_generators_are_numpy(self):
        rng = np.random.Generator(np.random.Philox(3))
        ref = np.random.Generator(np.random.Philox(3))
        out = np.empty(MIN_PARALLEL)
        assert standard_normal_into(rng, out) is None
        np.testing.assert_array_equal(out, ref.standard_normal(out.size))

    @pytest.mark.parametrize("bad", [np.empty(4, np.float32), np.empty((2, 2))])
    def test_rejects_other_outputs(self, bad):
        with pytest.raises(ValueError, match="1-D float64"):
            standard_normal_into(np.random.default_rng(0), bad)


def test_a_disagreeing_environment_falls_back_to_numpy(monkeypatch):
    # a table that differs from numpy's in one entry (as another numba might ship) must be
    # caught by the once-per-process check, and numpy must then draw
    import waveforms.pcg64_normal as P

    wrong = P._WI.copy()
    wrong[7] = np.nextafter(wrong[7], 1.0)
    monkeypatch.setattr(P, "_WI", wrong)
    monkeypatch.setattr(P, "_AGREES", [None])
    with pytest.warns(RuntimeWarning, match="differ from numpy"):
        assert not P.fast_path_available()
    rng, ref = _pair(12)
    out = np.empty(MIN_PARALLEL)
    assert standard_normal_into(rng, out) is None
    np.testing.assert_array_equal(out, ref.standard_normal(out.size))
