"""A request whose work the broker can't take: the answer is still the contract's, and the row says what
happened instead of waiting forever for a task that was never sent."""

import pytest
from kombu.exceptions import OperationalError

from droplets.models import Droplet
from tasks.droplets import droplet_operation_task
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

    monkeypatch.setattr(droplet_operation_task, "apply_async", refuse)
    monkeypatch.setattr(service_settings_sync_task, "apply_async", refuse)


def test_an_operation_the_broker_refuses_leaves_the_droplet_erred_with_the_reason(
    world, catalog, broker_down, django_capture_on_commit_callbacks
):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state="online")
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").post(detail_url(ROUTE, droplet.uuid) + "stop/")

    assert response.status_code == 202
    droplet.refresh_from_db()
    assert (droplet.state, droplet.runtime_state) == ("ERRED", "online")
    assert (
        droplet.error_message
        == "The stop could not be started: the task queue is unavailable. Please try again later."
    )


def test_a_create_the_broker_refuses_is_erred_and_can_be_deleted_at_once(
    world, catalog, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").post(list_url(ROUTE), _body(world, catalog), format="json")
    assert response.status_code == 201
    droplet = Droplet.objects.get()
    assert droplet.state == "ERRED" and "task queue is unavailable" in droplet.error_message
    assert world.client("manager").delete(detail_url(ROUTE, droplet.uuid)).status_code == 204
    assert not Droplet.objects.exists()


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
