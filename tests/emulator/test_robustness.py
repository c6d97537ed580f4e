"""What schemathesis found in the emulator (tests/emulator/test_fuzz.py), each as the request that found it:
a 500 text/html for a Unicode digit in an id and for a page number past sys.maxsize, a 405 without Allow.
The `emulator` fixture also checks each answer against DigitalOcean's spec."""

import pytest

from droplets.emulator.core import is_numeric_id

from .test_http import CREATE, assert_do_error


@pytest.mark.parametrize("text", ["\u00b9", "\u0661", "\u00b23", "", "-1", "1.0", " 1"])
def test_only_ascii_digits_make_a_numeric_id(text):
    assert not is_numeric_id(text)


def test_ascii_digits_make_a_numeric_id():
    assert is_numeric_id("0123456789")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v2/account/keys/%C2%B9"),  # "¹": isdigit() is true, int() refuses it
        ("GET", "/v2/account/keys/%C2%B9"),
        ("GET", "/v2/images/%C2%B9"),
        ("GET", "/v2/images/%D9%A1"),  # U+0661 ARABIC-INDIC DIGIT ONE: int() reads 1, DigitalOcean does not
        ("GET", "/v2/droplets/%C2%B9"),
    ],
)
def test_a_unicode_digit_in_an_id_is_a_404(emulator, method, path):
    assert_do_error(emulator.request(method, path), 404, "not_found")


def test_a_unicode_digit_as_the_image_of_a_create_is_a_422(emulator):
    response = emulator.post("/v2/droplets", json={**CREATE, "image": "¹"})
    assert response.status_code == 422
    assert response.json["id"] == "unprocessable_entity"


def test_a_unicode_digit_among_the_ssh_keys_of_a_create_is_a_422(emulator):
    response = emulator.post("/v2/droplets", json={**CREATE, "ssh_keys": ["¹"]})
    assert response.status_code == 422


LISTS = ["/v2/actions", "/v2/droplets", "/v2/images", "/v2/sizes", "/v2/account/keys"]


@pytest.mark.parametrize("page", ["9223372036854775808", "99999999999999999999999", str(2**200)])
@pytest.mark.parametrize("path", LISTS)
def test_a_page_far_past_the_end_is_an_empty_page(emulator, path, page):
    response = emulator.get(f"{path}?page={page}")
    assert response.status_code == 200
    key = {"/v2/account/keys": "ssh_keys"}.get(path, path.rsplit("/", 1)[-1])
    assert response.json[key] == []
    assert response.json["meta"]["total"] >= 0


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v2/droplets", {"GET", "HEAD", "POST"}),
        ("OPTIONS", "/v2/images", {"GET", "HEAD"}),
        ("POST", "/v2/account/keys/1", {"GET", "HEAD", "PUT", "DELETE"}),
        ("PATCH", "/v2/droplets/1/actions", {"GET", "HEAD", "POST"}),
    ],
)
def test_a_405_names_the_allowed_methods(emulator, method, path, allowed):
    response = emulator.request(method, path)
    assert_do_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


def test_a_405_of_the_control_plane_names_the_allowed_methods(emulator):
    response = emulator.request("PATCH", "/_emulator/faults")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
