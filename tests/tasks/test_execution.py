"""What the workers do (docs/operations.md): each operation begun and polled to its end through
python-digitalocean against the emulator over HTTP, including DigitalOcean's ways of going wrong
(docs/emulator.md, "Faults")."""

import time
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from droplets import services
from droplets.backend import get_backend
from droplets.backend.shared import shared_store
from droplets.execution import droplet_advance, droplet_backend_tag
from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.fixtures.backend import (
    droplets_on_do,
    fresh,
    make_backend,
    make_droplet_on_do,
    make_scheduled_create,
    own_next_step,
    run_operation,
    schedule,
    step,
)
from tests.fixtures.droplets import make_ssh_key
from tests.fixtures.factories import make_user

GiB = 1024


def _state(droplet):
    droplet = fresh(droplet)
    return droplet.state, droplet.runtime_state, droplet.error_message


def _begin(droplet, operation_name=None):
    """The operation's first step (the operation is the one scheduled on the row)."""
    return step(droplet)


def _on_do(emulator, droplet) -> dict:
    return emulator.core.get_droplet(int(fresh(droplet).backend_id))


def _actions_on_do(emulator, droplet) -> list[str]:
    return [
        a["type"] for a in emulator.control.state()["actions"] if str(a["resource_id"]) == droplet.backend_id
    ]


@pytest.fixture
def online(emulator_server, emulated_catalog, project):
    return make_droplet_on_do(emulator_server, emulated_catalog, project)


@pytest.fixture
def offline(emulator_server, emulated_catalog, project):
    return make_droplet_on_do(emulator_server, emulated_catalog, project, status="off")


# --- create ---------------------------------------------------------------------------------------------


def test_create_saves_the_backend_id_at_once_and_the_rest_on_completion(
    emulator_server, emulated_catalog, project
):
    droplet = make_scheduled_create(emulated_catalog, project)
    emulator_server.control.add_faults({"match": {"action_type": "create"}, "effect": "stuck_action"})

    _begin(droplet, "create")
    assert step(droplet) is not None  # the create action is still in progress

    row = fresh(droplet)
    assert (row.state, row.runtime_state, row.operation_phase) == (
        State.CREATING,
        RuntimeState.PROVISIONING,
        "awaiting",
    )
    remote = _on_do(emulator_server, droplet)
    assert row.backend_id == str(remote["id"]) and row.action_id
    assert remote["tags"] == [droplet_backend_tag(droplet)]
    assert (row.external_ips, row.cores, row.image_name) == ([], 0, "")

    emulator_server.control.complete_actions()
    assert step(droplet) is None

    row, remote = fresh(droplet), _on_do(emulator_server, droplet)
    public = [n["ip_address"] for n in remote["networks"]["v4"] if n["type"] == "public"]
    private = [n["ip_address"] for n in remote["networks"]["v4"] if n["type"] == "private"]
    assert (row.state, row.runtime_state, row.error_message) == (State.OK, RuntimeState.ONLINE, "")
    assert (row.external_ips, row.internal_ips) == (public, private) and public
    assert (row.image_name, row.region_name) == ("Debian 12 x64", "New York 1")
    assert (row.cores, row.ram, row.disk) == (2, 2 * GiB, 60 * GiB)  # make_droplet's s-2vcpu-2gb
    assert row.start_time is not None
    assert (row.operation, row.operation_started, row.action_id) == ("", None, "")


def test_a_redelivered_create_makes_one_droplet(emulator_server, emulated_catalog, project):
    droplet = make_scheduled_create(emulated_catalog, project)
    emulator_server.control.add_faults({"match": {"action_type": "create"}, "effect": "stuck_action"})

    _begin(droplet, "create")
    _begin(droplet, "create")  # the broker delivers the task a second time

    assert len(droplets_on_do(emulator_server)) == 1
    emulator_server.control.complete_actions()
    assert run_operation(droplet) is None
    assert len(droplets_on_do(emulator_server)) == 1
    assert _state(droplet) == (State.OK, RuntimeState.ONLINE, "")


