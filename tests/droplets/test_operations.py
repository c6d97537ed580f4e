"""docs/api.md, "Operations": every droplet operation's answer, every 409 guard, and the order of checks
("Conventions")."""

import uuid

import pytest

from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.api.helpers import assert_detail, assert_field_error, body, detail_url, link, list_url
from tests.fixtures.droplets import make_droplet, make_ssh_key
from tests.fixtures.factories import client_for, make_project

ROUTE = "digitalocean-droplets"
NOT_FOUND = "No Droplet matches the given query."


def _url(droplet, action=""):
    return detail_url(ROUTE, droplet.uuid) + (f"{action}/" if action else "")


def _state(droplet):
    return Droplet.objects.values_list("state", "runtime_state").get(pk=droplet.pk)


# --- what each operation answers -----------------------------------------------------------------------


def _create_body(world, catalog, **overrides):
    return {
        "name": "web-1",
        "description": "front end",
        "service_settings": link("service-settings", catalog.service_settings.uuid),
        "project": link("projects", world.project.uuid),
        "region": link("digitalocean-regions", catalog.regions["nyc1"].uuid),
        "image": link("digitalocean-images", catalog.images["debian-12-x64"].uuid),
        "size": link("digitalocean-sizes", catalog.sizes["s-2vcpu-2gb"].uuid),
        **overrides,
    }


def test_create(world, catalog, enqueued):
    with enqueued() as calls:
        response = world.client("manager").post(
            list_url(ROUTE), _create_body(world, catalog, user_data="#!/bin/sh\n"), format="json"
        )

    assert response.status_code == 201, response.content
    data = body(response)
    droplet = Droplet.objects.get()
    assert response["Location"] == data["url"] == link(ROUTE, droplet.uuid)
    assert data["uuid"] == droplet.uuid.hex
    assert (data["state"], data["runtime_state"]) == ("CREATION_SCHEDULED", "")
    assert (data["name"], data["description"], data["user_data"]) == ("web-1", "front end", "#!/bin/sh\n")
    assert data["backend_id"] == "" and data["access_url"] is None and data["external_ips"] == []
    assert (data["min_ram"], data["min_disk"]) == (2048, 15360)
    assert (droplet.region, droplet.image, droplet.size) == (
        catalog.regions["nyc1"],
        catalog.images["debian-12-x64"],
        catalog.sizes["s-2vcpu-2gb"],
    )
    # DigitalOcean's own names of what to create, on the row: a catalog refresh cannot take them away.
    assert calls == [
        (
            droplet.pk,
            "create",
            {"region": "nyc1", "image": "debian-12-x64", "size": "s-2vcpu-2gb", "ssh_key": None},
        )
    ]


def test_create_with_a_key_records_its_name_and_fingerprint(world, catalog, enqueued):
    key = make_ssh_key(user=world.users["manager"], name="laptop")
    request = _create_body(
        world,
        catalog,
        image=link("digitalocean-images", catalog.images["ubuntu-22-04-x64"].uuid),
        ssh_public_key=link("keys", key.uuid),
    )
    with enqueued() as calls:
        response = world.client("manager").post(list_url(ROUTE), request, format="json")

    data = body(response)
    assert response.status_code == 201, data
    assert (data["key_name"], data["key_fingerprint"]) == ("laptop", key.fingerprint_md5)
    assert "ssh_public_key" not in data
    assert Droplet.objects.get().ssh_public_key == key
    assert len(calls) == 1


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_with_a_new_name_renames_on_digitalocean(world, droplet, enqueued, method):
    old_name = droplet.name
    with enqueued() as calls:
        response = getattr(world.client("manager"), method)(
            _url(droplet), {"name": "renamed", "description": "new words"}, format="json"
        )

    assert response.status_code == 200, response.content
    data = body(response)
    assert len(data) == 52
    assert (data["name"], data["description"], data["state"]) == ("renamed", "new words", "UPDATE_SCHEDULED")
    droplet.refresh_from_db()
    assert (droplet.name, droplet.description, droplet.state) == ("renamed", "new words", "UPDATE_SCHEDULED")
    assert calls == [(droplet.pk, "rename", {"name": "renamed", "old_name": old_name})]


