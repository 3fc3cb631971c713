"""A one-line progress bar on stderr: size, rate and time left. Silent when not on a terminal."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO


def human_size(size: float) -> str:
    """`1536` -> `"1.5 KiB"`."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Progress of one transfer of `total` bytes.

    :param total: the size of the transfer in bytes (0 when unknown)
    :param label: shown before the bar
    :param enabled: draw it; by default only when `stream` is a terminal
    :param initial: bytes already done (a resumed download)
    """

    INTERVAL = 0.2  # seconds between redraws

    def __init__(
        self,
        total: int,
        label: str = "",
        enabled: bool | None = None,
        initial: int = 0,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = initial
        self._initial = initial
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()  # one bar over several transfers running in threads

    def update(self, count: int) -> None:
        """Count `count` more bytes as done (fewer, when negative: a try that failed)."""
        with self._lock:
            self.done += count
            now = time.monotonic()
            if self.enabled and now - self._drawn >= self.INTERVAL:
                self._drawn = now
                self._draw(now)

    def reset(self, done: int = 0) -> None:
        """Start over from `done` bytes (a download that had to restart)."""
        self.done = self._initial = done
        self._started = time.monotonic()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-6)
        rate = (self.done - self._initial) / elapsed
        parts = [
            human_size(self.done) + (f" / {human_size(self.total)}" if self.total else ""),
            f"{human_size(rate)}/s",
        ]
        if self.total and rate > 0 and self.done < self.total:
            parts.append(f"{_clock((self.total - self.done) / rate)} left")
        elif self.total and self.done >= self.total:
            parts.append(f"in {_clock(elapsed)}")
        text = "  ".join(parts)
        width = shutil.get_terminal_size((80, 20)).columns - 1
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            # Room for the longest text ("1023.9 MiB / 1023.9 GiB  1023.9 MiB/s  10:00:00 left"),
            # so the bar keeps its length while the numbers change.
            bar_width = max(width - len(self.label) - 62, 0)
            filled = int(bar_width * fraction)
            bar = f"[{'#' * filled}{'.' * (bar_width - filled)}] " if bar_width >= 10 else ""
            line = f"{self.label} {bar}{fraction * 100:3.0f}%  {text}"
            line = line if len(line) <= width else f"{self.label} {fraction * 100:3.0f}%  {text}"
        else:
            line = f"{self.label} {text}"
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
