"""The package's one progress bar: stderr, shown only when stderr is a terminal (no tqdm dependency).

:class:`ProgressBar` counts work units (``update(k)`` adds ``k``, ``set(done, extra)`` sets the
count); the sweep counts chunks with it and the Shapley estimators count coalition evaluations.
"""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """``with ProgressBar(total, "label") as bar: bar.update(k)``; silent unless ``enabled``.

    ``enabled=None`` means: on when ``sys.stderr`` is a TTY.
    """

    def __init__(self, total: int, label: str = "", *, enabled: bool | None = None, width: int = 30):
        self.total = max(int(total), 0)
        self.label = label
        self.width = width
        self.done = 0
        self.extra = ""
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, k: int = 1) -> None:
        """Add ``k`` finished units."""
        self.set(self.done + k)

    def set(self, done, extra: str = "") -> None:
        """Set the number of finished units (``extra``: a short status shown after the bar)."""
        self.done = done
        self.extra = extra
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(self.width * frac))
        elapsed = now - self._start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                         f"{self.done:.0f}/{self.total} {elapsed:5.1f}s eta {eta:5.1f}s {self.extra}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
