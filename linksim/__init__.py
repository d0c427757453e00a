"""linksim: waveform-level OFDM link emulator for cooperative multi-satellite LEO downlink.

Model modules (importable by ``precoders``): ``constants``, ``config``, ``constellation``,
``scenario``, ``channel``, ``scsi``, ``ratemodel``. Everything heavy is imported lazily.
"""

__version__ = "0.1.0"