def test_a_create_that_died_after_digitalocean_made_the_droplet_adopts_it(
    emulator_server, emulated_catalog, project
):
    droplet = make_scheduled_create(emulated_catalog, project)
    # The first attempt: DigitalOcean created the droplet, then the worker died before saving its id.
    first = make_backend(emulator_server).create_droplet(
        name=droplet.name,
        region="nyc1",
        size="s-1vcpu-1gb",
        image="debian-12-x64",
        user_data="",
        tag=droplet_backend_tag(droplet),
        ssh_key=None,
    )
    # The row says a create was sent and its answer never came.
    Droplet.objects.filter(pk=droplet.pk).update(
        state=State.CREATING,
        operation_phase="sending",
        operation_params={**droplet.operation_params, "sent_at": timezone.now().isoformat()},
    )
    emulator_server.control.clear_requests()

    assert run_operation(droplet) is None

    assert len(droplets_on_do(emulator_server)) == 1
    assert not [e for e in emulator_server.control.requests() if e["method"] == "POST"]
    row = fresh(droplet)
    assert (row.state, row.runtime_state, row.backend_id) == (State.OK, RuntimeState.ONLINE, first.droplet_id)
    assert row.external_ips


def test_a_create_whose_answer_timed_out_adopts_the_droplet_on_the_retry(
    emulator_server, emulated_catalog, project, settings
):
    settings.DIGITALOCEAN_REQUEST_TIMEOUT = 0.2
    droplet = make_scheduled_create(emulated_catalog, project)
    emulator_server.control.add_faults(
        {"match": {"method": "POST", "path_regex": "^/v2/droplets$"}, "effect": {"latency_ms": 400}}
    )

    # DigitalOcean creates the droplet, but its answer comes too late: retried, as a create that may have
    # landed.
    assert _begin(droplet, "create") is not None
    assert fresh(droplet).operation_phase == "sending"
    deadline = time.monotonic() + 5
    while not droplets_on_do(emulator_server) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert run_operation(droplet) is None  # the task's retry
    assert len(droplets_on_do(emulator_server)) == 1
    assert _state(droplet) == (State.OK, RuntimeState.ONLINE, "")


def test_droplets_created_with_the_same_ssh_key_add_it_to_the_account_once(
    emulator_server, emulated_catalog, project
):
    key = make_ssh_key(user=make_user())
    droplets = [make_scheduled_create(emulated_catalog, project, ssh_public_key=key) for _ in range(2)]

    for droplet in droplets:
        assert run_operation(droplet) is None

    assert [_state(droplet)[0] for droplet in droplets] == [State.OK, State.OK]
    on_account = [k for k in emulator_server.control.state()["ssh_keys"] if k["public_key"] == key.public_key]
    assert len(on_account) == 1
    created = [
        e
        for e in emulator_server.control.requests()
        if e["path"] == "/v2/droplets/" and e["method"] == "POST"
    ]
    assert [e["body"]["ssh_keys"] for e in created] == [[on_account[0]["id"]]] * 2


# --- an action that fails, hangs, or is ignored -----------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "action_type", "verb", "status", "runtime_before"),
    [
        ("start", "power_on", "start", "off", RuntimeState.OFFLINE),
        ("restart", "reboot", "restart", "active", RuntimeState.ONLINE),
    ],
)
def test_an_errored_action_fails_the_operation_at_once(
    emulator_server, emulated_catalog, project, operation, action_type, verb, status, runtime_before
):
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status=status)
    schedule(droplet, operation)
    emulator_server.control.add_faults({"match": {"action_type": action_type}, "effect": "action_errored"})

    _begin(droplet, operation)
    assert step(droplet) is None  # the first look at the action ends it

    message = f"DigitalOcean could not {verb} the droplet: its {action_type} action failed."
    assert _state(droplet) == (State.ERRED, runtime_before, message)
    assert (fresh(droplet).operation, fresh(droplet).action_id) == ("", "")


