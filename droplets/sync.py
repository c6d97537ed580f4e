"""Keeps droplets in step with DigitalOcean between operations (drift made behind our back), and makes sure
no droplet waits forever on an operation whose worker was lost."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from waldur_do.structure.models import ServiceSettings

from .backend import get_backend
from .execution import droplet_fields_from_backend, droplet_operation_fail
from .models import Droplet, Size
from .states import IN_PROGRESS_STATES, OPERATIONS, SCHEDULED_STATES, State

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
    current_by_id = {d.id: d for d in get_backend(service_settings).list_droplets()}
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
        if not fields:
            continue
        fields["modified"] = timezone.now()
        changed += Droplet.objects.filter(pk=droplet.pk, modified=droplet.modified).update(**fields)
    return changed


def droplet_stalled_list(*, stall: timedelta) -> list[Droplet]:
    """Droplets in an operation that no worker has looked at for `stall`, still within its deadline (past
    it, the reaper decides). A poll is safe to run twice, so resuming one that was only slow does no harm."""
    now = timezone.now()
    stalled = Droplet.objects.filter(state__in=IN_PROGRESS_STATES).exclude(operation="")
    stalled = stalled.filter(Q(last_polled__lt=now - stall) | Q(last_polled__isnull=True))
    return [
        droplet
        for droplet in stalled.only("pk", "operation", "operation_started")
        if droplet.operation in OPERATIONS
        and droplet.operation_started + OPERATIONS[droplet.operation].deadline > now
    ]


def droplet_fail_overdue() -> int:
    """Fails operations that ran past their deadline with nobody left to follow them (a lost task)."""
    now = timezone.now()
    grace = settings.DROPLET_REAPER_GRACE
    failed = 0
    stuck = Droplet.objects.filter(state__in=SCHEDULED_STATES + IN_PROGRESS_STATES).exclude(operation="")
    for droplet in stuck.only("pk", "operation", "operation_started"):
        operation = OPERATIONS.get(droplet.operation)
        if operation is None or droplet.operation_started + operation.deadline + grace > now:
            continue
        minutes = int(operation.deadline.total_seconds() // 60)
        droplet_operation_fail(
            droplet_id=droplet.pk,
            operation_name=operation.name,
            message=f"The {operation.name} did not finish within {minutes} minutes and was abandoned; "
            "pull the droplet to bring it in step with DigitalOcean.",
        )
        failed += 1
    return failed
