"""data_stream = 'per-user': a child generator per user, drawn concurrently; 'joint' (the
default) unchanged."""

import numpy as np
import pytest

from linksim.config import build_config
from linksim.emulator import EmulatorSettings
from linksim.emulator.stages import draw_data
from linksim.scenario import Stream, drop_rng
from waveforms.symbols_fast import qam_symbols_fast, qam_symbols_per_stream

SEED, DROP = 7, 3


def _settings(**kw):
    return EmulatorSettings.from_config(build_config()).replace(**kw)


def _child(i):
    # the documented seeding: SeedSequence(seed, spawn_key=(drop, stream, 'data', i))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        SEED, spawn_key=(DROP, int(Stream.DATA_NOISE), 0x64617461, i))))


def test_per_user_rows_come_from_their_documented_children():
    st = _settings(data_stream="per-user")
    data = draw_data(st, drop_rng(SEED, DROP, Stream.DATA_NOISE), 5, 3, 16)
    assert data.shape == (5, 3, 16) and data.dtype == np.complex128
    for i in range(5):
        np.testing.assert_array_equal(data[i], qam_symbols_fast(_child(i), "gaussian", (3, 16)))


def test_per_user_leaves_the_joint_generator_for_the_noise():
    rng = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    draw_data(_settings(data_stream="per-user"), rng, 4, 2, 8)
    fresh = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    np.testing.assert_array_equal(rng.standard_normal(10), fresh.standard_normal(10))


def test_joint_is_todays_single_draw():
    rng = drop_rng(SEED, DROP, Stream.DATA_NOISE)
    got = draw_data(_settings(), rng, 4, 2, 8)
    ref = qam_symbols_fast(drop_rng(SEED, DROP, Stream.DATA_NOISE), "gaussian", (4, 2, 8))
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("modulation", ["gaussian", "qpsk", "16qam"])
def test_thread_count_changes_no_bit(modulation):
    def rngs():
        return [_child(i) for i in range(6)]

    one = qam_symbols_per_stream(rngs(), modulation, (4, 32), workers=1)
    two = qam_symbols_per_stream(rngs(), modulation, (4, 32), workers=2)
    many = qam_symbols_per_stream(rngs(), modulation, (4, 32), workers=6)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, many)


def test_per_user_symbols_are_unit_power_and_uncorrelated_across_users():
    k, n = 8, 4096
    data = draw_data(_settings(data_stream="per-user"), drop_rng(1, 0, Stream.DATA_NOISE),
                     k, 1, n)[:, 0, :]
    # complex Gaussian, E|s|^2 = 1, var|s|^2 = 1: the mean power over k n samples has
    # standard error 1/sqrt(k n); 5 standard errors
    assert abs(np.mean(np.abs(data) ** 2) - 1.0) < 5 / np.sqrt(k * n)
    # cross-correlation of independent unit-power rows: standard error 1/sqrt(n) per pair
    c = data @ data.conj().T / n
    off = c[~np.eye(k, dtype=bool)]
    assert np.max(np.abs(off)) < 5 / np.sqrt(n)


def test_an_unknown_data_stream_is_refused():
    with pytest.raises(ValueError, match="data_stream must be one of joint, per-user, counter"):
        draw_data(_settings(data_stream="bogus"), drop_rng(0, 0, 3), 1, 1, 1)


def test_config_names_the_choices():
    from linksim.config import ConfigError

    assert build_config().data_stream == "joint"
    assert build_config({"data_stream": "per-user"}).data_stream == "per-user"
    with pytest.raises(ConfigError, match="data_stream"):
        build_config({"data_stream": "bogus"})
