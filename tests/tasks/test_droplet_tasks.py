"""The droplet task and the step it runs: what is sent next and when, how errors are retried or end the
operation, and that only the message for the row's current generation acts."""

from datetime import timedelta

import pytest
from django import db
from django.utils import timezone

from droplets import execution
from droplets.backend import get_backend
from droplets.backend.shared import shared_store
from droplets.execution import droplet_advance
from droplets.models import Droplet
from droplets.states import Phase, RuntimeState, State
from droplets.strategies import STRATEGIES
from tasks.droplets import droplet_advance_task
from tests.fixtures.backend import fresh, make_droplet_on_do, schedule

ACTIONS_PATH = r"^/v2/droplets/\d+/actions$"


@pytest.fixture
def sent(monkeypatch) -> list:
    """The steps the task sends next, as (args, countdown, queue), instead of giving them to a broker."""
    messages = []
    monkeypatch.setattr(
        droplet_advance_task,
        "apply_async",
        lambda args, countdown=None, queue=None: messages.append((args, countdown, queue)),
    )
    return messages


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


def _run_task(droplet):
    droplet_advance_task.apply(args=(droplet.pk, fresh(droplet).operation_generation))


def test_a_first_step_sends_the_action_and_its_next_step_follows_it_on_the_polling_queue(
    emulator_server, stopping, sent, settings
):
    settings.DROPLET_POLL_INITIAL = 2.0
    _run_task(stopping)

    row = fresh(stopping)
    assert (row.state, row.runtime_state, row.operation_phase) == (
        State.UPDATING,
        RuntimeState.STOPPING,
        "awaiting",
    )
    assert row.action_id and _action_posts(emulator_server) == [201]
    assert sent == [((stopping.pk, row.operation_generation), 2.0, "polling")]
    # Leased until that next step is due and has had its time: beat leaves it alone meanwhile.
    assert row.operation_lease_until > timezone.now() + settings.DROPLET_STEP_LEASE


def test_an_action_in_progress_is_looked_at_again_later_and_later(emulator_server, stopping, sent, settings):
    settings.DROPLET_POLL_INITIAL, settings.DROPLET_POLL_FACTOR, settings.DROPLET_POLL_MAX = 2.0, 1.5, 30.0
    emulator_server.control.add_faults({"effect": "stuck_action"})
    for _ in range(4):
        _run_task(stopping)
    assert [countdown for _, countdown, _ in sent] == [2.0, 3.0, 4.5, 6.75]


def test_a_transient_error_is_retried_with_the_poll_delay_and_recorded(
    emulator_server, stopping, sent, settings
):
    settings.DROPLET_POLL_INITIAL = 2.0
    emulator_server.control.add_faults(
        {"match": {"path_regex": ACTIONS_PATH}, "when": {"times": 1}, "effect": "server_error"}
    )
    _run_task(stopping)
    row = fresh(stopping)
    assert (row.state, row.operation_phase) == (State.UPDATING, Phase.PENDING)
    assert row.operation_error == "DigitalOcean had an internal error (500): Unexpected server-side error"
    assert 2.0 <= sent[-1][1] <= 2.2 and sent[-1][2] == "default"  # a first step, with jitter

    _run_task(stopping)
    assert _action_posts(emulator_server) == [500, 201]
    assert fresh(stopping).operation_phase == Phase.AWAITING


def test_a_rate_limited_call_is_retried_when_digitalocean_says(emulator_server, stopping, sent, settings):
    settings.DIGITALOCEAN_RATE_LIMIT_RETRY = 42.0  # only when DigitalOcean says nothing believable
    emulator_server.control.add_faults({"match": {"path_regex": ACTIONS_PATH}, "effect": "rate_limited"})
    _run_task(stopping)
    assert 60.0 <= sent[-1][1] <= 66.0  # the answer's Retry-After, with jitter


def test_following_an_action_is_retried_however_often_it_failed_before(
    emulator_server, stopping, sent, settings
):
    settings.DROPLET_FIRST_STEP_MAX_RETRIES = 2
    _run_task(stopping)  # the action is sent
    following = r"^/v2/actions/?$|/actions/\d+$"  # the account's latest actions, or the one action
    emulator_server.control.add_faults({"match": {"path_regex": following}, "effect": "server_error"})
    for _ in range(5):
        _run_task(stopping)
    assert fresh(stopping).state == State.UPDATING
    assert len(sent) == 6


