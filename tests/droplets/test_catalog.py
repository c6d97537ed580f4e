"""docs/api.md, "Other endpoints": the read-only catalogs /api/digitalocean-regions|images|sizes/, one per
service settings."""

import re
import uuid

import pytest

from tests.api.helpers import HEX32, assert_detail, body, detail_url, link, list_url
from tests.fixtures.droplets import make_catalog
from tests.fixtures.factories import client_for, make_customer, make_service_settings

ROUTES = ("digitalocean-regions", "digitalocean-images", "digitalocean-sizes")
FIELDS = {
    "digitalocean-regions": ["url", "uuid", "name", "service_settings", "service_settings_uuid"],
    "digitalocean-images": [
        "url",
        "uuid",
        "name",
        "distribution",
        "type",
        "regions",
        "is_official",
        "created_at",
        "min_disk_size",
        "service_settings",
        "service_settings_uuid",
    ],
    "digitalocean-sizes": [
        "url",
        "uuid",
        "name",
        "cores",
        "ram",
        "disk",
        "transfer",
        "price",
        "regions",
        "service_settings",
        "service_settings_uuid",
    ],
}


def _items(catalog, route):
    return getattr(catalog, route.removeprefix("digitalocean-"))


@pytest.fixture
def two_catalogs(world, catalog):
    """The world customer's private catalog, and a shared one everybody may use."""
    return catalog, make_catalog(make_service_settings(shared=True, name="Public DO"))


@pytest.mark.parametrize("route", ROUTES)
def test_fields(world, catalog, route):
    item = next(iter(_items(catalog, route).values()))
    data = body(world.client("member").get(detail_url(route, item.uuid)))
    assert list(data) == FIELDS[route]
    assert data["url"] == link(route, item.uuid)
    assert re.match(HEX32, data["uuid"])
    assert data["service_settings"] == link("service-settings", catalog.service_settings.uuid)
    assert data["service_settings_uuid"] == catalog.service_settings.uuid.hex
    listed = body(world.client("member").get(list_url(route)))
    assert all(list(entry) == FIELDS[route] for entry in listed)


def test_image_values(world, catalog):
    image = catalog.images["debian-12-x64"]
    data = body(world.client("member").get(detail_url("digitalocean-images", image.uuid)))
    assert (data["name"], data["distribution"], data["type"]) == ("12 x64", "Debian", "base")
    assert (data["is_official"], data["min_disk_size"], data["created_at"]) == (True, 15360, None)
    assert sorted(r["name"] for r in data["regions"]) == ["Amsterdam 3", "New York 1"]
    assert all(list(r) == ["url", "uuid", "name"] for r in data["regions"])
    assert data["regions"][0]["url"].startswith("http://testserver/api/digitalocean-regions/")


def test_size_values(world, catalog):
    size = catalog.sizes["s-1vcpu-1gb"]
    data = body(world.client("member").get(detail_url("digitalocean-sizes", size.uuid)))
    assert (data["cores"], data["ram"], data["disk"], data["transfer"]) == (1, 1024, 25600, 1024 * 1024)
    assert data["price"] == 6 and isinstance(data["price"], (int, float))
    assert sorted(r["name"] for r in data["regions"]) == ["Amsterdam 3", "New York 1"]


# (route, query, names expected from the world's private catalog)
FILTERS = [
    ("digitalocean-regions", {"name": "new"}, {"New York 1"}),
    ("digitalocean-regions", {"name": "o"}, {"New York 1", "San Francisco 3"}),
    ("digitalocean-regions", {"name": "london"}, set()),
    ("digitalocean-regions", {"name_exact": "Amsterdam 3"}, {"Amsterdam 3"}),
    ("digitalocean-regions", {"name_exact": "amsterdam"}, set()),
    ("digitalocean-images", {"name": "x64"}, {"22.04 x64", "12 x64", "39 x64"}),
    ("digitalocean-images", {"name_exact": "12 x64"}, {"12 x64"}),
    ("digitalocean-images", {"name_exact": "12"}, set()),
    ("digitalocean-images", {"distribution": "ubuntu"}, {"22.04 x64"}),
    ("digitalocean-images", {"distribution": "arch"}, set()),
    ("digitalocean-images", {"type": "base"}, {"22.04 x64", "12 x64", "39 x64"}),
    ("digitalocean-images", {"type": "snapshot"}, set()),
    ("digitalocean-sizes", {"name": "2vcpu"}, {"s-2vcpu-2gb", "s-2vcpu-2gb-big"}),
    ("digitalocean-sizes", {"name_exact": "s-2vcpu-2gb"}, {"s-2vcpu-2gb"}),
    ("digitalocean-sizes", {"cores": 2}, {"s-2vcpu-2gb", "s-2vcpu-2gb-big"}),
    ("digitalocean-sizes", {"cores": 3}, set()),
    ("digitalocean-sizes", {"ram": 8192}, {"s-4vcpu-8gb"}),
    ("digitalocean-sizes", {"ram": 8000}, set()),
    ("digitalocean-sizes", {"disk": 81920}, {"s-2vcpu-2gb-big"}),
    ("digitalocean-sizes", {"disk": 1}, set()),
]


