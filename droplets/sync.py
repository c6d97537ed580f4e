"""Keeps droplets in step with DigitalOcean between operations (drift made behind our back), and makes sure
no droplet waits forever on an operation whose worker was lost."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from waldur_do.structure.models import ServiceSettings

from . import history
from .backend import get_backend
from .execution import droplet_fields_from_backend, failure_fields
from .models import Droplet, Size
from .states import OPERATIONS, State
from .steps import TAG_PREFIX, droplet_in_operation

logger = logging.getLogger(__name__)

DELETED_OUTSIDE_MESSAGE = "The droplet no longer exists on DigitalOcean; it was deleted outside this service."


def droplet_inventory_sync(*, service_settings: ServiceSettings) -> int:
    """Refreshes every settled droplet of one account from a single listing; returns how many changed.

    Raises a BackendError when the listing can't be had whole (a cut-short listing is never read as
    "these droplets are gone")."""
    # The rows are read before the listing, and each update is conditional on the row being unchanged since:
    # a droplet created or changed while the listing was taken is left for the next run, never marked gone.
    settled = list(
        Droplet.objects.filter(service_settings=service_settings, state__in=(State.OK, State.ERRED))
        .exclude(backend_id="")
        .select_related("size")
    )
    backend = get_backend(service_settings)
    current_by_id = {d.id: d for d in backend.list_droplets()}
    droplet_tagged_sweep(service_settings=service_settings, listing=current_by_id.values(), backend=backend)
    size_by_slug = {size.backend_id: size for size in Size.objects.filter(service_settings=service_settings)}
    changed = 0
    for droplet in settled:
        current = current_by_id.get(droplet.backend_id)
        if current is None:
            fields = {"state": State.ERRED, "error_message": DELETED_OUTSIDE_MESSAGE}
        else:
            fields = droplet_fields_from_backend(droplet, current, size_by_slug=size_by_slug)
            if droplet.state == State.ERRED and droplet.error_message == DELETED_OUTSIDE_MESSAGE:
                fields.update(state=State.OK, error_message="")
        fields = {name: value for name, value in fields.items() if getattr(droplet, name) != value}
        if fields:
            changed += _apply_drift(droplet, fields)
    return changed


def _apply_drift(droplet: Droplet, fields: dict) -> int:
    """Writes what changed on DigitalOcean, unless the row changed here since it was read, with its event."""
    changes = {name: (getattr(droplet, name), value) for name, value in fields.items()}
    with transaction.atomic():
        written = Droplet.objects.filter(pk=droplet.pk, modified=droplet.modified).update(
            **fields, modified=timezone.now()
        )
        if written:
            if fields.get("error_message") == DELETED_OUTSIDE_MESSAGE:
                history.deleted_outside(droplet)
            else:
                history.drift_detected(droplet, changes)
    return written


def droplet_tagged_sweep(*, service_settings: ServiceSettings, listing, backend) -> None:
    """Droplets on DigitalOcean that carry our tag but that no row tracks by its id. A row still waiting for
    its id (a create whose answer was lost, or that failed before it learnt the id) adopts its droplet. A
    true twin (the row tracks another droplet) is reported, and destroyed when DROPLET_DESTROY_TWINS says
    so. A droplet whose row is gone (unlinked: forgotten on purpose) is only reported."""
    tracked = set(
        Droplet.objects.filter(service_settings=service_settings)
        .exclude(backend_id="")
        .values_list("backend_id", flat=True)
    )
    for current in listing:
        uuid_hex = next((tag[len(TAG_PREFIX) :] for tag in current.tags if tag.startswith(TAG_PREFIX)), None)
        if uuid_hex is None or current.id in tracked:
            continue
        row = Droplet.objects.filter(service_settings=service_settings, uuid=uuid_hex).first()
        if row is None:
            logger.warning(
                "DigitalOcean droplet %s carries our tag but no droplet here tracks it", current.id
            )
        elif not row.backend_id:
            with transaction.atomic():
                if Droplet.objects.filter(pk=row.pk, backend_id="").update(backend_id=current.id):
                    history.adopted(row, current.id)
        elif settings.DROPLET_DESTROY_TWINS:
            backend.destroy_droplet(current.id)
            history.twin_found(row, current.id, destroyed=True)
        else:
            history.twin_found(row, current.id, destroyed=False)


def droplet_unleased_list() -> list[Droplet]:
    """Droplets whose operation no worker holds: the step never reached a worker (a broker that was down, a
    message lost), or the worker was lost. Past the deadline plus grace the reaper decides instead. Sending
    one that was only slow again does no harm: its stale message, or this one, finds a newer generation."""
    now = timezone.now()
    return list(
        Droplet.objects.exclude(operation="")
        .filter(Q(operation_lease_until__lt=now) | Q(operation_lease_until__isnull=True))
        .filter(operation_deadline__gt=now - settings.DROPLET_REAPER_GRACE)
        .only("pk", "uuid", "operation", "operation_phase", "operation_generation")
    )


def droplet_fail_overdue() -> int:
    """Fails operations that ran past their deadline and its grace with nobody left to follow them (no
    worker took them in all that time)."""
    now = timezone.now()
    abandoned = (
        Droplet.objects.exclude(operation="")
        .filter(operation_deadline__lt=now - settings.DROPLET_REAPER_GRACE)
        .filter(Q(operation_lease_until__lt=now) | Q(operation_lease_until__isnull=True))
    )
    failed = 0
    for droplet in abandoned:
        operation = OPERATIONS[droplet.operation]
        minutes = int(operation.deadline.total_seconds() // 60)
        message = (
            f"The {operation.name} did not finish within {minutes} minutes and was abandoned; "
            "pull the droplet to bring it in step with DigitalOcean."
        )
        with transaction.atomic():
            written = droplet_in_operation(droplet).update(**failure_fields(operation, message), modified=now)
            if written:
                history.operation_failed(droplet, operation, error=message, timed_out=True)
        failed += written
    return failed
