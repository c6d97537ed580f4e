"""A request whose work the broker can't take: the answer is still the contract's. A droplet's row is the
outbox of its operation, so the operation waits there for beat to send it; service settings say what
happened instead of waiting forever for a check that was never sent."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from droplets.models import Droplet
from droplets.sync import droplet_unleased_list
from tasks.droplets import droplet_advance_task
from tasks.structure import service_settings_sync_task
from waldur_do.structure.models import ServiceSettings

from ..api.helpers import detail_url, list_url
from ..fixtures.droplets import make_droplet
from .test_create import _body

ROUTE = "digitalocean-droplets"


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(droplet_advance_task, "apply_async", refuse)
    monkeypatch.setattr(service_settings_sync_task, "apply_async", refuse)


@pytest.mark.parametrize(
    ("action", "runtime_state"),
    [("stop/", "online"), ("start/", "offline"), ("restart/", "online"), ("pull/", "online")],
)
def test_an_operation_the_broker_refuses_waits_on_its_row_and_beat_sends_it_later(
    world, catalog, broker_down, django_capture_on_commit_callbacks, action, runtime_state
):
    """The row is the outbox: the request is answered as usual, nothing turns ERRED, and once the lease of
    the unsent step has passed beat's sweep sends it."""
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=runtime_state)
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").post(detail_url(ROUTE, droplet.uuid) + action)

    assert response.status_code == 202
    droplet.refresh_from_db()
    assert (droplet.state, droplet.error_message) == ("UPDATE_SCHEDULED", "")
    assert droplet.operation_phase == "pending"
    assert [d.pk for d in droplet_unleased_list()] == []  # not yet: a message may still be on its way
    Droplet.objects.filter(pk=droplet.pk).update(operation_lease_until=timezone.now() - timedelta(seconds=1))
    assert [(d.pk, d.operation_generation) for d in droplet_unleased_list()] == [
        (droplet.pk, droplet.operation_generation)
    ]


def test_a_create_and_a_delete_the_broker_refuses_are_answered_as_usual(
    world, catalog, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").post(list_url(ROUTE), _body(world, catalog), format="json")
    assert response.status_code == 201
    created = Droplet.objects.get()
    assert (created.state, created.error_message) == ("CREATION_SCHEDULED", "")

    settled = make_droplet(project=world.project, catalog=catalog)
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("manager").delete(detail_url(ROUTE, settled.uuid)).status_code == 204
    settled.refresh_from_db()
    assert (settled.state, settled.error_message) == ("DELETION_SCHEDULED", "")


def test_a_rename_the_broker_refuses_is_carried_out_later_not_half_written(
    world, catalog, broker_down, django_capture_on_commit_callbacks
):
    droplet = make_droplet(project=world.project, catalog=catalog, name="web-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").patch(
            detail_url(ROUTE, droplet.uuid), {"name": "web-2"}, format="json"
        )
    assert response.status_code == 200
    droplet.refresh_from_db()
    assert (droplet.name, droplet.state, droplet.operation) == ("web-2", "UPDATE_SCHEDULED", "rename")
    assert droplet.operation_params == {"name": "web-2", "old_name": "web-1"}


def test_a_settings_check_the_broker_refuses_leaves_the_settings_erred(
    world, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("staff").post(
            list_url("service-settings"),
            {"name": "DO", "token": "secret-token", "shared": True},
            format="json",
        )
    assert response.status_code == 201
    settings_row = ServiceSettings.objects.get(name="DO")
    assert settings_row.state == ServiceSettings.State.ERRED
    assert "task queue is unavailable" in settings_row.error_message
