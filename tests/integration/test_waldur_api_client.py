"""The generated client people use, `waldur-api-client==8.1.3`, against a live server, a real worker and the
emulator: every droplet operation and every catalog operation is called through the client's own functions,
and every answer must parse into the client's models, unchanged."""

import json
import time
from uuid import UUID

import attrs
import pytest
from dateutil.parser import isoparse
from waldur_api_client import AuthenticatedClient, errors
from waldur_api_client.api.digitalocean_droplets import (
    digitalocean_droplets_count,
    digitalocean_droplets_create,
    digitalocean_droplets_destroy,
    digitalocean_droplets_list,
    digitalocean_droplets_partial_update,
    digitalocean_droplets_pull,
    digitalocean_droplets_resize,
    digitalocean_droplets_restart,
    digitalocean_droplets_retrieve,
    digitalocean_droplets_set_erred,
    digitalocean_droplets_set_ok,
    digitalocean_droplets_start,
    digitalocean_droplets_stop,
    digitalocean_droplets_unlink,
    digitalocean_droplets_update,
)
from waldur_api_client.api.digitalocean_images import (
    digitalocean_images_count,
    digitalocean_images_list,
    digitalocean_images_retrieve,
)
from waldur_api_client.api.digitalocean_regions import (
    digitalocean_regions_count,
    digitalocean_regions_list,
    digitalocean_regions_retrieve,
)
from waldur_api_client.api.digitalocean_sizes import (
    digitalocean_sizes_count,
    digitalocean_sizes_list,
    digitalocean_sizes_retrieve,
)
from waldur_api_client.models import (
    CoreStates,
    Detail,
    DigitalOceanDroplet,
    DigitalOceanDropletFieldEnum,
    DigitalOceanDropletRequest,
    DigitalOceanDropletResizeRequest,
    DigitalOceanImage,
    DigitalOceanImageOEnum,
    DigitalOceanRegion,
    DigitalOceanSize,
    PatchedDigitalOceanDropletRequest,
    SetErredRequest,
    Status,
)
from waldur_api_client.types import UNSET

from ..contract import DROPLET_FIELDS
from .conftest import WAIT_TIMEOUT

pytestmark = [pytest.mark.integration]

UUID_FIELDS = ("uuid", "service_settings_uuid", "project_uuid", "customer_uuid")
DATE_FIELDS = ("created", "modified", "start_time")
# Catalog fields the 8.1.3 models don't declare (one catalog per service settings, docs/api.md, and the size's
# price): the client keeps them in `additional_properties`.
CATALOG_EXTRAS = {"service_settings", "service_settings_uuid", "price"}


@pytest.fixture
def client(demo):
    return AuthenticatedClient(
        base_url=demo.api.base_url,
        token=demo.api.session.headers["Authorization"].removeprefix("Token "),
        prefix="Token",
        timeout=10,
    )


def body_of(response):
    return json.loads(response.content)


def check_droplet(parsed, raw: dict, *, fields=DROPLET_FIELDS):
    """`parsed` is the client's model of `raw`, the server's JSON, field by field."""
    assert isinstance(parsed, DigitalOceanDroplet), parsed
    assert list(raw) == list(fields)
    assert parsed.additional_properties == {}  # nothing the client doesn't know
    for name in DROPLET_FIELDS:
        value = getattr(parsed, name)
        if name not in fields:
            assert value is UNSET, name
        elif name in UUID_FIELDS:
            assert isinstance(value, UUID) and value.hex == raw[name], name
        elif name in DATE_FIELDS:
            assert value == (raw[name] and isoparse(raw[name])), name
        elif name == "state":
            assert isinstance(value, CoreStates) and value.value == raw[name]
        else:
            assert value == raw[name], name
    return parsed


def check_detail(response, status_code: int, model, text: str):
    assert response.status_code == status_code, response.content
    assert isinstance(response.parsed, model), response.parsed
    value = response.parsed.status if model is Status else response.parsed.detail
    assert value == text
    return response.parsed


def retrieve(client, uuid) -> DigitalOceanDroplet:
    response = digitalocean_droplets_retrieve.sync_detailed(uuid, client=client)
    assert response.status_code == 200
    return check_droplet(response.parsed, body_of(response))


