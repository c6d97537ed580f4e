"""One request budget per DigitalOcean token, shared by every process that uses the token.

DigitalOcean allows each token 250 requests in any minute and 5,000 in any hour, counted over sliding
windows. Every request the adapter makes is first counted against the token's budget: the same two sliding
windows, counted in slots (of a second and of a minute), whose oldest slot is counted whole so that the
count never falls below DigitalOcean's. When a request does not fit, it is not sent (it would only earn a
429): `BudgetExhausted` says when it fits, and the step waits that long, holding no worker meanwhile.

Who may spend what, by the priority of the work at hand (`spending_as`):
- a user's request (the first step of an operation) may spend the budget to the last request;
- polls of operations in flight leave `DIGITALOCEAN_BUDGET_POLL_RESERVE` of each limit to users;
- background work (the drift sync, catalog pulls) leaves `DIGITALOCEAN_BUDGET_BACKGROUND_RESERVE` of each,
  and has an hourly window of its own: never more than `DIGITALOCEAN_BUDGET_BACKGROUND_SHARE` of the hour.

DigitalOcean's `ratelimit-remaining` header on each answer corrects the hourly count up (another client may
share the token), and a 429 that still comes pauses the token's budget until its Retry-After, for every
process: the requests after it wait instead of each earning a 429 of its own. The counts live in Redis
when Redis is the broker, else in the database, so every worker and web process spends from one budget.
"""

import contextlib
import contextvars
import hashlib
import time
from dataclasses import dataclass
from enum import IntEnum

from django.conf import settings

from .errors import RateLimitedError
from .shared import shared_store


class Priority(IntEnum):
    USER = 0
    POLL = 1
    BACKGROUND = 2


class BudgetExhausted(RateLimitedError):
    """The token's budget cannot pay for this request now; it can in `retry_after` seconds."""


_priority = contextvars.ContextVar("budget_priority", default=Priority.USER)


@contextlib.contextmanager
def spending_as(priority: Priority):
    """Requests made in this block spend the budget as `priority`."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


@dataclass(frozen=True)
class Window:
    """A limit of `limit` requests in any `seconds`, counted in slots of `slot` seconds."""

    name: str
    limit: float
    seconds: float
    slot: float


@dataclass(frozen=True)
class Limits:
    per_minute: float  # in any `burst_seconds` (DigitalOcean: a minute)
    per_hour: float
    poll_reserve: float  # fractions of each limit left to the priorities above
    background_reserve: float
    background_share: float  # of the hourly limit, background work's own
    burst_seconds: float = 60.0

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            per_minute=settings.DIGITALOCEAN_BUDGET_PER_MINUTE,
            per_hour=settings.DIGITALOCEAN_BUDGET_PER_HOUR,
            poll_reserve=settings.DIGITALOCEAN_BUDGET_POLL_RESERVE,
            background_reserve=settings.DIGITALOCEAN_BUDGET_BACKGROUND_RESERVE,
            background_share=settings.DIGITALOCEAN_BUDGET_BACKGROUND_SHARE,
            burst_seconds=settings.DIGITALOCEAN_BUDGET_BURST_SECONDS,
        )

    @property
    def minute(self) -> Window:
        # Slots of a second whatever the window's length, so processes configured alike count alike.
        return Window("minute", self.per_minute, self.burst_seconds, 1)

    @property
    def hour(self) -> Window:
        return Window("hour", self.per_hour, 3600, 60)

    @property
    def background(self) -> Window:
        return Window("background", self.per_hour * self.background_share, 3600, 60)

    def reserve(self, priority: "Priority") -> float:
        return {Priority.USER: 0.0, Priority.POLL: self.poll_reserve}.get(priority, self.background_reserve)


# What a token has spent: per window, requests counted by slot (the slot's start, in slots since the epoch);
# the requests told to wait, by the second they were told to come back in; and, after a 429, until when (a
# Unix time) DigitalOcean takes none.
Spent = dict[str, dict[str, float] | float]
PAUSED_UNTIL = "paused_until"
QUEUED = "queued"


def _queued(spent: Spent, now: float) -> dict[int, float]:
    """The requests told to come back from this second on: each later one is told a later time, so that
    the waiting come back as the windows free room for them, not all at once (and mostly to wait again)."""
    seconds = spent.get(QUEUED) if isinstance(spent, dict) else None
    if not isinstance(seconds, dict):
        return {}
    return {int(second): count for second, count in seconds.items() if int(second) >= int(now)}


def _paused_until(spent: Spent) -> float:
    value = spent.get(PAUSED_UNTIL) if isinstance(spent, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def _in_window(spent: Spent, window: Window, now: float) -> dict[int, float]:
    """The window's slots that may still hold requests of the last `seconds`: the slot the window starts
    in is counted whole, so the count is never below the truth and DigitalOcean's own sliding window is
    never exceeded."""
    first = int((now - window.seconds) // window.slot)
    slots = spent.get(window.name) if isinstance(spent, dict) else None
    if not isinstance(slots, dict):
        return {}  # nothing counted yet (or counts in a shape this version does not know: start over)
    return {int(slot): count for slot, count in slots.items() if int(slot) >= first}


def _wait_for_room(slots: dict[int, float], window: Window, room: float, now: float) -> float:
    """Seconds until the window holds `room` fewer requests than now (its oldest slots leave it); for more
    room than that, the window's whole length and the rest at the window's rate."""
    freed = 0.0
    for slot in sorted(slots):
        freed += slots[slot]
        if freed >= room:
            return (slot + 1) * window.slot + window.seconds - now
    return window.seconds + (room - freed) * window.seconds / window.limit


def take(spent: Spent, limits: Limits, priority: "Priority", now: float) -> tuple[Spent, float]:
    """Counts one request of `priority` at `now`: what is spent after it, and 0; or what was spent (without
    the slots that left every window) and the seconds until the request fits."""
    windows = [limits.minute, limits.hour] + ([limits.background] if priority == Priority.BACKGROUND else [])
    reserve = limits.reserve(priority)
    kept = {
        window.name: _in_window(spent, window, now)
        for window in (limits.minute, limits.hour, limits.background)
    }
    paused_until = _paused_until(spent)
    queued = _queued(spent, now)
    ahead = sum(queued.values())  # told to come back before this request, if it must wait too
    wait = 0.0
    if paused_until > now:
        wait = paused_until - now + ahead * limits.minute.seconds / limits.minute.limit
    for window in windows:
        allowed = window.limit * (1 - reserve if window.name != "background" else 1)
        over = sum(kept[window.name].values()) + 1 - allowed
        if over > 0:
            wait = max(wait, _wait_for_room(kept[window.name], window, over + ahead, now))
    if wait == 0:
        for window in windows:
            slot = int(now // window.slot)
            kept[window.name][slot] = kept[window.name].get(slot, 0.0) + 1
    else:
        back_at = int(now + wait)
        queued[back_at] = queued.get(back_at, 0.0) + 1
    after: Spent = {name: {str(slot): count for slot, count in slots.items()} for name, slots in kept.items()}
    if queued:
        after[QUEUED] = {str(second): count for second, count in queued.items()}
    if paused_until > now:
        after[PAUSED_UNTIL] = paused_until
    return after, wait


def paused(spent: Spent, *, until: float) -> Spent:
    """DigitalOcean answered 429: it takes no request of the token's before `until`."""
    kept = spent if isinstance(spent, dict) else {}
    return {**kept, PAUSED_UNTIL: max(until, _paused_until(kept))}


