"""What the workers do: advance a droplet's operation by one step, from what the droplet row says.

The row is the single truth of an operation in flight: its name, phase, parameters, DigitalOcean's action
id, attempts, deadline and a lease (docs/operations.md). A message carries only the droplet's id and the
generation it was sent for. A step first claims the row by compare-and-set on that generation, so of a
redelivered message, a chain resumed by beat and a slow duplicate, exactly one acts; the others find a newer
generation and do nothing. Every write after the claim is conditional on the generation still being ours, so
an operator's set_erred/set_ok/unlink (which end the operation) make a running step stop quietly.

What to send, and how to tell an operation is done, lives in one strategy per operation (`strategies.py`).
"""

import logging
import random
import traceback
from datetime import timedelta

from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from waldur_do import metrics
from waldur_do.logs import droplet_context

from . import history
from .backend import get_backend
from .backend.base import BackendDroplet
from .backend.budget import Priority, spending_as
from .backend.errors import BackendError, RateLimitedError
from .models import Droplet, Size
from .states import OPERATIONS, RUNTIME_STATE_BY_DO_STATUS, Operation, Phase, RuntimeState, State
from .steps import Done, Failed, NextStep, Poll, Step, droplet_backend_tag, droplet_in_operation
from .strategies import STRATEGIES

__all__ = [
    "NextStep",
    "droplet_advance",
    "droplet_backend_tag",
    "droplet_fields_from_backend",
    "failure_fields",
]

logger = logging.getLogger(__name__)


def droplet_advance(*, droplet_id: int, generation: int) -> list[NextStep]:
    """Runs one step of the droplet's operation, if the message for `generation` is still the current one.
    Returns what to send next: the operation's next step, unless it is over (or was not ours to advance),
    and the steps of the account's other operations that a look this step took showed are due now."""
    if not _claim(droplet_id, generation):
        return []
    droplet = None
    try:
        droplet = _begin(droplet_id, generation + 1)
        if droplet is None:
            return []
        with droplet_context(droplet):
            step = Step(droplet, OPERATIONS[droplet.operation], get_backend(droplet.service_settings))
            following = _advance_claimed(step)
            return [following, *step.due_now] if following else step.due_now
    except DATABASE_UNAVAILABLE:
        # A locked SQLite file, a PostgreSQL restarting: the step is ours (claimed), and every step is safe
        # to run again, so it is sent again for the claimed generation now rather than left to beat until its
        # lease runs out. Whatever it wrote in the failed transaction was rolled back.
        logger.warning(
            "Droplet %s: the database did not answer during a step; the step will run again",
            droplet.uuid.hex if droplet else droplet_id,
            exc_info=True,
        )
        again = NextStep(
            droplet_id=droplet_id,
            generation=generation + 1,
            countdown=settings.DROPLET_POLL_INITIAL * random.uniform(1.0, 1.5),
            first_step=droplet is None or droplet.operation_phase != Phase.AWAITING,
        )
        return [again]


# Errors of the database itself (not of a query): they pass, so a step meeting one is run again.
DATABASE_UNAVAILABLE = (db.OperationalError, db.InterfaceError)


def _advance_claimed(step: Step) -> NextStep | None:
    droplet, operation = step.droplet, step.operation
    strategy = STRATEGIES[operation.name]
    past_deadline = timezone.now() > droplet.operation_deadline
    # A first step sends what a user asked for and may spend the token's budget to the last request; a
    # step following DigitalOcean leaves a reserve for those.
    priority = Priority.POLL if droplet.operation_phase == Phase.AWAITING else Priority.USER
    try:
        with spending_as(priority):
            outcome = strategy.at_deadline(step) if past_deadline else strategy.advance(step)
    except BackendError as error:
        if past_deadline:
            outcome = Failed(
                f"The {operation.name} did not finish within its deadline, and DigitalOcean could not be "
                f"asked how it went ({error.message}); pull the droplet to bring it in step."
            )
        else:
            outcome = _after_backend_error(step, error)
    except DATABASE_UNAVAILABLE:
        raise  # not a bug of the step: it runs again (droplet_advance)
    except Exception:
        # A bug, not DigitalOcean: the droplet must not wait forever, and the details are for staff only.
        logger.exception("Droplet %s: %s failed unexpectedly", droplet.uuid.hex, operation.name)
        _fail(
            step,
            f"The {operation.name} failed because of an internal error; operators have the details.",
            traceback=traceback.format_exc(),
        )
        return None
    return _follow(step, strategy, outcome)


