"""Run-time infrastructure under every long job: the sweep runner (``sweep``), its resumable
task store (``store``), atomic file writes (``atomic``), progress lines (``progress``) and the
HDF5 files of drops and figure numbers (``io``).

Generic: no click, and nothing here is imported by the model core (``linksim.config`` ...
``linksim.emulator``). ``precoders``, ``validation`` and the application (``linksim.app``)
stand on it.
"""
