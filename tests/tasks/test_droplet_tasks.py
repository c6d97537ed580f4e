"""The thin Celery tasks around droplets.execution: which errors are retried and when, which fail the droplet
at once, how a bug is recorded, and how the polls are spaced. Tasks run in this process (`.apply()` is
eager: its retries run at once), with python-digitalocean talking to the emulator over HTTP."""

from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django import db

from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tasks import droplets as droplet_tasks
from tasks.droplets import BEGIN_MAX_RETRIES, droplet_operation_task, droplet_poll_task, poll_delay
from tests.fixtures.backend import fresh, make_droplet_on_do, schedule

ACTIONS_PATH = r"^/v2/droplets/\d+/actions$"


class FakeTask:
    """Stands in for the bound task in `_advance`: records the countdown a retry asks for."""

    def __init__(self, *, retries=0, max_retries=BEGIN_MAX_RETRIES):
        self.request = SimpleNamespace(retries=retries)
        self.max_retries = max_retries
        self.countdowns = []

    def retry(self, *, countdown):
        self.countdowns.append(countdown)
        return Retry(when=countdown)


@pytest.fixture
def polls(monkeypatch) -> list:
    """The polls the tasks schedule, as (args, countdown), instead of sending them to a broker."""
    scheduled = []
    monkeypatch.setattr(
        droplet_poll_task, "apply_async", lambda args, countdown: scheduled.append((args, countdown))
    )
    return scheduled


@pytest.fixture
def stopping(emulator_server, emulated_catalog, project):
    """An online droplet whose stop was accepted."""
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project)
    schedule(droplet, "stop")
    return droplet


def _state(droplet):
    droplet = fresh(droplet)
    return droplet.state, droplet.runtime_state, droplet.error_message


def _action_posts(emulator) -> list[int]:
    return [
        e["status"] for e in emulator.control.requests() if e["method"] == "POST" and "/actions" in e["path"]
    ]


def _advance_begin(task, droplet, operation_name="stop"):
    droplet_tasks._advance(
        task, droplet_tasks.droplet_operation_begin, droplet.pk, operation_name, {}, attempt=0
    )


def test_a_begun_operation_schedules_its_first_poll(emulator_server, stopping, polls):
    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert polls == [((stopping.pk, "stop", {}, 1), poll_delay(0))]
    assert _state(stopping) == (State.UPDATING, RuntimeState.STOPPING, "")


def test_an_action_in_progress_is_polled_again_later_and_later(emulator_server, stopping, polls):
    emulator_server.control.add_faults({"effect": "stuck_action"})
    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))
    for attempt in (1, 2, 3):
        droplet_poll_task.apply(args=(stopping.pk, "stop", {}, attempt))

    assert [args[3] for args, _ in polls] == [1, 2, 3, 4]
    assert [countdown for _, countdown in polls] == [poll_delay(a) for a in range(4)]
    emulator_server.control.complete_actions()
    droplet_poll_task.apply(args=(stopping.pk, "stop", {}, 4))
    assert len(polls) == 4  # over: nothing more scheduled
    assert _state(stopping) == (State.OK, RuntimeState.OFFLINE, "")


def test_a_transient_error_is_retried_with_the_poll_delay(emulator_server, stopping, polls):
    emulator_server.control.add_faults(
        {"match": {"path_regex": ACTIONS_PATH}, "effect": "server_error", "when": {"times": 1}}
    )
    task = FakeTask()

    with pytest.raises(Retry):
        _advance_begin(task, stopping)

    assert task.countdowns == [poll_delay(0)]
    assert _state(stopping) == (State.UPDATING, RuntimeState.STOPPING, "")
    _advance_begin(FakeTask(retries=1), stopping)  # the retry
    assert _action_posts(emulator_server) == [500, 201]
    assert len(polls) == 1


def test_a_rate_limited_call_is_retried_when_digitalocean_says(emulator_server, stopping, polls, settings):
    settings.DIGITALOCEAN_RATE_LIMIT_RETRY = 42.0  # only when DigitalOcean says nothing believable
    emulator_server.control.add_faults({"match": {"path_regex": ACTIONS_PATH}, "effect": "rate_limited"})
    task = FakeTask()

    with pytest.raises(Retry):
        _advance_begin(task, stopping)

    assert task.countdowns == [60.0]  # the answer's Retry-After
    assert polls == []


