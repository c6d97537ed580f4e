"""docs/api.md, "Roles and visibility": the role-by-endpoint matrices, for reading (who sees what) and
writing (who may change it).

Each matrix is a table: one row per object or operation, one column per role of `World`. Reading, an object
a role does not see is absent from the list and a 404 on retrieve. Writing, the expected status follows the
contract's order of checks: invisible → 404, visible but not manageable → 403, otherwise the success code.
"""

import pytest
from rest_framework.test import APIClient

from tests.fixtures.factories import ROLES, make_customer, make_project, make_service_settings, make_user
from tests.fixtures.ssh_keys import cached_public_key, generate_public_key
from waldur_do.structure.models import Customer, Project, ServiceSettings, SshPublicKey
from waldur_do.structure.services import ssh_key_create

from .helpers import assert_detail, assert_field_error, body, detail_url, link, list_url, uuids

ALL = set(ROLES)
WITH_ANY_ROLE = ALL - {"stranger"}


def _roles(*names):
    return set(names)


# --- reading -----------------------------------------------------------------------------------------------


def _objects(world):
    """Every object the reading matrix asks about, as {(route, name): object}."""
    other_customer = make_customer()
    other_user = make_user()
    own_keys = {
        role: ssh_key_create(user=world.users[role], name=f"{role}'s", public_key=generate_public_key())
        for role in ROLES
    }
    shared_key = _key(other_user, shared=True)
    objects = {
        ("customers", "own customer"): world.customer,
        ("customers", "other customer"): other_customer,
        ("projects", "own project"): world.project,
        ("projects", "sibling project"): make_project(customer=world.customer),
        ("projects", "other customer's project"): make_project(customer=other_customer),
        ("service-settings", "private to own customer"): make_service_settings(customer=world.customer),
        ("service-settings", "private to other customer"): make_service_settings(customer=other_customer),
        ("service-settings", "shared"): make_service_settings(shared=True),
        ("keys", "other user's private key"): _key(other_user),
        ("keys", "other user's shared key"): shared_key,
        **{("keys", f"{role}'s own key"): key for role, key in own_keys.items()},
    }
    # Guards the table itself: a row naming no object (or an object with no row) would test nothing.
    assert objects.keys() == READ_MATRIX.keys()
    return objects


ROUTES = ("customers", "projects", "service-settings", "keys")

# (route, object) → roles that see it.
READ_MATRIX = {
    ("customers", "own customer"): WITH_ANY_ROLE,
    ("customers", "other customer"): _roles("staff"),
    # A project role shows the whole customer's projects only to customer roles, not to project roles.
    ("projects", "own project"): WITH_ANY_ROLE,
    ("projects", "sibling project"): _roles("staff", "owner", "support"),
    ("projects", "other customer's project"): _roles("staff"),
    ("service-settings", "private to own customer"): WITH_ANY_ROLE,
    ("service-settings", "private to other customer"): _roles("staff"),
    ("service-settings", "shared"): ALL,
    ("keys", "other user's private key"): _roles("staff"),
    ("keys", "other user's shared key"): ALL,
    **{("keys", f"{role}'s own key"): _roles(role, "staff") for role in ROLES},
}


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_exactly_what_each_role_may_see(world, role):
    objects = _objects(world)
    client = world.client(role)
    for route in ROUTES:
        response = client.get(list_url(route), {"page_size": 300})
        expected = {
            obj.uuid.hex
            for (in_route, name), obj in objects.items()
            if in_route == route and role in READ_MATRIX[route, name]
        }
        assert uuids(response) == expected, route
        assert response["X-Result-Count"] == str(len(expected))


@pytest.mark.parametrize("role", ROLES)
def test_retrieve_is_200_for_visible_and_404_for_invisible(world, role):
    client = world.client(role)
    for (route, name), obj in _objects(world).items():
        response = client.get(detail_url(route, obj.uuid))
        if role in READ_MATRIX[route, name]:
            assert response.status_code == 200, (route, name)
            assert body(response)["uuid"] == obj.uuid.hex
        else:
            assert_detail(response, 404)


