"""docs/api.md, "Create": what a create checks, in which order, with which message; a refused create leaves
nothing."""

import pytest

from droplets.models import Droplet, Image, Region
from tests.api.helpers import assert_detail, assert_field_error, body, link, list_url
from tests.fixtures.droplets import make_catalog, make_ssh_key
from tests.fixtures.factories import make_customer, make_project, make_service_settings, make_user
from waldur_do.structure.models import CustomerRole, ProjectRole, ServiceSettings

ROUTE = "digitalocean-droplets"
HOSTNAME = "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"


def _body(world, catalog, *, region="nyc1", image="debian-12-x64", size="s-2vcpu-2gb", **overrides):
    return {
        "name": "web-1",
        "service_settings": link("service-settings", catalog.service_settings.uuid),
        "project": link("projects", world.project.uuid),
        "region": link("digitalocean-regions", catalog.regions[region].uuid),
        "image": link("digitalocean-images", catalog.images[image].uuid),
        "size": link("digitalocean-sizes", catalog.sizes[size].uuid),
        **overrides,
    }


@pytest.fixture
def refused(world, enqueued):
    """Posts a create that must be refused; checks that nothing was written and nothing enqueued."""

    def post(request_body, *, role="manager"):
        client = world.client(role)
        before = Droplet.objects.count()
        with enqueued() as calls:
            response = client.post(list_url(ROUTE), request_body, format="json")
        assert response.status_code in (400, 403), (response.status_code, response.content)
        assert Droplet.objects.count() == before
        assert calls == []
        return response

    return post


def _created(world, enqueued, request_body, *, client=None):
    with enqueued() as calls:
        response = (client or world.client("manager")).post(list_url(ROUTE), request_body, format="json")
    assert response.status_code == 201, response.content
    assert len(calls) == 1
    return body(response)


# --- the checks of the contract, each alone -------------------------------------------------------------

# (overrides of a valid body, field, exact message)
CHECKS = [
    pytest.param({"name": "web_1"}, "name", HOSTNAME, id="underscore"),
    pytest.param({"name": "web 1"}, "name", HOSTNAME, id="space"),
    pytest.param({"name": "wéb"}, "name", HOSTNAME, id="non-ascii"),
    pytest.param({"name": "web/1"}, "name", HOSTNAME, id="slash"),
    pytest.param({"name": "x" * 151}, "name", "Ensure this field has no more than 150 characters.", id="151"),
    pytest.param({"name": ""}, "name", "This field may not be blank.", id="blank"),
    pytest.param(
        {"image": "ubuntu-22-04-x64"}, "ssh_public_key", "SSH public key is required for this image"
    ),
    pytest.param(
        {"region": "sfo3", "image": "debian-12-x64"},
        "image",
        "Image is missing in region San Francisco 3",
        id="image-not-in-region",
    ),
    pytest.param(
        {"region": "sfo3", "image": "fedora-39-x64", "size": "s-1vcpu-1gb"},
        "size",
        "Size is missing in region San Francisco 3",
        id="size-not-in-region",
    ),
    pytest.param(
        {"image": "fedora-39-x64", "size": "s-1vcpu-1gb"},
        "size",
        "Disk provided by size s-1vcpu-1gb is not enough for image 39 x64",
        id="disk-not-enough",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), CHECKS)
def test_each_check(world, catalog, refused, overrides, field, message):
    response = refused(_body(world, catalog, **overrides))
    assert body(response) == {field: [message]}


@pytest.mark.parametrize("name", ["a", "web-1.example.com", "A-Z.0-9", "x" * 150])
def test_valid_hostnames(world, catalog, enqueued, name):
    assert _created(world, enqueued, _body(world, catalog, name=name))["name"] == name


# --- first failure wins, in the contract's order ---------------------------------------------------------

