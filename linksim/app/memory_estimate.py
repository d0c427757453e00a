"""Peak memory of one task of ``linksim figure`` and ``linksim dataset``, estimated before the
run from the arrays the task allocates (bytes; no drop is drawn, nothing is allocated).

Notation: S satellites, K users, N_t = N_x N_y antennas, N the FFT size, L = N + N_cp the
symbol length, Q used subcarriers, M observed OFDM symbols of the waveform-measured series,
f_s = N * subcarrier spacing, c the speed of light, R the coverage radius.

Differential delay.  The users of one satellite lie within the coverage disc, so two slant
ranges differ by at most the distance of the users, 2 R (triangle inequality): the
precompensated streams span at most D = ceil(2 R f_s / c) samples more than a receive window
(linksim.emulator.stages.plan_burst; measured 0.5-0.7 D on default drops). A receive window
holds W = M L + 2 (taps + 2) + 1 samples.

Waveform-measured series (validation.drop_response, one emulator run with
``components=True``), complex128 = 16 bytes:

* bursts x [K, B L] with B L <= W + 2 D + 3 L (the burst covers both ends of the delay span)
  and the transmit streams x~ [S, K, W + D];
* every (s, j, i) component: :func:`linksim.emulator.stages.precode_components` holds the
  repeated int64 window indices, the gathered samples and their product at once,
  (8 + 16 + 16) S K^2 W bytes; then z, y (S K^2 W each, 16 bytes), the DFT of every window
  S K^2 M N and the kept bins S K^2 M Q: 16 S K^2 (2 W + M (N + Q)) bytes; the larger of the
  two is the components' peak;
* the unit-coupling response kept for the designs, 16 S K^2 M Q, counted twice on the axes
  whose waveform is rerun per x point (Figs. 7, 8: the previous response is alive while the
  next one is computed).

    figure_measured = 16 K (W + 2 D + 3 L) + 16 S K (W + D)
                      + S K^2 max(40 W, 16 (2 W + M (N + Q))) + a 16 S K^2 M Q,  a in {1, 2}

Designs (every figure method, analytical series; the dataset's labels): the steering vectors
and their copy for the thin QR, the basis Q_s, the precoders W and their expansion, DESIGN_COPIES
arrays of S K N_t complex128, plus DESIGN_GRAMS [S, K, K] complex128 matrices of the reduced
model (Vt, its Gram matrix, the W-step's coupling and solves):

    design = 16 DESIGN_COPIES S K N_t + 16 DESIGN_GRAMS S K^2

Each task also holds TASK_OVERHEAD_BYTES of small arrays and Python objects (the drop's
geometry, histories; measured 0.4-0.6 MB).

The dataset's assembly (the parent, when every drop is done): each drop's result (features
float32 [L_p, S, K, F], U complex128 [L_p, K, S+1], omega [L_p, K], lam [L_p, S], the sCSI
5 x [S, K] and noise [K], scalars per level, and RESULT_OBJECT_BYTES for its 17 numpy array
objects) is held in the results while the in-memory HDF5 image of the file is built from
them (a field at a time stacked) and then written: ASSEMBLY_COPIES copies of the per-drop
bytes times the number of drops (measured peak 1.9-2.2 copies).

Each worker process adds BASE_PROCESS_BYTES (the interpreter with numpy, scipy, numba, torch);
the calling process is already running (its memory is not in MemAvailable).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linksim.config import LinkConfig

SPEED_OF_LIGHT_M_S = 299_792_458.0
#: complex128 S K N_t arrays alive at a design's peak (steering, its copy for the QR, Q, W,
#: the expansion's product)
DESIGN_COPIES = 6
#: complex128 [S, K, K] arrays alive at a design's peak (Vt, gram, coupling, W-step solves)
DESIGN_GRAMS = 8
#: copies of the per-drop results while the dataset file is assembled (the results, the
#: in-memory HDF5 image, slack for one stacked field and the image's reallocation)
ASSEMBLY_COPIES = 3
#: the numpy array objects and dict entries of one drop's result (17 arrays, measured 2.1 kB)
RESULT_OBJECT_BYTES = 2200.0
#: small arrays and objects of one task (geometry, histories; measured 0.4-0.6 MB)
TASK_OVERHEAD_BYTES = 1.0e6
#: the interpreter with numpy, scipy, numba, torch and the kernels loaded (measured ~0.4 GB)
BASE_PROCESS_BYTES = 5.0e8
#: Fig. 7 / Fig. 8 rerun the waveforms per x point (validation.figure_measured.PER_POINT_AXES)
PER_POINT_FIGURES = ("fig7", "fig8")


def differential_delay_samples(cfg: LinkConfig) -> int:
    """D = ceil(2 R f_s / c): bound on the spread of one satellite's user delays (samples)."""
    fs = cfg.fft_size * cfg.subcarrier_spacing_hz
    return int(math.ceil(2.0 * cfg.coverage_radius_m * fs / SPEED_OF_LIGHT_M_S))


