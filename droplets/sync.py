"""Keeps droplets in step with DigitalOcean between operations (drift made behind our back), and makes sure
no droplet waits forever on an operation whose worker was lost."""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from waldur_do.structure.models import ServiceSettings

from . import history
from .backend import get_backend
from .backend.digitalocean import PAGE_SIZE
from .backend.errors import NotFoundError
from .execution import droplet_fields_from_backend, failure_fields
from .models import Droplet, Size
from .states import OPERATIONS, State
from .steps import TAG_PREFIX, droplet_in_operation

logger = logging.getLogger(__name__)

DELETED_OUTSIDE_MESSAGE = "The droplet no longer exists on DigitalOcean; it was deleted outside this service."


def droplet_inventory_sync(*, service_settings: ServiceSettings) -> int:
    """Refreshes every settled droplet of one account from a listing of its droplets; returns how many
    changed. Compared page by page, so memory stays flat however many droplets the account has.

    Raises a BackendError when the listing can't be had whole. A row the listing does not show is gone only
    when DigitalOcean confirms it (a droplet deleted while the pages were read shifts the later ones, which
    can hide another droplet from the listing), and only if it was not changed here meanwhile."""
    started = timezone.now()
    backend = get_backend(service_settings)
    size_by_slug = {size.backend_id: size for size in Size.objects.filter(service_settings=service_settings)}
    settled = Droplet.objects.filter(
        service_settings=service_settings, state__in=(State.OK, State.ERRED)
    ).exclude(backend_id="")
    listed: set[str] = set()
    changed = 0
    for page in backend.droplet_pages():
        current_by_id = {current.id: current for current in page}
        listed.update(current_by_id)
        droplet_tagged_sweep(service_settings=service_settings, listing=page, backend=backend)
        rows = settled.filter(backend_id__in=current_by_id, modified__lt=started).select_related("size")
        for droplet in rows:
            changed += _bring_in_step(droplet, current_by_id[droplet.backend_id], size_by_slug)
    for droplet in _unlisted(settled.filter(modified__lt=started), listed):
        try:
            current = backend.get_droplet(droplet.backend_id)
        except NotFoundError:
            current = None
        changed += _bring_in_step(droplet, current, size_by_slug)
    ServiceSettings.objects.filter(pk=service_settings.pk).update(
        synced_at=started, sync_interval=sync_interval_for(len(listed))
    )
    return changed


def sync_interval_for(droplets: int) -> int:
    """Seconds between two syncs of an account of `droplets` droplets, so that its listing (a request per
    page of 200) spends at most DROPLET_SYNC_BUDGET_SHARE of the account's hourly budget, and never more
    often than DROPLET_SYNC_MIN_INTERVAL_SECONDS."""
    pages = max(1, math.ceil(droplets / PAGE_SIZE))
    per_hour = settings.DIGITALOCEAN_BUDGET_PER_HOUR * settings.DROPLET_SYNC_BUDGET_SHARE
    return max(settings.DROPLET_SYNC_MIN_INTERVAL_SECONDS, math.ceil(3600 * pages / per_hour))


def droplet_sync_due(service_settings: ServiceSettings) -> bool:
    last = service_settings.synced_at
    return last is None or timezone.now() >= last + timedelta(seconds=service_settings.sync_interval)


def _unlisted(rows, listed: set[str]):
    """The rows whose droplet the listing did not show (their ids read in chunks, never all at once)."""
    missing = [
        pk
        for pk, backend_id in rows.values_list("pk", "backend_id").iterator(chunk_size=2000)
        if backend_id not in listed
    ]
    for start in range(0, len(missing), 500):
        yield from rows.filter(pk__in=missing[start : start + 500]).select_related("size")


def _bring_in_step(droplet: Droplet, current, size_by_slug: dict) -> int:
    """Writes what DigitalOcean says of the droplet (None: it is gone), if anything differs."""
    if current is None:
        fields = {"state": State.ERRED, "error_message": DELETED_OUTSIDE_MESSAGE}
    else:
        fields = droplet_fields_from_backend(droplet, current, size_by_slug=size_by_slug)
        if droplet.state == State.ERRED and droplet.error_message == DELETED_OUTSIDE_MESSAGE:
            fields.update(state=State.OK, error_message="")
    fields = {name: value for name, value in fields.items() if getattr(droplet, name) != value}
    return _apply_drift(droplet, fields) if fields else 0


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
    listing = list(listing)
    tracked = set(
        Droplet.objects.filter(
            service_settings=service_settings, backend_id__in=[current.id for current in listing]
        ).values_list("backend_id", flat=True)
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