ORDER = [
    pytest.param(
        {"name": "bad_name", "region": "sfo3", "image": "ubuntu-22-04-x64", "size": "s-1vcpu-1gb"},
        "name",
        id="name-before-key",
    ),
    pytest.param(
        {"region": "sfo3", "image": "ubuntu-22-04-x64", "size": "s-1vcpu-1gb"},
        "ssh_public_key",
        id="key-before-size-region",
    ),
    pytest.param(
        {"region": "sfo3", "image": "debian-12-x64", "size": "s-1vcpu-1gb"},
        "image",
        id="image-region-before-size-region",
    ),
    pytest.param(
        {"region": "sfo3", "image": "fedora-39-x64", "size": "s-1vcpu-1gb"},
        "size",
        id="size-region-before-disk",
    ),
]


@pytest.mark.parametrize(("overrides", "field"), ORDER)
def test_first_failure_wins(world, catalog, refused, overrides, field):
    data = body(refused(_body(world, catalog, **overrides)))
    assert list(data) == [field], data
    assert len(data[field]) == 1


# --- which images need a key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "needs_key"),
    [
        ("Ubuntu", True),
        ("FreeBSD", True),
        ("CoreOS", True),
        ("ubuntu", True),
        ("Debian", False),
        ("Fedora", False),
    ],
)
def test_ssh_key_requirement_by_distribution(world, catalog, refused, enqueued, distribution, needs_key):
    image = Image.objects.create(
        service_settings=catalog.service_settings,
        backend_id=f"img-{distribution}",
        name="1.0 x64",
        distribution=distribution,
        type="base",
        min_disk_size=10240,
    )
    image.regions.add(catalog.regions["nyc1"])
    request_body = _body(world, catalog) | {"image": link("digitalocean-images", image.uuid)}
    if needs_key:
        response = refused(request_body)
        assert body(response) == {"ssh_public_key": ["SSH public key is required for this image"]}
        key = make_ssh_key(user=world.users["manager"])
        request_body["ssh_public_key"] = link("keys", key.uuid)
    data = _created(world, enqueued, request_body)
    assert data["image_name"] == "" or distribution in data["image_name"]


def test_image_without_a_minimum_disk(world, catalog, enqueued):
    image = catalog.images["debian-12-x64"]
    image.min_disk_size = None
    image.save()
    data = _created(world, enqueued, _body(world, catalog, size="s-1vcpu-1gb"))
    assert data["min_disk"] == 0


# --- the decisions: checks the original lacks --------------------------------------------------------------


@pytest.mark.parametrize("field", ["region", "image", "size"])
def test_catalog_items_of_other_settings(world, catalog, refused, field):
    other = make_catalog(make_service_settings(shared=True))
    slug = {"region": "nyc1", "image": "debian-12-x64", "size": "s-2vcpu-2gb"}[field]
    item = getattr(other, f"{field}s")[slug]
    request_body = _body(world, catalog) | {field: link(f"digitalocean-{field}s", item.uuid)}
    assert_field_error(refused(request_body), field, "belongs to other service settings")


def test_private_settings_of_another_customer_are_refused_even_to_staff(world, refused):
    foreign = make_catalog(make_service_settings(customer=make_customer()))
    response = refused(_body(world, foreign), role="staff")
    assert body(response) == {
        "service_settings": ["These service settings belong to another customer than the project."]
    }


def test_private_settings_of_another_customer_the_user_can_see(world, refused):
    """An owner of this customer who also works in another customer's project sees that customer's
    settings, but may not put this customer's droplets on them."""
    other_customer = make_customer()
    ProjectRole.objects.create(
        user=world.users["owner"], project=make_project(customer=other_customer), role="member"
    )
    foreign = make_catalog(make_service_settings(customer=other_customer))
    response = refused(_body(world, foreign), role="owner")
    assert_field_error(response, "service_settings", "belong to another customer")


