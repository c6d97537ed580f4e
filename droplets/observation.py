"""Operations in flight on one account are followed together: a poll reads its action from the account's
latest look at its actions (one listing of up to 200, newest first), shared by every worker through the
shared store, and takes a new look only when that one is older than DROPLET_POLL_SNAPSHOT_SECONDS. So N
operations polled at once cost about one request per look, not N. An action the look does not show (begun
after it, or more than 200 actions ago) is asked for on its own.

Once its action is done, an operation reads the droplet as DigitalOcean has it now. When many of the
account's operations wait for that at once, one look at all its droplets (a request per 200) serves them
all; otherwise each droplet is asked for on its own."""

import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings

from .backend.base import BackendAction, BackendDroplet
from .backend.digitalocean import PAGE_SIZE
from .backend.shared import shared_store
from .states import Phase


@dataclass(frozen=True)
class Observed:
    """What a look showed, and when the look was taken (a Unix time)."""

    action: BackendAction
    taken_at: float


def observed_action(backend, action_id: str) -> Observed | None:
    """The action as the account's latest look shows it, or None when it does not show it. Of the polls
    that find the look old at once, one takes the next look; the others read the old one meanwhile."""
    store = shared_store()
    key = f"actions:{backend.account_key}"
    look = store.read(key)
    stale = look is None or time.time() - look["taken_at"] > settings.DROPLET_POLL_SNAPSHOT_SECONDS
    if stale and _claim_the_next_look(store, key):
        taken_at = time.time()
        look = {
            "taken_at": taken_at,
            "actions": {
                action.id: [action.type, action.status, action.started_at and action.started_at.isoformat()]
                for action in backend.account_actions()
            },
        }
        _taken(store, key, look)
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
    return Observed(action, look["taken_at"])


# What `observed_droplet` answers while another poll takes the look: look again shortly.
LOOK_BEING_TAKEN = object()


def observed_droplet(backend, droplet, *, done_by: float):
    """The droplet as a look at all the account's droplets taken after `done_by` (when its action was seen
    done), and at most DROPLET_POLL_SNAPSHOT_SECONDS ago, shows it; None when there is no such look and
    taking one is not worth it, or it does not show it; LOOK_BEING_TAKEN while another poll takes it."""
    store = shared_store()
    key = f"droplets:{backend.account_key}"
    look = store.read(key)
    oldest_useful = max(done_by, time.time() - settings.DROPLET_POLL_SNAPSHOT_SECONDS)
    if look is None or look["taken_at"] < oldest_useful:
        if not _worth_a_look(droplet.service_settings_id):
            return None
        if not _claim_the_next_look(store, key):
            return LOOK_BEING_TAKEN
        taken_at = time.time()
        look = {"taken_at": taken_at, "droplets": {d.id: asdict(d) for d in backend.list_droplets()}}
        _taken(store, key, look)
    seen = look["droplets"].get(droplet.backend_id)
    return BackendDroplet(**{**seen, "tags": tuple(seen["tags"])}) if seen else None


def _claim_the_next_look(store, key: str) -> bool:
    """True for one caller at a time: the one that takes the next look. A claim lapses after
    LOOK_CLAIM_SECONDS, so a poll that died while taking it holds nobody up for long."""

    def change(claimed_at):
        now = time.time()
        if claimed_at is not None and now - claimed_at < LOOK_CLAIM_SECONDS:
            return claimed_at, False
        return now, True

    return store.update(f"{key}:claim", change)


def _taken(store, key: str, look: dict) -> None:
    store.write(key, look)
    store.write(f"{key}:claim", None)  # the next poll that finds this look old takes the next


LOOK_CLAIM_SECONDS = 10.0  # more than a look takes (a few requests, each bounded by the request timeout)


def _worth_a_look(service_settings_id) -> bool:
    """Whether enough of the account's operations are being followed that one listing of its droplets costs
    fewer requests than asking for each (and the account is small enough for the look to be kept whole)."""
    from .models import Droplet

    droplets = Droplet.objects.filter(service_settings_id=service_settings_id).exclude(backend_id="")
    total = droplets.count()
    if total > settings.DROPLET_POLL_LOOK_MAX_DROPLETS:
        return False
    waiting = droplets.filter(operation_phase=Phase.AWAITING).count()
    return waiting >= 2 * math.ceil(total / PAGE_SIZE)
