"""The emulator's virtual clock: every timestamp and every action deadline is read from it."""

from __future__ import annotations

import time
from collections.abc import Callable


def _wall_anchored_monotonic() -> Callable[[], float]:
    # Epoch seconds that never run backwards when the system clock is adjusted.
    wall_start, monotonic_start = time.time(), time.monotonic()
    return lambda: wall_start + (time.monotonic() - monotonic_start)


class VirtualClock:
    """Epoch seconds from a time source, plus an offset that only grows (POST /_emulator/clock/advance).

    Tests inject a constant source (``VirtualClock(source=lambda: 1.7e9)``) so time moves only when they say.
    """

    def __init__(self, source: Callable[[], float] | None = None, offset: float = 0.0):
        self._source = source or _wall_anchored_monotonic()
        self.offset = offset

    def now(self) -> float:
        return self._source() + self.offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()


def isoformat(epoch_seconds: float) -> str:
    """DigitalOcean's timestamp format: UTC, whole seconds, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))