def test_a_key_owners_list_shows_their_own_uuid(world):
    ssh_key_create(user=world.users["member"], name="mine", public_key=cached_public_key("ssh-ed25519"))
    (key,) = body(world.client("member").get("/api/keys/"))
    assert key["user_uuid"] == world.users["member"].uuid.hex


# --- writing -----------------------------------------------------------------------------------------------


def _status(role, seen_by, managed_by, success):
    if role not in seen_by:
        return 404
    if role not in managed_by:
        return 403
    return success


OWNERS = _roles("staff", "owner")


def _customer_without_projects(world):
    customer = make_customer()
    world.users["owner"].customer_roles.create(customer=customer, role="owner")
    world.users["support"].customer_roles.create(customer=customer, role="support")
    return customer


def _key(user, shared=False):
    key = ssh_key_create(user=user, name="k", public_key=generate_public_key())
    if shared:
        SshPublicKey.objects.filter(pk=key.pk).update(is_shared=True)
    return key


TARGETS = {
    "customer": lambda w: w.customer,
    "empty customer": _customer_without_projects,
    "project": lambda w: w.project,
    "private settings": lambda w: make_service_settings(customer=w.customer),
    "shared settings": lambda w: make_service_settings(shared=True),
    "other's settings": lambda w: make_service_settings(),
    "other's key": lambda w: _key(make_user()),
    "other's shared key": lambda w: _key(make_user(), shared=True),
}
BODIES = {
    None: lambda w: None,
    "rename": lambda w: {"name": "Renamed"},
    "rename project": lambda w: {"name": "Renamed", "customer": link("customers", w.customer.uuid)},
    "new token": lambda w: {"name": "Renamed", "token": "new-token"},
}
CUSTOMER_ROLES = _roles("staff", "owner", "support")
STAFF = _roles("staff")

# fmt: off
WRITE_MATRIX = [
    # id                        target                method    body              seen by        managed by ok
    ("customer-update",         "customer",           "patch",  "rename",         WITH_ANY_ROLE, OWNERS, 200),
    ("customer-delete",         "empty customer",     "delete", None,             CUSTOMER_ROLES, STAFF, 204),
    ("project-update",          "project",            "patch",  "rename",         WITH_ANY_ROLE, OWNERS, 200),
    ("project-put",             "project",            "put",    "rename project", WITH_ANY_ROLE, OWNERS, 200),
    ("project-delete",          "project",            "delete", None,             WITH_ANY_ROLE, OWNERS, 204),
    ("private-settings-patch",  "private settings",   "patch",  "new token",      WITH_ANY_ROLE, OWNERS, 200),
    ("private-settings-delete", "private settings",   "delete", None,             WITH_ANY_ROLE, OWNERS, 204),
    ("shared-settings-patch",   "shared settings",    "patch",  "rename",         ALL,           STAFF,  200),
    ("shared-settings-delete",  "shared settings",    "delete", None,             ALL,           STAFF,  204),
    ("others-settings-delete",  "other's settings",   "delete", None,             STAFF,         STAFF,  204),
    ("others-key-delete",       "other's key",        "delete", None,             STAFF,         STAFF,  204),
    ("others-shared-key-delete", "other's shared key", "delete", None,            ALL,           STAFF,  204),
]
# fmt: on

ROUTE_OF = {
    Customer: "customers",
    Project: "projects",
    ServiceSettings: "service-settings",
    SshPublicKey: "keys",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("target", "method", "payload", "seen_by", "managed_by", "success"),
    [pytest.param(*case[1:], id=case[0]) for case in WRITE_MATRIX],
)
def test_who_may_change_what(world, role, target, method, payload, seen_by, managed_by, success):
    obj = TARGETS[target](world)
    path = detail_url(ROUTE_OF[type(obj)], obj.uuid)
    data = BODIES[payload](world)
    response = getattr(world.client(role), method)(path, data, format="json")

    expected = _status(role, seen_by, managed_by, success)
    assert response.status_code == expected, (response.status_code, response.content[:300])
    if expected >= 400:
        body(response)
        assert type(obj).objects.filter(pk=obj.pk).exists(), "a refused request must not change anything"
    elif method == "delete":
        assert not type(obj).objects.filter(pk=obj.pk).exists()
    if expected in (403, 404) and method == "patch":
        obj.refresh_from_db()
        assert obj.name != "Renamed"


