"""The only writer of events. Each call records one event and logs the same words, with the droplet's
context (waldur_do.logs), so the history, the API and the log lines always agree.

Callers pass the droplet as they hold it: its uuid, name, backend id, project and customer are copied into
the event, which stays readable when the droplet row is gone. An event about a droplet that is about to be
deleted is written before the row goes, in the same transaction (the row's deletion then unlinks it).
Events are written in the transaction of the change they record: both land, or neither."""

import logging
from datetime import timedelta

from django.utils import timezone

from waldur_do.logs import droplet_context
from waldur_do.structure.models import Project

from .models import SYSTEM_ACTOR, Event

logger = logging.getLogger("waldur_do.events")

RESOURCE_TYPE = "DigitalOcean.Droplet"
# Events that mean something went wrong are logged as warnings.
_WARNING_STAGES = ("_failed", "_timed_out", "deleted_outside", "twin_detected", "set_erred")


def droplet_event(droplet, event_type: str, message: str, *, actor=None, **details) -> Event:
    """Records that `event_type` happened to `droplet`. `actor` is the user who asked (None: the system);
    `details` (JSON-serialisable) go into the event's context, e.g. the error, the next retry, the changes."""
    project = _project_of(droplet)
    action_id = details.pop("action_id", None) or getattr(droplet, "action_id", "") or ""
    context = {
        "resource_type": RESOURCE_TYPE,
        "resource_uuid": droplet.uuid.hex,
        "resource_name": droplet.name,
        "resource_backend_id": droplet.backend_id or "",
        "project_uuid": project.uuid.hex,
        "project_name": project.name,
        "customer_uuid": project.customer.uuid.hex,
        "customer_name": project.customer.name,
        "action_id": action_id,
        **({"user_uuid": actor.uuid.hex, "user_username": actor.username} if actor else {}),
        **details,
    }
    event = Event.objects.create(
        event_type=event_type,
        message=message,
        actor=actor,
        actor_name=actor.username if actor else SYSTEM_ACTOR,
        droplet_id=droplet.pk,
        droplet_uuid=droplet.uuid,
        droplet_name=droplet.name,
        project=project,
        customer=project.customer,
        action_id=action_id,
        context=context,
    )
    level = logging.WARNING if event_type.endswith(_WARNING_STAGES) else logging.INFO
    with droplet_context(droplet):
        logger.log(level, "%s: %s (by %s)", event_type, message, event.actor_name)
    return event


def _project_of(droplet) -> Project:
    """The droplet's project and customer: as the caller loaded them with the droplet (a worker's step
    does, for the events of each step), else from the database."""
    project_field = droplet._meta.get_field("project")
    if project_field.is_cached(droplet):
        project = project_field.get_cached_value(droplet)
        if Project._meta.get_field("customer").is_cached(project):
            return project
    return Project.objects.select_related("customer").get(pk=droplet.project_id)


def purge_expired(*, keep: timedelta) -> int:
    """Deletes the events older than `keep`; returns how many."""
    deleted, _ = Event.objects.filter(created__lt=timezone.now() - keep).delete()
    return deleted