def _claim(droplet_id: int, generation: int) -> bool:
    """Takes the step for `generation`: the row moves to the next generation and is leased to this worker
    for as long as a step may take. A stale message (a newer generation exists) claims nothing."""
    now = timezone.now()
    claimed = (
        Droplet.objects.filter(pk=droplet_id, operation_generation=generation)
        .exclude(operation="")
        .update(
            operation_generation=generation + 1,
            operation_lease_until=now + settings.DROPLET_STEP_LEASE,
            last_polled=now,
        )
    )
    if not claimed:
        logger.info("Droplet %s: generation %s is not current; nothing to do.", droplet_id, generation)
    return bool(claimed)


def _begin(droplet_id: int, generation: int) -> Droplet | None:
    """The claimed droplet; on its first step, its operation is now running on a worker. None when an
    operator ended the operation (or a newer step took it) since the claim."""
    droplet = (
        Droplet.objects.select_related("service_settings", "project__customer")  # the events name them
        .filter(pk=droplet_id, operation_generation=generation)
        .exclude(operation="")
        .first()
    )
    if droplet is None:
        return None
    operation = OPERATIONS[droplet.operation]
    if droplet.state == operation.scheduled:
        fields = {"state": operation.running}
        if operation.runtime_while_running:
            fields["runtime_state"] = operation.runtime_while_running
        with transaction.atomic():
            if droplet_in_operation(droplet).update(**fields, modified=timezone.now()):
                history.operation_started(droplet, operation)
        for name, value in fields.items():
            setattr(droplet, name, value)
    return droplet


def _after_backend_error(step: Step, error: BackendError):
    droplet = step.droplet
    if not error.retryable:
        return Failed(error.message)
    if isinstance(error, RateLimitedError):
        # DigitalOcean's limit (or our budget of it) says when: waiting for it is no failed attempt, and no
        # number of such waits fails an operation (its deadline still does).
        metrics.rate_limit_wait(error.retry_after)
        return Poll(after=error.retry_after * random.uniform(1.0, 1.1), error=error.message, attempt=False)
    first_step = step.phase != Phase.AWAITING
    if first_step and droplet.operation_attempts >= settings.DROPLET_FIRST_STEP_MAX_RETRIES:
        return Failed(error.message)
    # Jitter: retries of many droplets spread out.
    return Poll(after=_poll_delay(droplet.operation_attempts) * random.uniform(1.0, 1.1), error=error.message)


def _follow(step: Step, strategy, outcome) -> NextStep | None:
    droplet = step.droplet
    if isinstance(outcome, Done):
        if outcome.current is None:
            _delete(step)
        else:
            _complete(step, outcome.current)
        return None
    if isinstance(outcome, Failed):
        _fail(step, outcome.message, extra=strategy.fields_on_failure(step))
        return None
    if outcome.after is not None:
        countdown = outcome.after
    else:
        backoff = _poll_delay(droplet.operation_attempts)
        countdown = max(backoff - outcome.seen_ago, backoff / 2)
    # Leased until the next step is due (and may take its time): only past that does beat resume it.
    lease_until = timezone.now() + timedelta(seconds=countdown) + settings.DROPLET_STEP_LEASE
    attempt = droplet.operation_attempts + (1 if outcome.attempt else 0)
    with transaction.atomic():
        written = step.save(
            operation_lease_until=lease_until,
            operation_attempts=attempt,
            **({"operation_error": outcome.error} if outcome.error else {}),
        )
        if written and outcome.error:
            history.operation_retried(
                droplet, step.operation, error=outcome.error, retry_in=countdown, attempt=attempt
            )
    if not written:
        return None
    return NextStep(
        droplet_id=droplet.pk,
        generation=droplet.operation_generation,
        countdown=countdown,
        first_step=step.phase != Phase.AWAITING,
    )


