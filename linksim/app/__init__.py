"""The application: the ``linksim`` command line (``cli``, ``commands/``), the emulate job
(``emulation_run``, ``emulate_output``) and the benchmarks (``bench``).

It imports the model core, ``precoders``, ``validation`` and ``linksim.runtime``; nothing
imports it back.
"""
