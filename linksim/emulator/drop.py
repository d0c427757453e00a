"""A drop's links in the emulator: the paper's world (drawn fading and compensation errors)
and the run of one precoder on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from linksim.emulator.measure import LinkMeasurement, measure
from linksim.emulator.output import EmulationOutput
from linksim.emulator.paths import LinkState
from linksim.emulator.pipeline import emulate_links
from linksim.emulator.settings import EmulatorSettings

if TYPE_CHECKING:
    from linksim.config import LinkConfig
    from linksim.scenario import Drop
    from linksim.scsi import Scsi


def draw_link_state(cfg: LinkConfig, drop: Drop, scsi: Scsi, seed: int,
                    drop_index: int) -> LinkState:
    """The drop's fading (Stream.FADING) and compensation errors (Stream.ERRORS),
    independent of W and of the power level, so every precoder and SNR point sees the same
    channel (common random numbers)."""
    from linksim.channel import draw_fading
    from linksim.scenario import Stream, drop_rng
    from linksim.scsi import CompensationErrorModel

    fading = draw_fading(drop_rng(seed, drop_index, Stream.FADING), scsi.gamma, scsi.kappa)
    errors = CompensationErrorModel.from_config(cfg)
    delay_err, doppler_err = errors.draw(drop_rng(seed, drop_index, Stream.ERRORS),
                                         drop.delay_s.shape)
    return LinkState(delay_s=drop.delay_s, doppler_hz=drop.doppler_hz, delay_error_s=delay_err,
                     doppler_error_hz=doppler_err, fading=np.asarray(fading, dtype=np.complex128))


def emulate_drop(cfg: LinkConfig, drop: Drop, scsi: Scsi, W: np.ndarray, seed: int,
                 drop_index: int, num_symbols: int | None = None, components: bool = False,
                 links: LinkState | None = None) -> tuple[EmulationOutput, LinkMeasurement]:
    """Emulate precoder W [S, K, N_t] on one drop and measure every user's SINR and rate.

    Data symbols and noise come from drop_rng(seed, drop_index, Stream.DATA_NOISE).
    """
    from linksim.ratemodel import coupling
    from linksim.scenario import Stream, drop_rng

    if links is None:
        links = draw_link_state(cfg, drop, scsi, seed, drop_index)
    channel, estimates = links.channel(), links.estimates()
    if cfg.geometry_mode != "static":       # moving satellites (linksim.emulator.motion)
        from linksim.emulator.motion import orbit_paths
        channel, estimates, _ = orbit_paths(cfg, drop, links, seed, drop_index,
                                            num_symbols or cfg.num_observed_symbols)
    if cfg.channel_profile != "flat":     # NTN-TDL paths around the first arrival (stream 12)
        from linksim.multipath import moving_multipath_channel, multipath_channel
        channel = (multipath_channel(cfg, links, scsi, seed, drop_index)
                   if cfg.geometry_mode == "static"
                   else moving_multipath_channel(cfg, scsi, channel, seed, drop_index))
    out = emulate_links(EmulatorSettings.from_config(cfg), channel, estimates,
                        coupling(scsi.steering, W), scsi.noise_power_w,
                        drop_rng(seed, drop_index, Stream.DATA_NOISE),
                        num_symbols or cfg.num_observed_symbols, components)
    if cfg.channel_profile != "flat":
        return out, measure(out, cfg.selective_window_subcarriers)
    return out, measure(out)