@pytest.mark.parametrize(
    ("method", "request_body"),
    [
        ("patch", {"description": "only words"}),
        ("put", {"name": "<same>", "description": "only words"}),
        ("patch", {"name": "<same>", "description": "only words"}),
    ],
)
def test_update_of_the_description_only_stays_ok(world, droplet, enqueued, method, request_body):
    request_body = {k: droplet.name if v == "<same>" else v for k, v in request_body.items()}
    with enqueued() as calls:
        response = getattr(world.client("manager"), method)(_url(droplet), request_body, format="json")

    data = body(response)
    assert response.status_code == 200, data
    assert (data["description"], data["state"]) == ("only words", "OK")
    assert _state(droplet) == ("OK", "online")
    assert calls == []


def test_update_changes_nothing_but_name_and_description(world, droplet, catalog, enqueued):
    other_project = make_project(customer=world.customer)
    before = body(world.client("staff").get(_url(droplet)))
    with enqueued() as calls:
        response = world.client("staff").patch(
            _url(droplet),
            {
                "description": "changed",
                "project": link("projects", other_project.uuid),
                "state": "ERRED",
                "runtime_state": "offline",
                "backend_id": "999",
                "cores": 64,
                "user_data": "#!/bin/sh\n",
                "size": link("digitalocean-sizes", catalog.sizes["s-4vcpu-8gb"].uuid),
                "error_message": "x",
            },
            format="json",
        )

    after = body(response)
    assert response.status_code == 200, after
    assert after["description"] == "changed"
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"description", "modified"}, changed
    droplet.refresh_from_db()
    assert (droplet.project_id, droplet.size, droplet.cores) == (
        world.project.pk,
        catalog.sizes["s-2vcpu-2gb"],
        2,
    )
    assert calls == []


def test_put_requires_the_name(world, droplet):
    response = world.client("manager").put(_url(droplet), {"description": "x"}, format="json")
    assert_field_error(response, "name", "This field is required.")


@pytest.mark.parametrize(
    ("state", "backend_id"),
    [(State.OK, "4242"), (State.ERRED, "4242")],
)
def test_delete_schedules_the_deletion(world, catalog, enqueued, state, backend_id):
    droplet = make_droplet(project=world.project, catalog=catalog, state=state, backend_id=backend_id)
    with enqueued() as calls:
        response = world.client("manager").delete(_url(droplet))

    assert response.status_code == 204, response.content
    assert response.content == b""
    assert _state(droplet)[0] == "DELETION_SCHEDULED"
    assert calls == [(droplet.pk, "delete", {})]


def test_delete_of_an_erred_droplet_that_never_reached_digitalocean_is_immediate(world, catalog, enqueued):
    droplet = make_droplet(
        project=world.project, catalog=catalog, state=State.ERRED, runtime_state="", backend_id=""
    )
    with enqueued() as calls:
        response = world.client("manager").delete(_url(droplet))

    assert response.status_code == 204
    assert not Droplet.objects.filter(pk=droplet.pk).exists()
    assert calls == []
    assert_detail(world.client("manager").get(_url(droplet)), 404, NOT_FOUND)


# (action, runtime state it needs)
POWER_ACTIONS = [
    ("start", RuntimeState.OFFLINE),
    ("stop", RuntimeState.ONLINE),
    ("restart", RuntimeState.ONLINE),
]


@pytest.mark.parametrize(("action", "runtime_state"), POWER_ACTIONS)
def test_power_actions_are_scheduled(world, catalog, enqueued, action, runtime_state):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=runtime_state)
    with enqueued() as calls:
        response = world.client("admin").post(_url(droplet, action))

    assert response.status_code == 202
    assert body(response) == {"status": f"{action} was scheduled"}
    assert _state(droplet) == ("UPDATE_SCHEDULED", runtime_state)
    assert calls == [(droplet.pk, action, {})]


