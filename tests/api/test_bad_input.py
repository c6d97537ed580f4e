"""Bad input: each mistake a client can make is a 400 (or 404) that names the problem, never a 500 or HTML."""

import uuid

import pytest

from tests.fixtures.factories import make_customer, make_service_settings
from tests.fixtures.ssh_keys import cached_public_key
from waldur_do.structure.services import ssh_key_create

from .helpers import BASE, assert_field_error, body, detail_url, link, list_url

ROUTES = ("customers", "projects", "service-settings", "keys")


def _customer_link(world):
    return link("customers", world.customer.uuid)


# (route, body builder, field the 400 names, words its message contains); the staff user posts each body.
CREATE_ERRORS = [
    ("customers", lambda w: {}, "name", "This field is required."),
    ("customers", lambda w: {"name": None}, "name", "This field may not be null."),
    ("customers", lambda w: {"name": ""}, "name", "This field may not be blank."),
    ("customers", lambda w: {"name": ["a"]}, "name", "Not a valid string."),
    ("customers", lambda w: {"name": {"a": 1}}, "name", "Not a valid string."),
    ("customers", lambda w: {"name": "x" * 151}, "name", "no more than 150 characters"),
    ("customers", lambda w: {"name": "ok", "abbreviation": "x" * 13}, "abbreviation", "no more than 12"),
    ("customers", lambda w: {"name": "a\x00b"}, "name", "Null characters are not allowed."),
    ("projects", lambda w: {"customer": _customer_link(w)}, "name", "This field is required."),
    ("projects", lambda w: {"name": "p"}, "customer", "This field is required."),
    ("projects", lambda w: {"name": "p", "customer": None}, "customer", "This field may not be null."),
    ("projects", lambda w: {"name": "p", "customer": 7}, "customer", "Incorrect type. Expected URL string"),
    ("projects", lambda w: {"name": "p", "customer": ["x"]}, "customer", "Incorrect type"),
    (
        "projects",
        lambda w: {"name": "p", "customer": "nonsense"},
        "customer",
        "Invalid hyperlink - No URL match.",
    ),
    (
        "projects",
        lambda w: {"name": "p", "customer": link("customers", uuid.uuid4())},
        "customer",
        "Invalid hyperlink - Object does not exist.",
    ),
    (
        "projects",
        lambda w: {"name": "p", "customer": f"{BASE}/api/customers/not-a-uuid/"},
        "customer",
        "Invalid hyperlink - Object does not exist.",
    ),
    (
        "projects",
        lambda w: {"name": "p", "customer": link("projects", w.project.uuid)},
        "customer",
        "Invalid hyperlink - Incorrect URL match.",
    ),
    (
        "projects",
        lambda w: {"name": "p", "customer": f"{BASE}/api/nothing/{w.customer.uuid.hex}/"},
        "customer",
        "Invalid hyperlink - No URL match.",
    ),
    (
        "projects",
        lambda w: {"name": "p", "customer": _customer_link(w), "description": {"x": 1}},
        "description",
        "Not a valid string.",
    ),
    (
        "service-settings",
        lambda w: {"name": "s", "token": "t", "customer": _customer_link(w), "backend_url": "ftp:/x"},
        "backend_url",
        "Enter an http(s) URL of a DigitalOcean API",
    ),
    (
        "service-settings",
        lambda w: {"name": "s", "token": "t", "customer": _customer_link(w), "shared": "perhaps"},
        "shared",
        "Must be a valid boolean.",
    ),
    ("keys", lambda w: {"name": "k", "public_key": 12345}, "public_key", "must look like"),
]


@pytest.mark.parametrize(
    ("route", "payload", "field", "message"),
    [pytest.param(*case, id=f"{case[0]}-{case[2]}-{i}") for i, case in enumerate(CREATE_ERRORS)],
)
def test_a_bad_create_body_is_a_400_naming_the_field(world, route, payload, field, message):
    response = world.client("staff").post(list_url(route), payload(world), format="json")
    assert_field_error(response, field, message)