def corrected(spent: Spent, limits: Limits, *, limit: int, remaining: int, now: float) -> Spent:
    """DigitalOcean says `remaining` of its `limit` requests are left this hour: the requests it counted and
    we did not (another client of the token's) count as made now."""
    window = limits.hour
    slots = _in_window(spent, window, now)
    unseen = (limit - remaining) - sum(slots.values())
    if unseen > 0:
        slot = int(now // window.slot)
        slots[slot] = slots.get(slot, 0.0) + unseen
    kept = spent if isinstance(spent, dict) else {}
    return {**kept, window.name: {str(slot): count for slot, count in slots.items()}}


def account_key(api_url: str, token: str) -> str:
    """How shared state names an account: a hash of its endpoint and token, never the token itself (two
    endpoints, the emulator and DigitalOcean say, are two accounts even with one token)."""
    return hashlib.sha256(f"{api_url} {token}".encode()).hexdigest()[:32]


def _store_key(key: str) -> str:
    """The budget's key in the shared store; the version changes with the shape of what is kept."""
    return f"budget:v1:{key}"


class RequestBudget:
    def __init__(self, store, limits: Limits | None = None, clock=time.time):
        self.store = store
        self.limits = limits or Limits.from_settings()
        self.clock = clock

    def spend(self, key: str) -> None:
        """Counts one request for the current priority, or raises BudgetExhausted."""
        priority = _priority.get()
        now = self.clock()
        wait = self.store.update(_store_key(key), lambda spent: take(spent or {}, self.limits, priority, now))
        if wait > 0:
            raise BudgetExhausted(
                "DigitalOcean's request budget for this account is spent for now.", retry_after=wait
            )

    def pause(self, key: str, seconds: float) -> None:
        """DigitalOcean refused a request with 429: every process waits `seconds` before the next."""
        until = self.clock() + seconds
        self.store.update(_store_key(key), lambda spent: (paused(spent or {}, until=until), None))

    def observe(self, key: str, headers) -> None:
        """Corrects the count from DigitalOcean's `ratelimit-remaining`, which counts every client's."""
        limit, remaining = headers.get("ratelimit-limit", ""), headers.get("ratelimit-remaining", "")
        if not (limit.isdecimal() and remaining.isdecimal()):
            return
        now = self.clock()

        def change(spent):
            return corrected(
                spent or {}, self.limits, limit=int(limit), remaining=int(remaining), now=now
            ), None

        self.store.update(_store_key(key), change)


def default_budget() -> RequestBudget:
    """The budget every backend spends from, in the store every process shares."""
    return RequestBudget(shared_store())
