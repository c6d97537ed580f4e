from django.db import models


class WorkerHeartbeat(models.Model):
    """A Celery worker's sign of life, written every WORKER_HEARTBEAT_INTERVAL by the worker itself
    (tasks/heartbeat.py): `/ready/` tells from these whether every queue has a worker."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    seen = models.DateTimeField()

    def __str__(self):
        return f"{self.hostname} ({', '.join(self.queues)}) at {self.seen:%Y-%m-%d %H:%M:%S}"