def measured_series_bytes(cfg: LinkConfig, num_symbols: int, per_point: bool = False) -> float:
    """Peak bytes of one drop's unit-coupling waveform run (module docstring, figure_measured)."""
    if num_symbols <= 0:
        return 0.0
    s, k, m = cfg.num_sats, cfg.num_users, int(num_symbols)
    n, q = cfg.fft_size, cfg.num_used_subcarriers
    sym = n + cfg.cyclic_prefix_length
    w = m * sym + 2 * (cfg.fractional_delay_taps + 2) + 1
    d = differential_delay_samples(cfg)
    streams = 16.0 * k * (w + 2 * d + 3 * sym) + 16.0 * s * k * (w + d)
    components = s * k * k * max(40.0 * w, 16.0 * (2 * w + m * (n + q)))
    kept = (2 if per_point else 1) * 16.0 * s * k * k * m * q
    return streams + components + kept


def design_bytes(cfg: LinkConfig) -> float:
    """Peak bytes of one precoder design on a drop of cfg (module docstring, design)."""
    s, k = cfg.num_sats, cfg.num_users
    nt = cfg.antenna_size[0] * cfg.antenna_size[1]
    return 16.0 * DESIGN_COPIES * s * k * nt + 16.0 * DESIGN_GRAMS * s * k * k


def figure_task_bytes(cfg: LinkConfig, name: str, measured_symbols: int) -> float:
    """Peak bytes of one drop task of figure ``name`` (without the process), with ``cfg`` the
    configuration of its largest x point (Fig. 9: max S, Fig. 10: max K; the caller sets it)."""
    return TASK_OVERHEAD_BYTES + design_bytes(cfg) + measured_series_bytes(
        cfg, measured_symbols, per_point=name in PER_POINT_FIGURES)


def dataset_task_bytes(cfg: LinkConfig) -> float:
    """Peak bytes of one dataset drop task (the MS-JoCDWM label designs, one at a time)."""
    return TASK_OVERHEAD_BYTES + design_bytes(cfg)


def dataset_drop_result_bytes(cfg: LinkConfig) -> float:
    """Bytes of one drop's result in the dataset sweep (precoders.dtn.dataset.dataset_task)."""
    from precoders.dtn.features import NUM_FEATURES

    s, k, nl = cfg.num_sats, cfg.num_users, len(cfg.power_levels_dbw)
    return (4.0 * nl * s * k * NUM_FEATURES + 16.0 * nl * k * (s + 1) + 8.0 * nl * k
            + 8.0 * nl * s + 8.0 * 4 * nl + 8.0 * 4 + 8.0 * 4 * s * k + 16.0 * s * k + 8.0 * k
            + RESULT_OBJECT_BYTES)


def dataset_assembly_bytes(cfg: LinkConfig, num_drops: int) -> float:
    """Peak bytes of assembling the dataset file of ``num_drops`` drops (module docstring)."""
    return ASSEMBLY_COPIES * num_drops * dataset_drop_result_bytes(cfg)
