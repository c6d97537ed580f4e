"""Operations in flight on one account are followed together: a poll reads its action from the account's
latest look at its actions (newest first, 200 a page, back to the oldest action followed), shared by every
worker through the shared store, and takes a new look only when that one is older than
DROPLET_POLL_SNAPSHOT_SECONDS. So N operations polled at once cost ⌈N/200⌉ requests per look, not N. An
action the look does not show (begun after it, or beyond its pages) is asked for on its own.

Once its action is done, an operation reads the droplet as DigitalOcean has it now. When many of the
account's operations wait for that at once, one look at all its droplets (a request per 200) serves them
all; otherwise each droplet is asked for on its own. The poll that takes a look makes the operations it
answers due now, rather than leaving each to its own backoff."""

import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from .backend.base import BackendAction, BackendDroplet
from .backend.digitalocean import PAGE_SIZE
from .backend.errors import RateLimitedError
from .backend.shared import shared_store
from .states import Phase
from .steps import ACTION_CLOCK_SKEW, NextStep


@dataclass(frozen=True)
class Observed:
    """What a look showed, when the look was taken (a Unix time), and whether another poll took it."""

    action: BackendAction
    taken_at: float
    shared: bool


@dataclass(frozen=True)
class LookPutOff:
    """What a look answers while another poll takes the next look (look again shortly), or waits for the
    budget to take it (look again then: the same request would only wait for the same budget)."""

    seconds: float
    for_budget: bool


def observed_action(step, action_id: str) -> Observed | LookPutOff | None:
    """The action as the account's latest look shows it, or None when it does not show it. Of the polls
    that find the look old at once, one takes the next look; the others read the old one meanwhile, or
    are put off while the next look waits for the budget. The one that takes it makes the operations it
    shows finished due now (`_move_on`)."""
    backend = step.backend
    store = shared_store()
    key = f"actions:{backend.account_key}"
    look = store.read(key)
    stale = look is None or time.time() - look["taken_at"] > settings.DROPLET_POLL_SNAPSHOT_SECONDS
    put_off = _claim_the_next_look(store, key) if stale else None
    if put_off and put_off.for_budget:
        return put_off
    if stale and put_off is None:
        look = _take_look(
            store,
            key,
            lambda: {
                "taken_at": time.time(),
                "actions": {
                    action.id: [
                        action.type,
                        action.status,
                        action.started_at and action.started_at.isoformat(),
                    ]
                    for action in backend.account_actions(since=_oldest_action_followed(step))
                },
            },
        )
        in_progress = {id_ for id_, (_, status, _) in look["actions"].items() if status == "in-progress"}
        _move_on(step, action_id__in=[id_ for id_ in look["actions"] if id_ not in in_progress])
        _keep_looking(step, in_progress)
    if look is None:
        return None
    seen = look["actions"].get(action_id)
    if seen is None:
        return None
    action_type, status, started_at = seen
    action = BackendAction(
        id=action_id,
        type=action_type,
        status=status,
        started_at=datetime.fromisoformat(started_at) if started_at else None,
    )
    return Observed(action, look["taken_at"], shared=not (stale and put_off is None))


def observed_droplet(step, *, done_by: float):
    """The droplet as a look at all the account's droplets taken after `done_by` (when its action was seen
    done), and at most DROPLET_POLL_SNAPSHOT_SECONDS ago, shows it; None when there is no such look and
    taking one is not worth it, or it does not show it; LookPutOff while another poll takes it. The poll
    that takes it makes the operations waiting to read their droplet due now."""
    backend, droplet = step.backend, step.droplet
    store = shared_store()
    key = f"droplets:{backend.account_key}"
    look = store.read(key)
    oldest_useful = max(done_by, time.time() - settings.DROPLET_POLL_SNAPSHOT_SECONDS)
    if look is None or look["taken_at"] < oldest_useful:
        if not _worth_a_look(droplet.service_settings_id):
            return None
        put_off = _claim_the_next_look(store, key)
        if put_off:
            return put_off
        look = _take_look(
            store,
            key,
            lambda: {"taken_at": time.time(), "droplets": {d.id: asdict(d) for d in backend.list_droplets()}},
        )
        _move_on(step, action_id="", operation_params__has_key="action_done_at")
    seen = look["droplets"].get(droplet.backend_id)
    return BackendDroplet(**{**seen, "tags": tuple(seen["tags"])}) if seen else None


def _claim_the_next_look(store, key: str) -> LookPutOff | None:
    """None for one caller at a time: the one that takes the next look; the others are put off until it
    has (shortly), or until the budget lets it (when it could not). A claim lapses after
    LOOK_CLAIM_SECONDS, so a poll that died while taking it holds nobody up for long."""

    def change(claim):
        now = time.time()
        if isinstance(claim, dict) and claim.get("until", 0) > now:
            if claim.get("for_budget"):
                return claim, LookPutOff(claim["until"] - now, for_budget=True)
            return claim, LookPutOff(settings.DROPLET_POLL_INITIAL, for_budget=False)
        return {"until": now + LOOK_CLAIM_SECONDS, "for_budget": False}, None

    return store.update(f"{key}:claim", change)


