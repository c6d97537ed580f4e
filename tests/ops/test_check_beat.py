"""Beat's healthcheck (`manage.py check_beat`): healthy while beat keeps sending its periodic tasks."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


@pytest.fixture
def schedule(db):
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    return PeriodicTask.objects.all()


def test_a_schedule_beat_never_ran_is_unhealthy(schedule):
    with pytest.raises(CommandError, match="has not sent any periodic task yet"):
        call_command("check_beat")


def test_a_recent_send_is_healthy(schedule):
    schedule.filter(name="Sync droplets with DigitalOcean").update(
        last_run_at=timezone.now() - timedelta(minutes=4)
    )
    call_command("check_beat", max_age=300, stdout=io.StringIO())


def test_a_stale_schedule_is_unhealthy(schedule):
    schedule.update(last_run_at=timezone.now() - timedelta(minutes=6))
    with pytest.raises(CommandError, match=r"last sent a periodic task 3\d\d s ago"):
        call_command("check_beat", max_age=300)


def test_disabled_tasks_do_not_count(schedule):
    schedule.update(enabled=False, last_run_at=timezone.now())
    with pytest.raises(CommandError, match="has not sent any"):
        call_command("check_beat")
