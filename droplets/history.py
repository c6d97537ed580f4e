"""What the droplet engine records in the event history (waldur_do.events): one function per kind of event,
so the words and the event types live in one place. Types follow Waldur's names where Waldur has them (the
operation's `event_prefix` in states.py, then `_scheduled`, `_started`, `_succeeded`, `_failed`) and the
same style for the rest."""

from waldur_do.events.log import droplet_event

from .states import Operation


def operation_scheduled(droplet, operation: Operation, *, actor=None, **details):
    droplet_event(
        droplet,
        operation.event_type("scheduled"),
        f"Droplet {droplet.name}: {operation.name} scheduled.",
        actor=actor,
        **details,
    )


def operation_started(droplet, operation: Operation):
    droplet_event(
        droplet, operation.event_type("started"), f"Droplet {droplet.name}: {operation.name} started."
    )


def operation_accepted(droplet, operation: Operation):
    """DigitalOcean took the request, or an earlier one whose answer was lost was found: it is followed."""
    action = f" (action {droplet.action_id})" if droplet.action_id else ""
    droplet_event(
        droplet,
        operation.event_type("accepted"),
        f"Droplet {droplet.name}: DigitalOcean is carrying out the {operation.name}{action}.",
    )


def operation_retried(droplet, operation: Operation, *, error: str, retry_in: float, attempt: int):
    droplet_event(
        droplet,
        operation.event_type("retried"),
        f"Droplet {droplet.name}: {operation.name} will be retried in {retry_in:.0f} s: {error}",
        error=error,
        retry_in_seconds=round(retry_in, 1),
        attempt=attempt,
    )


def operation_succeeded(droplet, operation: Operation, *, action_id: str = ""):
    droplet_event(
        droplet,
        operation.event_type("succeeded"),
        f"Droplet {droplet.name}: {operation.name} succeeded.",
        action_id=action_id,
    )


def operation_failed(droplet, operation: Operation, *, error: str, timed_out: bool = False, action_id=""):
    stage = "timed_out" if timed_out else "failed"
    droplet_event(
        droplet,
        operation.event_type(stage),
        f"Droplet {droplet.name}: {operation.name} {stage.replace('_', ' ')}: {error}",
        error=error,
        action_id=action_id,
    )


def deleted_at_once(droplet, *, actor=None):
    droplet_event(
        droplet,
        "resource_deletion_succeeded",
        f"Droplet {droplet.name}: deleted at once (it never reached DigitalOcean).",
        actor=actor,
    )


def unlinked(droplet, *, actor=None):
    droplet_event(
        droplet,
        "resource_unlinked",
        f"Droplet {droplet.name}: unlinked; DigitalOcean was not touched.",
        actor=actor,
    )


def set_by_staff(droplet, state: str, *, actor=None, message: str = "", ended_operation: str = ""):
    ended = f" (ended its {ended_operation})" if ended_operation else ""
    reason = f": {message}" if message else ""
    droplet_event(
        droplet,
        f"resource_set_{state.lower()}",
        f"Droplet {droplet.name}: marked {state}{ended}{reason}",
        actor=actor,
        error=message,
        ended_operation=ended_operation,
    )


def drift_detected(droplet, changes: dict):
    """`changes`: field name → (what we had, what DigitalOcean says)."""
    names = ", ".join(sorted(changes))
    droplet_event(
        droplet,
        "resource_drift_detected",
        f"Droplet {droplet.name}: changed on DigitalOcean ({names}).",
        changes={name: [str(old), str(new)] for name, (old, new) in changes.items()},
    )


def deleted_outside(droplet):
    droplet_event(
        droplet,
        "resource_deleted_outside",
        f"Droplet {droplet.name}: no longer exists on DigitalOcean; it was deleted outside this service.",
    )


def adopted(droplet, backend_id: str):
    droplet_event(
        droplet,
        "resource_adopted",
        f"Droplet {droplet.name}: adopted DigitalOcean droplet {backend_id}, made for it.",
        adopted_backend_id=backend_id,
    )


def twin_found(droplet, twin_id: str, *, destroyed: bool):
    verb = "destroyed" if destroyed else "detected"
    droplet_event(
        droplet,
        f"resource_twin_{verb}",
        f"Droplet {droplet.name}: DigitalOcean droplet {twin_id} carries its tag but is not the one it "
        f"tracks ({droplet.backend_id}); {verb}.",
        twin_backend_id=twin_id,
    )