NEW_BODIES = {
    "customer": lambda w: {"name": "New"},
    "project": lambda w: {"name": "New", "customer": link("customers", w.customer.uuid)},
    "private settings": lambda w: {
        "name": "New",
        "token": "t",
        "customer": link("customers", w.customer.uuid),
    },
    "shared settings": lambda w: {"name": "New", "token": "t", "shared": True},
    "key": lambda w: {"name": "New", "public_key": cached_public_key("ssh-ed25519")},
}

# fmt: off
CREATE_MATRIX = [
    # what                route               allowed (everyone else: 403)
    ("customer",          "customers",        STAFF),
    ("project",           "projects",         OWNERS),
    ("private settings",  "service-settings", OWNERS),
    ("shared settings",   "service-settings", STAFF),
    ("key",               "keys",             ALL),
]
# fmt: on


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("what", "route", "allowed"), CREATE_MATRIX)
def test_who_may_create_what(world, role, what, route, allowed):
    response = world.client(role).post(list_url(route), NEW_BODIES[what](world), format="json")
    expected = 201 if role in allowed else 403
    assert response.status_code == expected, (response.status_code, response.content[:300])
    data = body(response)
    if expected == 201:
        assert response["Location"] == data["url"]
        assert world.client(role).get(detail_url(route, data["uuid"])).status_code == 200


@pytest.mark.parametrize(("route", "extra"), [("projects", {}), ("service-settings", {"token": "t"})])
def test_a_link_to_a_customer_the_user_cannot_see_is_a_400_naming_it(world, route, extra):
    invisible = make_customer()
    payload = {"name": "New", "customer": link("customers", invisible.uuid), **extra}
    response = world.client("owner").post(list_url(route), payload, format="json")
    assert_field_error(response, "customer", "Invalid hyperlink - Object does not exist.")


# --- the order of checks: 401 → 404 → 403 → 400 ----------------------------------------------------------

INVALID_BODY = {"name": ["not", "a", "string"]}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 401),  # no credentials beat everything, even an invisible object and a bad body
        ("stranger", 404),  # can't see it: the bad body is never looked at
        ("support", 403),  # sees it, may not change it: still not a 400
        ("owner", 400),  # may change it: only now is the body validated
    ],
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_checks_run_in_the_contracts_order_on_update(world, who, expected, method):
    client = APIClient() if who == "anonymous" else world.client(who)
    response = client.generic(
        method.upper(), detail_url("customers", world.customer.uuid), '{"name": []}', "application/json"
    )
    assert response.status_code == expected, response.content
    if expected == 400:
        assert_field_error(response, "name")


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("support", 403), ("staff", 400)])
def test_checks_run_in_the_contracts_order_on_create(world, who, expected):
    client = APIClient() if who == "anonymous" else world.client(who)
    response = client.post("/api/customers/", INVALID_BODY, format="json")
    assert response.status_code == expected, response.content


def test_a_customer_with_projects_cannot_be_deleted(world):
    assert_detail(world.client("staff").delete(detail_url("customers", world.customer.uuid)), 409)
    assert Customer.objects.filter(pk=world.customer.pk).exists()


def test_a_project_cannot_move_to_another_customer(world):
    other = make_customer()
    response = world.client("staff").patch(
        detail_url("projects", world.project.uuid), {"customer": link("customers", other.uuid)}, format="json"
    )
    assert_field_error(response, "customer", "cannot move")


@pytest.mark.parametrize("role", ["owner", "support"])
def test_a_project_can_only_be_created_for_a_customer_the_user_owns(world, role):
    other = make_customer()
    world.users[role].customer_roles.create(customer=other, role="support")
    response = world.client(role).post(
        "/api/projects/", {"name": "P", "customer": link("customers", other.uuid)}, format="json"
    )
    assert_detail(response, 403)
    assert not Project.objects.filter(name="P").exists()