def test_a_stop_whose_shutdown_errors_powers_the_droplet_off(emulator_server, emulated_catalog, project):
    """A guest that cannot shut itself down (no ACPI) is still stopped: the contract's "then power off"."""
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status="active")
    schedule(droplet, "stop")
    emulator_server.control.add_faults({"match": {"action_type": "shutdown"}, "effect": "action_errored"})

    assert run_operation(droplet) is None

    assert _state(droplet) == (State.OK, RuntimeState.OFFLINE, "")
    assert sorted(_actions_on_do(emulator_server, droplet)) == ["power_off", "shutdown"]


def test_a_stop_fails_when_even_the_power_off_errors(emulator_server, emulated_catalog, project):
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status="active")
    schedule(droplet, "stop")
    for action_type in ("shutdown", "power_off"):
        emulator_server.control.add_faults(
            {"match": {"action_type": action_type}, "effect": "action_errored"}
        )

    assert run_operation(droplet) is None

    message = "DigitalOcean could not stop the droplet: its power_off action failed."
    assert _state(droplet) == (State.ERRED, RuntimeState.ONLINE, message)


def test_a_retried_action_whose_first_answer_was_lost_follows_the_first_action(
    emulator_server, emulated_catalog, project
):
    """DigitalOcean took the power-on but its answer was lost: the retry must not fail on "pending event"."""
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status="off")
    schedule(droplet, "start")
    emulator_server.control.add_faults({"match": {"action_type": "power_on"}, "effect": "stuck_action"})
    first = make_backend(emulator_server).power_on(droplet.backend_id)  # the lost attempt
    Droplet.objects.filter(pk=droplet.pk).update(state=State.UPDATING)

    _begin(droplet, "start")

    assert fresh(droplet).action_id == first
    emulator_server.control.complete_actions()
    assert run_operation(droplet) is None
    assert _state(droplet) == (State.OK, RuntimeState.ONLINE, "")


@pytest.mark.parametrize(
    ("status", "operation", "lost_call", "ends"),
    [
        ("off", "start", "power_on", RuntimeState.ONLINE),
        ("active", "stop", "shutdown", RuntimeState.OFFLINE),
    ],
)
def test_a_retry_whose_first_attempt_already_did_the_work_adopts_it_and_succeeds(
    emulator_server, emulated_catalog, project, status, operation, lost_call, ends
):
    """The first POST's answer was lost but DigitalOcean did the work: the retry is refused ("already powered
    on"), and the operation must end OK, not ERRED with that refusal."""
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status=status)
    schedule(droplet, operation)
    first = getattr(make_backend(emulator_server), lost_call)(droplet.backend_id)  # the lost attempt
    emulator_server.control.complete_actions()
    Droplet.objects.filter(pk=droplet.pk).update(state=State.UPDATING)

    _begin(droplet, operation)

    assert fresh(droplet).action_id == first
    assert run_operation(droplet) is None
    assert _state(droplet) == (State.OK, ends, "")


def test_a_refusal_with_no_action_of_ours_to_adopt_fails_with_digitaloceans_reason(
    emulator_server, emulated_catalog, project
):
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status="off")
    schedule(droplet, "start")
    # Someone else powered it on before our operation began: not ours to adopt.
    make_backend(emulator_server).power_on(droplet.backend_id)
    emulator_server.control.complete_actions()
    Droplet.objects.filter(pk=droplet.pk).update(operation_started=timezone.now() + timedelta(minutes=5))

    assert _begin(droplet, "start") is None
    assert _state(droplet) == (
        State.ERRED,
        RuntimeState.OFFLINE,
        "DigitalOcean rejected the request: Droplet is already powered on.",
    )


def test_an_errored_create_fails_it(emulator_server, emulated_catalog, project):
    droplet = make_scheduled_create(emulated_catalog, project)
    emulator_server.control.add_faults({"match": {"action_type": "create"}, "effect": "action_errored"})

    assert run_operation(droplet) is None

    message = "DigitalOcean could not create the droplet: its create action failed."
    assert _state(droplet) == (State.ERRED, RuntimeState.ERROR, message)
    assert fresh(droplet).backend_id  # kept: the droplet may exist on DigitalOcean and can be deleted


def _past_the_deadline(droplet):
    Droplet.objects.filter(pk=droplet.pk).update(operation_deadline=timezone.now() - timedelta(seconds=1))


