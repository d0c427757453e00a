"""Waveform-level emulation of one drop: real OFDM samples through precompensation, the
multi-satellite delay-Doppler channel and the receivers (math.md Sec. 2.2-2.5, eq. 4-18).

Where each part of the signal chain lives:

    settings   Numerology, EmulatorSettings (numerology, taps, back-off, modulation, backend)
    paths      PathSet [S, K, P] (the channel and the transmitter's estimates), LinkState
    stages     plan_burst, generate_bursts, precompensate, precode, propagate, draw_noise,
               receive: one function per stage, its equation in its docstring
    pipeline   emulate_links: the stages in order
    measure    LinkMeasurement, measure: the genie receiver's SINR and rate
    drop       draw_link_state, emulate_drop: the paper's world on a drawn drop

The kernels come from a kernel set named by ``EmulatorSettings.backend``
(:mod:`waveforms.kernels`).
"""

from linksim.emulator.drop import draw_link_state, emulate_drop
from linksim.emulator.measure import LinkMeasurement, measure
from linksim.emulator.output import EmulationOutput
from linksim.emulator.paths import LinkState, PathSet
from linksim.emulator.pipeline import emulate_links
from linksim.emulator.settings import EmulatorSettings, Numerology

__all__ = ["EmulationOutput", "EmulatorSettings", "LinkMeasurement", "LinkState", "Numerology",
           "PathSet", "draw_link_state", "emulate_drop", "emulate_links", "measure"]
