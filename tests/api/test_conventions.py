"""docs/api.md, "Conventions": the conventions every endpoint keeps, checked once on the foundation's
endpoints."""

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.fixtures.factories import client_for, make_customer, make_project, make_service_settings, make_user
from tests.fixtures.ssh_keys import cached_public_key
from waldur_do.structure.models import Customer
from waldur_do.structure.services import ssh_key_create

from .helpers import BASE, HEX32, assert_detail, assert_field_error, body, detail_url, list_url

ROUTES = ("customers", "projects", "service-settings", "keys")
LINK_RE = re.compile(r'<([^>]+)>; rel="(first|prev|next|last)"')


def _customers(count: int) -> None:
    Customer.objects.bulk_create(Customer(name=f"Customer {i:03}") for i in range(count))


def _links(response) -> dict[str, str]:
    header = response.get("Link", "")
    links = dict((rel, url) for url, rel in LINK_RE.findall(header))
    assert len(links) == header.count("rel="), header
    return links


def _page_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])


# --- pagination --------------------------------------------------------------------------------------------

# (objects, query, items on the page, {rel: page it points at})
PAGES = [
    pytest.param(0, "", 0, {}, id="empty"),
    pytest.param(10, "", 10, {}, id="exactly-one-page"),
    pytest.param(11, "", 10, {"next": 2, "last": 2}, id="first-of-two"),
    pytest.param(11, "page=2", 1, {"first": 1, "prev": 1}, id="last-of-two"),
    pytest.param(25, "page=2", 10, {"first": 1, "prev": 1, "next": 3, "last": 3}, id="middle"),
    pytest.param(25, "page=3", 5, {"first": 1, "prev": 2}, id="last-of-three"),
    pytest.param(25, "page_size=25", 25, {}, id="page-size-covers-all"),
    pytest.param(7, "page_size=2&page=2", 2, {"first": 1, "prev": 1, "next": 3, "last": 4}, id="page-size"),
    pytest.param(12, "page_size=0", 10, {"next": 2, "last": 2}, id="page-size-zero-means-default"),
    pytest.param(12, "page_size=-5", 10, {"next": 2, "last": 2}, id="page-size-negative-means-default"),
    pytest.param(12, "page_size=lots", 10, {"next": 2, "last": 2}, id="page-size-junk-means-default"),
]


@pytest.mark.parametrize(("count", "query", "on_page", "rels"), PAGES)
def test_list_is_a_bare_array_with_count_and_link_headers(staff_client, count, query, on_page, rels):
    _customers(count)
    response = staff_client.get(f"/api/customers/?{query}")

    assert response.status_code == 200
    data = body(response)
    assert isinstance(data, list) and len(data) == on_page
    assert response["X-Result-Count"] == str(count)
    links = _links(response)
    assert {rel: _page_of(url) for rel, url in links.items()} == rels
    for url in links.values():
        assert url.startswith(f"{BASE}/api/customers/"), url
        if "page_size" in query:
            assert parse_qs(urlsplit(url).query)["page_size"] == parse_qs(query)["page_size"]
    assert ("Link" in response) == bool(rels)


def test_page_links_keep_the_other_query_parameters(staff_client):
    _customers(3)
    response = staff_client.get("/api/customers/?name=customer&page_size=1&o=-name&field=name")
    query = parse_qs(urlsplit(_links(response)["next"]).query)
    expected = {"name": ["customer"], "page_size": ["1"], "o": ["-name"], "field": ["name"], "page": ["2"]}
    assert query == expected


def test_page_size_is_clamped_to_300(staff_client):
    _customers(301)
    response = staff_client.get("/api/customers/?page_size=1000")
    assert len(body(response)) == 300
    assert response["X-Result-Count"] == "301"
    assert _page_of(_links(response)["last"]) == 2


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc"])
def test_page_past_the_end_or_junk_is_a_json_404(staff_client, page):
    _customers(11)
    assert_detail(staff_client.get(f"/api/customers/?page={page}"), 404)


def test_an_empty_list_has_a_first_page(staff_client):
    response = staff_client.get("/api/customers/?page=1")
    assert response.status_code == 200 and body(response) == []
    assert response["X-Result-Count"] == "0"