def test_a_stuck_action_is_polled_past_the_deadline_once_then_fails_saying_what_is_known(
    emulator_server, online
):
    schedule(online, "stop")
    emulator_server.control.add_faults({"effect": "stuck_action"})

    _begin(online, "stop")
    for _ in range(3):
        assert step(online) is not None
    assert _state(online) == (State.UPDATING, RuntimeState.STOPPING, "")

    _past_the_deadline(online)
    assert step(online) is not None  # DigitalOcean is still at it: one more deadline
    assert fresh(online).operation_deadline > timezone.now() + timedelta(minutes=9)
    _past_the_deadline(online)
    assert step(online) is None
    message = (
        "DigitalOcean did not finish the stop within 20 minutes; it was still in progress there. "
        "Pull the droplet once it has finished to bring it in step."
    )
    assert _state(online) == (State.ERRED, RuntimeState.ONLINE, message)


def test_an_action_that_finished_just_before_the_deadline_completes_after_it(emulator_server, online):
    """The look comes first: a resize (here a stop) DigitalOcean finished is done, whatever the clock says."""
    schedule(online, "stop")
    emulator_server.control.add_faults({"effect": "stuck_action"})
    _begin(online, "stop")
    emulator_server.control.complete_actions()
    _past_the_deadline(online)

    assert step(online) is None
    assert _state(online) == (State.OK, RuntimeState.OFFLINE, "")


def test_a_first_request_never_sent_by_the_deadline_is_not_sent_after_it(emulator_server, online):
    schedule(online, "restart")
    _past_the_deadline(online)

    assert step(online) is None
    assert _actions_on_do(emulator_server, online) == []
    assert _state(online) == (
        State.ERRED,
        RuntimeState.ONLINE,
        "The restart could not be sent to DigitalOcean within 10 minutes.",
    )


def test_a_shutdown_the_guest_ignores_is_followed_by_a_power_off_after_the_graceful_deadline(
    emulator_server, online, settings
):
    settings.DROPLET_GRACEFUL_SHUTDOWN = timedelta(seconds=60)
    schedule(online, "stop")
    emulator_server.control.add_faults({"effect": "shutdown_noop"})

    _begin(online, "stop")
    step(online)
    assert "forced" not in fresh(online).operation_params  # still on, but the guest gets its graceful minute
    assert _actions_on_do(emulator_server, online) == ["shutdown"]

    Droplet.objects.filter(pk=online.pk).update(operation_started=timezone.now() - timedelta(seconds=61))
    step(online)
    assert fresh(online).operation_params["forced"] is True
    assert _actions_on_do(emulator_server, online) == ["shutdown", "power_off"]

    assert step(online) is None
    assert _state(online) == (State.OK, RuntimeState.OFFLINE, "")
    assert fresh(online).start_time is None


def test_a_status_that_lags_behind_the_finished_action_is_waited_for(emulator_server, offline):
    schedule(offline, "start")
    emulator_server.control.add_faults({"match": {"action_type": "power_on"}, "effect": {"status_lag_s": 60}})

    _begin(offline, "start")
    for _ in range(3):
        assert step(offline) is not None
    assert _state(offline) == (State.UPDATING, RuntimeState.STARTING, "")

    emulator_server.control.advance_clock(61)
    assert step(offline) is None
    assert _state(offline) == (State.OK, RuntimeState.ONLINE, "")


def test_a_status_lagging_past_the_graceful_deadline_is_not_taken_for_an_ignored_shutdown(
    emulator_server, online, settings
):
    settings.DROPLET_GRACEFUL_SHUTDOWN = timedelta(0)
    schedule(online, "stop")
    emulator_server.control.add_faults({"match": {"action_type": "shutdown"}, "effect": {"status_lag_s": 60}})

    _begin(online, "stop")
    step(online)
    assert step(online) is not None  # DigitalOcean refused the power off: the droplet is off already

    assert _state(online) == (State.UPDATING, RuntimeState.STOPPING, "")
    emulator_server.control.advance_clock(61)
    assert step(online) is None
    assert _state(online) == (State.OK, RuntimeState.OFFLINE, "")


