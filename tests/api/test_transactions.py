"""Reads run outside a transaction and take no write lock; writes run in one, whole or not at all
(waldur_do/api/transactions.py)."""

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import connection

from droplets import selectors, services
from droplets.models import Droplet
from tests.api.helpers import detail_url, list_url
from waldur_do.errors import StateConflict

ROUTE = "digitalocean-droplets"


@pytest.fixture
def committed(transactional_db, world, catalog):
    """What a test writes is committed, and no transaction of the test's own is open around a request."""
    from tests.fixtures.droplets import make_droplet

    return world, make_droplet(project=world.project, catalog=catalog)


def _spy(monkeypatch, module, name, seen):
    original = getattr(module, name)

    def spy(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("detail", [False, True], ids=["list", "retrieve"])
def test_a_read_runs_outside_a_transaction(committed, monkeypatch, method, detail):
    world, droplet = committed
    seen = []
    _spy(monkeypatch, selectors, "droplet_list", seen)
    url = detail_url(ROUTE, droplet.uuid) if detail else list_url(ROUTE)
    response = getattr(world.client("manager"), method)(url)
    assert response.status_code == 200
    assert seen == [False]


def test_a_write_runs_in_one_transaction(committed, monkeypatch):
    world, droplet = committed
    seen = []
    _spy(monkeypatch, services, "droplet_update", seen)
    response = world.client("manager").patch(
        detail_url(ROUTE, droplet.uuid), {"description": "new"}, format="json"
    )
    assert response.status_code == 200
    assert seen == [True]
    assert Droplet.objects.get(pk=droplet.pk).description == "new"


@pytest.mark.parametrize("failure", ["refused", "crashed"])
def test_a_write_that_fails_leaves_nothing_behind(committed, monkeypatch, failure):
    world, droplet = committed

    def half_done(*, droplet, **changes):
        Droplet.objects.filter(pk=droplet.pk).update(description="half done")
        if failure == "refused":
            raise StateConflict("The droplet's state forbids it.")
        raise RuntimeError("crash in the middle of a write")

    monkeypatch.setattr(services, "droplet_update", half_done)
    client = world.client("manager")
    client.raise_request_exception = False
    response = client.patch(detail_url(ROUTE, droplet.uuid), {"description": "new"}, format="json")
    assert response.status_code == (409 if failure == "refused" else 500)
    assert Droplet.objects.get(pk=droplet.pk).description == droplet.description


@contextmanager
def _write_lock_held_elsewhere():
    """Another connection to the same SQLite file holds the write lock (as the worker does mid-write),
    while this process waits for it a tenth of a second only (the default is 20 s)."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    options["timeout"] = 0.1
    options["init_command"] = options["init_command"].replace("busy_timeout=20000", "busy_timeout=100")
    connection.close()
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
        connection.close()
        options.clear()
        options.update(saved)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the write lock of SQLite")
def test_on_sqlite_a_read_does_not_wait_for_the_write_lock_and_a_write_does(committed, caplog):
    world, droplet = committed
    client = world.client("manager")
    with _write_lock_held_elsewhere():
        assert client.get(list_url(ROUTE)).status_code == 200
        assert client.get(detail_url(ROUTE, droplet.uuid)).status_code == 200
        # A write begins its transaction with BEGIN IMMEDIATE, so it needs the lock before anything else.
        response = client.patch(detail_url(ROUTE, droplet.uuid), {"description": "new"}, format="json")
        assert response.status_code == 500
        assert "database is locked" in caplog.text
    assert (
        client.patch(detail_url(ROUTE, droplet.uuid), {"description": "new"}, format="json").status_code
        == 200
    )
