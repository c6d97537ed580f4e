"""Every task declares itself: an explicit name (what beat's schedule and queued messages refer to), its
queue, and time limits; steps that are safe to run twice are acknowledged late."""

import pytest

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
