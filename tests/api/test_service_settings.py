"""Service settings: the DigitalOcean token is write-only, private settings belong to a customer, shared ones
to none, and only staff share them."""

import pytest

from tests.fixtures.factories import make_customer, make_service_settings
from waldur_do.structure.models import ServiceSettings

from .helpers import assert_detail, assert_field_error, body, detail_url, link

TOKEN = "dop_v1_must-never-be-rendered-0123456789abcdef"
RENDERED = {
    "sync_interval",
    "url",
    "uuid",
    "name",
    "type",
    "state",
    "error_message",
    "shared",
    "customer",
    "customer_name",
    "backend_url",
    "created",
}


def _assert_no_token(response, token=TOKEN):
    """Neither the value anywhere nor, in an answer that renders settings, the key."""
    assert token.encode() not in response.content, response.content
    data = body(response)
    if response.status_code < 400:
        for item in data if isinstance(data, list) else [data]:
            assert "token" not in item


@pytest.fixture
def settings(world):
    return make_service_settings(customer=world.customer, token=TOKEN)


# --- the token is write-only -------------------------------------------------------------------------------

READS = [
    pytest.param("/api/service-settings/", {}, id="list"),
    pytest.param("/api/service-settings/", {"field": ["token", "name"]}, id="list-asking-for-it"),
    pytest.param("/api/service-settings/", {"field": "token"}, id="list-asking-only-for-it"),
    pytest.param("{detail}", {}, id="retrieve"),
    pytest.param("{detail}", {"field": "token"}, id="retrieve-asking-for-it"),
    pytest.param("/api/service-settings/", {"token": TOKEN}, id="list-filtered-by-it"),
]


@pytest.mark.parametrize(("path", "query"), READS)
@pytest.mark.parametrize("role", ["staff", "owner", "member"])
def test_the_token_is_never_read_back(world, settings, role, path, query):
    response = world.client(role).get(
        path.format(detail=detail_url("service-settings", settings.uuid)), query
    )
    assert response.status_code == 200
    _assert_no_token(response)
    item = body(response) if "{detail}" in path else body(response)[0]
    assert set(item) <= RENDERED


def test_the_token_is_not_in_a_head_or_options_answer(world, settings):
    client = world.client("owner")
    assert TOKEN.encode() not in client.head("/api/service-settings/").content
    _assert_no_token(client.options(detail_url("service-settings", settings.uuid)))


WRITES = [
    pytest.param("post", {"name": "New", "token": TOKEN}, 201, id="create"),
    pytest.param("patch", {"token": TOKEN}, 200, id="patch-token"),
    pytest.param("put", {"name": "Renamed", "token": TOKEN}, 200, id="put"),
    pytest.param("post", {"token": TOKEN}, 400, id="create-error"),
    pytest.param("post", {"name": "x" * 200, "token": TOKEN}, 400, id="create-error-too-long-name"),
    pytest.param("post", {"name": "New", "token": TOKEN + "x" * 300}, 400, id="create-error-too-long-token"),
    pytest.param("patch", {"name": "", "token": TOKEN}, 400, id="patch-error"),
    pytest.param("patch", {"backend_url": "not a url", "token": TOKEN}, 400, id="patch-error-url"),
    pytest.param(
        "post", {"name": "New", "token": {"value": TOKEN}}, 400, id="create-error-token-not-a-string"
    ),
    pytest.param("post", {"name": "New", "token": [TOKEN]}, 400, id="create-error-token-list"),
]


@pytest.mark.parametrize(("method", "payload", "status"), WRITES)
def test_the_token_is_never_in_a_write_answer_nor_in_its_errors(world, method, payload, status):
    settings = make_service_settings(customer=world.customer, token="old-token")
    customer = link("customers", world.customer.uuid)
    if method == "post":
        path, payload = "/api/service-settings/", {"customer": customer, **payload}
    else:
        path = detail_url("service-settings", settings.uuid)
    response = getattr(world.client("owner"), method)(path, payload, format="json")
    assert response.status_code == status, response.content
    _assert_no_token(response)
    _assert_no_token(response, token="old-token")


