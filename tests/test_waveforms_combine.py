"""The beam combine (waveforms.combine): the tiled numba kernel against the numpy reference,
against the plain sequential loop whose numbers the regression pins hold (bit for bit),
and its task cover (every output sample made exactly once)."""

import numba
import numpy as np
import pytest

from waveforms.combine import (
    BLOCK,
    BUFFER_TILE,
    combine_streams,
    combine_streams_reference,
    combine_tasks,
)


@numba.njit(cache=True)
def _sequential(streams, gains, offsets, out):
    # the kernel before tiling: per (s, j), row[n] += a * src[o + n] over i in order
    s_count, j_count, out_len = out.shape
    for s in range(s_count):
        for j in range(j_count):
            row = out[s, j]
            o = offsets[s, j]
            for n in range(out_len):
                row[n] = 0.0
            for i in range(streams.shape[1]):
                a = gains[s, j, i]
                if a == 0:
                    continue
                for n in range(out_len):
                    row[n] += a * streams[s, i, o + n]


def _case(seed, s_count=3, j_count=6, k_count=7, length=5000, win=1300):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((s_count, k_count, length)) + 1j * rng.standard_normal(
        (s_count, k_count, length))
    a = rng.standard_normal((s_count, j_count, k_count)) + 1j * rng.standard_normal(
        (s_count, j_count, k_count))
    a[0, 1, min(2, k_count - 1)] = 0        # zero gains are skipped
    a[1, :, min(4, k_count - 1)] = 0
    off = rng.integers(0, length - win + 1, size=(s_count, j_count))
    off[0, 0], off[0, 1] = 0, length - win          # windows at both buffer edges
    off[2, :3] = off[2, 3]                          # equal offsets
    return x, a, off, win


@pytest.mark.parametrize("seed, win", [(0, 1300), (1, BLOCK), (2, BUFFER_TILE + 1), (3, 7)])
def test_the_combine_is_the_sum_of_the_gains_times_the_windows(seed, win):
    x, a, off, win = _case(seed, win=win)
    ref = combine_streams_reference(x, a, off, win)
    out = combine_streams(x, a, off, win)
    assert np.max(np.abs(out - ref)) < 1e-13 * np.max(np.abs(ref))


@pytest.mark.parametrize("seed, k_count", [(4, 7), (5, 8), (6, 1), (7, 48)])
def test_the_tiled_kernel_gives_the_sequential_loops_numbers_bit_for_bit(seed, k_count):
    x, a, off, win = _case(seed, k_count=k_count, length=9000, win=2500)
    expect = np.empty((a.shape[0], a.shape[1], win), dtype=np.complex128)
    _sequential(x, a, off, expect)
    out = combine_streams(x, a, off, win)
    np.testing.assert_array_equal(out.view(np.float64), expect.view(np.float64))


def test_the_numbers_do_not_depend_on_the_thread_count():
    x, a, off, win = _case(8, length=12000, win=3000)
    before = numba.get_num_threads()
    try:
        outs = []
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            outs.append(combine_streams(x, a, off, win))
    finally:
        numba.set_num_threads(before)
    for out in outs[1:]:
        np.testing.assert_array_equal(out.view(np.float64), outs[0].view(np.float64))


def test_the_tasks_make_every_output_sample_once():
    _, _, off, win = _case(9, s_count=4, j_count=9, length=20000, win=3100)
    order, tasks = combine_tasks(off, win, tile=700)
    made = np.zeros((4, 9, win), dtype=np.int64)
    for s, t0, t1, lo, hi in tasks:
        assert t1 - t0 <= 700
        for j in order[s, lo:hi]:
            n0, n1 = max(t0 - off[s, j], 0), min(t1 - off[s, j], win)
            assert n1 > n0                   # only receivers whose window meets the tile
            made[s, j, n0:n1] += 1
    assert np.all(made == 1)
    for s in range(4):
        assert np.all(np.diff(off[s, order[s]]) >= 0)