def test_after_the_last_retry_of_its_first_request_the_droplet_is_erred_with_the_errors_message(
    emulator_server, stopping, sent, settings
):
    settings.DROPLET_FIRST_STEP_MAX_RETRIES = 3
    emulator_server.control.add_faults({"match": {"path_regex": ACTIONS_PATH}, "effect": "server_error"})
    for _ in range(4):
        _run_task(stopping)
    assert _action_posts(emulator_server) == [500] * 4
    message = "DigitalOcean had an internal error (500): Unexpected server-side error"
    assert _state(stopping) == (State.ERRED, RuntimeState.ONLINE, message)
    assert fresh(stopping).operation == ""


def test_a_rejected_request_fails_at_once(emulator_server, stopping, sent):
    emulator_server.control.add_faults(
        {
            "match": {"path_regex": ACTIONS_PATH},
            "effect": {"status": 422, "body": {"id": "unprocessable_entity", "message": "Not today."}},
        }
    )
    _run_task(stopping)
    assert _action_posts(emulator_server) == [422]
    assert _state(stopping) == (
        State.ERRED,
        RuntimeState.ONLINE,
        "DigitalOcean rejected the request: Not today.",
    )
    assert sent == []


def test_a_refused_token_fails_at_once_and_is_never_named(emulator_server, stopping, sent):
    emulator_server.control.configure(tokens=["the-only-good-token"])
    _run_task(stopping)
    assert len(emulator_server.control.requests()) == 1
    state, runtime_state, message = _state(stopping)
    assert (state, runtime_state) == (State.ERRED, RuntimeState.ONLINE)
    assert message == "DigitalOcean refused the token: Unable to authenticate you."
    assert emulator_server.token not in message


def test_a_droplet_gone_from_digitalocean_fails_at_once(emulator_server, stopping, sent):
    emulator_server.core.delete_droplet(int(stopping.backend_id))
    _run_task(stopping)
    assert _state(stopping)[::2] == (State.ERRED, "The droplet no longer exists on DigitalOcean.")


def test_a_bug_fails_the_droplet_with_a_generic_message_and_keeps_the_traceback_for_staff(
    emulator_server, stopping, sent, monkeypatch
):
    from droplets import strategies

    def broken(self, step):
        raise ZeroDivisionError("our bug")

    monkeypatch.setattr(strategies.StopStrategy, "send", broken)
    _run_task(stopping)
    row = fresh(stopping)
    assert (row.state, row.error_message) == (
        State.ERRED,
        "The stop failed because of an internal error; operators have the details.",
    )
    assert "ZeroDivisionError: our bug" in row.error_traceback


def test_a_message_for_an_older_generation_does_nothing(emulator_server, stopping, sent):
    """A redelivered message, a chain beat resumed, a slow duplicate: only the current generation acts."""
    generation = fresh(stopping).operation_generation
    assert droplet_advance(droplet_id=stopping.pk, generation=generation) != []
    assert droplet_advance(droplet_id=stopping.pk, generation=generation) == []  # the same message again
    assert _action_posts(emulator_server) == [201]


def test_a_step_for_a_droplet_whose_operation_ended_does_nothing(emulator_server, stopping, sent):
    Droplet.objects.filter(pk=stopping.pk).update(state=State.OK, operation="")
    _run_task(stopping)
    assert _action_posts(emulator_server) == [] and sent == []


def test_the_poll_delay_grows_and_is_capped(emulator_server, stopping, settings, sent):
    settings.DROPLET_POLL_INITIAL, settings.DROPLET_POLL_FACTOR, settings.DROPLET_POLL_MAX = 1.0, 2.0, 5.0
    emulator_server.control.add_faults({"effect": "stuck_action"})
    for _ in range(6):
        _run_task(stopping)
    assert [countdown for _, countdown, _ in sent] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert fresh(stopping).operation_attempts == 6  # the row counts them, not the message


