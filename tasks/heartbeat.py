"""Workers say they are alive: a bootstep writes the worker's hostname, its queues and the time to the
database when it starts and every WORKER_HEARTBEAT_INTERVAL after, and removes the row when it stops. The
database is the one store every process shares on every deployment (Redis or the filesystem broker)."""

import logging

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def worker_heartbeat_write(*, hostname: str, queues: list[str]) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"queues": sorted(queues), "seen": timezone.now()}
    )


def queues_without_worker() -> list[str]:
    """The queues no worker has served within WORKER_HEARTBEAT_TIMEOUT."""
    since = timezone.now() - settings.WORKER_HEARTBEAT_TIMEOUT
    served = {
        queue
        for queues in WorkerHeartbeat.objects.filter(seen__gte=since).values_list("queues", flat=True)
        for queue in queues
    }
    return [queue for queue in settings.READY_REQUIRES_QUEUES if queue not in served]


class HeartbeatStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker):
        self.beat(worker)
        self.timer_entry = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_INTERVAL.total_seconds(), self.beat, (worker,)
        )

    def stop(self, worker):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
        try:
            WorkerHeartbeat.objects.filter(hostname=worker.hostname).delete()
        except Exception:  # stopping: a database that is gone must not keep the worker from exiting
            logger.warning("The heartbeat of %s could not be removed", worker.hostname)
        finally:
            close_old_connections()

    def beat(self, worker):
        queues = [queue.name for queue in worker.app.amqp.queues.consume_from.values()]
        try:
            worker_heartbeat_write(hostname=worker.hostname, queues=queues)
        except Exception:  # a database away for a moment: the next beat tries again, the worker goes on
            logger.warning("The heartbeat of %s could not be written", worker.hostname, exc_info=True)
        finally:
            close_old_connections()
