"""Every task declares itself: an explicit name (what beat's schedule and queued messages refer to), its
queue, and time limits; steps that are safe to run twice are acknowledged late. A worker keeps its database
connection across tasks, as long as CONN_MAX_AGE allows."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection

from tasks import celery_app
from tasks.queues import Queue

celery_app.loader.import_default_modules()  # as a worker does: the modules of `include`
OURS = [name for name in celery_app.tasks if name.startswith(("droplets.", "tasks."))]


def test_our_tasks_are_found():
    assert set(OURS) >= {
        "droplets.advance",
        "tasks.structure.service_settings_sync_task",
        "tasks.periodic.droplet_inventory_sync_task",
        "tasks.periodic.droplet_resume_stalled_task",
        "tasks.periodic.droplet_fail_overdue_task",
        "tasks.periodic.catalog_pull_task",
    }


def queue_of(name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize("name", OURS)
def test_each_task_has_a_queue_and_is_bounded_in_time(name):
    task = celery_app.tasks[name]
    assert queue_of(name) in set(Queue)
    assert task.soft_time_limit and task.time_limit and task.soft_time_limit < task.time_limit
    assert task.acks_late


def test_beat_jobs_run_on_the_periodic_queue_and_droplet_steps_start_on_the_default_one():
    assert {queue_of(n) for n in OURS if n.startswith("tasks.periodic.")} == {Queue.PERIODIC}
    assert (
        queue_of("droplets.advance")
        == queue_of("tasks.structure.service_settings_sync_task")
        == Queue.DEFAULT
    )


def test_a_droplet_step_is_bounded_below_its_lease(settings):
    task = celery_app.tasks["droplets.advance"]
    assert task.time_limit < settings.DROPLET_STEP_LEASE.total_seconds()
    assert task.reject_on_worker_lost


@pytest.fixture
def worker_fixup():
    """Celery's Django fixup with the per-task handlers a worker installs; they are removed afterwards."""
    fixup = DjangoWorkerFixup(celery_app)
    task_prerun.connect(fixup.on_task_prerun)
    task_postrun.connect(fixup.on_task_postrun)
    yield fixup
    task_prerun.disconnect(fixup.on_task_prerun)
    task_postrun.disconnect(fixup.on_task_postrun)


def run_task_signals():
    """What a worker sends around each task it runs."""
    task = celery_app.tasks["droplets.advance"]
    task_prerun.send(sender=task, task_id="test-task", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="test-task", task=task, args=(), kwargs={}, state="SUCCESS")


@pytest.fixture
def persistent_connection():
    """The test database's connection, opened again as a deployment opens it (CONN_MAX_AGE of a minute)."""
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.ensure_connection()
    yield connection
    connection.settings_dict["CONN_MAX_AGE"] = settings.DATABASES["default"]["CONN_MAX_AGE"]
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_task_to_task(worker_fixup, persistent_connection):
    opened = persistent_connection.connection
    for _ in range(3):
        run_task_signals()
    assert persistent_connection.connection is opened

    # Without CELERY_DB_REUSE_MAX, Celery's fixup closes it around every task, whatever CONN_MAX_AGE says.
    worker_fixup.db_reuse_max = None
    run_task_signals()
    assert persistent_connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_closes_a_connection_past_its_age_as_a_web_process_does(worker_fixup, persistent_connection):
    persistent_connection.close_at = time.monotonic() - 1
    run_task_signals()
    assert persistent_connection.connection is None
