"""waveforms.gauss_fast (counter-based Philox4x32-10 + ziggurat normals) and the
data_stream / noise_stream = 'counter' switches that use it."""

import math

import numba
import numpy as np
import pytest
from scipy.special import ndtr

from linksim.config import ConfigError, build_config
from linksim.emulator import EmulatorSettings
from linksim.emulator.stages import draw_data, draw_noise
from linksim.scenario import Stream, drop_rng
from waveforms import gauss_fast as gf
from waveforms.gauss_fast import row_words_reference, word_grid

KEY = np.array([0x0123456789ABCDEF, 0xFEDCBA9876543210], dtype=np.uint64)


# Random123's known-answer vectors (tests/kat_vectors of the Random123 library, the three
# "philox4x32 10" lines): counter (4 words), key (2 words), output (4 words)
KAT = [((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
        (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
       ((0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), (0xffffffff, 0xffffffff),
        (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
       ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
        (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]


def _stream_for(counter, key):
    """(stream (s0, s1), row, block) whose Philox block is (counter, key)."""
    s0 = key[0] | (key[1] << 32)
    s1 = counter[2] | (counter[3] << 32)
    return np.array([s0, s1], dtype=np.uint64), counter[1], counter[0]


# ------------------------------------------------------------------------------ the bits
@pytest.mark.parametrize("case", range(len(KAT)))
def test_philox_matches_the_random123_known_answers(case):
    ctr, key, want = KAT[case]
    got = gf.philox4x32_reference(np.array(ctr, np.uint32), np.array(key, np.uint32))
    np.testing.assert_array_equal(got, np.array(want, np.uint32))
    # the compiled generator: block ctr[0] of row ctr[1] of the stream (key, ctr[2:]) is the
    # word pair (out0 | out1 << 32, out2 | out3 << 32)
    stream, row, block = _stream_for(ctr, key)
    np.testing.assert_array_equal(gf.row_words(stream, row, 2, first_block=block),
                                  [want[0] | (want[1] << 32), want[2] | (want[3] << 32)])


@pytest.mark.parametrize("row", [0, 1, 7, 2**32 - 1])
def test_compiled_words_equal_the_reference(row):
    np.testing.assert_array_equal(gf.row_words(KEY, row, 201),
                                  gf.row_words_reference(KEY, row, 201))


def test_philox_blocks_change_with_every_counter_and_key_word():
    # a bijection of the counter for a fixed key: 10^4 distinct counters, 10^4 distinct
    # outputs; and a changed key word changes every output word
    ctr = np.zeros((10_000, 4), np.uint32)
    ctr[:, 0] = np.arange(10_000)
    out = gf.philox4x32_reference(ctr, np.array([1, 2], np.uint32))
    assert np.unique(out.view(np.dtype((np.void, 16)))).size == 10_000
    other = gf.philox4x32_reference(ctr, np.array([1, 3], np.uint32))
    assert np.mean(out == other) < 1e-3


# ------------------------------------------------------------------------------ the tables
def test_ziggurat_tables_close_and_match_the_literature():
    x = gf.WI * 2.0**52                          # layer edges x_i (x_0 entry: base width q)
    f = np.exp(-0.5 * x[1:] ** 2)
    np.testing.assert_array_equal(gf.FI[1:], f)
    assert gf.FI[0] == 1.0 and gf.KI[1] == 0
    assert np.all(np.diff(x[1:]) > 0) and x[-1] == gf.ZIGGURAT_R
    # every layer i >= 2 has the area v: x_i (f(x_{i-1}) - f(x_i)) = v (rounding of the
    # float64 recursion over 255 steps: well below 1e-9 relative)
    areas = x[2:] * (gf.FI[1:-1] - gf.FI[2:])
    np.testing.assert_allclose(areas, gf.ZIGGURAT_V, rtol=1e-9)
    # the top layer closes the ziggurat: x_1 (1 - f(x_1)) = v, which is what defines r
    assert x[1] * (1.0 - gf.FI[1]) == pytest.approx(gf.ZIGGURAT_V, rel=1e-9)
    # Marsaglia and Tsang's published v for n = 256 (12 digits)
    assert gf.ZIGGURAT_V == pytest.approx(0.00492867323399, rel=1e-11)


def test_ziggurat_on_pcg64_words_is_numpys_standard_normal():
    # numpy's standard_normal is the same 256-layer ziggurat on 64-bit words: fed the same
    # PCG64 words, the transform gives numpy's values (its tables agree with ours to ~1e-13
    # relative: rounding of their computation) and uses exactly as many words (the same
    # accept / wedge / tail decisions, including the tail's two-word loop)
    n = 200_000
    words = np.random.PCG64(11).random_raw(n + n // 10)
    z, used = gf.ziggurat_reference(words, n)
    bg = np.random.PCG64(11)
    want = np.random.Generator(bg).standard_normal(n)
    np.testing.assert_allclose(z, want, rtol=1e-12, atol=0)
    after = np.random.PCG64(11)
    after.random_raw(used)
    assert after.state == bg.state
    assert used > n and np.sum(np.abs(z) > gf.ZIGGURAT_R) > 10      # wedges and tails ran


# ----------------------------------------------------------------- compiled == reference
def _slow_rows(key, rows, words_per_row):
    """Rows whose first words hit the tail (layer 0 beyond r) and a wedge."""
    w = np.stack([gf.row_words_reference(key, r, words_per_row) for r in range(rows)])
    idx = (w & np.uint64(0xFF)).astype(np.intp)
    rabs = (w >> np.uint64(9)) & np.uint64(2**52 - 1)
    slow = rabs >= gf.KI[idx]
    return np.flatnonzero((slow & (idx == 0)).any(axis=1)), \
        np.flatnonzero((slow & (idx != 0)).any(axis=1))


def test_kernel_equals_reference_bit_for_bit_including_wedges_and_tails():
    rows, n = 1500, 16                           # 32 normals per row: ~33 words
    tail_rows, wedge_rows = _slow_rows(KEY, rows, 24)
    # P(tail word) = (1 - ki[0] / 2^52) / 256 = 2.6e-4 per word: ~9 of 36000 words
    assert tail_rows.size >= 2 and wedge_rows.size >= 50
    keys = np.stack([KEY, KEY ^ np.uint64(1)])
    got = gf.complex_normal(keys, rows, n)
    assert got.shape == (2, rows, n) and got.dtype == np.complex128
    pick = np.unique(np.concatenate([tail_rows, wedge_rows[:20], [0, 1, rows - 1]]))
    for r in pick:
        words = gf.row_words_reference(KEY, int(r), 4 * n + 64)
        z, _ = gf.ziggurat_reference(words, 2 * n)
        np.testing.assert_array_equal(got[0, r].real, z[0::2] * math.sqrt(0.5))
        np.testing.assert_array_equal(got[0, r].imag, z[1::2] * math.sqrt(0.5))
    assert np.any(np.abs(got[0, tail_rows]) * math.sqrt(2) > gf.ZIGGURAT_R)
    ref = gf.complex_normal_reference(keys, 6, 37, scale=np.array([[1.0] * 6, [2.5] * 6]))
    np.testing.assert_array_equal(gf.complex_normal(keys, 6, 37,
                                                    np.array([[1.0] * 6, [2.5] * 6])), ref)


def test_thread_count_changes_no_bit():
    keys = np.stack([KEY, KEY + np.uint64(5), KEY + np.uint64(9)])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = gf.complex_normal(keys, 40, 300)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = gf.complex_normal(keys, 40, 300)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    # a row is addressable: the same values when fewer rows are asked for
    np.testing.assert_array_equal(gf.complex_normal(keys[1], 3, 300)[0], one[1, :3])


def test_other_keys_and_rows_give_other_streams():
    a = gf.complex_normal(np.stack([KEY, KEY ^ np.uint64(2**63)]), 2, 500)
    # any equal value between two streams would be a 2^-50-probability coincidence
    assert not np.intersect1d(a[0, 0].real, a[0, 1].real).size
    assert not np.intersect1d(a[0, 0].real, a[1, 0].real).size


# ------------------------------------------------------------------------- distribution
@pytest.fixture(scope="module")
def normals():
    """2^20 normals (real and imaginary parts, unit variance) of 64 rows x 8192."""
    return gf.complex_normal(KEY, 64, 8192, scale=1.0)[0]


def test_kolmogorov_smirnov_against_the_normal_cdf(normals):
    x = np.sort(np.concatenate([normals.real.ravel(), normals.imag.ravel()]))
    n = x.size
    cdf = ndtr(x)
    d = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    # Kolmogorov's limit P(sqrt(n) D_n > t) ~ 2 exp(-2 t^2): t = sqrt(ln(2 / 0.01) / 2)
    # = 1.628 at the 1% level
    assert d < math.sqrt(math.log(2 / 0.01) / 2) / math.sqrt(n)


def test_moments_and_tail_fraction(normals):
    x = np.concatenate([normals.real.ravel(), normals.imag.ravel()])
    n = x.size
    # N(0, 1): var(x) = 1, var(x^2) = 2, var(x^4) = E x^8 - 9 = 105 - 9 = 96; 5 SE each
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert abs(np.mean(x**2) - 1.0) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(x**4) - 3.0) < 5 * math.sqrt(96 / n)
    # the tail path: P(|x| > r) = erfc(r / sqrt 2) = 2.6e-4, and P(|x| > 3.6) (just inside
    # the base strip); binomial SE sqrt(p (1 - p) / n)
    for t in (3.6, gf.ZIGGURAT_R, 4.2):
        p = math.erfc(t / math.sqrt(2))
        frac = np.mean(np.abs(x) > t)
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n), t


def test_independence_of_neighbours(normals):
    # correlation of independent unit-variance samples: SE 1/sqrt(n) per pair; 5 SE
    re, im = normals.real, normals.imag                # unit-variance parts, [rows, n]

    def corr(a, b):
        return float(np.mean(a * b)), a.size

    pairs = [corr(re, im),                                        # parts of one sample
             corr(re[:, 1:], re[:, :-1]), corr(im[:, 1:], re[:, :-1]),  # adjacent positions
             corr(re[1:], re[:-1]), corr(im[1:], im[:-1])]        # adjacent rows (counters)
    other = gf.complex_normal(KEY + np.uint64(1), 64, 8192, scale=1.0)   # adjacent key
    pairs.append(corr(re, other.real))
    for c, n in pairs:
        assert abs(c) < 5 / math.sqrt(n)


# ----------------------------------------------------------------------------- the switches
SEED, DROP = 7, 3


def _settings(**kw):
    return EmulatorSettings.from_config(build_config()).replace(**kw)


def test_counter_data_rows_come_from_their_documented_keys():
    st = _settings(data_stream="counter")
    rng = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    data = draw_data(st, rng, 3, 5, 16)
    for i in range(3):
        seq = np.random.SeedSequence(SEED, spawn_key=(DROP, int(Stream.DATA_NOISE),
                                                      0x64617461, i))
        np.testing.assert_array_equal(data[i], gf.complex_normal(seq.generate_state(
            2, np.uint64), 5, 16)[0])
    fresh = drop_rng(SEED, DROP, Stream.DATA_NOISE)          # rng not advanced
    np.testing.assert_array_equal(rng.standard_normal(4), fresh.standard_normal(4))


def test_counter_data_unit_power_per_user_and_uncorrelated_users():
    k, n = 8, 4096
    data = draw_data(_settings(data_stream="counter"), drop_rng(1, 0, Stream.DATA_NOISE),
                     k, 1, n)[:, 0, :]
    # E|s|^2 = 1 and var|s|^2 = 1 for unit complex Gaussian: per user SE 1/sqrt(n); 5 SE
    assert np.all(np.abs(np.mean(np.abs(data) ** 2, axis=1) - 1.0) < 5 / np.sqrt(n))
    c = data @ data.conj().T / n                     # cross-correlation: SE 1/sqrt(n)
    assert np.max(np.abs(c[~np.eye(k, dtype=bool)])) < 5 / np.sqrt(n)


def test_counter_noise_has_each_users_power():
    power = np.array([1e-3, 0.5, 2.0, 7.0])
    n = 8192
    rng = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    noise = draw_noise(rng, power, 4, n, "counter")
    assert noise.shape == (4, n) and noise.dtype == np.complex128
    # |w|^2 of complex Gaussian of power P: mean P, std P: SE P / sqrt(n); 5 SE
    got = np.mean(np.abs(noise) ** 2, axis=1)
    assert np.all(np.abs(got / power - 1.0) < 5 / np.sqrt(n))
    seq = np.random.SeedSequence(SEED, spawn_key=(DROP, int(Stream.DATA_NOISE), 0x6e6f6973))
    unit = gf.complex_normal(seq.generate_state(2, np.uint64), 4, n, 1.0)[0]
    np.testing.assert_allclose(noise, unit * np.sqrt(power / 2)[:, None], rtol=1e-15)
    fresh = drop_rng(SEED, DROP, Stream.DATA_NOISE)          # rng not advanced
    np.testing.assert_array_equal(rng.standard_normal(4), fresh.standard_normal(4))
    c = noise @ noise.conj().T / n / np.sqrt(np.outer(power, power))
    assert np.max(np.abs(c[~np.eye(4, dtype=bool)])) < 5 / np.sqrt(n)


def test_joint_noise_is_unchanged():
    power = np.array([0.5, 2.0])
    rng = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    sigma = np.sqrt(power / 2)[:, None]
    want = sigma * (rng.standard_normal((2, 100)) + 1j * rng.standard_normal((2, 100)))
    for args in ((), ("joint",)):
        got = draw_noise(drop_rng(SEED, DROP, Stream.DATA_NOISE), power, 2, 100, *args)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="noise_stream must be one of joint, counter"):
        draw_noise(rng, power, 2, 100, "bogus")


def test_config_choices():
    assert build_config().noise_stream == "joint"
    assert build_config({"data_stream": "counter", "noise_stream": "counter"}).noise_stream \
        == "counter"
    assert build_config({"data_stream": "counter", "modulation": "qpsk"}).data_stream \
        == "counter"
    with pytest.raises(ConfigError, match="noise_stream"):
        build_config({"noise_stream": "bogus"})


def test_word_grid_rows_are_the_reference_word_sequences():
    streams = np.array([[1, 2], [2**64 - 1, 12345]], dtype=np.uint64)
    grid = word_grid(streams, 3, 70)          # 70 words: more than one 64-word batch
    for u in range(2):
        for r in range(3):
            np.testing.assert_array_equal(grid[u, r], row_words_reference(streams[u], r, 70))
    with pytest.raises(ValueError, match="num_rows must be in"):
        word_grid(streams, 2**32 + 1, 1)


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam"])
def test_counter_qam_is_the_words_top_bits_on_the_constellation(modulation):
    from linksim.emulator.counter_streams import data_keys
    from waveforms.ofdm import qam_symbols
    from waveforms.symbols_fast import qam_from_words_reference

    st = _settings(data_stream="counter", modulation=modulation)
    data = draw_data(st, drop_rng(SEED, DROP, Stream.DATA_NOISE), 2, 3, 40)
    keys = data_keys(drop_rng(SEED, DROP, Stream.DATA_NOISE), 2)
    k = {"qpsk": 1, "16qam": 2, "64qam": 3}[modulation]
    side = 1 << k
    # the constellation of the joint stream's QAM (its points, as a set)
    points = np.unique(np.round(qam_symbols(np.random.default_rng(0), modulation, 4000), 12))
    assert points.size == side * side
    for u in range(2):
        for r in range(3):
            words = row_words_reference(keys[u], r, 40)
            np.testing.assert_array_equal(data[u, r], qam_from_words_reference(words, modulation))
    assert np.all(np.isin(np.round(data, 12), points))


def test_counter_qam_points_are_equally_likely_with_unit_power():
    # 16-QAM from 2^17 words: each of the 16 points has probability 1/16; its count is
    # binomial with SE sqrt(n p (1 - p)); unit average power, and I independent of Q
    st = _settings(data_stream="counter", modulation="16qam")
    data = draw_data(st, drop_rng(3, 0, Stream.DATA_NOISE), 4, 32, 1024).ravel()
    n = data.size
    _, counts = np.unique(np.round(data, 12), return_counts=True)
    p = 1 / 16
    assert counts.size == 16
    assert np.max(np.abs(counts - n * p)) < 5 * np.sqrt(n * p * (1 - p))
    # power: |x|^2 takes the values 0.2, 1.0, 1.8 with probabilities 1/4, 1/2, 1/4: mean 1,
    # variance 0.25 0.8^2 + 0.25 0.8^2 = 0.32 per symbol
    assert abs(np.mean(np.abs(data) ** 2) - 1.0) < 5 * np.sqrt(0.32 / n)
    assert abs(np.corrcoef(data.real, data.imag)[0, 1]) < 5 / np.sqrt(n)


def test_a_drop_with_both_counter_streams_measures_the_same_sinr():
    from linksim.emulator import emulate_drop
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design

    base = {"num_users": 4, "num_sats": 2, "antenna_size": [4, 4], "power_dbw": 0.0}
    cfg = build_config(base)
    cfg_c = build_config(base | {"data_stream": "counter", "noise_stream": "counter"})
    diffs = []
    for drop_index in range(2):
        drop = draw_drop(cfg, 5, drop_index)
        scsi = scsi_from_drop(drop, cfg)
        w = design("mrt", scsi, 1.0).W
        out, m = emulate_drop(cfg, drop, scsi, w, 5, drop_index)
        out_c, m_c = emulate_drop(cfg_c, drop, scsi, w, 5, drop_index)
        assert not np.allclose(out.symbols, out_c.symbols)          # other data, same drop
        diffs.append(10 * np.log10(m_c.sinr / m.sinr))
    d = np.concatenate(diffs)
    # the genie SINR = desired / else power; else power is a mean of M Q samples, so two
    # independent data/noise realisations differ by ~sqrt(2 / (M Q)) in ln SINR per user
    # (the desired gain is fitted on the noise-free desired component); 5 SE per user, in dB
    se_db = 10 / math.log(10) * math.sqrt(2 / (cfg.num_observed_symbols
                                             * cfg.num_used_subcarriers))
    assert np.all(np.abs(d) < 5 * se_db)
    assert abs(d.mean()) < 5 * se_db / math.sqrt(d.size)
