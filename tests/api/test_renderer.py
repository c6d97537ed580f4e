"""waldur_do/api/renderers.py: orjson writes the bytes DRF's JSONRenderer wrote."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from waldur_do.api.renderers import OrjsonRenderer

VALUES = [
    None,
    [],
    {},
    {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": "e"}},
    "plain ASCII",
    "ünïcödé ✓ 😀 日本",
    "line\u2028separator and paragraph\u2029separator",
    'quotes " and \\ backslashes \n\t and control \x00\x1f',
    [0, -1, 2**63 - 1, -(2**63)],
    2**70,  # beyond orjson's 64 bits: DRF's renderer writes it
    [0.1, 5.0, 96.0, 52.52, -13.405, 1234567.12345, 1e16, 1e22, 1.5e300],
    Decimal("5.37500"),
    [Decimal("0.10000"), Decimal("1234567.12345")],
    datetime(2026, 12, 1, 22, 33, 22, 585100, tzinfo=UTC),
    datetime(2026, 12, 1, 22, 33, 22, tzinfo=UTC),
    datetime(2026, 12, 1, 22, 33, 22, 585100),
    date(2026, 12, 1),
    time(22, 33, 22, 585100),
    timedelta(minutes=90),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    gettext_lazy("Not found."),
    {"detail": ErrorDetail("Invalid page.", code="not_found")},
    {"name": [ErrorDetail("This field is required.", code="required")]},
    ReturnDict({"x": 1}, serializer=None),
    ReturnList([{"x": 1}], serializer=None),
    {1: "int key", None: "null key", 2.5: "float key", False: "bool key"},
    ("a", "tuple"),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_bytes_as_drf(value):
    assert OrjsonRenderer().render(value) == JSONRenderer().render(value)


@pytest.mark.parametrize("value", [1e-05, 1.5e-07, [Decimal("0.00001")]])
def test_small_floats_are_the_same_number_spelled_out(value):
    fast, drf = OrjsonRenderer().render(value), JSONRenderer().render(value)
    assert json.loads(fast) == json.loads(drf)


def test_a_set_is_a_list():
    assert json.loads(OrjsonRenderer().render({"s": {1}})) == {"s": [1]}


@pytest.mark.parametrize("media_type", ["application/json; indent=4", "application/json; indent=2"])
def test_indentation_asked_for_is_drfs(media_type):
    value = {"a": [1, {"b": "ü"}]}
    assert OrjsonRenderer().render(value, media_type) == JSONRenderer().render(value, media_type)
    assert b"\n" in OrjsonRenderer().render(value, media_type)


def test_the_api_answers_through_it(staff_client):
    response = staff_client.get("/api/customers/")
    assert response.accepted_renderer.__class__ is OrjsonRenderer
    assert response["Content-Type"] == "application/json"
    indented = staff_client.get("/api/customers/", HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and indented.content == b"[]"
