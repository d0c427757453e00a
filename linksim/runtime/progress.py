"""A small progress bar on stderr (tasks done / total, rate, ETA); silent when not a TTY
unless forced, so logs of CI runs stay short."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, "drops") as bar: bar.update()``; prints to stderr."""

    def __init__(self, total: int, label: str = "", enabled: bool | None = None,
                 min_interval_s: float = 0.2):
        self.total = int(total)
        self.label = label
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._t0 = time.monotonic()
        self._last = 0.0
        self._min_interval_s = min_interval_s

    def __enter__(self) -> "Progress":
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self._draw(force=True)
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._min_interval_s and self.done < self.total:
            return
        self._last = now
        elapsed = now - self._t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        eta_txt = f"{eta:6.1f}s" if eta == eta else "    ?s"
        sys.stderr.write(f"\r{self.label} [{bar}] {self.done}/{self.total} "
                         f"{rate:6.2f}/s ETA {eta_txt}")
        sys.stderr.flush()