@pytest.mark.parametrize("disk", [False, True])
def test_resize_is_scheduled(world, catalog, enqueued, disk):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state=RuntimeState.OFFLINE)
    size = catalog.sizes["s-4vcpu-8gb"]
    with enqueued() as calls:
        response = world.client("owner").post(
            _url(droplet, "resize"),
            {"size": link("digitalocean-sizes", size.uuid), "disk": disk},
            format="json",
        )

    assert response.status_code == 202, response.content
    assert body(response) == {"status": "resize was scheduled", "disk": disk}
    droplet.refresh_from_db()
    assert (droplet.state, droplet.runtime_state) == ("UPDATE_SCHEDULED", "offline")
    # The new size shows only once DigitalOcean reports the resize done.
    assert (droplet.cores, droplet.ram, droplet.disk) == (2, 2048, 61440)
    assert calls == [(droplet.pk, "resize", {"size": size.backend_id, "disk": disk})]


@pytest.mark.parametrize("state", [State.OK, State.ERRED])
def test_pull_is_scheduled(world, catalog, enqueued, state):
    droplet = make_droplet(project=world.project, catalog=catalog, state=state)
    with enqueued() as calls:
        response = world.client("manager").post(_url(droplet, "pull"))

    assert response.status_code == 202
    assert body(response) == {"detail": "Pull operation was successfully scheduled."}
    assert _state(droplet)[0] == "UPDATE_SCHEDULED"
    assert calls == [(droplet.pk, "pull", {})]


@pytest.mark.parametrize("state", [State.OK, State.ERRED])
def test_pull_without_backend_id(world, catalog, enqueued, state):
    droplet = make_droplet(project=world.project, catalog=catalog, state=state, backend_id="")
    with enqueued() as calls:
        response = world.client("manager").post(_url(droplet, "pull"))

    assert_detail(response, 409, "Resource does not have backend ID.")
    assert _state(droplet)[0] == state
    assert calls == []


@pytest.mark.parametrize("state", list(State))
def test_unlink_forgets_the_droplet_in_any_state(world, catalog, enqueued, state):
    droplet = make_droplet(project=world.project, catalog=catalog, state=state)
    with enqueued() as calls:
        response = world.client("staff").post(_url(droplet, "unlink"))

    assert response.status_code == 204 and response.content == b""
    assert not Droplet.objects.filter(pk=droplet.pk).exists()
    assert calls == []


@pytest.mark.parametrize("state", list(State))
def test_set_erred_and_set_ok_from_any_state(world, catalog, enqueued, state):
    droplet = make_droplet(
        project=world.project, catalog=catalog, state=state, operation="stop", action_id="77"
    )
    client = world.client("staff")
    with enqueued() as calls:
        erred = client.post(
            _url(droplet, "set_erred"), {"error_message": "Stuck; see ticket 12."}, format="json"
        )

    assert erred.status_code == 200
    assert set(body(erred)) == {"detail"}
    droplet.refresh_from_db()
    assert (droplet.state, droplet.error_message) == ("ERRED", "Stuck; see ticket 12.")
    assert (droplet.operation, droplet.action_id) == ("", "")

    with enqueued() as more_calls:
        ok = client.post(_url(droplet, "set_ok"))
    assert ok.status_code == 200
    assert set(body(ok)) == {"detail"}
    droplet.refresh_from_db()
    assert (droplet.state, droplet.error_message) == ("OK", "")
    assert calls == more_calls == []


def test_set_erred_without_a_body_gives_a_default_message_and_keeps_a_traceback(world, droplet):
    client = world.client("staff")
    assert client.post(_url(droplet, "set_erred")).status_code == 200
    droplet.refresh_from_db()
    assert droplet.state == "ERRED" and droplet.error_message

    response = client.post(
        _url(droplet, "set_erred"), {"error_message": "m", "error_traceback": "tb"}, format="json"
    )
    assert response.status_code == 200
    data = body(client.get(_url(droplet)))
    assert (data["error_message"], data["error_traceback"]) == ("m", "tb")


def test_set_erred_with_a_wrong_type(world, droplet):
    response = world.client("staff").post(_url(droplet, "set_erred"), {"error_message": ["x"]}, format="json")
    assert_field_error(response, "error_message", "Not a valid string.")
    assert _state(droplet)[0] == "OK"


# --- 409 guards: every operation from every state it may not start from ---------------------------------

RESIZE_TO = "s-4vcpu-8gb"

