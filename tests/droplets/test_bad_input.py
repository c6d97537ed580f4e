"""Bad input to the droplet endpoints: a 400 that names the field, nothing written, nothing enqueued; never a
500 or an HTML page."""

import uuid

import pytest

from droplets.models import Droplet
from tests.api.helpers import BASE, assert_field_error, body, detail_url, link, list_url
from tests.fixtures.droplets import make_droplet

ROUTE = "digitalocean-droplets"

# Every hyperlinked field of a create and the routes a correct link points at.
LINK_FIELDS = {
    "service_settings": "service-settings",
    "project": "projects",
    "region": "digitalocean-regions",
    "image": "digitalocean-images",
    "size": "digitalocean-sizes",
    "ssh_public_key": "keys",
}
NOWHERE = uuid.UUID(int=1).hex  # a valid uuid of nothing
REQUIRED = ("name", "service_settings", "project", "region", "image", "size")


def _valid_body(world, catalog):
    return {
        "name": "web-1",
        "description": "d",
        "service_settings": link("service-settings", catalog.service_settings.uuid),
        "project": link("projects", world.project.uuid),
        "region": link("digitalocean-regions", catalog.regions["nyc1"].uuid),
        "image": link("digitalocean-images", catalog.images["debian-12-x64"].uuid),
        "size": link("digitalocean-sizes", catalog.sizes["s-2vcpu-2gb"].uuid),
        "user_data": "",
    }


def _wrong_route(field):
    """A correct link to an object of another kind."""
    return "customers" if field != "project" else "service-settings"


def _bad_values():
    for field in ("name", "description", "user_data"):
        yield field, ["x"], "Not a valid string."
        yield field, {"x": 1}, "Not a valid string."
        yield field, True, "Not a valid string."
    for field in ("name", *LINK_FIELDS):
        if field != "ssh_public_key":
            yield field, None, "This field may not be null."
    yield "description", None, "This field may not be null."
    yield "user_data", None, "This field may not be null."
    yield "description", "x" * 4097, "Ensure this field has no more than 4096 characters."
    yield "name", "a\x00b", "Null characters are not allowed."
    for field, route in LINK_FIELDS.items():
        yield field, 7, "Incorrect type. Expected URL string, received int."
        yield field, ["x"], "Incorrect type. Expected URL string, received list."
        yield field, {"url": "x"}, "Incorrect type. Expected URL string, received dict."
        if field != "ssh_public_key":  # "" is no key, as null is
            yield field, "", "This field may not be null."
        yield field, "nonsense", "Invalid hyperlink - No URL match."
        yield field, f"{BASE}/api/{route}/{NOWHERE}/", "Invalid hyperlink - Object does not exist."
        yield field, f"{BASE}/api/{route}/not-a-uuid/", "Invalid hyperlink - Object does not exist."
        yield field, f"{BASE}/api/{route}/", "Invalid hyperlink - Incorrect URL match."
        yield (
            field,
            f"{BASE}/api/{_wrong_route(field)}/{NOWHERE}/",
            "Invalid hyperlink - Incorrect URL match.",
        )


BAD_VALUES = [pytest.param(f, v, m, id=f"{f}-{str(v)[:20]}") for f, v, m in _bad_values()]


@pytest.mark.parametrize(("field", "value", "words"), BAD_VALUES)
def test_create_with_a_wrong_value(world, catalog, enqueued, field, value, words):
    request_body = _valid_body(world, catalog) | {field: value}
    with enqueued() as calls:
        response = world.client("manager").post(list_url(ROUTE), request_body, format="json")
    assert_field_error(response, field, words)
    assert not Droplet.objects.exists()
    assert calls == []


@pytest.mark.parametrize("field", REQUIRED)
def test_create_without_a_required_field(world, catalog, enqueued, field):
    request_body = _valid_body(world, catalog)
    del request_body[field]
    with enqueued() as calls:
        response = world.client("manager").post(list_url(ROUTE), request_body, format="json")
    assert_field_error(response, field, "This field is required.")
    assert not Droplet.objects.exists() and calls == []


def test_create_with_an_empty_body_names_every_required_field(world):
    response = world.client("manager").post(list_url(ROUTE), {}, format="json")
    assert response.status_code == 400
    assert set(body(response)) == set(REQUIRED)