@pytest.mark.parametrize("spelling", [lambda u: u.hex, str], ids=["hex", "dashed"])
def test_hyperlinks_in_bodies_accept_both_uuid_spellings(world, spelling):
    payload = {"name": "p", "customer": f"{BASE}/api/customers/{spelling(world.customer.uuid)}/"}
    response = world.client("owner").post("/api/projects/", payload, format="json")
    assert response.status_code == 201
    assert body(response)["customer"] == _customer_link(world)


def test_a_hyperlink_to_an_object_the_user_cannot_see_is_a_400(world):
    """The stranger owns another customer, so may create projects, but cannot see the world's customer."""
    world.users["stranger"].customer_roles.create(customer=make_customer(), role="owner")
    payload = {"name": "p", "customer": _customer_link(world)}
    response = world.client("stranger").post("/api/projects/", payload, format="json")
    assert_field_error(response, "customer", "Invalid hyperlink - Object does not exist.")


def test_a_missing_body_on_a_required_create_names_every_required_field(world):
    response = world.client("staff").post("/api/projects/", format="json")
    assert body(response).keys() == {"name", "customer"}


def test_a_form_encoded_body_is_accepted_like_json(world):
    response = world.client("staff").post("/api/customers/", {"name": "Form"})
    assert response.status_code == 201


# --- nothing a client sends is a 500 or HTML ---------------------------------------------------------------

JUNK_QUERIES = [
    {"page": "abc"},
    {"page": "99999999999999999999"},
    {"page_size": "1e9"},
    {"page_size": "99999999999999999999"},
    {"o": "name;DROP TABLE x"},
    {"o": ""},
    {"o": ","},
    {"o": "-"},
    {"field": ""},
    {"field": "\x00"},
    {"name": "\x00"},
    {"name": "%"},
    {"name": "x" * 5000},
    {"name_exact": "'; --"},
    {"customer": "\x00"},
    {"customer": str(uuid.uuid4())},
    {"customer_uuid": ""},
    {"user_uuid": "0" * 40},
    {"shared": "maybe"},
    {"is_shared": "2"},
    {"state": "BOGUS"},
    {"type": "AWS"},
    {"fingerprint_md5": "\x00"},
    {"unknown_filter": "ignored"},
    {"x-auth-token": "ignored-when-the-header-is-set"},
]


@pytest.mark.parametrize("route", ROUTES)
def test_no_query_is_a_server_error(world, route):
    client = world.client("staff")
    for query in JUNK_QUERIES:
        response = client.get(list_url(route), query)
        data = body(response)
        assert response.status_code in (200, 400, 404), (query, response.content)
        if response.status_code == 400:
            assert set(data) <= set(query), (query, data)  # names the offending parameter
        elif response.status_code == 404:
            assert "page" in query, query


JUNK_BODIES = [
    "null",
    "[]",
    "123",
    '"a string"',
    "true",
    '{"name": null}',
    '{"name": {"$gt": ""}}',
    '{"name": 1e999}',
    '{"customer": {"uuid": "x"}}',
    '{"customer": "http://evil.example/api/customers/x/"}',
    '{"shared": null, "token": null, "customer": null}',
    '{"public_key": "\\u0000"}',
    '{"name": "' + "x" * 10000 + '"}',
    '{"' + "k" * 1000 + '": 1}',
]


@pytest.mark.parametrize("route", ROUTES)
def test_no_body_is_a_server_error(world, route):
    client = world.client("staff")
    targets = {
        "customers": world.customer,
        "projects": world.project,
        "service-settings": make_service_settings(customer=world.customer),
        "keys": ssh_key_create(
            user=world.users["staff"], name="k", public_key=cached_public_key("ssh-ed25519")
        ),
    }
    detail = detail_url(route, targets[route].uuid)
    for payload in JUNK_BODIES:
        for method, path in (("POST", list_url(route)), ("PUT", detail), ("PATCH", detail)):
            response = client.generic(method, path, payload, "application/json")
            body(response)
            assert response.status_code in (200, 201, 400, 405), (method, payload[:40], response.content)