def test_a_new_token_is_stored(world, settings):
    response = world.client("owner").patch(
        detail_url("service-settings", settings.uuid), {"token": "new-token"}, format="json"
    )
    assert response.status_code == 200
    settings.refresh_from_db()
    assert settings.token == "new-token"


def test_a_token_is_required_on_create_but_not_on_update(world, settings):
    customer = link("customers", world.customer.uuid)
    response = world.client("owner").post("/api/service-settings/", {"name": "N", "customer": customer})
    assert_field_error(response, "token", "required")
    response = world.client("owner").put(
        detail_url("service-settings", settings.uuid), {"name": "N", "customer": customer}, format="json"
    )
    assert response.status_code == 200
    settings.refresh_from_db()
    assert settings.token == TOKEN


# --- private and shared ------------------------------------------------------------------------------------

OWNERSHIP = [
    pytest.param({"shared": True}, 201, None, id="shared-without-customer"),
    pytest.param({"shared": True, "customer": None}, 201, None, id="shared-with-null-customer"),
    pytest.param({"shared": False, "customer": "own"}, 201, None, id="private-with-customer"),
    pytest.param({"customer": "own"}, 201, None, id="private-by-default"),
    pytest.param({}, 400, "Private service settings need a customer.", id="private-without-customer"),
    pytest.param({"shared": False, "customer": None}, 400, "need a customer", id="private-with-null"),
    pytest.param(
        {"shared": True, "customer": "own"}, 400, "Shared service settings have no customer.", id="both"
    ),
    pytest.param({"customer": "nowhere"}, 400, "Invalid hyperlink", id="unknown-customer"),
    pytest.param({"customer": 42}, 400, "Incorrect type", id="customer-not-a-link"),
    pytest.param({"shared": "sometimes"}, 400, "Must be a valid boolean.", id="shared-not-a-boolean"),
]


@pytest.mark.parametrize(("fields", "status", "message"), OWNERSHIP)
def test_private_settings_need_a_customer_and_shared_ones_have_none(world, fields, status, message):
    customers = {
        "own": link("customers", world.customer.uuid),
        "nowhere": "http://testserver/api/customers/00000000000000000000000000000000/",
    }
    payload = {"name": "New", "token": "t", **fields}
    if isinstance(payload.get("customer"), str):
        payload["customer"] = customers[payload["customer"]]
    response = world.client("staff").post("/api/service-settings/", payload, format="json")

    if status == 201:
        assert response.status_code == 201, response.content
        data = body(response)
        shared = payload.get("shared", False)
        assert data["shared"] is shared
        assert data["customer"] == (None if shared else customers["own"])
        assert data["customer_name"] == (None if shared else world.customer.name)
        assert data["type"] == "DigitalOcean"
    else:
        field = "shared" if "boolean" in message else "customer"
        assert_field_error(response, field, message)
        assert not ServiceSettings.objects.filter(name="New").exists()


def test_type_and_state_are_read_only(world):
    payload = {
        "name": "New",
        "token": "t",
        "shared": True,
        "type": "AWS",
        "state": "OK",
        "error_message": "x",
    }
    data = body(world.client("staff").post("/api/service-settings/", payload, format="json"))
    assert data["type"] == "DigitalOcean"
    assert data["state"] != "OK" or ServiceSettings.objects.get(uuid=data["uuid"]).state == "OK"
    assert data["error_message"] == ""


def test_an_update_keeps_the_ownership_rules(world, settings):
    response = world.client("staff").patch(
        detail_url("service-settings", settings.uuid), {"shared": True}, format="json"
    )
    assert_field_error(response, "customer", "Shared service settings have no customer.")


# --- only staff share, and owners keep to their own customers ----------------------------------------------


def test_an_owner_cannot_make_their_settings_shared(world, settings):
    response = world.client("owner").patch(
        detail_url("service-settings", settings.uuid), {"shared": True, "customer": None}, format="json"
    )
    assert_detail(response, 403)
    settings.refresh_from_db()
    assert not settings.shared and settings.customer == world.customer