# operation: (method, action, states it may start from, runtime states it may start from or None for any)
GUARDED = {
    "update": ("patch", "", ("OK",), None),
    "delete": ("delete", "", ("OK", "ERRED"), None),
    "start": ("post", "start", ("OK",), ("offline",)),
    "stop": ("post", "stop", ("OK",), ("online",)),
    "restart": ("post", "restart", ("OK",), ("online",)),
    "resize": ("post", "resize", ("OK",), ("offline",)),
    "pull": ("post", "pull", ("OK", "ERRED"), None),
}
RUNTIME_STATES = [r.value for r in RuntimeState]


def _guard_cases():
    for operation, (_, _, states, runtimes) in GUARDED.items():
        good_runtime = runtimes[0] if runtimes else "online"
        for state in State:
            if state.value not in states:
                message = f"Valid states for operation: {', '.join(states)}."
                yield pytest.param(
                    operation, state.value, good_runtime, message, id=f"{operation}-{state.value}"
                )
        for runtime in RUNTIME_STATES if runtimes else ():
            if runtime not in runtimes:
                message = f"Valid runtime states for operation: {', '.join(runtimes)}."
                yield pytest.param(
                    operation, "OK", runtime, message, id=f"{operation}-OK-{runtime or 'none'}"
                )


def _operation_body(operation, catalog):
    if operation == "update":
        return {"name": "renamed", "description": "x"}
    if operation == "resize":
        return {"size": link("digitalocean-sizes", catalog.sizes[RESIZE_TO].uuid), "disk": True}
    return None


@pytest.mark.parametrize(("operation", "state", "runtime_state", "message"), list(_guard_cases()))
def test_guard(world, catalog, enqueued, operation, state, runtime_state, message):
    method, action, _, _ = GUARDED[operation]
    droplet = make_droplet(project=world.project, catalog=catalog, state=state, runtime_state=runtime_state)
    request_body = _operation_body(operation, catalog)
    with enqueued() as calls:
        response = getattr(world.client("manager"), method)(
            _url(droplet, action), request_body, format="json"
        )

    assert_detail(response, 409, message)
    fresh = Droplet.objects.get(pk=droplet.pk)
    assert (fresh.state, fresh.runtime_state, fresh.name) == (state, runtime_state, droplet.name)
    assert calls == []


def test_guard_cases_cover_every_operation_and_state():
    cases = list(_guard_cases())
    assert {case.values[0] for case in cases} == set(GUARDED)
    assert len(cases) == 2 * 6 + 5 * 7 + 4 * (len(RUNTIME_STATES) - 1)


@pytest.mark.parametrize(("operation"), list(GUARDED))
def test_a_second_identical_request_gets_409(world, catalog, enqueued, operation):
    method, action, _, runtimes = GUARDED[operation]
    droplet = make_droplet(
        project=world.project, catalog=catalog, runtime_state=runtimes[0] if runtimes else "online"
    )
    client = world.client("manager")
    request_body = _operation_body(operation, catalog)
    with enqueued() as calls:
        first = getattr(client, method)(_url(droplet, action), request_body, format="json")
        second = getattr(client, method)(_url(droplet, action), request_body, format="json")

    assert first.status_code in (200, 202, 204), first.content
    assert second.status_code == 409, second.content
    assert body(second)["detail"].startswith("Valid states for operation: OK")
    assert len(calls) == 1


# --- order of checks: 401 → 404 → 403 → 409 → 400 ------------------------------------------------------

# (method, action, a body that is wrong in every field)
EVERY_OPERATION = [
    ("get", ""),
    ("put", ""),
    ("patch", ""),
    ("delete", ""),
    ("post", "start"),
    ("post", "stop"),
    ("post", "restart"),
    ("post", "resize"),
    ("post", "pull"),
    ("post", "unlink"),
    ("post", "set_erred"),
    ("post", "set_ok"),
]
BAD_BODY = {"name": "not a hostname!", "size": 12, "disk": "sideways", "error_message": ["x"]}