def wait_settled(client, uuid, *, runtime_state=None) -> DigitalOceanDroplet:
    """Polls with the client's retrieve until the worker is done: `OK` (and `runtime_state`, if given)."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        droplet = retrieve(client, uuid)
        if droplet.state in (CoreStates.OK, CoreStates.ERRED):
            assert droplet.state == CoreStates.OK, droplet.error_message
            if runtime_state is None or droplet.runtime_state == runtime_state:
                return droplet
        if time.monotonic() > deadline:
            pytest.fail(f"the droplet never settled; last seen: {droplet.to_dict()}")
        time.sleep(0.1)


def create_request(demo, name, *, size="s-1vcpu-1gb"):
    return DigitalOceanDropletRequest(
        name=name,
        service_settings=demo.settings["url"],
        project=demo.project["url"],
        region=demo.catalog_url("digitalocean-regions", "nyc1"),
        image=demo.catalog_url("digitalocean-images", "debian-12-x64"),
        size=demo.catalog_url("digitalocean-sizes", size),
        description="made by waldur-api-client",
    )


def test_every_droplet_operation_parses(demo, client):
    # create: 201, the full droplet in CREATION_SCHEDULED
    created = []
    for name in ("client-a", "client-b"):
        response = digitalocean_droplets_create.sync_detailed(client=client, body=create_request(demo, name))
        assert response.status_code == 201, response.content
        droplet = check_droplet(response.parsed, body_of(response))
        assert (droplet.name, droplet.state, droplet.runtime_state) == (
            name,
            CoreStates.CREATION_SCHEDULED,
            "",
        )
        assert response.headers["Location"] == droplet.url
        created.append(droplet)
    a_uuid, b_uuid = (droplet.uuid for droplet in created)

    # list, with pagination: two droplets, one per page, linked by the Link header
    response = digitalocean_droplets_list.sync_detailed(client=client, page=1, page_size=1)
    assert response.status_code == 200 and response.headers["X-Result-Count"] == "2"
    assert 'rel="next"' in response.headers["Link"]
    [first] = [check_droplet(p, r) for p, r in zip(response.parsed, body_of(response), strict=True)]
    response = digitalocean_droplets_list.sync_detailed(client=client, page=2, page_size=1)
    [second] = [check_droplet(p, r) for p, r in zip(response.parsed, body_of(response), strict=True)]
    assert {first.uuid, second.uuid} == {a_uuid, b_uuid}
    assert [d.name for d in digitalocean_droplets_list.sync_all(client=client)] == ["client-a", "client-b"]
    listed = digitalocean_droplets_list.sync(
        client=client,
        name_exact="client-b",
        state=[CoreStates.CREATION_SCHEDULED, CoreStates.CREATING, CoreStates.OK],
    )
    assert [d.uuid for d in listed] == [b_uuid]
    # the client puts UUID filters into the query as str(UUID), dashed; booleans as "true"
    project_uuid, customer_uuid = UUID(demo.project["uuid"]), UUID(demo.project["customer_uuid"])
    settings_uuid = UUID(demo.settings["uuid"])
    for filters in (
        {"project_uuid": project_uuid},
        {"project": project_uuid},
        {"customer_uuid": customer_uuid},
        {"customer": customer_uuid},
        {"service_settings_uuid": settings_uuid},
        {"can_manage": True},
    ):
        listed = digitalocean_droplets_list.sync(client=client, **filters)
        assert {d.uuid for d in listed} == {a_uuid, b_uuid}, filters
        assert digitalocean_droplets_count.sync(client=client, **filters) == 2, filters
    assert digitalocean_droplets_list.sync(client=client, can_manage=False) == []

    # field: only the asked-for keys, on list and retrieve
    fields = [
        DigitalOceanDropletFieldEnum.UUID,
        DigitalOceanDropletFieldEnum.NAME,
        DigitalOceanDropletFieldEnum.STATE,
    ]
    names = [f.value for f in fields]
    response = digitalocean_droplets_list.sync_detailed(client=client, field=fields, page_size=5)
    for parsed, raw in zip(response.parsed, body_of(response), strict=True):
        check_droplet(parsed, raw, fields=names)
    response = digitalocean_droplets_retrieve.sync_detailed(a_uuid, client=client, field=fields)
    check_droplet(response.parsed, body_of(response), fields=names)
    # the client's field enum also offers the write-only create fields; they are never rendered
    write_only = [DigitalOceanDropletFieldEnum.SIZE, DigitalOceanDropletFieldEnum.SSH_PUBLIC_KEY]
    response = digitalocean_droplets_retrieve.sync_detailed(
        a_uuid, client=client, field=[*write_only, DigitalOceanDropletFieldEnum.NAME]
    )
    check_droplet(response.parsed, body_of(response), fields=["name"])
    response = digitalocean_droplets_retrieve.sync_detailed(a_uuid, client=client, field=write_only)
    check_droplet(response.parsed, body_of(response))  # none valid: all fields

    # count: HEAD, X-Result-Count
    assert digitalocean_droplets_count.sync(client=client) == 2
    assert digitalocean_droplets_count.sync(client=client, name="client-a", page_size=1) == 1

    a = wait_settled(client, a_uuid, runtime_state="online")
    assert a.backend_id and a.access_url == a.external_ips[0] and a.start_time is not None
    b = wait_settled(client, b_uuid, runtime_state="online")

    # update (PUT): the client sends every create field; only name and description change
    body = create_request(demo, "client-a-renamed", size="s-2vcpu-2gb")
    body.description = "renamed by PUT"
    response = digitalocean_droplets_update.sync_detailed(a_uuid, client=client, body=body)
    assert response.status_code == 200, response.content
    a = check_droplet(response.parsed, body_of(response))
    assert (a.name, a.description, a.state, a.cores) == (
        "client-a-renamed",
        "renamed by PUT",
        CoreStates.UPDATE_SCHEDULED,
        1,
    )

    # pull while the rename runs: 409, which the client also parses as Detail
    response = digitalocean_droplets_pull.sync_detailed(a_uuid, client=client)
    check_detail(response, 409, Detail, "Valid states for operation: OK, ERRED.")
    wait_settled(client, a_uuid)

    # partial_update (PATCH): a description alone is no DigitalOcean work
    response = digitalocean_droplets_partial_update.sync_detailed(
        a_uuid, client=client, body=PatchedDigitalOceanDropletRequest(description="patched")
    )
    assert response.status_code == 200, response.content
    a = check_droplet(response.parsed, body_of(response))
    assert (a.name, a.description) == ("client-a-renamed", "patched")
    wait_settled(client, a_uuid)

    # stop / resize / start / restart: 202 Status
    check_detail(
        digitalocean_droplets_stop.sync_detailed(a_uuid, client=client), 202, Status, "stop was scheduled"
    )
    wait_settled(client, a_uuid, runtime_state="offline")
    response = digitalocean_droplets_resize.sync_detailed(
        a_uuid,
        client=client,
        body=DigitalOceanDropletResizeRequest(
            size=demo.catalog_url("digitalocean-sizes", "s-2vcpu-2gb"), disk=False
        ),
    )
    status = check_detail(response, 202, Status, "resize was scheduled")
    # The older documented body (docs/api.md, "Operations").
    assert status.additional_properties == {"disk": False}
    a = wait_settled(client, a_uuid, runtime_state="offline")
    assert (a.cores, a.ram) == (2, 2048)
    check_detail(
        digitalocean_droplets_start.sync_detailed(a_uuid, client=client), 202, Status, "start was scheduled"
    )
    wait_settled(client, a_uuid, runtime_state="online")
    response = digitalocean_droplets_restart.sync_detailed(a_uuid, client=client)
    check_detail(response, 202, Status, "restart was scheduled")
    wait_settled(client, a_uuid, runtime_state="online")

    # pull: 202 Detail
    response = digitalocean_droplets_pull.sync_detailed(a_uuid, client=client)
    check_detail(response, 202, Detail, "Pull operation was successfully scheduled.")
    wait_settled(client, a_uuid)

    # set_erred / set_ok: 200 Detail
    response = digitalocean_droplets_set_erred.sync_detailed(
        b_uuid,
        client=client,
        body=SetErredRequest(error_message="Marked by an operator.", error_traceback="Traceback: none"),
    )
    check_detail(response, 200, Detail, "Resource has been marked as erred.")
    b = retrieve(client, b_uuid)
    assert (b.state, b.error_message, b.error_traceback) == (
        CoreStates.ERRED,
        "Marked by an operator.",
        "Traceback: none",  # the demo user is staff
    )
    response = digitalocean_droplets_set_ok.sync_detailed(b_uuid, client=client)
    check_detail(response, 200, Detail, "Resource has been marked as OK.")
    b = retrieve(client, b_uuid)
    assert (b.state, b.error_message) == (CoreStates.OK, "")

    # unlink: 204, the row is gone at once (the droplet stays on DigitalOcean)
    response = digitalocean_droplets_unlink.sync_detailed(b_uuid, client=client)
    assert (response.status_code, response.parsed) == (204, None)
    with pytest.raises(errors.UnexpectedStatus) as missing:
        digitalocean_droplets_retrieve.sync_detailed(b_uuid, client=client)
    assert missing.value.status_code == 404
    assert demo.droplet_on_do(b.backend_id) is not None

    # destroy: 204, then gone here and on DigitalOcean
    response = digitalocean_droplets_destroy.sync_detailed(a_uuid, client=client)
    assert (response.status_code, response.parsed) == (204, None)
    assert retrieve(client, a_uuid).state in (CoreStates.DELETION_SCHEDULED, CoreStates.DELETING)
    demo.api.wait_for(a.url, lambda body: body is None)
    assert demo.droplet_on_do(a.backend_id) is None
    assert digitalocean_droplets_list.sync(client=client) == []
    assert digitalocean_droplets_count.sync(client=client) == 0


def check_catalog_item(parsed, raw: dict, model, extras=CATALOG_EXTRAS):
    assert isinstance(parsed, model), parsed
    assert set(parsed.additional_properties) == set(extras) & set(raw)
    for field in attrs.fields(model):
        value = getattr(parsed, field.name)
        if field.name == "uuid":
            assert value.hex == raw["uuid"]
        elif field.name == "created_at":
            assert value == (raw["created_at"] and isoparse(raw["created_at"]))
        elif field.name == "regions":
            for region, raw_region in zip(value, raw["regions"], strict=True):
                check_catalog_item(region, raw_region, DigitalOceanRegion, extras=())
        elif field.name != "additional_properties":
            assert value == raw[field.name.removesuffix("_")], field.name  # `type_` is "type"
    return parsed


CATALOGS = [
    # (list, retrieve, count, model, filters the client offers)
    (
        digitalocean_regions_list,
        digitalocean_regions_retrieve,
        digitalocean_regions_count,
        DigitalOceanRegion,
        {"name_exact": "New York 1"},
    ),
    (
        digitalocean_images_list,
        digitalocean_images_retrieve,
        digitalocean_images_count,
        DigitalOceanImage,
        {"distribution": "Debian", "o": [DigitalOceanImageOEnum.VALUE_1]},
    ),
    (
        digitalocean_sizes_list,
        digitalocean_sizes_retrieve,
        digitalocean_sizes_count,
        DigitalOceanSize,
        {"cores": 2},
    ),
]


def test_catalog_operations_parse(demo, client):
    for list_op, retrieve_op, count_op, model, filters in CATALOGS:
        response = list_op.sync_detailed(client=client)
        assert response.status_code == 200, response.content
        everything = [
            check_catalog_item(p, r, model) for p, r in zip(response.parsed, body_of(response), strict=True)
        ]
        total = int(response.headers["X-Result-Count"])
        assert total >= 2 and count_op.sync(client=client) == total

        # pagination: one per page, pages 1 and 2 differ, and sync_all follows the Link header to the end
        page_1 = list_op.sync(client=client, page=1, page_size=1)
        page_2 = list_op.sync(client=client, page=2, page_size=1)
        assert len(page_1) == len(page_2) == 1 and page_1[0].uuid != page_2[0].uuid
        assert len(list_op.sync_all(client=client)) == total
        with pytest.raises(errors.UnexpectedStatus) as past_the_end:
            list_op.sync_detailed(client=client, page=total + 1, page_size=1)
        assert past_the_end.value.status_code == 404

        response = list_op.sync_detailed(client=client, **filters)
        filtered = [
            check_catalog_item(p, r, model) for p, r in zip(response.parsed, body_of(response), strict=True)
        ]
        assert 0 < len(filtered) < total
        assert count_op.sync(client=client, **{k: v for k, v in filters.items() if k != "o"}) == len(filtered)

        response = retrieve_op.sync_detailed(everything[0].uuid, client=client)
        assert response.status_code == 200, response.content
        item = check_catalog_item(response.parsed, body_of(response), model)
        assert item.to_dict() == everything[0].to_dict()
