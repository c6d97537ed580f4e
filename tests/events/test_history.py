"""The event history of droplets (docs/operations.md, "History"): what each operation records, through the
services and real steps against the emulator, and `/api/events/` with its filters and visibility."""

from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.management import call_command
from django.utils import timezone

from droplets import services
from droplets.models import Droplet
from droplets.states import State
from droplets.sync import droplet_fail_overdue, droplet_inventory_sync
from tasks.periodic import event_purge_task
from tests.api.helpers import BASE, assert_detail, body, detail_url
from tests.fixtures.backend import fresh, make_droplet_on_do, run_operation
from tests.fixtures.factories import client_for, make_project
from waldur_do.events.log import droplet_event
from waldur_do.events.models import Event


def _events(droplet):
    return Event.objects.filter(droplet_uuid=droplet.uuid).order_by("created", "pk")


def _types(droplet):
    return list(_events(droplet).values_list("event_type", flat=True))


@pytest.fixture
def online(emulator_server, emulated_catalog, world):
    return make_droplet_on_do(emulator_server, emulated_catalog, world.project)


def test_an_operation_records_who_asked_each_step_and_digitaloceans_action(online, world):
    manager = world.users["manager"]
    response = world.client("manager").post(f"{detail_url('digitalocean-droplets', online.uuid)}stop/")
    assert response.status_code == 202
    run_operation(online)

    assert _types(online) == [
        "resource_stop_scheduled",
        "resource_stop_started",
        "resource_stop_accepted",
        "resource_stop_succeeded",
    ]
    scheduled, started, accepted, succeeded = _events(online)
    assert (scheduled.actor, scheduled.actor_name) == (manager, manager.username)
    assert scheduled.context["user_username"] == manager.username
    assert started.actor_name == accepted.actor_name == succeeded.actor_name == "system"
    assert accepted.action_id and accepted.context["action_id"] == accepted.action_id
    assert accepted.action_id in accepted.message
    for event in (scheduled, succeeded):
        assert event.context["resource_uuid"] == online.uuid.hex
        assert event.context["resource_backend_id"] == online.backend_id
        assert event.context["project_uuid"] == world.project.uuid.hex
        assert event.context["customer_uuid"] == world.customer.uuid.hex


def test_a_failure_stays_in_the_history_after_a_pull_clears_the_error(online, emulator_server, world):
    emulator_server.control.add_faults({"match": {"action_type": "reboot"}, "effect": "action_errored"})
    services.droplet_restart(droplet=online, actor=world.users["admin"])
    run_operation(online)
    failed_message = fresh(online).error_message
    assert fresh(online).state == State.ERRED and failed_message

    services.droplet_pull(droplet=fresh(online), actor=world.users["admin"])
    run_operation(online)

    assert fresh(online).error_message == ""
    failed = Event.objects.get(droplet_uuid=online.uuid, event_type="resource_restart_failed")
    assert failed.context["error"] == failed_message
    assert _types(online)[-1] == "resource_pull_succeeded"


def test_a_retry_says_why_and_when(online, emulator_server):
    emulator_server.control.add_faults(
        {
            "match": {"path_regex": rf"^/v2/droplets/{online.backend_id}/actions$"},
            "when": {"times": 1},
            "effect": "server_unavailable",
        }
    )
    services.droplet_stop(droplet=online)
    run_operation(online)

    retried = Event.objects.get(droplet_uuid=online.uuid, event_type="resource_stop_retried")
    assert retried.context["retry_in_seconds"] > 0 and retried.context["attempt"] == 1
    assert retried.context["error"] in retried.message
    assert _types(online)[-1] == "resource_stop_succeeded"


