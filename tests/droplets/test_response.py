"""docs/api.md, "The droplet": the droplet response, its 52 fields in order and what each one holds."""

import re
from datetime import UTC, datetime

import pytest

from droplets.states import RuntimeState, State
from tests.api.helpers import BASE, HEX32, body, detail_url, link, list_url
from tests.contract import DROPLET_FIELDS
from tests.fixtures.droplets import make_droplet, make_ssh_key

ROUTE = "digitalocean-droplets"


MARKETPLACE = [name for name in DROPLET_FIELDS if name.startswith("marketplace_")]
WRITE_ONLY = ("region", "image", "size", "ssh_public_key")
DATE_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _get(client, droplet):
    response = client.get(detail_url(ROUTE, droplet.uuid))
    assert response.status_code == 200, response.content
    return body(response)


def test_there_are_52_fields():
    assert len(DROPLET_FIELDS) == 52 and len(set(DROPLET_FIELDS)) == 52


@pytest.mark.parametrize("how", ["retrieve", "list"])
def test_exactly_the_contract_fields_in_order(world, droplet, how):
    client = world.client("owner")
    if how == "retrieve":
        data = _get(client, droplet)
    else:
        (data,) = body(client.get(list_url(ROUTE)))
    assert list(data) == DROPLET_FIELDS
    assert not set(WRITE_ONLY) & set(data)


def test_values_of_a_created_droplet(world, droplet, do_settings):
    data = _get(world.client("owner"), droplet)
    customer = world.customer

    assert data["url"] == link(ROUTE, droplet.uuid)
    assert re.match(HEX32, data["uuid"]) and data["uuid"] == droplet.uuid.hex
    assert data["service_name"] == "DigitalOcean"
    assert data["service_settings"] == link("service-settings", do_settings.uuid)
    assert data["service_settings_uuid"] == do_settings.uuid.hex
    assert data["service_settings_state"] == "OK"
    assert data["service_settings_error_message"] == ""
    assert data["project"] == link("projects", world.project.uuid)
    assert data["project_name"] == world.project.name
    assert data["project_uuid"] == world.project.uuid.hex
    assert data["customer"] == link("customers", customer.uuid)
    assert data["customer_uuid"] == customer.uuid.hex
    assert (data["customer_name"], data["customer_native_name"], data["customer_abbreviation"]) == (
        customer.name,
        customer.native_name,
        customer.abbreviation,
    )
    assert data["resource_type"] == "DigitalOcean.Droplet"
    assert data["state"] == "OK"
    assert data["runtime_state"] == "online"
    assert data["backend_id"] == droplet.backend_id
    assert data["access_url"] == droplet.external_ips[0]
    assert IPV4.match(data["access_url"])
    assert data["external_ips"] == droplet.external_ips
    assert data["internal_ips"] == droplet.internal_ips
    assert (data["cores"], data["ram"], data["disk"]) == (2, 2048, 61440)
    assert (data["min_ram"], data["min_disk"]) == (2048, 15360)
    assert data["image_name"] == "Debian 12 x64"
    assert data["region_name"] == "New York 1"
    assert data["error_message"] == ""
    assert data["error_traceback"] == ""
    for name in MARKETPLACE:
        assert data[name] is None, name
    assert data["is_usage_based"] is False and data["is_limit_based"] is False
    for name in ("created", "modified"):
        assert DATE_Z.match(data[name]), data[name]


def test_a_droplet_not_yet_on_digitalocean(world, catalog):
    droplet = make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.CREATION_SCHEDULED,
        runtime_state=RuntimeState.NONE,
        backend_id="",
        external_ips=[],
        internal_ips=[],
    )
    data = _get(world.client("owner"), droplet)

    assert data["state"] == "CREATION_SCHEDULED"
    assert data["runtime_state"] == ""
    assert data["backend_id"] == ""
    assert data["access_url"] is None
    assert data["external_ips"] == [] and data["internal_ips"] == []
    assert data["start_time"] is None
    assert data["latitude"] is None and data["longitude"] is None
    assert data["created"] is not None and data["modified"] is not None


def test_dates_and_coordinates(world, catalog):
    droplet = make_droplet(
        project=world.project,
        catalog=catalog,
        start_time=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        latitude=40.7,
        longitude=-74.0,
    )
    data = _get(world.client("owner"), droplet)

    assert DATE_Z.match(data["start_time"]) and data["start_time"].startswith("2024-05-01T12:30:00")
    assert (data["latitude"], data["longitude"]) == (40.7, -74.0)


def test_key_and_user_data_are_rendered(world, catalog):
    key = make_ssh_key(user=world.users["owner"], name="laptop")
    droplet = make_droplet(
        project=world.project,
        catalog=catalog,
        ssh_public_key=key,
        key_name=key.name,
        key_fingerprint=key.fingerprint_md5,
        user_data="#cloud-config\n",
    )
    data = _get(world.client("owner"), droplet)

    assert (data["key_name"], data["key_fingerprint"]) == ("laptop", key.fingerprint_md5)
    assert data["user_data"] == "#cloud-config\n"
    assert "ssh_public_key" not in data


@pytest.mark.parametrize(
    ("role", "sees_traceback"),
    [("staff", True), ("owner", False), ("support", False), ("admin", False), ("member", False)],
)
def test_error_traceback_only_for_staff(world, catalog, role, sees_traceback):
    droplet = make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.ERRED,
        error_message="DigitalOcean rejected the request: Droplet already has a pending event.",
        error_traceback='Traceback (most recent call last):\n  File "x.py"',
    )
    client = world.client(role)
    for data in (_get(client, droplet), body(client.get(list_url(ROUTE)))[0]):
        assert data["error_message"].startswith("DigitalOcean rejected the request")
        assert data["error_traceback"] == (droplet.error_traceback if sees_traceback else "")


def test_service_settings_state_and_error_are_the_settings(world, catalog, do_settings):
    do_settings.state = "ERRED"
    do_settings.error_message = "The token was refused."
    do_settings.save()
    droplet = make_droplet(project=world.project, catalog=catalog)
    data = _get(world.client("owner"), droplet)

    assert (data["service_settings_state"], data["service_settings_error_message"]) == (
        "ERRED",
        "The token was refused.",
    )


def test_links_use_the_request_host(world, droplet):
    data = _get(world.client("owner"), droplet)
    for name in ("url", "service_settings", "project", "customer"):
        assert data[name].startswith(BASE + "/api/"), data[name]
