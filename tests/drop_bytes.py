"""Whole drops byte for byte: the developers' check that a change kept every number.

The regression pins (tests/test_regression_pins.py) compare to 1e-12 relative, which a
change in the last bits passes; a refactor or a speed-up that claims "the same numbers" is
checked here instead, against the code before it:

    git worktree add /tmp/base <rev>
    (cd /tmp/base && PYTHONPATH=/tmp/base python /path/to/tests/drop_bytes.py dump /tmp/a.npz)
    python tests/drop_bytes.py dump /tmp/b.npz
    python tests/drop_bytes.py compare /tmp/a.npz /tmp/b.npz     # exit 1 on any difference

Each case is drop 0 of seed 3 under MRT (linksim.app.bench_case.drop_case) through
linksim.emulator.drop.emulate_drop; the received, desired and noise grids and the measured
SINRs are kept as raw bytes (so -0.0 against +0.0 and NaN payloads count). Numbers that
downstream code computes from an array can depend on its memory order too (numpy's
reductions follow it), which is why the SINRs are part of the digest.
"""

from __future__ import annotations

import sys

import numpy as np

#: (label, users, satellites, observed symbols, config changes)
CASES = (
    ("flat K=12", 12, 5, 14, {}),
    ("flat K=48", 48, 5, 14, {}),
    ("16qam K=8", 8, 3, 14, {"modulation": "16qam"}),
    ("single K=48", 48, 5, 14, {"precision": "single"}),
    ("tdl-c K=16", 16, 3, 14, {"channel_profile": "ntn-tdl-c"}),
    ("orbit K=48", 48, 5, 14, {"geometry_mode": "orbit"}),
)


def drop_bytes(cases=CASES, seed: int = 3) -> dict[str, np.ndarray]:
    """{'<label> <array>': uint8 raw bytes} of every case's drop (module docstring)."""
    from linksim.app.bench_case import drop_case
    from linksim.config import LinkConfig
    from linksim.emulator.drop import emulate_drop
    from precoders import design

    out = {}
    for label, users, sats, symbols, changes in cases:
        case = drop_case(LinkConfig(), users, sats, seed=seed, **changes)
        w = design("mrt", case.scsi, 10 ** (case.cfg.power_dbw / 10)).W
        got, measured = emulate_drop(case.cfg, case.drop, case.scsi, w, seed, 0, symbols,
                                     links=case.links)
        for name in ("received", "desired", "noise"):
            out[f"{label} {name}"] = np.ascontiguousarray(getattr(got, name)).view(np.uint8).ravel()
        out[f"{label} sinr"] = np.ascontiguousarray(measured.sinr).view(np.uint8).ravel()
    return out


def differences(a: dict, b: dict) -> list[str]:
    """The keys whose bytes differ, or that only one side has."""
    keys = sorted(set(a) | set(b))
    return [k for k in keys if k not in a or k not in b or not np.array_equal(a[k], b[k])]


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "dump":
        np.savez(argv[1], **drop_bytes())
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        with np.load(argv[1]) as fa, np.load(argv[2]) as fb:
            bad = differences(dict(fa), dict(fb))
            count = len(set(fa.files) | set(fb.files))
        for key in bad:
            print(f"differs: {key}")
        print(f"{count - len(bad)} of {count} arrays byte for byte equal")
        return 1 if bad else 0
    print("usage: drop_bytes.py dump OUT.npz | compare A.npz B.npz", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
