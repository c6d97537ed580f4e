"""What fuzzing and hand probes found: requests Django itself refuses (too big, too many fields, nested too
deep, an unknown Host) are JSON 400s or 413s under /api/, never a 500 or an HTML page, with or without
credentials, in debug mode or not. Each case is what a curl command sends."""

import json

import pytest
from rest_framework.test import APIClient

from .helpers import assert_detail, body

LIMIT = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB
TOO_BIG = {"detail": "The request body is larger than the 2.5 MiB accepted."}
TOO_MANY = {"detail": "The request has more than 1000 query parameters or form fields."}
FOREIGN_HOST = {"detail": "The Host header names a host this server does not serve."}


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _answer(response):
    assert response.status_code < 500, response.content[:300]
    return response.status_code, body(response)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_limit_is_a_413(world, debug, content_type):
    # curl -H 'Content-Type: application/json' --data-binary @2.6MB.json /api/customers/
    payload = json.dumps({"name": "x" * (LIMIT + 10)})
    response = world.client("staff").generic("POST", "/api/customers/", payload, content_type)
    assert _answer(response) == (413, TOO_BIG)


def test_a_multipart_body_over_the_limit_is_a_413(world, debug):
    # curl -F name=<2.6MB.txt /api/customers/
    response = world.client("staff").post("/api/customers/", {"name": "x" * (LIMIT + 10)}, format="multipart")
    assert _answer(response) == (413, TOO_BIG)


def test_more_than_a_thousand_multipart_fields_is_a_400(world, debug):
    fields = {f"f{i}": "1" for i in range(1100)}
    response = world.client("staff").post("/api/customers/", fields, format="multipart")
    assert _answer(response) == (400, TOO_MANY)


def test_a_body_over_the_limit_on_an_action_is_a_413_and_changes_nothing(world, droplet, debug):
    payload = json.dumps({"error_message": "x" * (LIMIT + 10)})
    response = world.client("staff").post(
        f"/api/digitalocean-droplets/{droplet.uuid.hex}/set_erred/", payload, content_type="application/json"
    )
    assert _answer(response) == (413, TOO_BIG)
    droplet.refresh_from_db()
    assert droplet.state == "OK"


def test_more_than_a_thousand_form_fields_is_a_400(world, debug):
    # curl --data-binary 'a&a&a…' (1,100 fields) /api/customers/
    response = world.client("staff").generic(
        "POST", "/api/customers/", "&".join(["a=1"] * 1100), "application/x-www-form-urlencoded"
    )
    assert _answer(response) == (400, TOO_MANY)


@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "staff"])
@pytest.mark.parametrize("path", ["/api/customers/", "/api/digitalocean-droplets/", "/api/", "/api/schema/"])
def test_more_than_a_thousand_query_parameters_is_a_400(world, debug, authenticated, path):
    # curl '/api/customers/?a&a&a…' (1,100 parameters), with no credentials: DRF's own error path crashed
    client = world.client("staff") if authenticated else APIClient()
    response = client.get(f"{path}?{'&'.join(['a'] * 1100)}")
    assert _answer(response) == (400, TOO_MANY)


def test_json_nested_too_deeply_is_a_400(world, debug):
    # curl -H 'Content-Type: application/json' --data-binary '[[[[…]]]]' (100,000 deep) /api/customers/
    payload = "[" * 100_000 + "]" * 100_000
    response = world.client("staff").generic("POST", "/api/customers/", payload, "application/json")
    assert _answer(response) == (400, {"detail": "JSON parse error - the document is nested too deeply."})


def test_a_nested_object_inside_a_field_is_still_a_field_error(world):
    payload = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = world.client("staff").generic("POST", "/api/customers/", payload, "application/json")
    assert response.status_code == 400
    body(response)


@pytest.mark.parametrize("path", ["/api/", "/api/customers/", "/api/schema/", "/api/nothing/"])
def test_a_foreign_host_is_a_json_400_that_echoes_nothing(db, settings, debug, path):
    # curl -H 'Host: evil.example' /api/
    settings.ALLOWED_HOSTS = ["api.example.com"]
    response = APIClient().get(path, HTTP_HOST="evil.example", HTTP_X_PROBE="echo-me")
    assert _answer(response) == (400, FOREIGN_HOST)
    assert b"evil.example" not in response.content and b"echo-me" not in response.content


def test_a_foreign_host_outside_the_api_keeps_djangos_answer(db, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.DEBUG = False
    response = APIClient().get("/admin/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_html_error_from_below_keeps_its_headers_as_json(world):
    """An unknown path's HTML 404 becomes JSON and keeps what the middlewares below said in headers."""
    response = world.client("staff").get("/api/nothing/")
    assert_detail(response, 404, "Not found.")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_405_keeps_its_allow_header(world):
    response = world.client("staff").delete("/api/customers/")
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    body(response)