def test_a_database_that_does_not_answer_is_retried_not_called_a_bug(stopping, monkeypatch):
    def unavailable(**kwargs):
        raise db.OperationalError("database is locked")

    monkeypatch.setattr("tasks.droplets.droplet_advance", unavailable)
    retried = []
    monkeypatch.setattr(
        droplet_advance_task, "retry", lambda **kw: retried.append(kw) or RuntimeError("retry")
    )
    with pytest.raises(RuntimeError, match="retry"):
        droplet_advance_task.run(stopping.pk, fresh(stopping).operation_generation)
    assert retried and fresh(stopping).state == State.UPDATE_SCHEDULED


def test_a_database_that_fails_during_a_claimed_step_has_the_step_run_again_soon(
    emulator_server, stopping, monkeypatch
):
    """Once claimed, the message's generation is stale: the step itself is sent again for the claimed one
    (not failed as a bug, not left to beat until its lease runs out), and running it again is harmless."""
    strategy = STRATEGIES["stop"]
    advance = strategy.advance
    calls = []

    def locked_on_the_first_try(step):
        calls.append(step.droplet.operation_generation)
        if len(calls) == 1:
            raise db.OperationalError("database is locked")
        return advance(step)

    monkeypatch.setattr(strategy, "advance", locked_on_the_first_try)
    generation = fresh(stopping).operation_generation
    [again] = droplet_advance(droplet_id=stopping.pk, generation=generation)

    assert (again.generation, again.first_step) == (generation + 1, True)
    assert again.countdown < 10
    assert _state(stopping) == (State.UPDATING, RuntimeState.STOPPING, "")
    assert droplet_advance(droplet_id=stopping.pk, generation=generation) == []  # the old message: stale
    [following] = droplet_advance(droplet_id=stopping.pk, generation=again.generation)
    assert not following.first_step  # the stop was sent, and is followed
    assert _action_posts(emulator_server) == [201]


def test_an_operation_ended_between_the_claim_and_the_step_is_left_alone(
    emulator_server, stopping, monkeypatch
):
    claim = execution._claim

    def claim_then_an_operator_ends_it(droplet_id, generation):
        claimed = claim(droplet_id, generation)
        Droplet.objects.filter(pk=droplet_id).update(state=State.OK, operation="")
        return claimed

    monkeypatch.setattr(execution, "_claim", claim_then_an_operator_ends_it)
    assert droplet_advance(droplet_id=stopping.pk, generation=fresh(stopping).operation_generation) == []
    assert _action_posts(emulator_server) == []


def test_the_steps_a_look_made_due_are_sent_now_with_the_droplets_own(
    emulator_server, emulated_catalog, project, sent, settings
):
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 60
    looker, other = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(2)]
    emulator_server.control.add_faults({"effect": "stuck_action", "match": {"action_type": "reboot"}})
    schedule(looker, "restart")
    schedule(other, "stop")
    for droplet in (looker, other):
        _run_task(droplet)  # sends the reboot, the shutdown
    Droplet.objects.filter(pk=other.pk).update(operation_lease_until=timezone.now() + timedelta(hours=1))
    emulator_server.control.advance_clock(60)  # the shutdown is done; the reboot is stuck
    sent.clear()

    _run_task(looker)

    assert sent == [
        ((looker.pk, fresh(looker).operation_generation), 3.0, "polling"),
        ((other.pk, fresh(other).operation_generation), 0, "polling"),
    ]


def test_a_poll_reading_another_polls_look_counts_its_backoff_from_when_the_look_was_taken(
    emulator_server, emulated_catalog, project, sent, settings
):
    """Else a look taken just before the action finished would cost the reader a whole backoff more."""
    settings.DROPLET_POLL_INITIAL, settings.DROPLET_POLL_SNAPSHOT_SECONDS = 2.0, 60
    emulator_server.control.add_faults({"effect": "stuck_action"})
    looker, reader = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(2)]
    for droplet in (looker, reader):
        schedule(droplet, "stop")
        _run_task(droplet)  # sends the shutdown
    _run_task(looker)  # takes the account's look at its actions
    store, key = shared_store(), f"actions:{get_backend(emulated_catalog.service_settings).account_key}"
    store.write(key, {**store.read(key), "taken_at": store.read(key)["taken_at"] - 0.5})
    sent.clear()

    _run_task(reader)

    [(_, countdown, _)] = sent
    assert 2.4 < countdown < 2.55  # its backoff of 3 s, less the look's half a second