# --- delete ---------------------------------------------------------------------------------------------


def test_delete_keeps_polling_while_digitalocean_still_lists_the_droplet(emulator_server, online):
    schedule(online, "delete")
    emulator_server.control.add_faults({"effect": {"delete_lag_s": 60}})

    _begin(online, "delete")
    assert step(online) is not None
    assert _on_do(emulator_server, online)["status"] == "archive"
    assert fresh(online).state == State.DELETING

    emulator_server.control.advance_clock(61)
    assert step(online) is None
    assert fresh(online) is None


def test_delete_of_a_droplet_already_gone_from_digitalocean_deletes_the_row(emulator_server, online):
    emulator_server.control.out_of_band(int(online.backend_id), delete=True)
    schedule(online, "delete")

    assert _begin(online, "delete") is None
    assert fresh(online) is None


def test_delete_while_an_action_is_pending_waits_for_it(emulator_server, online):
    emulator_server.control.add_faults({"effect": "stuck_action"})
    make_backend(emulator_server).reboot(online.backend_id)  # started elsewhere, still running
    schedule(online, "delete")

    assert _begin(online, "delete") is not None
    assert fresh(online).operation_phase == "pending"  # the destroy was refused: it is sent again
    assert step(online) is not None  # still refused
    assert fresh(online).operation_phase == "pending"
    emulator_server.control.clear_faults()
    emulator_server.control.complete_actions()

    assert run_operation(online) is None
    assert fresh(online) is None
    assert droplets_on_do(emulator_server) == []


# --- resize, rename, pull ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("disk", "new_disk"), [(False, 25 * GiB), (True, 60 * GiB)])
def test_resize_changes_the_size_only_once_complete_and_the_disk_only_when_asked(
    emulator_server, emulated_catalog, offline, disk, new_disk
):
    new_size = emulated_catalog.sizes["s-2vcpu-2gb"]
    schedule(offline, "resize", size=new_size.backend_id, disk=disk)
    emulator_server.control.add_faults({"effect": "stuck_action"})

    _begin(offline, "resize")
    step(offline)
    row = fresh(offline)
    assert (row.state, row.runtime_state) == (State.UPDATING, RuntimeState.RESIZING)
    assert (row.cores, row.ram, row.disk, row.size.backend_id) == (1, 1 * GiB, 25 * GiB, "s-1vcpu-1gb")

    emulator_server.control.complete_actions()
    assert step(offline) is None

    row = fresh(offline)
    assert (row.state, row.runtime_state, row.error_message) == (State.OK, RuntimeState.OFFLINE, "")
    assert (row.cores, row.ram, row.disk, row.size) == (2, 2 * GiB, new_disk, new_size)
    assert _on_do(emulator_server, offline)["disk"] * GiB == new_disk


def test_rename(emulator_server, online):
    schedule(online, "rename", name="renamed", old_name=online.name)

    assert run_operation(online) is None

    assert _on_do(emulator_server, online)["name"] == "renamed"
    assert (fresh(online).name, *_state(online)) == ("renamed", State.OK, RuntimeState.ONLINE, "")


def test_pull_brings_in_changes_made_outside(emulator_server, emulated_catalog, online):
    emulator_server.control.out_of_band(int(online.backend_id), status="off", size_slug="s-2vcpu-2gb")
    schedule(online, "pull")

    assert run_operation(online) is None

    row = fresh(online)
    assert (row.state, row.runtime_state, row.start_time) == (State.OK, RuntimeState.OFFLINE, None)
    assert (row.cores, row.ram, row.size) == (2, 2 * GiB, emulated_catalog.sizes["s-2vcpu-2gb"])
    assert row.disk == 25 * GiB  # the control panel's resize leaves the disk


def test_pull_of_a_droplet_deleted_outside_fails_it(emulator_server, online):
    emulator_server.control.out_of_band(int(online.backend_id), delete=True)
    schedule(online, "pull")

    assert run_operation(online) is None

    state, _, message = _state(online)
    assert state == State.ERRED and "no longer exists" in message


