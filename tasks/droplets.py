"""Thin tasks around droplets.execution: they schedule, retry and record failures; the logic is elsewhere."""

import logging
import traceback

from celery import shared_task
from django import db
from django.conf import settings

from droplets.backend.errors import BackendError, RateLimitedError
from droplets.execution import droplet_operation_begin, droplet_operation_fail, droplet_operation_poll

logger = logging.getLogger(__name__)

# Retries of a first step, poll_delay(retry) apart: about two minutes of DigitalOcean trouble in all.
BEGIN_MAX_RETRIES = 8


def poll_delay(attempt: int) -> float:
    """Seconds until the next look at a DigitalOcean action: quick at first, then further apart."""
    return min(
        settings.DROPLET_POLL_INITIAL * settings.DROPLET_POLL_FACTOR**attempt, settings.DROPLET_POLL_MAX
    )


@shared_task(bind=True, max_retries=BEGIN_MAX_RETRIES)
def droplet_operation_task(self, droplet_id: int, operation_name: str, params: dict):
    _advance(self, droplet_operation_begin, droplet_id, operation_name, params, attempt=self.request.retries)


# No retry limit: every operation has a deadline, and the poll that passes it fails the operation.
@shared_task(bind=True, max_retries=None)
def droplet_poll_task(self, droplet_id: int, operation_name: str, params: dict, attempt: int = 1):
    _advance(self, droplet_operation_poll, droplet_id, operation_name, params, attempt=attempt)


def _may_retry(task) -> bool:
    return task.max_retries is None or task.request.retries < task.max_retries


def _advance(task, step, droplet_id, operation_name, params, *, attempt):
    try:
        next_params = step(droplet_id=droplet_id, operation_name=operation_name, params=params)
    except BackendError as error:
        if error.retryable and _may_retry(task):
            countdown = error.retry_after if isinstance(error, RateLimitedError) else poll_delay(attempt)
            logger.info(
                "Droplet %s: %s will be retried in %.0f s: %s",
                droplet_id,
                operation_name,
                countdown,
                error.message,
            )
            raise task.retry(countdown=countdown) from None
        droplet_operation_fail(droplet_id=droplet_id, operation_name=operation_name, message=error.message)
        return
    except (db.OperationalError, db.InterfaceError):
        # The database was busy or away for a moment (a locked SQLite file, a restarting PostgreSQL): not a
        # bug, and writing the failure down would likely fail the same way. Past the retries, the reaper acts.
        if _may_retry(task):
            logger.warning(
                "Droplet %s: %s will be retried: the database did not answer", droplet_id, operation_name
            )
            raise task.retry(countdown=poll_delay(attempt)) from None
        raise
    except Exception:
        # A bug, not DigitalOcean: the droplet must not wait forever, and the details are for staff only.
        logger.exception("Droplet %s: %s failed unexpectedly", droplet_id, operation_name)
        droplet_operation_fail(
            droplet_id=droplet_id,
            operation_name=operation_name,
            message=f"The {operation_name} failed because of an internal error; operators have the details.",
            traceback=traceback.format_exc(),
        )
        return
    if next_params is not None:
        droplet_poll_task.apply_async(
            (droplet_id, operation_name, next_params, attempt + 1), countdown=poll_delay(attempt)
        )
