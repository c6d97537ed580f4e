"""Operations in flight on one account are followed together: a poll reads its action from the account's
latest look at its actions (one listing of up to 200, newest first), shared by every worker through the
shared store, and takes a new look only when that one is older than DROPLET_POLL_SNAPSHOT_SECONDS. So N
operations polled at once cost about one request per look, not N. An action the look does not show (begun
after it, or more than 200 actions ago) is asked for on its own."""

import time
from datetime import datetime

from django.conf import settings

from .backend.base import BackendAction
from .backend.shared import shared_store


def observed_action(backend, action_id: str) -> BackendAction | None:
    """The action as the account's latest look shows it, or None when it does not show it."""
    store = shared_store()
    key = f"actions:{backend.account_key}"
    look = store.read(key)
    if look is None or time.time() - look["taken_at"] > settings.DROPLET_POLL_SNAPSHOT_SECONDS:
        taken_at = time.time()
        look = {
            "taken_at": taken_at,
            "actions": {
                action.id: [action.type, action.status, action.started_at and action.started_at.isoformat()]
                for action in backend.account_actions()
            },
        }
        store.write(key, look)
    seen = look["actions"].get(action_id)
    if seen is None:
        return None
    action_type, status, started_at = seen
    return BackendAction(
        id=action_id,
        type=action_type,
        status=status,
        started_at=datetime.fromisoformat(started_at) if started_at else None,
    )