@pytest.mark.parametrize(("method", "action"), EVERY_OPERATION)
@pytest.mark.parametrize("token", [None, "0" * 40])
def test_401_comes_first(world, droplet, method, action, token):
    client = client_for(None)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for target in (_url(droplet, action), detail_url(ROUTE, "nonsense") + (f"{action}/" if action else "")):
        response = getattr(client, method)(target, BAD_BODY, format="json")
        message = "Invalid token." if token else "Authentication credentials were not provided."
        assert_detail(response, 401, message)
        assert response["WWW-Authenticate"] == "Token"
    assert _state(droplet) == ("OK", "online")


@pytest.mark.parametrize(("method", "action"), EVERY_OPERATION)
@pytest.mark.parametrize(
    "path_uuid",
    [
        pytest.param(lambda: uuid.uuid4().hex, id="unknown"),
        pytest.param(lambda: "not-a-uuid", id="malformed"),
        pytest.param(lambda: "1234", id="digits"),
        pytest.param(lambda: "g" * 32, id="not-hex"),
        pytest.param(lambda: str(uuid.uuid4()) + "0", id="too-long"),
    ],
)
def test_404_for_an_unknown_or_malformed_uuid_before_anything_else(world, method, action, path_uuid):
    target = f"/api/{ROUTE}/{path_uuid()}/" + (f"{action}/" if action else "")
    response = getattr(world.client("staff"), method)(target, BAD_BODY, format="json")
    assert_detail(response, 404, NOT_FOUND)


@pytest.mark.parametrize(("method", "action"), EVERY_OPERATION)
def test_404_for_an_invisible_droplet_even_with_a_bad_body(world, catalog, method, action):
    droplet = make_droplet(project=world.project, catalog=catalog, state=State.UPDATING)
    response = getattr(world.client("stranger"), method)(_url(droplet, action), BAD_BODY, format="json")
    assert_detail(response, 404, NOT_FOUND)


def test_dashed_uuid_in_the_path_is_accepted(world, droplet):
    response = world.client("member").get(f"/api/{ROUTE}/{droplet.uuid}/")
    assert response.status_code == 200
    assert body(response)["uuid"] == droplet.uuid.hex


@pytest.mark.parametrize(("method", "action"), [op for op in EVERY_OPERATION if op[0] != "get"])
@pytest.mark.parametrize("role", ["member", "support"])
def test_403_before_409_and_400(world, catalog, method, action, role):
    droplet = make_droplet(project=world.project, catalog=catalog, state=State.UPDATING)
    response = getattr(world.client(role), method)(_url(droplet, action), BAD_BODY, format="json")
    assert_detail(response, 403)
    assert _state(droplet)[0] == "UPDATING"


@pytest.mark.parametrize(
    ("method", "action", "state", "runtime_state"),
    [
        ("put", "", State.UPDATING, "online"),
        ("patch", "", State.ERRED, "online"),
        ("post", "resize", State.OK, "online"),
        ("post", "resize", State.CREATING, "provisioning"),
    ],
)
def test_409_before_400(world, catalog, method, action, state, runtime_state):
    droplet = make_droplet(project=world.project, catalog=catalog, state=state, runtime_state=runtime_state)
    response = getattr(world.client("manager"), method)(_url(droplet, action), BAD_BODY, format="json")
    assert response.status_code == 409, response.content


def test_member_resizing_with_a_bad_body_gets_403(world, catalog):
    droplet = make_droplet(project=world.project, catalog=catalog, runtime_state="offline")
    response = world.client("member").post(_url(droplet, "resize"), {"size": "x"}, format="json")
    assert_detail(response, 403)


def test_manager_resizing_an_online_droplet_with_a_bad_body_gets_409(world, droplet):
    response = world.client("manager").post(_url(droplet, "resize"), {"size": "x"}, format="json")
    assert_detail(response, 409, "Valid runtime states for operation: offline.")


@pytest.mark.parametrize("role", ["member", "support", "stranger"])
def test_create_by_someone_who_manages_nothing_is_403_whatever_the_body(world, role):
    response = world.client(role).post(list_url(ROUTE), {"name": "bad name!", "size": 3}, format="json")
    assert_detail(response, 403)


def test_create_unauthenticated_is_401(db):
    assert_detail(client_for(None).post(list_url(ROUTE), {}, format="json"), 401)
