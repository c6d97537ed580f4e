"""Beat's jobs and the settings check: drift from DigitalOcean brought in, lost operations failed, catalogs
pulled and tokens checked, and a schedule that can be set up any number of times."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from droplets.backend.digitalocean import DigitalOceanBackend
from droplets.backend.errors import TransientError
from droplets.execution import droplet_backend_tag
from droplets.models import Droplet, Image, Region, Size
from droplets.states import RuntimeState, State
from droplets.sync import (
    DELETED_OUTSIDE_MESSAGE,
    droplet_fail_overdue,
    droplet_inventory_sync,
    droplet_sync_due,
    sync_interval_for,
)
from tasks.droplets import droplet_advance_task
from tasks.management.commands.setup_periodic_tasks import SCHEDULE
from tasks.periodic import (
    catalog_pull_task,
    droplet_fail_overdue_task,
    droplet_inventory_sync_task,
    droplet_resume_stalled_task,
)
from tasks.structure import SYNC_MAX_RETRIES, service_settings_sync_task
from tests.fixtures.backend import (
    fresh,
    make_backend,
    make_droplet_on_do,
    make_emulated_settings,
    make_scheduled_create,
    rate_limit_waited_out,
    schedule,
    step,
)
from tests.fixtures.droplets import make_catalog
from waldur_do.events.models import Event
from waldur_do.structure.models import ServiceSettings

GiB = 1024


@pytest.fixture
def on_do(emulator_server, emulated_catalog, project):
    def make(**fields):
        return make_droplet_on_do(emulator_server, emulated_catalog, project, **fields)

    return make


# --- inventory sync -------------------------------------------------------------------------------------


def test_inventory_sync_brings_in_drift_made_outside(emulator_server, emulated_catalog, on_do):
    powered_off, deleted, resized, unchanged = on_do(), on_do(), on_do(status="off"), on_do()
    emulator_server.control.out_of_band(int(powered_off.backend_id), status="off")
    emulator_server.control.out_of_band(int(deleted.backend_id), delete=True)
    emulator_server.control.out_of_band(int(resized.backend_id), size_slug="s-2vcpu-2gb")
    before = fresh(unchanged).modified

    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 3

    powered_off = fresh(powered_off)
    assert (powered_off.state, powered_off.runtime_state, powered_off.start_time) == (
        State.OK,
        RuntimeState.OFFLINE,
        None,
    )
    assert (fresh(deleted).state, fresh(deleted).error_message) == (State.ERRED, DELETED_OUTSIDE_MESSAGE)
    resized = fresh(resized)
    assert (resized.cores, resized.ram, resized.size) == (2, 2 * GiB, emulated_catalog.sizes["s-2vcpu-2gb"])
    assert fresh(unchanged).modified == before
    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0


def test_inventory_sync_leaves_a_droplet_that_changed_during_the_listing_for_the_next_run(
    emulator_server, emulated_catalog, on_do, monkeypatch
):
    """A create that completes while the listing is taken is not on that listing: not gone for all that."""
    droplet, _listed = on_do(), on_do()
    emulator_server.control.out_of_band(int(droplet.backend_id), delete=True)
    original = DigitalOceanBackend.droplet_pages

    def listing_while_a_worker_writes(backend):
        for page in original(backend):
            Droplet.objects.filter(pk=droplet.pk).update(modified=timezone.now())
            yield page

    monkeypatch.setattr(DigitalOceanBackend, "droplet_pages", listing_while_a_worker_writes)
    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0
    assert fresh(droplet).state == State.OK


def test_inventory_sync_reads_page_by_page_and_writes_nothing_when_nothing_changed(
    emulator_server, emulated_catalog, on_do
):
    emulator_server.control.configure(max_per_page=2)
    for _ in range(5):
        on_do()
    emulator_server.control.clear_requests()

    with CaptureQueriesContext(connection) as queries:
        assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0

    listings = [e for e in emulator_server.control.requests() if e["path"].rstrip("/") == "/v2/droplets"]
    assert [e["query"]["page"] for e in listings] == ["1", "2", "3"]  # ⌈5/2⌉ calls, one page each
    assert len(emulator_server.control.requests()) == 3
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert not [sql for sql in writes if '"droplets_droplet"' in sql or '"events_event"' in sql]


def test_the_sync_of_a_big_account_runs_less_often_keeping_to_its_share_of_the_budget(
    emulated_catalog, settings
):
    settings.DIGITALOCEAN_BUDGET_PER_HOUR, settings.DROPLET_SYNC_BUDGET_SHARE = 5000, 0.25
    assert [sync_interval_for(n) for n in (0, 4_000, 10_000, 100_000)] == [60, 60, 144, 1440]
    # at 10,000 droplets: 50 pages every 144 s is 1,250 requests an hour, the 25 % share of 5,000

    service_settings = emulated_catalog.service_settings
    assert droplet_sync_due(service_settings)
    droplet_inventory_sync(service_settings=service_settings)
    service_settings.refresh_from_db()
    assert (service_settings.sync_interval, droplet_sync_due(service_settings)) == (60, False)
    service_settings.synced_at -= timedelta(seconds=61)
    assert droplet_sync_due(service_settings)


def test_a_droplet_missing_from_a_listing_is_gone_only_when_digitalocean_says_so(
    emulator_server, emulated_catalog, on_do, monkeypatch
):
    """A droplet deleted while the pages are read shifts the later pages: another droplet may be on none."""
    hidden, shown = on_do(), on_do()
    original = DigitalOceanBackend.droplet_pages

    def listing_that_skips_one(backend):
        for page in original(backend):
            yield [current for current in page if current.id != hidden.backend_id]

    monkeypatch.setattr(DigitalOceanBackend, "droplet_pages", listing_that_skips_one)
    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0
    assert fresh(hidden).state == State.OK

    emulator_server.control.out_of_band(int(hidden.backend_id), delete=True)
    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 1
    assert (fresh(hidden).state, fresh(hidden).error_message) == (State.ERRED, DELETED_OUTSIDE_MESSAGE)
    assert fresh(shown).state == State.OK


def test_inventory_sync_leaves_droplets_in_an_operation_alone(emulator_server, emulated_catalog, on_do):
    stopping, deleting = on_do(), on_do()
    schedule(stopping, "stop")
    Droplet.objects.filter(pk=deleting.pk).update(state=State.DELETING, operation="delete")
    emulator_server.control.out_of_band(int(stopping.backend_id), status="off")
    emulator_server.control.out_of_band(int(deleting.backend_id), delete=True)

    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0

    assert (fresh(stopping).state, fresh(stopping).runtime_state) == (
        State.UPDATE_SCHEDULED,
        RuntimeState.ONLINE,
    )
    assert (fresh(deleting).state, fresh(deleting).error_message) == (State.DELETING, "")


def test_a_listing_cut_short_marks_nothing_gone(emulator_server, emulated_catalog, on_do):
    emulator_server.control.configure(max_per_page=2)
    droplets = [on_do() for _ in range(5)]
    emulator_server.control.add_faults(
        {"match": {"path_regex": "^/v2/droplets$", "page_gte": 2}, "effect": "rate_limited"}
    )

    with pytest.raises(TransientError):
        droplet_inventory_sync(service_settings=emulated_catalog.service_settings)

    assert {fresh(d).state for d in droplets} == {State.OK}
    emulator_server.control.clear_faults()
    rate_limit_waited_out(emulated_catalog.service_settings)
    assert droplet_inventory_sync(service_settings=emulated_catalog.service_settings) == 0


def test_the_sync_task_goes_on_with_the_next_account_after_a_failed_listing(
    emulator_server, other_emulator_server, on_do, project
):
    emulator_server.control.add_faults({"match": {"path_regex": "^/v2/droplets$"}, "effect": "server_error"})
    troubled = on_do()
    emulator_server.control.out_of_band(int(troubled.backend_id), delete=True)
    other = make_droplet_on_do(
        other_emulator_server, make_catalog(make_emulated_settings(other_emulator_server)), project
    )
    other_emulator_server.control.out_of_band(int(other.backend_id), status="off")

    droplet_inventory_sync_task.apply()

    assert (fresh(troubled).state, fresh(troubled).error_message) == (State.OK, "")
    assert (fresh(other).state, fresh(other).runtime_state) == (State.OK, RuntimeState.OFFLINE)


def test_a_droplet_found_again_is_ok_again(emulator_server, emulated_catalog, on_do):
    droplet = on_do()
    Droplet.objects.filter(pk=droplet.pk).update(state=State.ERRED, error_message=DELETED_OUTSIDE_MESSAGE)

    droplet_inventory_sync(service_settings=emulated_catalog.service_settings)

    assert (fresh(droplet).state, fresh(droplet).error_message) == (State.OK, "")


# --- droplets with our tag that no row tracks ------------------------------------------------------------


def _tagged_on_do(emulator, droplet) -> dict:
    return emulator.core.seed_droplet(
        name=droplet.name, size="s-1vcpu-1gb", tags=[droplet_backend_tag(droplet)]
    )


def test_a_row_waiting_for_its_id_adopts_the_droplet_made_for_it(emulator_server, emulated_catalog, project):
    """A create that failed before it learnt the id (its answer lost, then its deadline): the droplet it made
    is found by its tag, so it can be pulled or deleted instead of running unmanaged."""
    lost = make_scheduled_create(emulated_catalog, project)
    Droplet.objects.filter(pk=lost.pk).update(state=State.ERRED, operation="")
    remote = _tagged_on_do(emulator_server, lost)

    droplet_inventory_sync(service_settings=emulated_catalog.service_settings)

    assert fresh(lost).backend_id == str(remote["id"])
    assert Event.objects.get(droplet=lost, event_type="resource_adopted").context[
        "adopted_backend_id"
    ] == str(remote["id"])


@pytest.mark.parametrize("destroy", [False, True])
def test_a_twin_is_reported_and_destroyed_only_when_a_setting_says_so(
    emulator_server, on_do, settings, destroy
):
    settings.DROPLET_DESTROY_TWINS = destroy
    tracked = on_do()
    twin = _tagged_on_do(emulator_server, tracked)

    droplet_inventory_sync(service_settings=tracked.service_settings)

    event = Event.objects.get(droplet=tracked, event_type__startswith="resource_twin_")
    assert event.event_type == ("resource_twin_destroyed" if destroy else "resource_twin_detected")
    assert event.context["twin_backend_id"] == str(twin["id"])
    on_do_ids = {d["id"] for d in emulator_server.control.state()["droplets"]}
    assert (twin["id"] in on_do_ids) is not destroy
    assert fresh(tracked).backend_id != str(twin["id"])


def test_a_tagged_droplet_whose_row_was_unlinked_is_left_alone(emulator_server, on_do, settings):
    settings.DROPLET_DESTROY_TWINS = True
    gone = on_do()
    remote = _tagged_on_do(emulator_server, gone)
    service_settings = gone.service_settings
    gone.delete()  # unlinked: forgotten on purpose

    droplet_inventory_sync(service_settings=service_settings)

    assert remote["id"] in {d["id"] for d in emulator_server.control.state()["droplets"]}


# --- the reaper -----------------------------------------------------------------------------------------


def test_operations_past_their_deadline_and_grace_are_failed(
    emulator_server, on_do, project, emulated_catalog
):
    now = timezone.now()
    lost_stop, recent_stop, lost_create = on_do(), on_do(), on_do()
    schedule(lost_stop, "stop", started=now - timedelta(minutes=10 + 5, seconds=1))
    Droplet.objects.filter(pk=lost_stop.pk).update(state=State.UPDATING, runtime_state=RuntimeState.STOPPING)
    schedule(recent_stop, "stop", started=now - timedelta(minutes=14))
    schedule(lost_create, "create", started=now - timedelta(minutes=15 + 5, seconds=1))
    Droplet.objects.update(operation_lease_until=now - timedelta(seconds=1))  # nobody holds them

    assert droplet_fail_overdue() == 2
    droplet_fail_overdue_task.apply()

    lost_stop, recent_stop, lost_create = fresh(lost_stop), fresh(recent_stop), fresh(lost_create)
    assert (lost_stop.state, lost_stop.runtime_state) == (State.ERRED, RuntimeState.ONLINE)
    assert lost_stop.error_message == (
        "The stop did not finish within 10 minutes and was abandoned; "
        "pull the droplet to bring it in step with DigitalOcean."
    )
    assert (recent_stop.state, recent_stop.error_message) == (State.UPDATE_SCHEDULED, "")
    assert (lost_create.state, lost_create.runtime_state) == (State.ERRED, RuntimeState.ERROR)
    assert "create did not finish within 15 minutes" in lost_create.error_message


def test_deadlines_and_the_grace_are_settings(emulator_server, on_do, project, emulated_catalog, settings):
    settings.DROPLET_DEADLINES = {"stop": timedelta(minutes=2)}
    settings.DROPLET_REAPER_GRACE = timedelta(seconds=30)
    now = timezone.now()
    overdue, within = on_do(), on_do()
    schedule(overdue, "stop", started=now - timedelta(minutes=2, seconds=31))
    schedule(within, "stop", started=now - timedelta(minutes=2, seconds=29))
    Droplet.objects.update(operation_lease_until=now - timedelta(seconds=1))

    assert droplet_fail_overdue() == 1
    assert "stop did not finish within 2 minutes" in fresh(overdue).error_message
    assert fresh(within).state == State.UPDATE_SCHEDULED


# --- service settings: token check and catalog ------------------------------------------------------------


def test_a_good_token_makes_the_settings_ok_with_the_catalog(db, emulator_server):
    service_settings = make_emulated_settings(
        emulator_server, state=ServiceSettings.State.CREATING, error_message="old"
    )

    service_settings_sync_task.apply(args=(service_settings.pk,))

    service_settings.refresh_from_db()
    assert (service_settings.state, service_settings.error_message) == (ServiceSettings.State.OK, "")
    regions = Region.objects.filter(service_settings=service_settings)
    assert {r.backend_id: r.available for r in regions}["nyc2"] is False
    assert regions.count() == 7
    size = Size.objects.get(service_settings=service_settings, backend_id="s-1vcpu-1gb")
    assert (size.cores, size.ram, size.disk) == (1, 1 * GiB, 25 * GiB)
    assert {r.backend_id for r in size.regions.all()} == {"nyc1", "nyc3", "sfo3", "ams3", "fra1", "sgp1"}
    image = Image.objects.get(service_settings=service_settings, backend_id="debian-12-x64")
    assert (image.distribution, image.name, image.min_disk_size) == ("Debian", "12 x64", 10 * GiB)
    assert image.regions.filter(backend_id="nyc1").exists()


def test_a_refused_token_makes_the_settings_erred_without_naming_it(db, emulator_server):
    emulator_server.control.configure(tokens=[emulator_server.token])
    service_settings = make_emulated_settings(emulator_server, token="wrong-secret-token")

    service_settings_sync_task.apply(args=(service_settings.pk,))

    service_settings.refresh_from_db()
    assert service_settings.state == ServiceSettings.State.ERRED
    assert service_settings.error_message == "DigitalOcean refused the token: Unable to authenticate you."
    assert "wrong-secret-token" not in service_settings.error_message
    assert len(emulator_server.control.requests()) == 1  # not retried


def test_a_transient_error_in_the_settings_check_is_retried(db, emulator_server):
    emulator_server.control.add_faults({"effect": "empty_5xx", "when": {"times": 2}})
    service_settings = make_emulated_settings(emulator_server, state=ServiceSettings.State.CREATING)

    service_settings_sync_task.apply(args=(service_settings.pk,))

    service_settings.refresh_from_db()
    assert service_settings.state == ServiceSettings.State.OK
    assert [e["status"] for e in emulator_server.control.requests()][:3] == [503, 503, 200]


def test_a_settings_check_that_keeps_failing_ends_erred(db, emulator_server):
    emulator_server.control.add_faults({"effect": "server_error"})
    service_settings = make_emulated_settings(emulator_server, state=ServiceSettings.State.CREATING)

    service_settings_sync_task.apply(args=(service_settings.pk,))

    service_settings.refresh_from_db()
    assert len(emulator_server.control.requests()) == 1 + SYNC_MAX_RETRIES
    assert (service_settings.state, service_settings.error_message) == (
        ServiceSettings.State.ERRED,
        "DigitalOcean had an internal error (500): Unexpected server-side error",
    )


def test_the_catalog_pull_drops_what_the_account_no_longer_offers(emulator_server, emulated_catalog):
    service_settings = emulated_catalog.service_settings
    Size.objects.create(
        service_settings=service_settings,
        backend_id="retired",
        name="retired",
        cores=1,
        ram=1,
        disk=1,
        transfer=1,
    )

    catalog_pull_task.apply()

    assert not Size.objects.filter(service_settings=service_settings, backend_id="retired").exists()
    offered = {size.slug for size in make_backend(emulator_server).list_sizes()}
    assert (
        set(Size.objects.filter(service_settings=service_settings).values_list("backend_id", flat=True))
        == offered
    )


def test_a_catalog_pull_that_meets_a_passing_error_keeps_the_settings_state(
    emulator_server, emulated_catalog
):
    emulator_server.control.add_faults({"effect": "bad_gateway_html"})

    catalog_pull_task.apply()

    service_settings = emulated_catalog.service_settings
    service_settings.refresh_from_db()
    assert (service_settings.state, service_settings.error_message) == (ServiceSettings.State.OK, "")


def test_a_catalog_pull_with_a_refused_token_makes_the_settings_erred(emulator_server, emulated_catalog):
    emulator_server.control.configure(tokens=["another-token"])

    catalog_pull_task.apply()

    service_settings = emulated_catalog.service_settings
    service_settings.refresh_from_db()
    assert service_settings.state == ServiceSettings.State.ERRED
    assert service_settings.error_message == "DigitalOcean refused the token: Unable to authenticate you."


# --- the schedule ---------------------------------------------------------------------------------------


def _schedule_rows():
    return sorted(
        PeriodicTask.objects.values_list(
            "pk", "name", "task", "interval__every", "interval__period", "expire_seconds", "enabled"
        )
    )


def test_setting_up_the_schedule_twice_gives_the_same_rows(db):
    call_command("setup_periodic_tasks", stdout=StringIO())
    first = _schedule_rows()
    PeriodicTask.objects.filter(name=next(iter(SCHEDULE))).update(enabled=False)

    call_command("setup_periodic_tasks", stdout=StringIO())

    assert _schedule_rows() == first
    assert len(first) == len(SCHEDULE)
    assert IntervalSchedule.objects.count() == len({every for _, every, _ in SCHEDULE.values()})
    assert {row[2] for row in first} == {task for task, _, _ in SCHEDULE.values()}


# --- resuming a chain of polls that stopped ---------------------------------------------------------------


def test_operations_no_worker_holds_are_sent_on_and_then_finish(emulator_server, on_do, monkeypatch):
    """A step that never reached a worker (a lost message, a broker that was down when the request came) or
    whose worker was lost: once its lease has passed, beat sends it on, and the stop completes."""
    now = timezone.now()
    lost, held, overdue, never_sent = on_do(), on_do(), on_do(), on_do()
    for droplet, started, lease_until in (
        (lost, now - timedelta(minutes=7), now - timedelta(seconds=1)),
        (held, now - timedelta(minutes=7), now + timedelta(seconds=30)),
        (overdue, now - timedelta(minutes=16), now - timedelta(minutes=1)),
        (never_sent, now - timedelta(minutes=3), now - timedelta(seconds=1)),
    ):
        schedule(droplet, "stop", started=started)
        Droplet.objects.filter(pk=droplet.pk).update(operation_lease_until=lease_until)
    Droplet.objects.filter(pk=lost.pk).update(state=State.UPDATING, operation_phase="awaiting")
    sent = []
    monkeypatch.setattr(droplet_advance_task, "apply_async", lambda args, queue: sent.append((args, queue)))

    droplet_resume_stalled_task.apply()

    generation = {d.pk: fresh(d).operation_generation for d in (lost, never_sent)}
    assert sorted(sent) == sorted(
        [((lost.pk, generation[lost.pk]), "polling"), ((never_sent.pk, generation[never_sent.pk]), "default")]
    )
    monkeypatch.undo()
    for droplet in (lost, never_sent):
        for _ in range(6):  # the resumed stop looks for the shutdown it may have sent, then follows it
            step(droplet)
            emulator_server.control.complete_actions()
            if fresh(droplet).state == State.OK:
                break
        assert (fresh(droplet).state, fresh(droplet).runtime_state) == (State.OK, RuntimeState.OFFLINE)
    assert fresh(held).state == State.UPDATE_SCHEDULED and fresh(overdue).state == State.UPDATE_SCHEDULED