def test_the_history_of_a_deleted_droplet_outlives_its_row(online, world):
    world.client("admin").delete(detail_url("digitalocean-droplets", online.uuid))
    run_operation(online)

    assert fresh(online) is None
    assert _types(online)[-1] == "resource_deletion_succeeded"
    assert not Event.objects.filter(droplet_uuid=online.uuid).exclude(droplet=None).exists()
    response = world.client("member").get("/api/events/", {"resource_uuid": online.uuid.hex})
    assert body(response)[0]["event_type"] == "resource_deletion_succeeded"


def test_staff_interventions_name_the_operator_and_what_they_ended(online, world):
    staff = world.users["staff"]
    services.droplet_stop(droplet=online)
    world.client("staff").post(
        f"{detail_url('digitalocean-droplets', online.uuid)}set_erred/", {"error_message": "disk full"}
    )
    world.client("staff").post(f"{detail_url('digitalocean-droplets', online.uuid)}set_ok/")

    erred = Event.objects.get(droplet_uuid=online.uuid, event_type="resource_set_erred")
    assert erred.actor == staff
    assert (erred.context["error"], erred.context["ended_operation"]) == ("disk full", "stop")
    assert Event.objects.get(droplet_uuid=online.uuid, event_type="resource_set_ok").actor == staff


def test_drift_and_deletion_outside_are_recorded_by_the_sync(online, emulator_server):
    emulator_server.control.out_of_band(int(online.backend_id), status="off")
    droplet_inventory_sync(service_settings=online.service_settings)
    drift = Event.objects.get(droplet_uuid=online.uuid, event_type="resource_drift_detected")
    assert drift.context["changes"]["runtime_state"] == ["online", "offline"]
    assert drift.actor_name == "system"

    emulator_server.control.out_of_band(int(online.backend_id), delete=True)
    droplet_inventory_sync(service_settings=online.service_settings)
    assert _types(online)[-1] == "resource_deleted_outside"

    droplet_inventory_sync(service_settings=online.service_settings)
    assert _types(online).count("resource_deleted_outside") == 1  # nothing changed, nothing recorded


def test_an_abandoned_operation_is_recorded_as_timed_out(online, settings):
    Droplet.objects.filter(pk=online.pk).update(
        state=State.UPDATING,
        operation="restart",
        operation_phase="awaiting",
        operation_deadline=timezone.now() - settings.DROPLET_REAPER_GRACE - timedelta(seconds=1),
        operation_lease_until=None,
    )
    assert droplet_fail_overdue() == 1
    timed_out = Event.objects.get(droplet_uuid=online.uuid, event_type="resource_restart_timed_out")
    assert timed_out.context["error"] == fresh(online).error_message


# /api/events/


def test_events_are_seen_by_whoever_sees_the_droplet(online, world, emulator_server, emulated_catalog):
    other = make_droplet_on_do(emulator_server, emulated_catalog, make_project())
    services.droplet_stop(droplet=online)
    services.droplet_stop(droplet=other)

    for role in ("staff", "owner", "support", "admin", "manager", "member"):
        seen = {e["context"]["resource_uuid"] for e in body(world.client(role).get("/api/events/"))}
        assert online.uuid.hex in seen, role
        assert (other.uuid.hex in seen) == (role == "staff"), role
    assert body(world.client("stranger").get("/api/events/")) == []
    assert client_for(None).get("/api/events/").status_code == 401


