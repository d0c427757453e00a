"""Validation and figure reproduction: model-vs-waveform checks, Fig. 2 (Remark 1), Figs. 5-12."""
