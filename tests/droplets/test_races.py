"""docs/api.md, "Operations": of two requests racing for one droplet, exactly one is accepted and the other
gets 409.

The services' transitions are compare-and-set updates, so the loser is the one whose update finds the row
no longer in a source state, even when both loaded the droplet while it still was.
"""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from droplets import services
from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tasks.droplets import droplet_advance_task
from tests.api.helpers import detail_url
from tests.fixtures.droplets import make_droplet
from waldur_do.errors import StateConflict

ROUTE = "digitalocean-droplets"


def _requests(catalog):
    """operation: a call of its service on a given (possibly stale) instance"""
    size = catalog.sizes["s-4vcpu-8gb"]
    return {
        "start": lambda d: services.droplet_start(droplet=d),
        "stop": lambda d: services.droplet_stop(droplet=d),
        "restart": lambda d: services.droplet_restart(droplet=d),
        "resize": lambda d: services.droplet_resize(droplet=d, size=size, disk=True),
        "rename": lambda d: services.droplet_update(droplet=d, name="renamed"),
        "delete": lambda d: services.droplet_delete(droplet=d),
        "pull": lambda d: services.droplet_pull(droplet=d),
    }


# (first, second, runtime state both start from, state after the first, the second's 409 message)
PAIRS = [
    ("stop", "stop", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("stop", "restart", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("restart", "restart", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("start", "start", "offline", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("resize", "start", "offline", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("resize", "resize", "offline", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("rename", "rename", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK."),
    ("stop", "delete", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK, ERRED."),
    ("delete", "stop", "online", "DELETION_SCHEDULED", "Valid states for operation: OK."),
    ("delete", "delete", "online", "DELETION_SCHEDULED", "Valid states for operation: OK, ERRED."),
    ("pull", "pull", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK, ERRED."),
    ("pull", "delete", "online", "UPDATE_SCHEDULED", "Valid states for operation: OK, ERRED."),
]


@pytest.mark.parametrize(("first", "second", "runtime_state", "after", "message"), PAIRS)
def test_the_second_of_two_stale_requests_is_refused(
    world, catalog, enqueued, first, second, runtime_state, after, message
):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=runtime_state)
    one, other = Droplet.objects.get(pk=droplet.pk), Droplet.objects.get(pk=droplet.pk)
    requests = _requests(catalog)

    with enqueued() as calls:
        requests[first](one)
        with pytest.raises(StateConflict) as conflict:
            requests[second](other)

    assert conflict.value.message == message
    assert Droplet.objects.get(pk=droplet.pk).state == after
    assert [call[1] for call in calls] == [first]


def test_two_deletes_of_a_droplet_that_never_reached_digitalocean(world, catalog, enqueued):
    droplet = make_droplet(project=world.project, catalog=catalog, state=State.ERRED, backend_id="")
    one, other = Droplet.objects.get(pk=droplet.pk), Droplet.objects.get(pk=droplet.pk)

    with enqueued() as calls:
        services.droplet_delete(droplet=one)
        with pytest.raises(StateConflict):
            services.droplet_delete(droplet=other)

    assert not Droplet.objects.filter(pk=droplet.pk).exists()
    assert calls == []


@pytest.mark.parametrize("operation", ["stop", "delete", "pull"])
def test_an_operation_on_a_droplet_unlinked_meanwhile_is_409(world, catalog, operation):
    droplet = make_droplet(project=world.project, catalog=catalog)
    stale = Droplet.objects.get(pk=droplet.pk)
    services.droplet_unlink(droplet=droplet)
    with pytest.raises(StateConflict):
        _requests(catalog)[operation](stale)


@pytest.mark.parametrize(
    "change",
    [
        lambda droplet: services.droplet_update(droplet=droplet, description="new words"),
        lambda droplet: services.droplet_set_erred(droplet=droplet),
        lambda droplet: services.droplet_set_ok(droplet=droplet),
    ],
    ids=["describe", "set_erred", "set_ok"],
)
def test_a_change_to_a_droplet_unlinked_meanwhile_is_409(world, catalog, change):
    droplet = make_droplet(project=world.project, catalog=catalog)
    stale = Droplet.objects.get(pk=droplet.pk)
    services.droplet_unlink(droplet=droplet)
    with pytest.raises(StateConflict, match="no longer exists"):
        change(stale)


def test_http_stop_then_delete(world, droplet, enqueued):
    client = world.client("manager")
    with enqueued() as calls:
        stop = client.post(detail_url(ROUTE, droplet.uuid) + "stop/")
        delete = client.delete(detail_url(ROUTE, droplet.uuid))
    assert stop.status_code == 202
    assert delete.status_code == 409
    assert delete.json() == {"detail": "Valid states for operation: OK, ERRED."}
    assert [call[1] for call in calls] == ["stop"]


# --- real concurrency: two transactions on PostgreSQL -----------------------------------------------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks of PostgreSQL")


def _run_in_threads(*targets):
    """Runs each target in its own thread (and so its own database connection); returns their outcomes."""
    outcomes = [None] * len(targets)

    def run(index, target):
        try:
            outcomes[index] = target()
        except Exception as error:  # the outcome under test
            outcomes[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), [("stop", "stop"), ("stop", "delete"), ("delete", "delete")])
def test_two_transactions_racing(world, catalog, monkeypatch, first, second):
    """Both load the droplet while it is OK; the first updates it and holds its transaction open until the
    second is blocked on the row; once the first commits, the second's conditional update matches nothing."""
    sent = []
    monkeypatch.setattr(droplet_advance_task, "apply_async", lambda args=(), **kw: sent.append(args))
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=RuntimeState.ONLINE)
    requests = _requests(catalog)
    both_loaded = threading.Barrier(2)
    second_started = threading.Event()

    def winner():
        with transaction.atomic():
            mine = Droplet.objects.get(pk=droplet.pk)
            both_loaded.wait(timeout=10)
            requests[first](mine)
            second_started.wait(timeout=10)
            _wait_until_blocked()
        return "accepted"

    def loser():
        with transaction.atomic():
            mine = Droplet.objects.get(pk=droplet.pk)
            both_loaded.wait(timeout=10)
            _wait_until_updated(droplet.pk)
            second_started.set()
            requests[second](mine)
        return "accepted"

    outcomes = _run_in_threads(winner, loser)

    assert outcomes[0] == "accepted"
    assert isinstance(outcomes[1], StateConflict), outcomes[1]
    assert [call[0] for call in sent] == [droplet.pk]
    row = Droplet.objects.get(pk=droplet.pk)
    assert row.state != State.OK and row.operation == first


def _wait_until_updated(pk):
    """Until another transaction holds the row lock (its update is in, not yet committed)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid() "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [Droplet._meta.db_table],
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the first transaction never updated the row")


def _wait_until_blocked():
    """Until some other backend waits for a lock (the second update, blocked on our row)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    # Not seen in time (a very slow machine): committing now still must leave exactly one accepted, only
    # the overlap is then not proven.


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), [("stop/", "stop/"), ("stop/", ""), ("", "")])
def test_two_http_requests_at_once(world, catalog, monkeypatch, first, second):
    """Two real requests, each in its own transaction (ATOMIC_REQUESTS) and thread: one 2xx, one 409."""
    sent = []
    monkeypatch.setattr(droplet_advance_task, "apply_async", lambda args=(), **kw: sent.append(args))
    droplet = make_droplet(project=world.project, catalog=catalog)
    start = threading.Barrier(2)

    def request(action):
        client = world.client("manager")  # here: creating the token in both threads would race as well

        def send():
            url = detail_url(ROUTE, droplet.uuid) + action
            start.wait(timeout=10)
            response = client.post(url) if action else client.delete(url)
            return response.status_code

        return send

    codes = _run_in_threads(request(first), request(second))

    assert sorted(codes) in ([202, 409], [204, 409]), codes
    assert len(sent) == 1
    assert Droplet.objects.get(pk=droplet.pk).state in ("UPDATE_SCHEDULED", "DELETION_SCHEDULED")


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["stop", "rename"])
def test_twenty_requests_at_once_for_one_droplet_one_is_accepted(world, catalog, monkeypatch, change):
    sent = []
    monkeypatch.setattr(droplet_advance_task, "apply_async", lambda args=(), **kw: sent.append(args))
    droplet = make_droplet(project=world.project, catalog=catalog, name="web-0")
    url = detail_url(ROUTE, droplet.uuid)
    clients = [world.client("manager") for _ in range(20)]
    start = threading.Barrier(20)

    def request(n):
        def send():
            start.wait(timeout=20)
            if change == "stop":
                return clients[n].post(url + "stop/").status_code
            return clients[n].patch(url, {"name": f"web-{n + 1}"}, format="json").status_code

        return send

    codes = _run_in_threads(*(request(n) for n in range(20)))

    accepted = 202 if change == "stop" else 200
    assert sorted(codes) == [accepted] + [409] * 19, codes
    assert len(sent) == 1
    row = Droplet.objects.get(pk=droplet.pk)
    assert row.state == "UPDATE_SCHEDULED" and row.operation == change
    if change == "rename":
        assert row.name == row.operation_params["name"] != "web-0"
