"""Data symbols and noise from the counter-based generator (waveforms.gauss_fast):
``data_stream = 'counter'`` and ``noise_stream = 'counter'``.

Streams (each named by 128 bits, ``SeedSequence.generate_state(2, np.uint64)``:
waveforms.gauss_fast.stream_key), from the drop's DATA_NOISE SeedSequence
``SeedSequence(seed, spawn_key=(drop, 3))``:

- data of user i: the child ``spawn_key = (drop, 3, 0x64617461, i)`` ("data", the same child
  as data_stream = 'per-user'), row b = burst symbol b (0 .. B-1), position q = used
  subcarrier q: user i, burst symbol b is counter row b of key i;
- noise: the child ``spawn_key = (drop, 3, 0x6e6f6973)`` ("nois"), row k = user k, position
  = receive sample.

``rng`` is never advanced, so the other stream (if 'joint') draws from it as if this one
were not there. The values depend on neither the thread count nor the worker count.
"""

from __future__ import annotations

import numpy as np

from linksim.emulator.stages import _DATA_CHILD_KEY as DATA_CHILD_KEY  # per-user's children
from linksim.emulator.stages import child_seed_sequence

#: spawn-key marker of the counter-based noise key ("nois" in ASCII)
NOISE_CHILD_KEY = 0x6e6f6973


def _key(rng: np.random.Generator, option: str, *marker: int) -> np.ndarray:
    from waveforms.gauss_fast import stream_key

    return stream_key(child_seed_sequence(rng, f"{option}='counter'", *marker))


def data_keys(rng: np.random.Generator, num_streams: int) -> np.ndarray:
    """uint64 [K, 2]: the stream of every user's data (child (marker, i))."""
    return np.stack([_key(rng, "data_stream", DATA_CHILD_KEY, i) for i in range(num_streams)])


def noise_key(rng: np.random.Generator) -> np.ndarray:
    """uint64 [2]: the stream of the drop's noise (child (0x6e6f6973,))."""
    return _key(rng, "noise_stream", NOISE_CHILD_KEY)


def counter_data(modulation: str, rng: np.random.Generator, num_streams: int,
                 num_symbols: int, num_bins: int) -> np.ndarray:
    """Unit-power data complex128 [K, B, Q]: [i, b, q] comes from position q of row b of user
    i's stream. Gaussian: real and imaginary parts N(0, 1/2) (the ziggurat on the row's
    words). QAM (square, Gray mapped per axis, the constellation of waveforms.ofdm.qam_symbols):
    word q of the row; its top k bits are the in-phase Gray index and the next k bits the
    quadrature one (k bits per axis; the top bits of a Philox word are uniform and
    independent)."""
    from waveforms.gauss_fast import complex_normal, word_grid
    from waveforms.ofdm import MODULATIONS
    from waveforms.symbols_fast import qam_from_words

    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {', '.join(MODULATIONS)} "
                         f"(got {modulation!r})")
    keys = data_keys(rng, num_streams)
    if modulation == "gaussian":
        return complex_normal(keys, num_symbols, num_bins)
    return qam_from_words(word_grid(keys, num_symbols, num_bins), modulation)


def counter_noise(rng: np.random.Generator, noise_power_w: np.ndarray, num_users: int,
                  num_samples: int) -> np.ndarray:
    """Complex AWGN complex128 [K, num_samples] of power noise_power_w[k] per sample: row k of
    the noise stream, parts sqrt(noise_power_w[k] / 2) z."""
    from waveforms.gauss_fast import complex_normal

    sigma = np.sqrt(np.asarray(noise_power_w, dtype=float) / 2.0)
    sigma = np.broadcast_to(sigma, (num_users,))
    return complex_normal(noise_key(rng), num_users, num_samples, sigma[None, :])[0]