def test_read_only_fields_are_ignored_on_create(world, catalog, enqueued):
    request_body = _valid_body(world, catalog) | {
        "state": "OK",
        "runtime_state": "online",
        "backend_id": "1",
        "cores": 64,
        "error_message": "x",
        "uuid": uuid.uuid4().hex,
        "url": "http://evil/",
    }
    with enqueued():
        response = world.client("manager").post(list_url(ROUTE), request_body, format="json")
    data = body(response)
    assert response.status_code == 201, data
    assert (
        data["state"],
        data["runtime_state"],
        data["backend_id"],
        data["cores"],
        data["error_message"],
    ) == (
        "CREATION_SCHEDULED",
        "",
        "",
        0,
        "",
    )
    assert data["uuid"] != request_body["uuid"]


# (method, action) that take a JSON body, on a droplet in a state that allows them
WITH_BODY = [("post", ""), ("put", ""), ("patch", ""), ("post", "resize"), ("post", "set_erred")]


@pytest.mark.parametrize(("method", "action"), WITH_BODY)
@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"name": }', b"\xff\xfe", b"[1, 2", b"nul"],
    ids=["unclosed", "no-value", "not-utf8", "unclosed-list", "bad-literal"],
)
def test_malformed_json(world, catalog, method, action, raw):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state="offline")
    target = (
        list_url(ROUTE)
        if method == "post" and not action
        else detail_url(ROUTE, droplet.uuid) + (f"{action}/" if action else "")
    )
    response = getattr(world.client("staff"), method)(target, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert body(response)["detail"].startswith("JSON parse error")
    assert Droplet.objects.count() == 1
    assert Droplet.objects.get().state == "OK"


@pytest.mark.parametrize(("method", "action"), WITH_BODY)
@pytest.mark.parametrize(
    "payload", [[], [{"name": "x"}], "text", 3, None], ids=["list", "list-of-obj", "str", "int", "null"]
)
def test_body_that_is_not_an_object(world, catalog, method, action, payload):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state="offline")
    target = (
        list_url(ROUTE)
        if method == "post" and not action
        else detail_url(ROUTE, droplet.uuid) + (f"{action}/" if action else "")
    )
    response = getattr(world.client("staff"), method)(target, payload, format="json")
    if payload is None and (action == "set_erred" or method == "patch"):  # as no body at all
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 400, response.content
    data = body(response)
    if payload is None:  # as an empty body: the required fields are missing
        assert all(messages == ["This field is required."] for messages in data.values()), data
    else:
        assert list(data) == ["non_field_errors"], data
    assert Droplet.objects.count() == 1
    assert Droplet.objects.get().state == "OK"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["x"], "Not a valid string."),
        ({"x": 1}, "Not a valid string."),
        (None, "This field may not be null."),
        ("", "This field may not be blank."),
        ("bad name", "Only valid hostname characters are allowed."),
        ("x" * 151, "Ensure this field has no more than 150 characters."),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_with_a_bad_name(world, droplet, enqueued, method, value, words):
    with enqueued() as calls:
        response = getattr(world.client("manager"), method)(
            detail_url(ROUTE, droplet.uuid), {"name": value, "description": "x"}, format="json"
        )
    assert_field_error(response, "name", words)
    fresh = Droplet.objects.get(pk=droplet.pk)
    assert (fresh.name, fresh.description, fresh.state) == (droplet.name, "", "OK")
    assert calls == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["x"], "Not a valid string."),
        (None, "This field may not be null."),
        ("x" * 4097, "no more than 4096"),
    ],
)
def test_update_with_a_bad_description(world, droplet, value, words):
    response = world.client("manager").patch(
        detail_url(ROUTE, droplet.uuid), {"name": "renamed", "description": value}, format="json"
    )
    assert_field_error(response, "description", words)
    assert Droplet.objects.get(pk=droplet.pk).name == droplet.name


def test_unknown_action_and_method_are_json(world, droplet):
    client = world.client("staff")
    for response in (
        client.post(detail_url(ROUTE, droplet.uuid) + "explode/"),
        client.get(detail_url(ROUTE, droplet.uuid) + "stop/"),
        client.put(list_url(ROUTE), {}, format="json"),
        client.delete(list_url(ROUTE)),
    ):
        assert response.status_code in (404, 405), response.status_code
        assert set(body(response)) == {"detail"}