def test_events_follow_waldurs_list_conventions_and_filters(online, world):
    services.droplet_stop(droplet=online, actor=world.users["manager"])
    services.droplet_set_ok(droplet=fresh(online), actor=world.users["staff"])
    client = world.client("staff")

    response = client.get("/api/events/")
    events = body(response)
    assert response["X-Result-Count"] == "2"
    assert [e["event_type"] for e in events] == ["resource_set_ok", "resource_stop_scheduled"]  # newest first
    assert set(events[0]) == {"uuid", "created", "event_type", "message", "context"}
    assert events[0]["created"].endswith("Z")

    scope = BASE + detail_url("digitalocean-droplets", online.uuid)
    cases = {
        "scope": ({"scope": scope}, 2),
        "resource": ({"resource_uuid": online.uuid.hex}, 2),
        "project": ({"project_uuid": world.project.uuid.hex}, 2),
        "customer": ({"customer_uuid": world.customer.uuid.hex}, 2),
        "one type": ({"event_type": "resource_set_ok"}, 1),
        "two types": ({"event_type": ["resource_set_ok", "resource_stop_scheduled"]}, 2),
        "from the future": ({"created_from": (timezone.now() + timedelta(hours=1)).isoformat()}, 0),
        "to the past": ({"created_to": (timezone.now() - timedelta(hours=1)).isoformat()}, 0),
        # An offset PostgreSQL refuses (it takes up to ±15:59) still means the instant it names.
        "a day's offset, before": ({"created_to": _in_offset(timezone.now() - timedelta(hours=1))}, 0),
        "a day's offset, after": ({"created_from": _in_offset(timezone.now() - timedelta(hours=1))}, 2),
    }
    for name, (params, count) in cases.items():
        assert len(body(client.get("/api/events/", params))) == count, name
    oldest_first = body(client.get("/api/events/", {"o": "created"}))
    assert [e["event_type"] for e in oldest_first] == ["resource_stop_scheduled", "resource_set_ok"]
    assert set(body(client.get("/api/events/", {"field": ["uuid", "event_type"]}))[0]) == {
        "uuid",
        "event_type",
    }
    one = events[0]["uuid"]
    assert body(client.get(f"/api/events/{one}/"))["uuid"] == one


def _in_offset(instant, offset=timedelta(hours=23, minutes=59)):
    return instant.astimezone(dt_timezone(offset)).isoformat()


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_instant_outside_the_years_utc_can_hold_is_a_400(world, instant):
    response = world.client("staff").get("/api/events/", {"created_from": instant})
    assert response.status_code == 400
    assert body(response) == {"created_from": ["Enter a date and time between the years 1 and 9999 in UTC."]}


@pytest.mark.parametrize(
    "scope", ["nonsense", f"{BASE}/api/projects/{'0' * 32}/", f"{BASE}/api/digitalocean-droplets/not-a-uuid/"]
)
def test_a_scope_that_is_not_a_droplet_is_a_400(world, scope):
    response = world.client("staff").get("/api/events/", {"scope": scope})
    assert response.status_code == 400
    assert body(response) == {"scope": ["Enter the URL of a droplet."]}


def test_an_unknown_event_is_a_404(world):
    assert_detail(
        world.client("staff").get(f"/api/events/{'0' * 32}/"), 404, "No Event matches the given query."
    )


def test_old_events_are_purged_by_a_periodic_task(online, settings):
    services.droplet_stop(droplet=online)
    old = Event.objects.get()
    Event.objects.filter(pk=old.pk).update(
        created=timezone.now() - settings.EVENT_RETENTION - timedelta(minutes=1)
    )
    services.droplet_set_ok(droplet=fresh(online))

    event_purge_task()

    assert list(Event.objects.values_list("event_type", flat=True)) == ["resource_set_ok"]
    call_command("setup_periodic_tasks")
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(task="tasks.periodic.event_purge_task").enabled


def test_an_event_names_the_project_and_customer_the_step_loaded_with_the_droplet(
    online, world, django_assert_num_queries
):
    """A worker's step loads them with the droplet: its events cost one INSERT each, not a query more."""
    loaded = Droplet.objects.select_related("project__customer").get(pk=online.pk)
    with django_assert_num_queries(1):
        event = droplet_event(loaded, "resource_pull_scheduled", "Pulled.")
    alone = Droplet.objects.get(pk=online.pk)
    with django_assert_num_queries(2):  # the project and customer, then the event
        droplet_event(alone, "resource_pull_scheduled", "Pulled.")
    assert (event.project, event.customer) == (world.project, world.customer)
    assert event.context["customer_name"] == world.customer.name