def test_private_settings_invisible_to_the_user_are_an_invalid_hyperlink(world, refused):
    foreign = make_catalog(make_service_settings(customer=make_customer()))
    response = refused(_body(world, foreign))
    assert_field_error(response, "service_settings", "Invalid hyperlink - Object does not exist.")


@pytest.mark.parametrize("role", ["staff", "owner", "admin", "manager"])
def test_shared_settings_serve_everyone(world, enqueued, role):
    shared = make_catalog(make_service_settings(shared=True))
    data = _created(world, enqueued, _body(world, shared), client=world.client(role))
    assert data["service_settings_uuid"] == shared.service_settings.uuid.hex


@pytest.mark.parametrize(
    ("user_data", "accepted"),
    [
        ("x" * 64 * 1024, True),
        ("x" * (64 * 1024 + 1), False),
        ("é" * (32 * 1024), True),  # 64 KiB in UTF-8
        ("é" * (32 * 1024) + "x", False),  # the limit is in bytes, not characters
    ],
)
def test_user_data_at_most_64_kib(world, catalog, refused, enqueued, user_data, accepted):
    request_body = _body(world, catalog, user_data=user_data)
    if accepted:
        assert _created(world, enqueued, request_body)["user_data"] == user_data
    else:
        assert body(refused(request_body)) == {"user_data": ["User data must be at most 64 KiB."]}


def test_a_region_digitalocean_marks_unavailable_is_refused(world, catalog, refused):
    Region.objects.filter(pk=catalog.regions["nyc1"].pk).update(available=False)
    response = refused(_body(world, catalog))
    assert body(response) == {"region": ["Region New York 1 is not available for new droplets."]}


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_someone_elses_private_key_is_an_invalid_hyperlink(world, catalog, refused, role):
    """Staff see every key, but may put on a droplet only their own or shared ones, like everyone."""
    key = make_ssh_key(user=world.users["admin"])
    request_body = _body(world, catalog, image="ubuntu-22-04-x64", ssh_public_key=link("keys", key.uuid))
    response = refused(request_body, role=role)
    assert_field_error(response, "ssh_public_key", "Invalid hyperlink - Object does not exist.")


def test_someone_elses_shared_key_may_be_used(world, catalog, enqueued):
    key = make_ssh_key(user=make_user(), shared=True)
    request_body = _body(world, catalog, image="ubuntu-22-04-x64", ssh_public_key=link("keys", key.uuid))
    assert _created(world, enqueued, request_body)["key_fingerprint"] == key.fingerprint_md5


@pytest.mark.parametrize("state", [ServiceSettings.State.CREATING, ServiceSettings.State.ERRED])
def test_settings_not_ok(world, catalog, refused, state):
    ServiceSettings.objects.filter(pk=catalog.service_settings.pk).update(state=state)
    response = refused(_body(world, catalog))
    assert body(response) == {"service_settings": [f"The service settings are not ready (state {state})."]}


def test_another_customers_project_is_an_invalid_hyperlink(world, catalog, refused):
    project = make_project()
    response = refused(_body(world, catalog, project=link("projects", project.uuid)))
    assert_field_error(response, "project", "Invalid hyperlink - Object does not exist.")


def test_a_project_the_user_sees_but_does_not_manage_is_403(world, catalog, refused):
    """The manager of one project is only a member of another one of the same customer."""
    other_project = make_project(customer=world.customer)
    ProjectRole.objects.create(user=world.users["manager"], project=other_project, role="member")
    response = refused(_body(world, catalog, project=link("projects", other_project.uuid)))
    assert_detail(response, 403, "You may not create droplets in this project.")


def test_customer_support_may_not_create_even_if_owner_elsewhere(world, catalog, refused):
    elsewhere = make_project().customer
    CustomerRole.objects.create(user=world.users["support"], customer=elsewhere, role="owner")
    response = refused(_body(world, catalog), role="support")
    assert_detail(response, 403, "You may not create droplets in this project.")
