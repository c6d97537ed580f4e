"""The Celery app: `celery -A tasks worker` and `celery -A tasks beat`, configured from Django settings."""

import os
import time
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")

app = Celery("waldur_do", include=["tasks.droplets", "tasks.structure", "tasks.periodic"])
app.config_from_object("django.conf:settings", namespace="CELERY")

# The embedded filesystem broker keeps its queues in folders that must exist before anything is sent.
for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)

# Every worker writes a heartbeat that `/ready/` reads (named, not imported: it needs the Django apps, which
# are loaded by the time a worker applies its steps).
app.steps["worker"].add("tasks.heartbeat:HeartbeatStep")


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(task=None, **kwargs):
    """A worker thread keeps its database connection from task to task, as a web process does from request
    to request: closed only when it is older than CONN_MAX_AGE, or broken (CELERY_DB_REUSE_MAX says why)."""
    if not getattr(task.request, "is_eager", False):
        close_old_connections()


# Task outcomes and durations, for /metrics (waldur_do/metrics.py).
_task_started: dict[str, float] = {}


@task_prerun.connect
def _count_task_start(task_id=None, **kwargs):
    _task_started[task_id] = time.monotonic()


@task_postrun.connect
def _count_task_end(task_id=None, task=None, state=None, **kwargs):
    from waldur_do import metrics  # not at the top: this module loads while Django's apps are loading

    started = _task_started.pop(task_id, None)
    if started is not None:
        metrics.task_finished(task.name, (state or "UNKNOWN").lower(), time.monotonic() - started)