# --- an operator steps in -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intervene", "expected"),
    [
        (services.droplet_set_ok, (State.OK, "")),
        (services.droplet_set_erred, (State.ERRED, "Marked as erred by an operator.")),
        (services.droplet_unlink, None),
    ],
)
def test_an_operators_recovery_during_polling_ends_the_operation_quietly(
    emulator_server, online, intervene, expected
):
    schedule(online, "stop")
    emulator_server.control.add_faults({"effect": "stuck_action"})
    _begin(online, "stop")
    generation = fresh(online).operation_generation  # the message for the next step, already sent

    intervene(droplet=fresh(online))
    emulator_server.control.complete_actions()

    assert droplet_advance(droplet_id=online.pk, generation=generation) == []
    row = fresh(online)
    assert (None if row is None else (row.state, row.error_message)) == expected
    if row is not None:
        assert row.runtime_state == RuntimeState.STOPPING  # not overwritten by the finished shutdown


# --- DigitalOcean busy with the droplet itself ------------------------------------------------------------


@pytest.mark.parametrize("event", ["backup", "live_migrate"])
def test_an_operation_waits_for_an_action_digitalocean_started_itself(emulator_server, online, event):
    """A backup or a maintenance migration locks the droplet ("pending event"): the stop waits for it to
    end and is sent then, instead of failing."""
    emulator_server.control.add_faults({"match": {"action_type": event}, "effect": "stuck_action"})
    emulator_server.control.out_of_band(int(online.backend_id), event=event)
    schedule(online, "stop")

    assert _begin(online, "stop") is not None
    row = fresh(online)
    assert (row.state, row.operation_phase, row.error_message) == (State.UPDATING, "pending", "")
    assert _actions_on_do(emulator_server, online) == [event]

    emulator_server.control.clear_faults()
    emulator_server.control.complete_actions()
    assert run_operation(online) is None
    assert _state(online) == (State.OK, RuntimeState.OFFLINE, "")
    assert sorted(_actions_on_do(emulator_server, online)) == sorted([event, "shutdown"])


@pytest.mark.parametrize(("page_size", "pages"), [(200, 1), (2, 3)])
def test_polls_of_one_accounts_operations_share_one_look_at_its_actions(
    emulator_server, emulated_catalog, project, settings, monkeypatch, page_size, pages
):
    """Following N operations costs ⌈N/200⌉ requests per look (pages read back to the oldest action
    followed), not N."""
    from droplets.backend import digitalocean

    monkeypatch.setattr(digitalocean, "PAGE_SIZE", page_size)
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 60
    droplets = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(5)]
    emulator_server.control.add_faults({"effect": "stuck_action"})
    for droplet in droplets:
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    emulator_server.control.clear_requests()

    for droplet in droplets:
        assert step(droplet) is not None  # still shutting down: polled again later

    requests = emulator_server.control.requests()
    assert [(r["method"], r["path"].rstrip("/")) for r in requests] == [("GET", "/v2/actions")] * pages
    assert all(fresh(droplet).operation_phase == "awaiting" for droplet in droplets)


def test_a_spent_budget_puts_its_own_accounts_step_off_and_no_other(
    emulator_server, other_emulator_server, emulated_catalog, project, settings
):
    """A step whose token's budget is spent returns at once to wait (holding no worker); another account's
    step, on another token, goes ahead."""
    from tests.fixtures.backend import make_emulated_settings
    from tests.fixtures.droplets import make_catalog

    settings.DIGITALOCEAN_BUDGET_PER_MINUTE = 1
    throttled = make_droplet_on_do(emulator_server, emulated_catalog, project)
    other_catalog = make_catalog(make_emulated_settings(other_emulator_server))
    other = make_droplet_on_do(other_emulator_server, other_catalog, project)
    services.droplet_stop(droplet=throttled)
    services.droplet_stop(droplet=other)
    assert step(throttled) is not None  # its one request this minute: the shutdown

    started = time.monotonic()
    waiting = step(throttled)  # its poll does not fit
    assert time.monotonic() - started < 5  # returned to wait, did not wait in the worker
    assert waiting.countdown > 50 and "request budget" in fresh(throttled).operation_error
    following = step(other)
    assert following is not None and fresh(other).operation_phase == "awaiting"  # sent, on its own budget


