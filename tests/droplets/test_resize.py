"""docs/api.md, "Resize": which resizes are refused and with which message; an accepted one only schedules."""

import uuid

import pytest

from droplets.models import Droplet, Size
from droplets.states import RuntimeState
from tests.api.helpers import BASE, assert_field_error, body, detail_url, link
from tests.fixtures.droplets import make_catalog, make_droplet
from tests.fixtures.factories import make_customer, make_service_settings

ROUTE = "digitalocean-droplets"
SAME = "New size is the same. Please select another one."
DECREASE = "Disk sizes are not allowed to be decreased through a resize operation."


def _size_link(size):
    return link("digitalocean-sizes", size.uuid)


@pytest.fixture
def offline(world, catalog):
    """An offline droplet of size s-2vcpu-2gb (2 cores, 2 GiB, 60 GiB) in nyc1."""
    return make_droplet(project=world.project, catalog=catalog, runtime_state=RuntimeState.OFFLINE)


@pytest.fixture
def resize(world, enqueued):
    """Posts a resize as the project's manager; returns the response and what was enqueued."""

    def post(droplet, request_body):
        with enqueued() as calls:
            response = world.client("manager").post(
                detail_url(ROUTE, droplet.uuid) + "resize/", request_body, format="json"
            )
        return response, calls

    return post


def _assert_refused(response, calls, droplet, field, message):
    assert body(response) == {field: [message]}, body(response)
    assert response.status_code == 400
    assert calls == []
    fresh = Droplet.objects.get(pk=droplet.pk)
    assert (fresh.state, fresh.runtime_state, fresh.cores, fresh.ram, fresh.disk) == (
        "OK",
        "offline",
        droplet.cores,
        droplet.ram,
        droplet.disk,
    )


# (size slug, disk, expected message or None when accepted)
RULES = [
    pytest.param("s-2vcpu-2gb", False, SAME, id="own-size-cpu-only"),
    pytest.param("s-2vcpu-2gb", True, SAME, id="own-size-with-disk"),
    pytest.param("s-2vcpu-2gb-big", False, SAME, id="same-cpu-ram-disk-kept"),
    pytest.param("s-2vcpu-2gb-big", True, None, id="same-cpu-ram-bigger-disk"),
    pytest.param("s-1vcpu-1gb", False, DECREASE, id="smaller-cpu-only"),
    pytest.param("s-1vcpu-1gb", True, DECREASE, id="smaller-with-disk"),
    pytest.param("s-4vcpu-8gb", False, None, id="bigger-cpu-only"),
    pytest.param("s-4vcpu-8gb", True, None, id="bigger-with-disk"),
]


@pytest.mark.parametrize(("slug", "disk", "message"), RULES)
def test_rules(catalog, offline, resize, slug, disk, message):
    size = catalog.sizes[slug]
    response, calls = resize(offline, {"size": _size_link(size), "disk": disk})
    if message:
        _assert_refused(response, calls, offline, "size", message)
    else:
        assert response.status_code == 202, response.content
        assert body(response) == {"status": "resize was scheduled", "disk": disk}
        assert calls == [(offline.pk, "resize", {"size": size.backend_id, "disk": disk})]


def test_back_down_after_a_cpu_only_resize(world, catalog, resize):
    """A CPU-and-RAM-only resize kept the 60 GiB disk: going back to the 60 GiB size is allowed."""
    droplet = make_droplet(
        project=world.project, catalog=catalog, runtime_state="offline", size="s-4vcpu-8gb", disk=60 * 1024
    )
    response, calls = resize(droplet, {"size": _size_link(catalog.sizes["s-2vcpu-2gb"]), "disk": False})
    assert response.status_code == 202, response.content
    assert len(calls) == 1


@pytest.mark.parametrize("disk", [False, True])
def test_a_grown_disk_never_shrinks(world, catalog, resize, disk):
    """After a resize with disk=true to 160 GiB, no smaller disk, not even for CPU and RAM only."""
    droplet = make_droplet(
        project=world.project, catalog=catalog, runtime_state="offline", size="s-4vcpu-8gb"
    )
    response, calls = resize(droplet, {"size": _size_link(catalog.sizes["s-2vcpu-2gb-big"]), "disk": disk})
    _assert_refused(response, calls, droplet, "size", DECREASE)


