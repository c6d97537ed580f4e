"""The role-by-operation matrix (docs/api.md, "Roles and visibility"): what each role gets from each droplet
operation.

A user sees a droplet when they hold any role on its customer or project (otherwise 404); they may change
it when they are staff, the customer's owner, or the project's admin or manager (otherwise 403); unlink,
set_erred and set_ok are for staff only.
"""

import pytest

from droplets.models import Droplet
from droplets.states import RuntimeState
from tests.api.helpers import body, detail_url, link, list_url
from tests.fixtures.droplets import make_droplet
from tests.fixtures.factories import client_for, make_project, make_user
from waldur_do.structure.models import CustomerRole, ProjectRole

ROUTE = "digitalocean-droplets"

OPERATIONS = (
    "list", "retrieve", "create", "update", "delete", "start", "stop", "restart", "resize", "pull",
    "unlink", "set_erred", "set_ok",
)  # fmt: skip
MANAGE = (True, 200, 201, 200, 204, 202, 202, 202, 202, 202, 403, 403, 403)
SEE = (True, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403)
NONE = (False, 404, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404)
# role: expected answer per operation, in the order of OPERATIONS ("list": whether the droplet is listed)
MATRIX = {
    "staff": (True, 200, 201, 200, 204, 202, 202, 202, 202, 202, 204, 200, 200),
    "owner": MANAGE,
    "support": SEE,
    "admin": MANAGE,
    "manager": MANAGE,
    "member": SEE,
    "stranger": NONE,
    # Roles elsewhere give nothing here. They may create droplets, but not in a project they cannot see:
    # a link to it is a link to nothing, a 400.
    "manager-of-another-project": (False, 404, 400, *NONE[3:]),
    "owner-of-another-customer": (False, 404, 400, *NONE[3:]),
}

# operation: (runtime state the droplet needs, method, action)
REQUESTS = {
    "retrieve": (RuntimeState.ONLINE, "get", ""),
    "update": (RuntimeState.ONLINE, "patch", ""),
    "delete": (RuntimeState.ONLINE, "delete", ""),
    "start": (RuntimeState.OFFLINE, "post", "start"),
    "stop": (RuntimeState.ONLINE, "post", "stop"),
    "restart": (RuntimeState.ONLINE, "post", "restart"),
    "resize": (RuntimeState.OFFLINE, "post", "resize"),
    "pull": (RuntimeState.ONLINE, "post", "pull"),
    "unlink": (RuntimeState.ONLINE, "post", "unlink"),
    "set_erred": (RuntimeState.ONLINE, "post", "set_erred"),
    "set_ok": (RuntimeState.ONLINE, "post", "set_ok"),
}
ENQUEUES = {"create", "update", "delete", "start", "stop", "restart", "resize", "pull"}


def _client(world, role):
    if role in world.users:
        return world.client(role)
    user = make_user()
    if role == "manager-of-another-project":
        ProjectRole.objects.create(user=user, project=make_project(customer=world.customer), role="manager")
    else:
        CustomerRole.objects.create(user=user, customer=make_project().customer, role="owner")
    return client_for(user)


def _body(operation, catalog, world):
    if operation == "update":
        return {"name": "renamed", "description": "changed"}
    if operation == "resize":
        return {"size": link("digitalocean-sizes", catalog.sizes["s-4vcpu-8gb"].uuid), "disk": False}
    if operation == "create":
        return {
            "name": "new-one",
            "service_settings": link("service-settings", catalog.service_settings.uuid),
            "project": link("projects", world.project.uuid),
            "region": link("digitalocean-regions", catalog.regions["nyc1"].uuid),
            "image": link("digitalocean-images", catalog.images["debian-12-x64"].uuid),
            "size": link("digitalocean-sizes", catalog.sizes["s-2vcpu-2gb"].uuid),
        }
    return None


CELLS = [
    pytest.param(role, operation, expected, id=f"{role}-{operation}")
    for role, row in MATRIX.items()
    for operation, expected in zip(OPERATIONS, row, strict=True)
]


@pytest.mark.parametrize(("role", "operation", "expected"), CELLS)
def test_cell(world, catalog, enqueued, role, operation, expected):
    client = _client(world, role)
    runtime_state = REQUESTS.get(operation, (RuntimeState.ONLINE,))[0]
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=runtime_state)
    before = Droplet.objects.values().get(pk=droplet.pk)

    with enqueued() as calls:
        if operation == "list":
            response = client.get(list_url(ROUTE))
            assert response.status_code == 200
            assert (droplet.uuid.hex in {item["uuid"] for item in body(response)}) is expected
            return
        if operation == "create":
            response = client.post(list_url(ROUTE), _body(operation, catalog, world), format="json")
        else:
            _, method, action = REQUESTS[operation]
            url = detail_url(ROUTE, droplet.uuid) + (f"{action}/" if action else "")
            response = getattr(client, method)(url, _body(operation, catalog, world), format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert "project" in body(response) if expected == 400 else set(body(response)) == {"detail"}
        assert Droplet.objects.values().get(pk=droplet.pk) == before
        assert Droplet.objects.count() == 1
        assert calls == []
    elif operation in ENQUEUES:
        assert len(calls) == 1


def test_the_matrix_is_complete():
    assert set(MATRIX) >= {"staff", "owner", "support", "admin", "manager", "member", "stranger"}
    assert all(len(row) == len(OPERATIONS) for row in MATRIX.values())
    assert set(REQUESTS) | {"list", "create"} == set(OPERATIONS)
