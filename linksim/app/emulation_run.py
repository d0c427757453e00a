"""An emulation sweep: drops x SNR points for one precoder, measured next to analytical rates.

One task = (drop index, SNR point). A task draws its drop from the seed (geometry, fading and
compensation errors do not depend on the SNR point or the precoder: common random numbers),
designs W from the sCSI at the point's power, runs the waveform emulator and returns per-user
measured and analytical rates. Tasks are independent and seeded, so results do not depend on
how they are distributed.

SNR definition (README, ``linksim emulate --help``): the reference SNR is the per-satellite
transmit power per subcarrier times the mean per-element link gain of the drop (path loss
and antenna gains, averaged over all (s, k) links) over the mean noise power per subcarrier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from linksim.config import LinkConfig


def power_from_snr_dbw(snr_db: float, gamma: np.ndarray, noise_power_w: np.ndarray) -> float:
    """Per-satellite power (dBW per subcarrier) giving reference SNR ``snr_db`` on this drop."""
    return float(snr_db + 10 * np.log10(np.mean(noise_power_w)) - 10 * np.log10(np.mean(gamma)))


def snr_from_power_db(power_dbw: float, gamma: np.ndarray, noise_power_w: np.ndarray) -> float:
    return float(power_dbw - 10 * np.log10(np.mean(noise_power_w)) + 10 * np.log10(np.mean(gamma)))


def emulate_point(cfg_dict: dict[str, Any], precoder: str, seed: int, drop_index: int,
                  level_db: float, level_kind: str, num_symbols: int,
                  model_path: str | None = None) -> dict[str, np.ndarray]:
    """One task: drop ``drop_index`` at one SNR (``level_kind='snr'``) or power ('power').

    Returns arrays: rate_measured [K], rate_analytical [K], sinr_measured_db [K],
    desired_power_w [K], else_power_w [K], and scalars power_dbw, snr_db.
    """
    from linksim.config import build_config
    from linksim.emulator import emulate_drop
    from linksim.orbit import motion_views
    from linksim.ratemodel import expected_rates
    from linksim.scenario import draw_drop
    from linksim.scsi import scsi_from_drop
    from precoders import design_with_config

    cfg = build_config(cfg_dict)
    drop = draw_drop(cfg, seed, drop_index)
    scsi = scsi_from_drop(drop, cfg)
    scsi, drop_eval, scsi_eval, motion = motion_views(cfg, drop, scsi)   # sCSI aging
    if level_kind == "snr":
        power_dbw = power_from_snr_dbw(level_db, scsi.gamma, scsi.noise_power_w)
    else:
        power_dbw = float(level_db)
    power_w = 10 ** (power_dbw / 10)
    kwargs: dict[str, Any] = {} if model_path is None else {"model_path": model_path}
    W = design_with_config(precoder, scsi, power_w, cfg, **kwargs).W
    emu, meas = emulate_drop(cfg, drop_eval, scsi_eval, W, seed, drop_index,
                             num_symbols=num_symbols)
    extra = {} if cfg.receiver == "genie" else receiver_point(cfg, emu, meas)
    return motion | extra | {
        "rate_measured": meas.rate,
        "rate_analytical": expected_rates(scsi_eval, W),
        "sinr_measured_db": 10 * np.log10(meas.sinr),
        "desired_power_w": meas.desired_power,
        "else_power_w": meas.else_power,
        "power_dbw": np.float64(power_dbw),
        "snr_db": np.float64(snr_from_power_db(power_dbw, scsi.gamma, scsi.noise_power_w)),
    }


#: peak bytes of one emulate task per complex sample of its S K streams (measured: about 80-110
#: bytes per sample for K = 12-24, M = 64-256: xt, z, z_des, r, r_des and their indices)
TASK_BYTES_PER_SAMPLE = 128.0
#: the interpreter with numpy, scipy, numba and the kernels loaded (measured about 0.3 GB)
BASE_PROCESS_BYTES = 4.0e8


def task_memory_bytes(cfg, num_symbols: int) -> float:
    """Estimated peak memory of one emulate task: TASK_BYTES_PER_SAMPLE x S x K x (M + 4)
    x (N + N_cp) plus BASE_PROCESS_BYTES (bytes; an upper estimate for the paper's sizes)."""
    samples = cfg.num_sats * cfg.num_users * (num_symbols + 4) * \
        (cfg.fft_size + cfg.cyclic_prefix_length)
    return TASK_BYTES_PER_SAMPLE * samples + BASE_PROCESS_BYTES


def receiver_point(cfg: LinkConfig, emu, meas) -> dict[str, np.ndarray]:
    """The DMRS receiver's numbers of one task (cfg.receiver != 'genie'), per user [K]:
    rate_receiver (GMI with the estimated channel, bit per data RE), rate_receiver_net (with
    the pilot overhead), rate_receiver_evm (log2(1 + 1/EVM^2)), evm_db, sinr_post_db, ber
    (NaN for gaussian data), noise_var_est_w, sinr_pilot_db (the receiver's own SINR
    estimate from the pilots), estimation_nmse_db (vs the genie's gain)."""
    from linksim.emulator.receiver_dmrs import DmrsReceiver, dmrs_receive

    rx = dmrs_receive(DmrsReceiver.from_config(cfg), emu.received, emu.symbols,
                      meas.desired_gain)
    with np.errstate(divide="ignore"):
        return {"rate_receiver": rx.rate, "rate_receiver_net": rx.rate_net,
                "rate_receiver_evm": rx.rate_evm, "evm_db": 20 * np.log10(rx.evm),
                "sinr_post_db": 10 * np.log10(rx.sinr_post), "ber": rx.ber,
                "noise_var_est_w": rx.noise_var, "sinr_pilot_db": 10 * np.log10(rx.sinr_pilot),
                "estimation_nmse_db": 10 * np.log10(rx.estimation_mse),
                "data_fraction": np.float64(rx.data_fraction)}


class LevelError(ValueError):
    """A level list that cannot be parsed; the message says what is wrong (no option name)."""


def parse_levels(text: str) -> list[float]:
    """``a:b:step`` (inclusive of b when on the grid) or a comma list -> list of dB values.

    Raises LevelError (a ValueError) with a one-line reason; the CLI names the option.
    """
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            a, b, step = parts
            if not all(np.isfinite(parts)):
                raise LevelError(f"needs finite numbers in a:b:step (got {text!r})")
            if not step > 0:
                raise LevelError(f"step must be > 0 in a:b:step (got {step:g})")
            if b < a:
                raise LevelError(f"needs a <= b in a:b:step (got {a:g}:{b:g})")
            n = int(np.floor((b - a) / step + 1e-9)) + 1
            if n > 1000:
                raise LevelError(f"at most 1000 points (got {n})")
            return [float(a + i * step) for i in range(n)]
        values = [float(p) for p in text.split(",") if p.strip()]
        if not values or not all(np.isfinite(values)):
            raise ValueError
        if len(set(values)) != len(values):
            raise LevelError(f"lists a value twice (got {text!r})")
        return values
    except LevelError:
        raise
    except ValueError:
        raise LevelError(f"expects a:b:step or a comma list of numbers (got {text!r})") from None
