import re
import uuid

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/projects/" in (tmp_path / "schema.yml").read_text()


def test_schema_and_swagger_ui_are_served_offline_without_login(db, client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


# What the server answers for each droplet operation (docs/api.md, "Conventions" and "Operations"), every
# one of which the schema must document.
DROPLET_STATUSES = {
    "list": {"200", "400", "401", "404"},
    "count": {"200", "400", "401", "404"},
    "retrieve": {"200", "401", "404"},
    "create": {"201", "400", "401", "403"},
    "update": {"200", "400", "401", "403", "404", "409"},
    "partial_update": {"200", "400", "401", "403", "404", "409"},
    "destroy": {"204", "401", "403", "404", "409"},
    "start": {"202", "401", "403", "404", "409"},
    "stop": {"202", "401", "403", "404", "409"},
    "restart": {"202", "401", "403", "404", "409"},
    "resize": {"202", "400", "401", "403", "404", "409"},
    "pull": {"202", "401", "403", "404", "409"},
    "unlink": {"204", "401", "403", "404"},
    "set_erred": {"200", "400", "401", "403", "404"},
    "set_ok": {"200", "401", "403", "404"},
}


def test_the_schema_documents_every_status_a_droplet_operation_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        operation["operationId"]: set(operation["responses"])
        for item in schema["paths"].values()
        for operation in item.values()
    }
    for name, statuses in DROPLET_STATUSES.items():
        operation_id = f"digitalocean_droplets_{name}"
        assert statuses <= documented[operation_id], (operation_id, statuses - documented[operation_id])


def test_every_operation_is_described_for_users_not_for_us():
    """The published descriptions say who may call an operation and what it does, nothing of our code."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    internal = re.compile(r"can_manage|docstring|queryset|serializer|selector|drf-spectacular|Waldur's shape")
    described = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            text = operation.get("description", "")
            assert not internal.search(text), (method, path, text)
            described.append(bool(text))
    for name, component in schema["components"]["schemas"].items():
        assert not internal.search(component.get("description", "")), name
    assert all(described)


# --- the schema tells the truth about the answers ----------------------------------------------------------


def _is_uuid(value) -> bool:
    """`format: uuid` as Python (and the generated clients) read it: the 32 hex digits we render, or dashed.
    openapi-core's own check insists on RFC 4122's dashed spelling (docs/api.md, "Identifiers")."""
    try:
        uuid.UUID(value)
    except (TypeError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def openapi():
    from openapi_core import Config, OpenAPI

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenAPI.from_dict(schema, config=Config(extra_format_validators={"uuid": _is_uuid}))


def _validate(openapi, method, path, response, query=""):
    from openapi_core.testing import MockRequest, MockResponse

    request = MockRequest("http://testserver", method.lower(), path, args=query)
    answer = MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response["Content-Type"].split(";")[0],
    )
    openapi.validate_response(request, answer)


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        ("digitalocean-regions", ["name"]),
        ("digitalocean-images", ["uuid", "regions"]),
        ("digitalocean-sizes", ["price"]),
        ("digitalocean-droplets", ["uuid", "name", "state"]),
        ("service-settings", ["customer_name"]),
        ("customers", ["abbreviation"]),
    ],
)
def test_a_field_restricted_answer_validates_against_the_schema(world, droplet, route, fields, openapi):
    from werkzeug.datastructures import MultiDict

    client = world.client("staff")
    listing = client.get(f"/api/{route}/", {"field": fields})
    assert listing.status_code == 200 and listing.json(), listing.content
    assert all(set(item) == set(fields) for item in listing.json())
    _validate(openapi, "GET", f"/api/{route}/", listing, MultiDict([("field", f) for f in fields]))
    detail = listing.json()[0].get("uuid") or client.get(f"/api/{route}/").json()[0]["uuid"]
    retrieved = client.get(f"/api/{route}/{detail}/", {"field": fields})
    _validate(openapi, "GET", f"/api/{route}/{detail}/", retrieved, MultiDict([("field", f) for f in fields]))


def test_shared_service_settings_validate_with_a_null_customer_name(world, openapi):
    from tests.fixtures.factories import make_service_settings

    shared = make_service_settings(shared=True)
    response = world.client("staff").get(f"/api/service-settings/{shared.uuid.hex}/")
    assert response.json()["customer_name"] is None
    _validate(openapi, "GET", f"/api/service-settings/{shared.uuid.hex}/", response)


@pytest.mark.parametrize("route", ["customers", "projects", "service-settings"])
def test_a_delete_refused_for_children_is_a_documented_409(world, droplet, route, openapi):
    target = {
        "customers": world.customer,
        "projects": world.project,
        "service-settings": droplet.service_settings,
    }
    path = f"/api/{route}/{target[route].uuid.hex}/"
    response = world.client("staff").delete(path)
    assert response.status_code == 409, response.content
    _validate(openapi, "DELETE", path, response)


def test_a_parse_error_is_a_documented_400(world, openapi):
    response = world.client("staff").generic("POST", "/api/customers/", "{not json", "application/json")
    assert response.status_code == 400 and set(response.json()) == {"detail"}
    _validate(openapi, "POST", "/api/customers/", response)


def test_every_operation_documents_the_errors_any_request_can_meet():
    """400 (too many parameters, an unknown Host) and 406 anywhere; 413 and 415 wherever a body is read."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"400", "406"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= codes, (method, path)


def test_integer_ranges_are_the_columns_portable_ones_whatever_the_database():
    """SQLite's integers are all 64-bit, and a model's validators take the current database's range: the
    schema would say `int64` on SQLite and not on PostgreSQL."""
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    size, image = components["DigitalOceanSize"]["properties"], components["DigitalOceanImage"]["properties"]
    assert (size["cores"]["minimum"], size["cores"]["maximum"]) == (0, 32767)
    for prop in (size["ram"], size["disk"], size["transfer"], image["min_disk_size"]):
        assert (prop["minimum"], prop["maximum"], prop.get("format")) == (0, 2147483647, None)
