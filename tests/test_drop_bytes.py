"""tests/drop_bytes.py, the byte-for-byte drop check: it must see a change in one bit and
nothing where nothing changed."""

import numpy as np
import pytest
from drop_bytes import differences, drop_bytes, main

TINY = (("flat", 3, 2, 2, {}), ("single", 3, 2, 2, {"precision": "single"}))


@pytest.fixture(scope="module")
def digest():
    return drop_bytes(TINY)


def test_the_same_code_gives_the_same_bytes(digest):
    again = drop_bytes(TINY)
    assert sorted(digest) == sorted(again) and len(digest) == 2 * 4
    assert differences(digest, again) == []


def test_one_flipped_bit_is_seen(digest):
    changed = {k: v.copy() for k, v in digest.items()}
    changed["flat received"][5] ^= 1                     # one bit of one sample
    assert differences(digest, changed) == ["flat received"]
    del changed["single sinr"]
    assert differences(digest, changed) == ["flat received", "single sinr"]


def test_a_sign_of_zero_is_seen():
    a = {"x": np.array([0.0]).view(np.uint8)}
    b = {"x": np.array([-0.0]).view(np.uint8)}
    assert differences(a, b) == ["x"]


def test_compare_exit_codes(tmp_path, digest, capsys):
    np.savez(tmp_path / "a.npz", **digest)
    changed = dict(digest)
    changed["flat noise"] = digest["flat noise"].copy()
    changed["flat noise"][0] ^= 0x80
    np.savez(tmp_path / "b.npz", **changed)
    assert main(["compare", str(tmp_path / "a.npz"), str(tmp_path / "a.npz")]) == 0
    assert main(["compare", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]) == 1
    assert "differs: flat noise" in capsys.readouterr().out
    assert main(["nonsense"]) == 2