def test_an_owner_cannot_give_settings_to_a_customer_they_do_not_own(world, settings):
    supported = make_customer()
    world.users["owner"].customer_roles.create(customer=supported, role="support")
    response = world.client("owner").patch(
        detail_url("service-settings", settings.uuid),
        {"customer": link("customers", supported.uuid)},
        format="json",
    )
    assert_detail(response, 403)
    settings.refresh_from_db()
    assert settings.customer == world.customer


def test_an_owner_cannot_give_settings_to_a_customer_they_cannot_see(world, settings):
    invisible = make_customer()
    response = world.client("owner").patch(
        detail_url("service-settings", settings.uuid),
        {"customer": link("customers", invisible.uuid)},
        format="json",
    )
    assert_field_error(response, "customer", "Invalid hyperlink - Object does not exist.")


def test_an_owner_can_move_settings_between_customers_they_own(world, settings):
    other = make_customer()
    world.users["owner"].customer_roles.create(customer=other, role="owner")
    response = world.client("owner").patch(
        detail_url("service-settings", settings.uuid),
        {"customer": link("customers", other.uuid)},
        format="json",
    )
    assert response.status_code == 200
    assert body(response)["customer"] == link("customers", other.uuid)


def test_staff_may_turn_private_settings_into_shared_ones(world, settings):
    response = world.client("staff").patch(
        detail_url("service-settings", settings.uuid), {"shared": True, "customer": None}, format="json"
    )
    assert response.status_code == 200
    assert body(response)["customer"] is None
    assert world.client("stranger").get(detail_url("service-settings", settings.uuid)).status_code == 200


def test_settings_in_use_by_a_customer_block_its_deletion(world, settings):
    world.project.delete()
    response = world.client("staff").delete(detail_url("customers", world.customer.uuid))
    assert_detail(response, 409, "Cannot delete it while it still has service settings.")


@pytest.mark.parametrize(
    ("query", "expected"),
    [({"shared": "true"}, {"shared"}), ({"shared": "false"}, {"private"}), ({}, {"shared", "private"})],
)
def test_filter_by_shared(world, settings, query, expected):
    shared = make_service_settings(shared=True)
    names = {shared.uuid.hex: "shared", settings.uuid.hex: "private"}
    data = body(world.client("owner").get("/api/service-settings/", query))
    assert {names[item["uuid"]] for item in data} == expected


ENDPOINT = "http://emulator:8808/v2/"  # a one-word host, as containers name each other


def test_only_staff_may_point_settings_at_another_endpoint(world):
    """Workers send the settings' token to backend_url: an owner may not aim it at a host of their choice."""
    body = {
        "name": "DO",
        "token": "secret",
        "customer": f"http://testserver/api/customers/{world.customer.uuid.hex}/",
    }
    owner = world.client("owner")
    assert (
        owner.post("/api/service-settings/", {**body, "backend_url": ENDPOINT}, format="json").status_code
        == 403
    )
    created = owner.post("/api/service-settings/", body, format="json")
    assert created.status_code == 201, created.content
    url = created.json()["url"]
    assert owner.patch(url, {"backend_url": "http://169.254.169.254/"}, format="json").status_code == 403
    assert owner.patch(url, {"name": "renamed"}, format="json").status_code == 200

    staff = world.client("staff")
    response = staff.patch(url, {"backend_url": ENDPOINT}, format="json")
    assert (response.status_code, response.json()["backend_url"]) == (200, ENDPOINT)
    assert owner.patch(url, {"name": "again", "backend_url": ENDPOINT}, format="json").status_code == 200


@pytest.mark.parametrize("endpoint", ["ftp://example.com/v2/", "not a url", "http:///v2/"])
def test_the_endpoint_must_be_an_http_url_with_a_host(world, endpoint):
    response = world.client("staff").post(
        "/api/service-settings/",
        {"name": "DO", "token": "t", "shared": True, "backend_url": endpoint},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "backend_url": [
            "Enter an http(s) URL of a DigitalOcean API, such as https://api.digitalocean.com/v2/."
        ]
    }