@pytest.mark.parametrize("route", ROUTES)
def test_head_on_a_list_answers_the_same_headers_and_no_body(world, route):
    _customers(15)
    client = world.client("staff")
    get = client.get(f"{list_url(route)}?page_size=2")
    head = client.head(f"{list_url(route)}?page_size=2")

    assert head.status_code == 200
    assert head.content == b""
    for header in ("X-Result-Count", "Link", "Content-Type"):
        assert head.get(header) == get.get(header), header


# --- ?field= -----------------------------------------------------------------------------------------------

FIELDS = [
    pytest.param(["name"], {"name"}, id="one"),
    pytest.param(["name", "uuid"], {"name", "uuid"}, id="repeated"),
    pytest.param(["name", "nonsense"], {"name"}, id="unknown-ignored"),
    pytest.param(["nonsense"], None, id="none-valid-means-all"),
    pytest.param([], None, id="absent-means-all"),
]
CUSTOMER_FIELDS = {"url", "uuid", "name", "native_name", "abbreviation", "created"}


@pytest.mark.parametrize(("fields", "expected"), FIELDS)
@pytest.mark.parametrize("detail", [False, True], ids=["list", "retrieve"])
def test_field_restricts_the_rendered_keys(world, fields, expected, detail):
    path = detail_url("customers", world.customer.uuid) if detail else list_url("customers")
    response = world.client("owner").get(path, {"field": fields})
    data = body(response)
    item = data if detail else data[0]
    assert set(item) == (expected or CUSTOMER_FIELDS)


def test_field_does_not_restrict_what_a_write_answers(world):
    response = world.client("staff").post("/api/customers/?field=name", {"name": "New"}, format="json")
    assert response.status_code == 201
    assert set(body(response)) == CUSTOMER_FIELDS


# --- ?o= ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["alpha", "bravo", "charlie"]),
        ("name", ["alpha", "bravo", "charlie"]),
        ("-name", ["charlie", "bravo", "alpha"]),
        ("abbreviation", ["charlie", "alpha", "bravo"]),
        ("-abbreviation", ["bravo", "alpha", "charlie"]),
        ("created", ["bravo", "charlie", "alpha"]),
        ("-created", ["alpha", "charlie", "bravo"]),
    ],
)
def test_o_orders_ascending_and_descending(staff_client, ordering, expected):
    for name, abbreviation in (("bravo", "Z"), ("charlie", "A"), ("alpha", "M")):
        make_customer(name=name, abbreviation=abbreviation)
    response = staff_client.get("/api/customers/", {"o": ordering} if ordering else {})
    assert [item["name"] for item in body(response)] == expected


@pytest.mark.parametrize("ordering", ["name", "-name", "created"])
def test_pages_never_repeat_or_skip_rows_that_tie_on_the_ordering(staff_client, ordering):
    Customer.objects.bulk_create(Customer(name="Same") for _ in range(9))
    seen = [
        item["uuid"]
        for page in range(1, 4)
        for item in body(staff_client.get("/api/customers/", {"o": ordering, "page_size": 3, "page": page}))
    ]
    assert len(set(seen)) == 9