@pytest.mark.parametrize(("route", "query", "expected"), FILTERS)
def test_filters(world, two_catalogs, route, query, expected):
    private, _ = two_catalogs
    query = query | {"service_settings_uuid": private.service_settings.uuid.hex}
    response = world.client("member").get(list_url(route), query)
    assert response.status_code == 200
    assert {item["name"] for item in body(response)} == expected


@pytest.mark.parametrize("route", ROUTES)
def test_filter_by_service_settings(world, two_catalogs, route):
    private, _ = two_catalogs
    client = world.client("member")
    everything = body(client.get(list_url(route), {"page_size": 100}))
    assert len(everything) == 2 * len(_items(private, route))
    for catalog in two_catalogs:
        for value in (catalog.service_settings.uuid.hex, str(catalog.service_settings.uuid)):
            found = body(client.get(list_url(route), {"service_settings_uuid": value, "page_size": 100}))
            assert {item["uuid"] for item in found} == {i.uuid.hex for i in _items(catalog, route).values()}
    assert body(client.get(list_url(route), {"service_settings_uuid": uuid.uuid4().hex})) == []


@pytest.mark.parametrize(
    ("route", "query", "param"),
    [
        ("digitalocean-regions", {"service_settings_uuid": "nope"}, "service_settings_uuid"),
        ("digitalocean-images", {"service_settings_uuid": "1234"}, "service_settings_uuid"),
        ("digitalocean-sizes", {"cores": "many"}, "cores"),
        ("digitalocean-sizes", {"ram": "1GB"}, "ram"),
        ("digitalocean-sizes", {"disk": "[]"}, "disk"),
    ],
)
def test_bad_filter_values(world, catalog, route, query, param):
    response = world.client("member").get(list_url(route), query)
    assert response.status_code == 400
    assert param in body(response)


# role: sees the private catalog of the world's customer
VISIBILITY = {
    "staff": True,
    "owner": True,
    "support": True,
    "admin": True,
    "manager": True,
    "member": True,
    "stranger": False,
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("role", "sees_private"), VISIBILITY.items())
def test_visibility(world, two_catalogs, route, role, sees_private):
    private, shared = two_catalogs
    client = world.client(role)
    listed = {item["uuid"] for item in body(client.get(list_url(route), {"page_size": 100}))}
    private_items = {i.uuid.hex for i in _items(private, route).values()}
    shared_items = {i.uuid.hex for i in _items(shared, route).values()}

    assert shared_items <= listed
    assert (private_items <= listed) is sees_private
    item = next(iter(_items(private, route).values()))
    response = client.get(detail_url(route, item.uuid))
    if sees_private:
        assert response.status_code == 200
    else:
        assert not private_items & listed
        assert_detail(response, 404)
    assert client.get(detail_url(route, next(iter(_items(shared, route).values())).uuid)).status_code == 200


@pytest.mark.parametrize("route", ROUTES)
def test_another_customers_private_catalog_is_invisible(world, catalog, route):
    other = make_catalog(make_service_settings(customer=make_customer()))
    client = world.client("owner")
    listed = {item["uuid"] for item in body(client.get(list_url(route), {"page_size": 100}))}
    assert not {i.uuid.hex for i in _items(other, route).values()} & listed
    assert_detail(client.get(detail_url(route, next(iter(_items(other, route).values())).uuid)), 404)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("method", "on_item"), [("post", False), ("put", True), ("patch", True), ("delete", True)]
)
def test_read_only(world, catalog, route, method, on_item):
    item = next(iter(_items(catalog, route).values()))
    target = detail_url(route, item.uuid) if on_item else list_url(route)
    response = getattr(world.client("staff"), method)(target, {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert set(body(response)) == {"detail"}
    assert type(item).objects.get(pk=item.pk).name == item.name


@pytest.mark.parametrize("route", ROUTES)
def test_unauthenticated(db, route):
    assert_detail(client_for(None).get(list_url(route)), 401, "Authentication credentials were not provided.")


@pytest.mark.parametrize("route", ROUTES)
def test_malformed_uuid_in_path(world, route):
    assert_detail(world.client("staff").get(f"/api/{route}/not-a-uuid/"), 404)


def test_sizes_are_listed_smallest_first(world, catalog):
    names = [item["name"] for item in body(world.client("member").get(list_url("digitalocean-sizes")))]
    assert names == ["s-1vcpu-1gb", "s-2vcpu-2gb", "s-2vcpu-2gb-big", "s-4vcpu-8gb"]