def test_operations_ending_together_share_one_look_at_the_accounts_droplets(
    emulator_server, emulated_catalog, project, settings
):
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 60
    droplets = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(5)]
    for droplet in droplets:
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    emulator_server.control.advance_clock(60)  # every shutdown is done on DigitalOcean
    emulator_server.control.clear_requests()

    for droplet in droplets:
        assert step(droplet) is None  # done

    requests = emulator_server.control.requests()
    assert [(r["method"], r["path"].rstrip("/")) for r in requests] == [
        ("GET", "/v2/actions"),
        ("GET", "/v2/droplets"),
    ]
    assert all((fresh(d).state, fresh(d).runtime_state) == (State.OK, RuntimeState.OFFLINE) for d in droplets)


def test_a_shared_look_that_fails_leaves_the_polls_after_it_to_wait_as_long(
    emulator_server, emulated_catalog, project, settings
):
    """The poll that claimed the account's look of its droplets and could not take it (a 429 here) gives the
    claim back: the polls after it wait as long as it does, for the budget, instead of polling again every
    few seconds until the claim lapses."""
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 0
    droplets = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(3)]
    for droplet in droplets:
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    emulator_server.control.advance_clock(60)  # done on DigitalOcean: each now wants the droplets' look
    emulator_server.control.add_faults(
        {"match": {"method": "GET", "path_regex": r"^/v2/droplets/?$"}, "effect": "rate_limited"}
    )
    emulator_server.control.clear_requests()

    # One after the other, at once (not `step`, which lets each step's wait pass first).
    waits = [
        own_next_step(d, droplet_advance(droplet_id=d.pk, generation=fresh(d).operation_generation)).countdown
        for d in droplets
    ]

    assert all(wait > 30 for wait in waits), waits  # none "look again shortly"
    listings = [r for r in emulator_server.control.requests() if r["path"].rstrip("/") == "/v2/droplets"]
    assert len(listings) == 1  # the 429 told the budget: the polls after it did not earn one of their own


def test_a_look_at_all_the_accounts_droplets_is_taken_only_when_it_costs_less(
    emulated_catalog, project, settings
):
    from droplets.observation import _worth_a_look
    from tests.fixtures.droplets import make_droplet

    droplets = [make_droplet(project=project, catalog=emulated_catalog) for _ in range(3)]
    account = emulated_catalog.service_settings.pk
    Droplet.objects.filter(pk=droplets[0].pk).update(operation_phase="awaiting")
    assert not _worth_a_look(account)  # one waiting: asking for it alone is cheaper than a page
    Droplet.objects.filter(pk=droplets[1].pk).update(operation_phase="awaiting")
    assert _worth_a_look(account)  # two waiting, one page of droplets
    settings.DROPLET_POLL_LOOK_MAX_DROPLETS = 2
    assert not _worth_a_look(account)  # too big an account to keep its look whole


def _polled_in(seconds: float, *droplets) -> datetime:
    """Leases the droplets as a step leaves them whose next poll is `seconds` away (their backoff)."""
    lease = timezone.now() + timedelta(seconds=seconds) + django_settings.DROPLET_STEP_LEASE
    Droplet.objects.filter(pk__in=[d.pk for d in droplets]).update(operation_lease_until=lease)
    return lease


