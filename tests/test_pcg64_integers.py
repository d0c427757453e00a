"""waveforms.pcg64_integers against numpy itself: Generator(PCG64).integers(0, 2^k, int64)
and the generator's state afterwards (its buffered 32-bit half included), bit for bit."""

import numpy as np
import pytest

from waveforms.pcg64_integers import pow2_integers_into
from waveforms.pcg64_normal import MIN_PARALLEL


def _pair(seed, buffered):
    a = np.random.default_rng(np.random.SeedSequence(seed))
    b = np.random.default_rng(np.random.SeedSequence(seed))
    if buffered:                                    # leave a 32-bit half in the buffer
        a.integers(0, 2**32, dtype=np.uint32)
        b.integers(0, 2**32, dtype=np.uint32)
        assert a.bit_generator.state["has_uint32"] == 1
    return a, b


@pytest.mark.parametrize("bits", [1, 2, 3, 6, 31])
@pytest.mark.parametrize("extra", [0, 1])
@pytest.mark.parametrize("buffered", [False, True])
def test_values_and_state_equal_numpy(bits, extra, buffered):
    rng, ref = _pair(11, buffered)
    out = np.empty(MIN_PARALLEL + extra, dtype=np.int64)
    assert pow2_integers_into(rng, bits, out)
    np.testing.assert_array_equal(out, ref.integers(0, 2**bits, size=out.size, dtype=np.int64))
    assert rng.bit_generator.state == ref.bit_generator.state
    # two draws in a row (the in-phase then quadrature indices of QAM) continue alike
    again = np.empty(MIN_PARALLEL + 1, dtype=np.int64)
    pow2_integers_into(rng, bits, again)
    np.testing.assert_array_equal(again, ref.integers(0, 2**bits, size=again.size,
                                                      dtype=np.int64))
    assert rng.bit_generator.state == ref.bit_generator.state
    assert rng.standard_normal() == ref.standard_normal()


def test_values_use_every_index():
    # a wrong shift would leave the top indices (or all but 0) unused
    rng = np.random.default_rng(3)
    out = np.empty(MIN_PARALLEL, dtype=np.int64)
    pow2_integers_into(rng, 3, out)
    counts = np.bincount(out, minlength=8)
    expected = out.size / 8
    assert counts.size == 8 and np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_small_draws_and_other_generators_are_numpy():
    rng, ref = _pair(4, False)
    out = np.empty(100, dtype=np.int64)
    assert not pow2_integers_into(rng, 2, out)
    np.testing.assert_array_equal(out, ref.integers(0, 4, size=100, dtype=np.int64))
    ph = np.random.Generator(np.random.Philox(1))
    out = np.empty(MIN_PARALLEL, dtype=np.int64)
    assert not pow2_integers_into(ph, 2, out)
    np.testing.assert_array_equal(
        out, np.random.Generator(np.random.Philox(1)).integers(0, 4, size=out.size,
                                                                dtype=np.int64))


@pytest.mark.parametrize("bits,out,match", [(0, np.empty(3, np.int64), "bits"),
                                            (32, np.empty(3, np.int64), "bits"),
                                            (2, np.empty(3, np.int32), "int64"),
                                            (2, np.empty((2, 2), np.int64), "1-D")])
def test_bad_arguments_are_refused(bits, out, match):
    with pytest.raises(ValueError, match=match):
        pow2_integers_into(np.random.default_rng(0), bits, out)


def test_a_disagreeing_environment_falls_back_to_numpy(monkeypatch):
    import waveforms.pcg64_integers as P

    monkeypatch.setattr(P, "_top_bits", lambda words, shift, first, out: out.fill(0))
    monkeypatch.setattr(P, "_AGREES", [None])
    with pytest.warns(RuntimeWarning, match="differ from numpy"):
        assert not P.fast_path_agrees()
    rng, ref = _pair(12, False)
    out = np.empty(MIN_PARALLEL, dtype=np.int64)
    assert not pow2_integers_into(rng, 2, out)
    np.testing.assert_array_equal(out, ref.integers(0, 4, size=out.size, dtype=np.int64))
