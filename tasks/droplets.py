"""The one droplet task: advance a droplet's operation by one step (droplets.execution), then send the next.

A message carries only the droplet's id and the generation it was sent for, so a redelivered, resumed or
duplicate message is harmless: only the current generation's step acts.
"""

import logging

from celery import shared_task
from django.conf import settings

from droplets.execution import DATABASE_UNAVAILABLE, droplet_advance

from .queues import Queue

logger = logging.getLogger(__name__)


@shared_task(
    name="droplets.advance",
    bind=True,
    acks_late=True,  # a worker lost mid-step leaves the message; the stale generation then makes it a no-op
    reject_on_worker_lost=True,
    # Below the step's lease, so beat never resumes a step that is still running.
    soft_time_limit=settings.DROPLET_STEP_LEASE.total_seconds() * 0.6,
    time_limit=settings.DROPLET_STEP_LEASE.total_seconds() * 0.75,
    max_retries=5,
)
def droplet_advance_task(self, droplet_id: int, generation: int):
    try:
        following = droplet_advance(droplet_id=droplet_id, generation=generation)
    except DATABASE_UNAVAILABLE:
        # The database was busy or away before the step was claimed (once claimed, droplet_advance sends the
        # step again itself): this message is still the current one.
        logger.warning("Droplet %s: the database did not answer; the step will be retried", droplet_id)
        raise self.retry(countdown=settings.DROPLET_POLL_INITIAL) from None
    # If a send fails, the row's lease runs out and beat sends the step instead.
    for next_step in following:
        droplet_advance_task.apply_async(
            (next_step.droplet_id, next_step.generation),
            countdown=next_step.countdown,
            queue=step_queue(first_step=next_step.first_step),
        )


def step_queue(*, first_step: bool) -> Queue:
    """A first step (sending what a user asked for) goes to the default queue; a step that follows what
    DigitalOcean is doing goes to the polling queue, so a flood of those never delays a user."""
    return Queue.DEFAULT if first_step else Queue.POLLING
