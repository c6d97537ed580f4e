import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, on_unavailable: Callable[[], None], **options) -> None:
    """Sends `task` once the current transaction commits, so a worker never sees a row that isn't there yet
    (or acts on a change that was rolled back). Outside a transaction it is sent at once.

    When the broker can't take the message, `on_unavailable` says what becomes of the work (a droplet's row
    is its own outbox: beat sends it later); the request, which did succeed, still gets its answer.
    `options` go to `apply_async` (the queue, say)."""

    def send():
        try:
            task.apply_async(args=args, **options)
        except OperationalError:
            logger.exception("The broker did not take %s", task.name)
            on_unavailable()

    transaction.on_commit(send)