@pytest.mark.parametrize("slug", ["s-2vcpu-2gb", "s-4vcpu-8gb", "s-1vcpu-1gb"])
@pytest.mark.parametrize("shared", [True, False])
def test_size_of_another_catalog(offline, resize, slug, shared):
    """Even a size with the droplet's own specs is refused when it is another settings' one."""
    settings = make_service_settings(shared=shared, customer=None if shared else make_customer())
    foreign = make_catalog(settings).sizes[slug]
    response, calls = resize(offline, {"size": _size_link(foreign), "disk": True})
    _assert_refused(response, calls, offline, "size", "Size is missing in region New York 1")


def test_size_not_offered_in_the_droplets_region(world, catalog, resize):
    droplet = make_droplet(
        project=world.project,
        catalog=catalog,
        runtime_state="offline",
        region="sfo3",
        image="ubuntu-22-04-x64",
    )
    big = Size.objects.create(
        service_settings=catalog.service_settings,
        backend_id="m-8vcpu-64gb",
        name="m-8vcpu-64gb",
        cores=8,
        ram=64 * 1024,
        disk=320 * 1024,
        transfer=0,
    )
    big.regions.add(catalog.regions["nyc1"])
    response, calls = resize(droplet, {"size": _size_link(big), "disk": True})
    _assert_refused(response, calls, droplet, "size", "Size is missing in region San Francisco 3")


# (body, field, words of the message)
BAD_BODIES = [
    pytest.param({}, "size", "This field is required.", id="empty"),
    pytest.param({"disk": True}, "size", "This field is required.", id="no-size"),
    pytest.param({"size": "<s-4>"}, "disk", "This field is required.", id="no-disk"),
    pytest.param({"size": "<s-4>", "disk": None}, "disk", "This field may not be null.", id="null-disk"),
    pytest.param({"size": "<s-4>", "disk": "sideways"}, "disk", "Must be a valid boolean.", id="junk-disk"),
    pytest.param({"size": "<s-4>", "disk": [True]}, "disk", "Must be a valid boolean.", id="list-disk"),
    pytest.param({"size": "<s-4>", "disk": {"a": 1}}, "disk", "Must be a valid boolean.", id="object-disk"),
    pytest.param({"size": "<s-4>", "disk": 2}, "disk", "Must be a valid boolean.", id="two-disk"),
    pytest.param({"size": None, "disk": True}, "size", "This field may not be null.", id="null-size"),
    pytest.param({"size": 12, "disk": True}, "size", "Incorrect type. Expected URL string", id="int-size"),
    pytest.param({"size": ["x"], "disk": True}, "size", "Incorrect type", id="list-size"),
    pytest.param(
        {"size": "nonsense", "disk": True}, "size", "Invalid hyperlink - No URL match.", id="junk-size"
    ),
    pytest.param(
        {"size": f"{BASE}/api/digitalocean-sizes/{uuid.uuid4().hex}/", "disk": True},
        "size",
        "Invalid hyperlink - Object does not exist.",
        id="unknown-size",
    ),
    pytest.param(
        {"size": f"{BASE}/api/digitalocean-sizes/not-a-uuid/", "disk": True},
        "size",
        "Invalid hyperlink - Object does not exist.",
        id="malformed-uuid",
    ),
    pytest.param(
        {"size": "<region>", "disk": True}, "size", "Invalid hyperlink - Incorrect URL match.", id="region"
    ),
]


@pytest.mark.parametrize(("request_body", "field", "words"), BAD_BODIES)
def test_bad_bodies(catalog, offline, resize, request_body, field, words):
    links = {
        "<s-4>": _size_link(catalog.sizes["s-4vcpu-8gb"]),
        "<region>": link("digitalocean-regions", catalog.regions["nyc1"].uuid),
    }
    request_body = {k: links.get(v, v) if isinstance(v, str) else v for k, v in request_body.items()}
    response, calls = resize(offline, request_body)
    assert_field_error(response, field, words)
    assert calls == []
    assert Droplet.objects.get(pk=offline.pk).state == "OK"


@pytest.mark.parametrize("disk", ["true", "false", 1, 0])
def test_disk_accepts_the_usual_boolean_spellings(catalog, offline, resize, disk):
    response, _ = resize(offline, {"size": _size_link(catalog.sizes["s-4vcpu-8gb"]), "disk": disk})
    assert response.status_code == 202, response.content
    assert body(response)["disk"] is (disk in ("true", 1))