def test_a_poll_is_retried_however_often_it_failed_before(emulator_server, stopping, polls):
    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))
    emulator_server.control.add_faults({"effect": "drop_connection"})
    task = FakeTask(retries=500, max_retries=None)

    with pytest.raises(Retry):
        droplet_tasks._advance(task, droplet_tasks.droplet_operation_poll, stopping.pk, "stop", {}, attempt=9)

    assert task.countdowns == [poll_delay(9)]
    assert fresh(stopping).state == State.UPDATING  # the deadline, not a retry count, ends a poll


def test_after_the_last_retry_the_droplet_is_erred_with_the_errors_message(emulator_server, stopping, polls):
    emulator_server.control.add_faults({"match": {"path_regex": ACTIONS_PATH}, "effect": "server_error"})

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert _action_posts(emulator_server) == [500] * (1 + BEGIN_MAX_RETRIES)
    message = "DigitalOcean had an internal error (500): Unexpected server-side error"
    assert _state(stopping) == (State.ERRED, RuntimeState.ONLINE, message)
    assert polls == []


def test_a_rejected_request_fails_at_once(emulator_server, stopping, polls):
    emulator_server.control.out_of_band(int(stopping.backend_id), status="off")

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert _action_posts(emulator_server) == [422]
    message = "DigitalOcean rejected the request: Droplet is already powered off."
    assert _state(stopping) == (State.ERRED, RuntimeState.ONLINE, message)


def test_a_refused_token_fails_at_once_and_is_never_named(emulator_server, stopping, polls):
    emulator_server.control.configure(tokens=["the-only-good-token"])

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert len(emulator_server.control.requests()) == 1
    state, _, message = _state(stopping)
    assert (state, message) == (State.ERRED, "DigitalOcean refused the token: Unable to authenticate you.")
    assert emulator_server.token not in message


def test_a_droplet_gone_from_digitalocean_fails_at_once(emulator_server, stopping, polls):
    emulator_server.control.out_of_band(int(stopping.backend_id), delete=True)

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert _action_posts(emulator_server) == [404]
    assert _state(stopping) == (
        State.ERRED,
        RuntimeState.ONLINE,
        "The droplet no longer exists on DigitalOcean.",
    )


def test_a_bug_fails_the_droplet_with_a_generic_message_and_keeps_the_traceback_for_staff(
    emulator_server, stopping, polls, monkeypatch
):
    def broken_step(**kwargs):
        raise ZeroDivisionError("a bug in our code")

    monkeypatch.setattr(droplet_tasks, "droplet_operation_begin", broken_step)

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    droplet = Droplet.objects.get(pk=stopping.pk)
    assert (droplet.state, droplet.error_message) == (
        State.ERRED,
        "The stop failed because of an internal error; operators have the details.",
    )
    assert droplet.error_traceback.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: a bug in our code" in droplet.error_traceback
    assert polls == []


def test_a_task_for_a_droplet_no_longer_in_that_operation_does_nothing(emulator_server, stopping, polls):
    Droplet.objects.filter(pk=stopping.pk).update(state=State.OK, operation="", operation_started=None)

    droplet_operation_task.apply(args=(stopping.pk, "stop", {}))

    assert emulator_server.control.requests() == []
    assert polls == []
    assert fresh(stopping).state == State.OK


def test_the_poll_delay_grows_and_is_capped(settings):
    settings.DROPLET_POLL_INITIAL, settings.DROPLET_POLL_FACTOR, settings.DROPLET_POLL_MAX = 2.0, 1.5, 30.0

    delays = [poll_delay(attempt) for attempt in range(12)]

    assert delays[:3] == [2.0, 3.0, 4.5]
    assert delays == sorted(delays)
    assert max(delays) == delays[-1] == 30.0


def test_a_database_that_does_not_answer_is_retried_not_called_a_bug(stopping):
    def locked(**kwargs):
        raise db.OperationalError("database is locked")

    task = FakeTask(retries=2)
    with pytest.raises(Retry):
        droplet_tasks._advance(task, locked, stopping.pk, "stop", {}, attempt=2)
    assert task.countdowns == [poll_delay(2)]
    assert fresh(stopping).state == State.UPDATE_SCHEDULED  # not ERRED "internal error"

    spent = FakeTask(retries=BEGIN_MAX_RETRIES)
    with pytest.raises(db.OperationalError):  # past the retries: the reaper acts at the deadline
        droplet_tasks._advance(spent, locked, stopping.pk, "stop", {}, attempt=2)