def _take_look(store, key: str, look_of) -> dict:
    """Takes the look the caller has claimed and keeps it for every process. A look the budget (or a 429)
    puts off keeps its claim until then: the other polls wait as long, and only this one asks again,
    instead of each asking (and being told to wait) on its own. A look that fails otherwise gives its claim
    back at once, for the next poll to try."""
    claim = f"{key}:claim"
    try:
        look = look_of()
    except RateLimitedError as error:
        store.write(claim, {"until": time.time() + error.retry_after, "for_budget": True})
        raise
    except BaseException:
        store.write(claim, None)
        raise
    store.write(key, look)
    store.write(claim, None)  # the next poll that finds this look old takes the next
    return look


LOOK_CLAIM_SECONDS = 10.0  # more than a look takes (a few requests, each bounded by the request timeout)


def _move_on(step, **waiting_for_it) -> None:
    """Makes due now the account's other operations, waiting on DigitalOcean, that the look just taken
    answers (`waiting_for_it`): their polls would otherwise come when their backoff says, seconds or tens
    of seconds after the look showed them done. Their rows are leased anew, as a step sent now is; the
    message each had waits on, and finds its generation taken. An operation whose own poll comes within
    MOVE_ON_MARGIN_SECONDS is left to it: a message sent now would come no sooner."""
    now = timezone.now()
    due_later = now + settings.DROPLET_STEP_LEASE + timedelta(seconds=MOVE_ON_MARGIN_SECONDS)
    waiting = _others_awaiting(step, operation_lease_until__gt=due_later, **waiting_for_it)
    due = list(waiting.values_list("pk", "operation_generation")[:PAGE_SIZE])
    if not due:
        return
    waiting.filter(pk__in=[pk for pk, _ in due]).update(
        operation_lease_until=now + settings.DROPLET_STEP_LEASE
    )
    step.due_now.extend(
        NextStep(droplet_id=pk, generation=gen, countdown=0, first_step=False) for pk, gen in due
    )


MOVE_ON_MARGIN_SECONDS = 0.5


def _keep_looking(step, in_progress: set[str]) -> None:
    """Makes sure the account's next look comes within DROPLET_POLL_LOOK_EVERY_SECONDS while other
    operations wait on actions the look shows in progress: unless one of them is due by then, the one due
    soonest is made due then (its step sent with this one's; the message it had finds its generation
    taken). The look then makes those that finished due (`_move_on`), however long their backoffs are."""
    every = settings.DROPLET_POLL_LOOK_EVERY_SECONDS
    soonest = (
        _others_awaiting(step, action_id__in=in_progress)
        .order_by("operation_lease_until")
        .values_list("pk", "operation_generation", "operation_lease_until")
        .first()
    )
    if soonest is None:
        return
    pk, generation, lease_until = soonest
    lease = timezone.now() + timedelta(seconds=every) + settings.DROPLET_STEP_LEASE
    if lease_until is None or lease_until <= lease:
        return  # due by then anyway
    if _others_awaiting(step, pk=pk, operation_generation=generation).update(operation_lease_until=lease):
        step.due_now.append(NextStep(droplet_id=pk, generation=generation, countdown=every, first_step=False))


def _others_awaiting(step, **conditions):
    """The account's operations, but the step's own, that wait on DigitalOcean and meet `conditions`."""
    from .models import Droplet

    return Droplet.objects.filter(
        service_settings_id=step.droplet.service_settings_id, operation_phase=Phase.AWAITING, **conditions
    ).exclude(pk=step.droplet.pk)


def _oldest_action_followed(step) -> datetime | None:
    """Before when the account's oldest action being followed cannot have started: a look reads back to
    it, so that each operation in flight finds its action in the look (a burst of 400 creates needs two
    pages), instead of asking for it alone."""
    from .models import Droplet

    oldest = (
        Droplet.objects.filter(
            service_settings_id=step.droplet.service_settings_id, operation_phase=Phase.AWAITING
        )
        .exclude(action_id="")
        .aggregate(oldest=Min("operation_started"))["oldest"]
    )
    return oldest - ACTION_CLOCK_SKEW if oldest else None


def _worth_a_look(service_settings_id) -> bool:
    """Whether enough of the account's operations are being followed that one listing of its droplets costs
    fewer requests than asking for each (and the account is small enough for the look to be kept whole)."""
    from .models import Droplet

    counts = (
        Droplet.objects.filter(service_settings_id=service_settings_id)
        .exclude(backend_id="")
        .aggregate(total=Count("pk"), waiting=Count("pk", filter=Q(operation_phase=Phase.AWAITING)))
    )
    total, waiting = counts["total"], counts["waiting"]
    return total <= settings.DROPLET_POLL_LOOK_MAX_DROPLETS and waiting >= 2 * math.ceil(total / PAGE_SIZE)
