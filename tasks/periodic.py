"""Beat's jobs. Each is cheap to run twice, and expires rather than piling up behind a busy worker."""

import logging

from celery import shared_task
from django.conf import settings

from droplets.backend.budget import Priority, spending_as
from droplets.backend.errors import BackendError
from droplets.catalog import service_settings_mark_erred, service_settings_sync
from droplets.states import Phase
from droplets.sync import (
    droplet_fail_overdue,
    droplet_inventory_sync,
    droplet_sync_due,
    droplet_unleased_list,
)
from waldur_do.events.log import purge_expired
from waldur_do.structure.models import ServiceSettings

from .droplets import droplet_advance_task, step_queue

logger = logging.getLogger(__name__)


def periodic(job):
    """Beat's jobs: named as beat's schedule names them, routed to their own queue (settings), and bounded
    in time (the next run, a minute later, picks up whatever one that was cut short left)."""
    return shared_task(
        name=f"tasks.periodic.{job.__name__}",
        acks_late=True,
        soft_time_limit=540,
        time_limit=600,
    )(job)


@periodic
def droplet_inventory_sync_task():
    for service_settings in ServiceSettings.objects.filter(state=ServiceSettings.State.OK):
        if not droplet_sync_due(service_settings):
            continue  # a big account is synced less often: its sync keeps to its share of the budget
        try:
            with spending_as(Priority.BACKGROUND):
                changed = droplet_inventory_sync(service_settings=service_settings)
        except BackendError as error:
            logger.warning("Inventory of %s not synced: %s", service_settings.name, error.message)
            continue
        if changed:
            logger.info("Inventory of %s: %d droplets brought in step", service_settings.name, changed)


@periodic
def catalog_pull_task():
    for service_settings in ServiceSettings.objects.all():
        try:
            with spending_as(Priority.BACKGROUND):
                service_settings_sync(service_settings=service_settings)
        except BackendError as error:
            if error.retryable:
                # A moment's trouble says nothing about the account: erring it would block new droplets
                # and the drift sync until the next pull, hours away.
                logger.warning("Catalog of %s not pulled: %s", service_settings.name, error.message)
                continue
            service_settings_mark_erred(service_settings=service_settings, message=error.message)


@periodic
def droplet_resume_stalled_task():
    """Sends on every operation no worker holds (the row is the outbox: nothing a lost message or a broker
    outage held up waits longer than a lease and a beat interval)."""
    for droplet in droplet_unleased_list():
        logger.warning("Droplet %s: nobody holds its %s; sending it on", droplet.uuid.hex, droplet.operation)
        queue = step_queue(first_step=droplet.operation_phase != Phase.AWAITING)
        droplet_advance_task.apply_async((droplet.pk, droplet.operation_generation), queue=queue)


@periodic
def droplet_fail_overdue_task():
    failed = droplet_fail_overdue()
    if failed:
        logger.warning("%d droplet operations ran past their deadline and were failed", failed)


@periodic
def event_purge_task():
    purged = purge_expired(keep=settings.EVENT_RETENTION)
    if purged:
        logger.info("%d events older than %s were purged", purged, settings.EVENT_RETENTION)
