"""Per-token sliding-window rate limits, shaped like DigitalOcean's (5000/hour plus a 250/minute burst)."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowLimit:
    name: str
    limit: int
    window_s: float


@dataclass(frozen=True)
class RateLimitVerdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    # Set only when a secondary window (burst, ssh keys) refused: DigitalOcean sends Retry-After then.
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset),
        }
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Remembers each accepted request per (token, window) until it leaves the window."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def _window(self, token: str, limit: WindowLimit, now: float) -> deque[float]:
        hits = self._hits[(token, limit.name)]
        while hits and hits[0] <= now - limit.window_s:
            hits.popleft()
        return hits

    def acquire(
        self, token: str, main: WindowLimit, secondary: list[WindowLimit], now: float
    ) -> RateLimitVerdict:
        """Count one request against every window, unless one of them is full (then count nothing)."""
        main_hits = self._window(token, main, now)
        if len(main_hits) >= main.limit:
            refused_by = main
        else:
            refused_by = next(
                (limit for limit in secondary if len(self._window(token, limit, now)) >= limit.limit), None
            )
        if refused_by is None:
            for limit in (main, *secondary):
                self._hits[(token, limit.name)].append(now)
        retry_after = None
        if refused_by is not None and refused_by is not main:
            oldest = self._hits[(token, refused_by.name)][0]
            retry_after = max(1, math.ceil(oldest + refused_by.window_s - now))
        return RateLimitVerdict(
            allowed=refused_by is None,
            limit=main.limit,
            remaining=0 if refused_by is not None else max(0, main.limit - len(main_hits)),
            reset=math.ceil(main_hits[0] + main.window_s) if main_hits else math.ceil(now),
            retry_after=retry_after,
        )

    def peek(self, token: str, main: WindowLimit, now: float) -> RateLimitVerdict:
        """The headers for a response that was not counted (401s, injected 429s)."""
        hits = self._window(token, main, now)
        return RateLimitVerdict(
            allowed=True,
            limit=main.limit,
            remaining=max(0, main.limit - len(hits)),
            reset=math.ceil(hits[0] + main.window_s) if hits else math.ceil(now),
        )

    def clear(self) -> None:
        self._hits.clear()
