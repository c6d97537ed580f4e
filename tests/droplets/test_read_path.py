"""The lists' read path (droplets/api/read.py, waldur_do/api/rows.py) answers what the serializer answers.

Each list is requested twice, once through its rows and once with `list_rows` switched off (the DRF
serializer renders every object, as it does for retrieve): the bodies must be the same bytes and the
headers the same, for every role, for each field alone under `?field=`, for combinations of fields, and
with filters, orderings and pages.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from droplets import services
from droplets.api import read, views
from droplets.api.serializers import DigitalOceanDropletSerializer, DigitalOceanImageSerializer
from droplets.models import Region
from droplets.states import RuntimeState, State
from tests.contract import DROPLET_FIELDS
from tests.fixtures.droplets import make_catalog, make_droplet
from tests.fixtures.factories import ROLES, make_service_settings
from waldur_do.api import rows
from waldur_do.events.views import EventViewSet

VIEWSETS = {
    "digitalocean-droplets": views.DigitalOceanDropletViewSet,
    "digitalocean-regions": views.DigitalOceanRegionViewSet,
    "digitalocean-images": views.DigitalOceanImageViewSet,
    "digitalocean-sizes": views.DigitalOceanSizeViewSet,
    "events": EventViewSet,
}
CATALOG_FIELDS = {
    "digitalocean-regions": ["url", "uuid", "name", "service_settings", "service_settings_uuid"],
    "digitalocean-images": [
        *("url", "uuid", "name", "distribution", "type", "regions", "is_official", "created_at"),
        *("min_disk_size", "service_settings", "service_settings_uuid"),
    ],
    "digitalocean-sizes": [
        *("url", "uuid", "name", "cores", "ram", "disk", "transfer", "price", "regions"),
        *("service_settings", "service_settings_uuid"),
    ],
}
FIELDS = {
    "digitalocean-droplets": DROPLET_FIELDS,
    **CATALOG_FIELDS,
    "events": ["uuid", "created", "event_type", "message", "context"],
}
HEADERS = ("Content-Type", "X-Result-Count", "Link", "Allow", "Vary")


@pytest.fixture
def varied(world, catalog):
    """Droplets and catalogs with every kind of value a field can hold: empty and full, null and not,
    tracebacks, several addresses, dates with and without microseconds, text beyond ASCII."""
    shared = make_catalog(make_service_settings(shared=True, name="Öffentlich DO"))
    # Region names out of creation order, so that nested regions must follow the regions' own ordering.
    Region.objects.filter(pk=catalog.regions["nyc1"].pk).update(name="Zürich 1")
    world.customer.native_name = "Kunde ÄÖÜ \u2028 ✓"
    world.customer.save()
    whole_second = datetime(2026, 12, 1, 22, 33, 22, tzinfo=UTC)
    make_droplet(project=world.project, catalog=catalog, description="plain", start_time=whole_second)
    make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.ERRED,
        runtime_state=RuntimeState.ERROR,
        error_message="DigitalOcean rejected the request: Droplet already has a pending event.",
        error_traceback='Traceback (most recent call last):\n  File "x.py"\nValueError: ü\n',
        external_ips=["203.0.113.7", "203.0.113.8"],
        internal_ips=[],
        latitude=52.52,
        longitude=-13.405,
        start_time=whole_second + timedelta(microseconds=585100),
        user_data="#cloud-config\nruncmd:\n  - echo 'ünïcode \u2029'\n",
        key_name="deploy",
        key_fingerprint="3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
    )
    make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.CREATION_SCHEDULED,
        runtime_state="",
        backend_id="",
        external_ips=[],
        internal_ips=[],
        cores=0,
        ram=0,
        disk=0,
        image_name="",
        region_name="",
    )
    for n in range(12):
        make_droplet(project=world.project, catalog=shared, name=f"bulk-{n:02d}", description=f"ß {n}")
    # A history: events of every kind of context (a user, details, none).
    busy = make_droplet(project=world.project, catalog=catalog, name="busy")
    services.droplet_stop(droplet=busy, actor=world.users["manager"])
    services.droplet_set_erred(droplet=busy, message="Disk ünïcode \u2028 full", actor=world.users["staff"])
    services.droplet_set_ok(droplet=busy)
    return world


def _both(client, monkeypatch, route, params, *, head=False):
    """The answers to the same request through the rows and through the serializer."""
    method = client.head if head else client.get
    fast = method(f"/api/{route}/", params)
    with monkeypatch.context() as patch:
        patch.setattr(VIEWSETS[route], "list_rows", None)
        slow = method(f"/api/{route}/", params)
    return fast, slow


def _assert_same(fast, slow):
    assert fast.status_code == slow.status_code == 200, (fast.status_code, slow.content[:300])
    assert fast.content == slow.content
    for header in HEADERS:
        assert fast.get(header) == slow.get(header), header


@pytest.mark.parametrize("route", list(VIEWSETS))
@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_same_list(varied, monkeypatch, route, role):
    fast, slow = _both(varied.client(role), monkeypatch, route, {"page_size": 300})
    _assert_same(fast, slow)
    if role != "stranger" or route not in ("digitalocean-droplets", "events"):  # a stranger sees neither
        assert fast.json(), "the comparison needs rows"


@pytest.mark.parametrize("role", ["staff", "owner", "member"])
def test_the_traceback_is_staffs_on_both_paths(varied, monkeypatch, role):
    params = {"field": "error_traceback", "page_size": 300}
    fast, slow = _both(varied.client(role), monkeypatch, "digitalocean-droplets", params)
    _assert_same(fast, slow)
    tracebacks = {row["error_traceback"] for row in fast.json()}
    assert any(tracebacks) == (role == "staff")


@pytest.mark.parametrize("route", list(VIEWSETS))
@pytest.mark.parametrize("role", ["staff", "member"])
def test_each_field_alone(varied, monkeypatch, route, role):
    client = varied.client(role)
    for name in FIELDS[route]:
        fast, slow = _both(client, monkeypatch, route, {"field": name, "page_size": 50})
        _assert_same(fast, slow)
        assert all(list(row) == [name] for row in fast.json()), name


@pytest.mark.parametrize("route", list(VIEWSETS))
def test_combinations_of_fields_and_names_that_are_no_fields(varied, monkeypatch, route):
    chooser = random.Random(route)
    names = FIELDS[route]
    selections = [
        [],
        [""],
        ["no-such-field"],
        ["size", "region", "image", "ssh_public_key"],  # write-only (droplets) or unknown: all fields
        ["uuid", "name", "state"],
        list(reversed(names)),  # the answer keeps the serializer's order
        *(chooser.sample(names, min(k, len(names) - 1)) for k in (2, 3, 5, 8, 51) for _ in range(3)),
        [names[0], "no-such-field"],
    ]
    client = varied.client("owner")
    for selection in selections:
        fast, slow = _both(client, monkeypatch, route, {"field": selection, "page_size": 20})
        _assert_same(fast, slow)


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 5, "page": 2},
        {"page_size": 4, "page": 4, "o": "-customer_name,name"},
        {"state": ["OK", "ERRED"], "o": "-created"},
        {"name": "bulk", "field": ["name", "uuid", "service_settings"], "page_size": 3, "page": 2},
        {"can_manage": "true", "runtime_state": "online"},
        {"external_ip": "203.0.113.8"},
        {"x-auth-token": "ignored-when-the-header-is-sent", "page_size": 2},
    ],
)
def test_filters_ordering_and_pages(varied, monkeypatch, params):
    fast, slow = _both(varied.client("manager"), monkeypatch, "digitalocean-droplets", params)
    _assert_same(fast, slow)
    assert fast.json()


@pytest.mark.parametrize("route", list(VIEWSETS))
def test_head_answers_the_same_headers(varied, monkeypatch, route):
    fast, slow = _both(varied.client("staff"), monkeypatch, route, {"page_size": 2}, head=True)
    _assert_same(fast, slow)
    assert fast.content == b""


def test_a_bad_filter_is_the_same_400(varied, monkeypatch):
    fast, slow = _both(varied.client("staff"), monkeypatch, "digitalocean-droplets", {"state": "Ok"})
    assert fast.status_code == slow.status_code == 400
    assert fast.content == slow.content


def test_the_read_path_covers_every_readable_field_of_the_serializers():
    for renderer in (read.DROPLETS, read.REGIONS, read.IMAGES, read.SIZES):
        serializer = renderer.serializer_class(context={})
        readable = [name for name, field in serializer.fields.items() if not field.write_only]
        assert list(renderer.fields) == readable


def test_a_field_that_is_not_a_column_must_be_declared():
    class WithMethod(DigitalOceanImageSerializer):
        shout = serializers.SerializerMethodField()

        class Meta(DigitalOceanImageSerializer.Meta):
            fields = (*DigitalOceanImageSerializer.Meta.fields, "shout")

        def get_shout(self, image):
            return image.name.upper()

    with pytest.raises(ImproperlyConfigured, match="shout"):
        _ = rows.RowRenderer(WithMethod).fields
    assert "shout" in rows.RowRenderer(WithMethod, computed={"shout": rows.constant("X")}).fields


def test_a_property_must_be_declared():
    computed = {name: field for name, field in read.DROPLETS.computed.items() if name != "access_url"}
    with pytest.raises(ImproperlyConfigured, match="access_url"):
        _ = rows.RowRenderer(DigitalOceanDropletSerializer, computed=computed).fields


def test_a_declared_name_must_be_a_field():
    with pytest.raises(ImproperlyConfigured, match="nonesuch"):
        _ = rows.RowRenderer(DigitalOceanImageSerializer, computed={"nonesuch": rows.constant(1)}).fields