@pytest.mark.parametrize("ordering", ["", ",", ",,"])
def test_an_empty_o_keeps_the_default_ordering(staff_client, ordering):
    for name in ("b", "c", "a"):
        make_customer(name=name)
    response = staff_client.get("/api/customers/", {"o": ordering})
    assert [item["name"] for item in body(response)] == ["a", "b", "c"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("ordering", ["nonsense", "-nonsense", "token", "uuid"])
def test_o_with_an_unknown_field_is_a_400_naming_it(world, route, ordering):
    response = world.client("staff").get(list_url(route), {"o": ordering})
    assert_field_error(response, "o", ordering.lstrip("-"))


# --- identifiers -------------------------------------------------------------------------------------------


def test_uuids_are_32_hex_digits_in_json_and_urls(world):
    settings = make_service_settings(customer=world.customer)
    project = body(world.client("staff").get(detail_url("projects", world.project.uuid)))
    assert re.match(HEX32, project["uuid"]) and re.match(HEX32, project["customer_uuid"])
    assert project["url"] == f"{BASE}/api/projects/{world.project.uuid.hex}/"
    assert project["customer"] == f"{BASE}/api/customers/{world.customer.uuid.hex}/"
    rendered = body(world.client("staff").get(detail_url("service-settings", settings.uuid)))
    assert rendered["uuid"] == settings.uuid.hex
    assert rendered["customer"] == f"{BASE}/api/customers/{world.customer.uuid.hex}/"


def test_dates_are_utc_iso_8601_ending_in_z(world):
    created = body(world.client("owner").get(detail_url("customers", world.customer.uuid)))["created"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", created), created


@pytest.mark.parametrize(
    "spelling", [lambda u: u.hex, str, lambda u: str(u).upper()], ids=["hex", "dashed", "upper"]
)
def test_paths_accept_hex_and_dashed_uuids(world, spelling):
    response = world.client("owner").get(f"/api/customers/{spelling(world.customer.uuid)}/")
    assert response.status_code == 200
    assert body(response)["uuid"] == world.customer.uuid.hex


MALFORMED_UUIDS = ["not-a-uuid", "1234", "z" * 32, "0" * 33, "%00", "' OR 1=1 --", "1" * 300]


@pytest.mark.parametrize("route", ROUTES)
def test_a_malformed_uuid_in_a_path_is_a_json_404(world, route):
    client = world.client("staff")
    for value in MALFORMED_UUIDS:
        for method in ("get", "delete"):
            assert_detail(getattr(client, method)(f"/api/{route}/{value}/"), 404)


@pytest.mark.parametrize("route", ROUTES)
def test_an_unknown_uuid_in_a_path_is_a_json_404(world, route):
    assert_detail(world.client("staff").get(detail_url(route, uuid.uuid4())), 404)


UUID_FILTERS = [
    ("projects", "customer"),
    ("projects", "customer_uuid"),
    ("service-settings", "customer"),
    ("service-settings", "customer_uuid"),
    ("keys", "user_uuid"),
]


@pytest.mark.parametrize(("route", "param"), UUID_FILTERS)
def test_a_malformed_uuid_in_a_filter_is_a_400_naming_the_parameter(world, route, param):
    response = world.client("staff").get(list_url(route), {param: "not-a-uuid"})
    assert response.status_code == 400
    assert body(response) == {param: ["Enter a valid UUID."]}


@pytest.mark.parametrize(("route", "param"), UUID_FILTERS)
def test_uuid_filters_accept_both_spellings(world, route, param):
    target = world.users["owner"].uuid if param == "user_uuid" else world.customer.uuid
    for value in (target.hex, str(target)):
        assert world.client("staff").get(list_url(route), {param: value}).status_code == 200


def test_project_filter_by_customer_uuid_selects_its_projects(world):
    make_project()
    response = world.client("staff").get("/api/projects/", {"customer": str(world.customer.uuid)})
    assert [item["uuid"] for item in body(response)] == [world.project.uuid.hex]


# --- authentication ----------------------------------------------------------------------------------------


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def test_the_authorization_header_authenticates(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_token(world.users['owner'])}")
    assert body(client.get("/api/customers/"))[0]["uuid"] == world.customer.uuid.hex


def test_the_query_token_authenticates_when_there_is_no_header(world):
    response = APIClient().get("/api/customers/", {"x-auth-token": _token(world.users["owner"])})
    assert response.status_code == 200
    assert body(response)[0]["uuid"] == world.customer.uuid.hex


def test_page_links_never_repeat_the_query_token(world):
    token = _token(world.users["staff"])
    for _ in range(3):
        make_project(customer=world.customer)
    response = APIClient().get("/api/projects/", {"x-auth-token": token, "page_size": 1, "page": 2})
    assert response.status_code == 200
    assert 'rel="next"' in response["Link"] and token not in response["Link"]


def test_the_header_wins_over_the_query_token(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_token(world.users['stranger'])}")
    response = client.get("/api/customers/", {"x-auth-token": _token(world.users["owner"])})
    assert response.status_code == 200 and body(response) == []


NOT_PROVIDED = "Authentication credentials were not provided."
INVALID = "Invalid token."

AUTH_FAILURES = [
    pytest.param({}, {}, NOT_PROVIDED, id="nothing"),
    pytest.param({"HTTP_AUTHORIZATION": "Token nonsense"}, {}, INVALID, id="bad-header-token"),
    pytest.param({}, {"x-auth-token": "nonsense"}, INVALID, id="bad-query-token"),
    pytest.param({}, {"x-auth-token": ""}, INVALID, id="empty-query-token"),
    pytest.param({"HTTP_AUTHORIZATION": "Token"}, {}, None, id="header-without-key"),
    pytest.param({"HTTP_AUTHORIZATION": "Token a b"}, {}, None, id="header-with-spaces"),
]


@pytest.mark.parametrize(("headers", "query", "detail"), AUTH_FAILURES)
@pytest.mark.parametrize(
    "path",
    ["/api/customers/", "/api/keys/", f"/api/projects/{uuid.uuid4().hex}/", "/api/service-settings/nope/"],
)
def test_missing_or_bad_credentials_are_a_401_with_www_authenticate(db, headers, query, detail, path):
    response = APIClient().get(path, query, **headers)
    assert_detail(response, 401, detail)
    assert response["WWW-Authenticate"] == "Token"


def test_an_inactive_users_token_is_refused(world):
    user = make_user()
    client = client_for(user)
    user.is_active = False
    user.save()
    assert_detail(client.get("/api/customers/"), 401)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_without_credentials_are_a_401_before_anything_else(world, method):
    path = detail_url("customers", world.customer.uuid)
    response = getattr(APIClient(), method)(path, "{bad", content_type="application/json")
    assert_detail(response, 401, NOT_PROVIDED)


# --- errors are JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/nothing-here/", "/api/customers/x/y/", "/api/digitalocean-unknown/", "/api/%ZZ/"],
)
def test_an_unknown_path_under_api_is_a_json_404(world, path):
    for client in (world.client("owner"), APIClient()):
        for method in ("get", "post", "delete"):
            assert_detail(getattr(client, method)(path), 404, "Not found.")


def test_errors_are_json_with_their_message_even_when_a_browser_asks_for_html(world):
    client = world.client("staff")
    response = client.get("/api/customers/not-a-uuid/", HTTP_ACCEPT="text/html")
    assert_detail(response, 404, "No Customer matches the given query.")
    response = client.post("/api/customers/", {"name": ""}, HTTP_ACCEPT="text/html")
    assert_field_error(response, "name", "This field may not be blank.")
    response = APIClient().get("/api/customers/", HTTP_ACCEPT="text/html")
    assert_detail(response, 401, NOT_PROVIDED)
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_path_without_its_trailing_slash_is_a_json_404_not_a_redirect(world, method):
    # A redirect would silently drop a POST body (and Django raises on it in DEBUG): say it plainly instead.
    response = getattr(world.client("staff"), method)("/api/customers", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/customers/"),
        ("patch", "/api/projects/"),
        ("delete", "/api/service-settings/"),
        ("post", "/api/customers/{customer}/"),
        ("put", "/api/keys/{key}/"),
        ("patch", "/api/keys/{key}/"),
    ],
)
def test_a_method_that_is_not_allowed_is_a_json_405(world, method, path):
    key = ssh_key_create(user=world.users["staff"], name="k", public_key=cached_public_key("ssh-ed25519"))
    url = path.format(customer=world.customer.uuid.hex, key=key.uuid.hex)
    response = getattr(world.client("staff"), method)(url, {}, format="json")
    assert_detail(response, 405, f'Method "{method.upper()}" not allowed.')
    assert "Allow" in response


@pytest.mark.parametrize("payload", ["{bad", '{"name": "x",}', "\x00", "[", '"unterminated', "\xff\xfe"])
def test_a_malformed_json_body_is_a_400_naming_the_problem(world, payload):
    response = world.client("staff").post("/api/customers/", payload, content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in body(response)["detail"]


def test_a_json_body_that_is_not_an_object_is_a_400(world):
    response = world.client("staff").post("/api/customers/", "[1, 2]", content_type="application/json")
    assert_field_error(response, "non_field_errors", "Expected a dictionary")


def test_an_unsupported_media_type_is_a_json_415(world):
    response = world.client("staff").post("/api/customers/", "name=x", content_type="text/csv")
    assert_detail(response, 415)