def test_a_look_showing_actions_finished_makes_the_operations_waiting_on_them_due_now(
    emulator_server, emulated_catalog, project, settings
):
    """The poll that takes the account's look moves on the others it shows finished, instead of leaving
    each to its backoff (seconds, or tens of seconds, later); one whose poll comes in a moment is left to
    it."""
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 60
    looker, *backed_off, soon = [
        make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(4)
    ]
    for droplet in (looker, *backed_off, soon):
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    lease = _polled_in(30, *backed_off)
    _polled_in(0.2, soon)
    emulator_server.control.advance_clock(60)  # every shutdown is done on DigitalOcean

    following = droplet_advance(droplet_id=looker.pk, generation=fresh(looker).operation_generation)

    assert own_next_step(looker, following) is None  # done
    woken = {next_step.droplet_id: next_step for next_step in following}
    assert set(woken) == {droplet.pk for droplet in backed_off}
    for droplet in backed_off:
        row = fresh(droplet)
        assert (woken[droplet.pk].generation, woken[droplet.pk].countdown) == (row.operation_generation, 0)
        assert not woken[droplet.pk].first_step
        assert row.operation_lease_until < lease  # leased as a step sent now: beat resends it if lost
    emulator_server.control.clear_requests()
    for droplet in backed_off:
        # The woken step ends the operation from the looks already taken; the message it had finds its
        # generation taken.
        generation = woken[droplet.pk].generation
        assert droplet_advance(droplet_id=droplet.pk, generation=generation) == []
        assert droplet_advance(droplet_id=droplet.pk, generation=generation) == []
        assert (fresh(droplet).state, fresh(droplet).runtime_state) == (State.OK, RuntimeState.OFFLINE)
    assert emulator_server.control.requests() == []
    assert fresh(soon).state == State.UPDATING  # its own poll, due in a moment, reads the look


def test_a_look_at_the_accounts_droplets_makes_the_operations_waiting_to_read_theirs_due_now(
    emulator_server, emulated_catalog, project, settings
):
    settings.DROPLET_POLL_SNAPSHOT_SECONDS = 60
    looker, *put_off = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(3)]
    for droplet in (looker, *put_off):
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    emulator_server.control.advance_clock(60)
    for droplet in put_off:  # their shutdowns were seen done, and they wait to read their droplets
        row = fresh(droplet)
        Droplet.objects.filter(pk=droplet.pk).update(
            action_id="", operation_params={**row.operation_params, "action_done_at": time.time() - 1}
        )
    _polled_in(30, *put_off)

    following = droplet_advance(droplet_id=looker.pk, generation=fresh(looker).operation_generation)

    assert {next_step.droplet_id for next_step in following} == {droplet.pk for droplet in put_off}
    requests = [(r["method"], r["path"].rstrip("/")) for r in emulator_server.control.requests()]
    assert requests[-2:] == [("GET", "/v2/actions"), ("GET", "/v2/droplets")]


def test_while_others_are_in_progress_one_of_them_looks_again_within_the_look_interval(
    emulator_server, emulated_catalog, project, settings
):
    """However long their backoffs have grown, an account's operations in flight are looked at every few
    seconds, by one of them: the one due soonest comes then, unless one comes sooner anyway."""
    settings.DROPLET_POLL_SNAPSHOT_SECONDS, settings.DROPLET_POLL_LOOK_EVERY_SECONDS = 60, 5
    looker, sooner, later = [make_droplet_on_do(emulator_server, emulated_catalog, project) for _ in range(3)]
    emulator_server.control.add_faults({"effect": "stuck_action"})
    for droplet in (looker, sooner, later):
        services.droplet_stop(droplet=droplet)
        step(droplet)  # sends the shutdown
    _polled_in(20, sooner)
    lease = _polled_in(30, later)

    following = droplet_advance(droplet_id=looker.pk, generation=fresh(looker).operation_generation)

    made_due = [next_step for next_step in following if next_step.droplet_id != looker.pk]
    assert [(n.droplet_id, n.generation, n.countdown) for n in made_due] == [
        (sooner.pk, fresh(sooner).operation_generation, 5)
    ]
    assert (
        fresh(sooner).operation_lease_until
        < timezone.now() + timedelta(seconds=6) + django_settings.DROPLET_STEP_LEASE
    )
    assert fresh(later).operation_lease_until == lease  # left to its backoff: the look will wake it

    _polled_in(3, sooner)  # due before the interval is over: nothing to add
    shared_store().write(f"actions:{get_backend(emulated_catalog.service_settings).account_key}", None)  # old
    following = droplet_advance(droplet_id=looker.pk, generation=fresh(looker).operation_generation)
    assert [next_step.droplet_id for next_step in following] == [looker.pk]