def _poll_delay(attempt: int) -> float:
    """Seconds until the next look: quick at first, then further apart."""
    return min(
        settings.DROPLET_POLL_INITIAL * settings.DROPLET_POLL_FACTOR**attempt, settings.DROPLET_POLL_MAX
    )


def _complete(step: Step, current: BackendDroplet) -> None:
    droplet = step.droplet
    sizes = Size.objects.filter(service_settings_id=droplet.service_settings_id, backend_id=current.size_slug)
    fields = droplet_fields_from_backend(droplet, current, size_by_slug={s.backend_id: s for s in sizes})
    fields.update(state=State.OK, error_message="", error_traceback="", **OPERATION_CLEARED)
    operation = step.operation
    with transaction.atomic():
        if step.save(**fields):
            history.operation_succeeded(droplet, operation)


def _delete(step: Step) -> None:
    """The droplet is gone from DigitalOcean: its row goes, its history stays (written first, as the event
    refers to the row until the row's deletion unlinks it)."""
    with transaction.atomic():
        history.operation_succeeded(step.droplet, step.operation)
        if not droplet_in_operation(step.droplet).delete()[0]:
            transaction.set_rollback(True)  # the operation was ended or taken over meanwhile


# The operation columns of a droplet with no operation in flight.
OPERATION_CLEARED = {
    "operation": "",
    "operation_phase": "",
    "operation_params": {},
    "operation_started": None,
    "operation_deadline": None,
    "operation_lease_until": None,
    "operation_attempts": 0,
    "operation_error": "",
    "action_id": "",
}


def _fail(step: Step, message: str, *, traceback: str = "", extra: dict | None = None) -> None:
    action_id = step.droplet.action_id
    with transaction.atomic():
        if step.save(**failure_fields(step.operation, message, traceback=traceback), **(extra or {})):
            history.operation_failed(
                step.droplet, step.operation, error=message, timed_out=step.past_deadline, action_id=action_id
            )


def failure_fields(operation: Operation, message: str, *, traceback: str = "") -> dict:
    """The columns of a droplet whose `operation` failed with `message`."""
    fields = {
        "state": State.ERRED,
        "error_message": message,
        "error_traceback": traceback,
        **OPERATION_CLEARED,
    }
    if operation.name == "create":
        fields["runtime_state"] = RuntimeState.ERROR
    elif operation.runtime_sources:
        # A failed DigitalOcean action leaves the droplet as it was before the operation.
        fields["runtime_state"] = operation.runtime_sources[0]
    return fields


def droplet_fields_from_backend(droplet: Droplet, current: BackendDroplet, *, size_by_slug: dict) -> dict:
    """The droplet's columns as DigitalOcean reports them now; `size_by_slug` maps DigitalOcean's size slugs
    to this settings' catalog, so the droplet's size follows a resize made here or elsewhere."""
    runtime_state = RUNTIME_STATE_BY_DO_STATUS.get(current.status, RuntimeState.ERROR)
    if runtime_state != RuntimeState.ONLINE:
        start_time = None
    elif droplet.runtime_state == RuntimeState.ONLINE and droplet.start_time:
        start_time = droplet.start_time  # was online already: it did not start now
    else:
        start_time = timezone.now()
    return {
        "backend_id": current.id,
        "name": current.name,
        "runtime_state": runtime_state,
        "start_time": start_time,
        "cores": current.cores,
        "ram": current.ram,
        "disk": current.disk,
        "external_ips": current.external_ips,
        "internal_ips": current.internal_ips,
        "image_name": current.image_name or droplet.image_name,
        "region_name": current.region_name or droplet.region_name,
        "size": size_by_slug.get(current.size_slug, droplet.size),
    }
