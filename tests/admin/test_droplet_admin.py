"""The droplet admin: every action goes through its service, reports each droplet's outcome (a refusal shows
the API's 409 reason), and Django's own add and delete, which would bypass DigitalOcean, are gone."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.fixtures.droplets import make_droplet
from tests.fixtures.factories import make_user

from .helpers import confirm_action, run_action, shown_messages

CHANGELIST = reverse("admin:droplets_droplet_changelist")
OFFLINE = {"runtime_state": RuntimeState.OFFLINE}


def change_url(droplet):
    return reverse("admin:droplets_droplet_change", args=[droplet.pk])


@pytest.mark.parametrize(
    ("action", "operation", "fields"),
    [
        ("droplet_pull", "pull", {}),
        ("droplet_start", "start", OFFLINE),
        ("droplet_stop", "stop", {}),
        ("droplet_restart", "restart", {}),
    ],
)
def test_scheduling_action_calls_the_service(
    operator_client, world, catalog, enqueued, action, operation, fields
):
    droplet = make_droplet(project=world.project, catalog=catalog, **fields)
    with enqueued() as calls:
        response = run_action(operator_client, CHANGELIST, action, [droplet])

    assert response.status_code == 200
    assert shown_messages(response) == [("success", f"{droplet.name}: {operation} scheduled.")]
    droplet.refresh_from_db()
    assert (droplet.state, droplet.operation) == (State.UPDATE_SCHEDULED, operation)
    assert calls == [(droplet.pk, operation, {})]


@pytest.mark.parametrize(
    ("action", "fields", "reason"),
    [
        ("droplet_pull", {"backend_id": ""}, "Resource does not have backend ID."),
        ("droplet_pull", {"state": State.UPDATING}, "Valid states for operation: OK, ERRED."),
        ("droplet_start", {}, "Valid runtime states for operation: offline."),
        ("droplet_stop", OFFLINE, "Valid runtime states for operation: online."),
        ("droplet_restart", {"state": State.ERRED}, "Valid states for operation: OK."),
        ("droplet_delete", {"state": State.CREATING}, "Valid states for operation: OK, ERRED."),
    ],
)
def test_refused_action_shows_the_409_reason_and_changes_nothing(
    operator_client, world, catalog, enqueued, action, fields, reason
):
    droplet = make_droplet(project=world.project, catalog=catalog, **fields)
    with enqueued() as calls:
        response = run_action(operator_client, CHANGELIST, action, [droplet])
        if action == "droplet_delete":
            response = confirm_action(operator_client, CHANGELIST, action, [droplet])

    assert shown_messages(response) == [("error", f"{droplet.name}: {reason}")]
    before = droplet.state
    droplet.refresh_from_db()
    assert droplet.state == before
    assert calls == []


def test_each_droplet_of_a_batch_gets_its_own_outcome(operator_client, world, catalog, enqueued):
    online = make_droplet(project=world.project, catalog=catalog)
    offline = make_droplet(project=world.project, catalog=catalog, **OFFLINE)
    with enqueued() as calls:
        response = run_action(operator_client, CHANGELIST, "droplet_stop", [online, offline])

    assert sorted(shown_messages(response)) == [
        ("error", f"{offline.name}: Valid runtime states for operation: online."),
        ("success", f"{online.name}: stop scheduled."),
    ]
    assert calls == [(online.pk, "stop", {})]


def test_mark_erred_and_mark_ok(operator_client, droplet):
    response = run_action(operator_client, CHANGELIST, "droplet_set_erred", [droplet])
    assert shown_messages(response) == [("success", f"{droplet.name}: marked as erred.")]
    droplet.refresh_from_db()
    assert (droplet.state, droplet.error_message) == (State.ERRED, "Marked as erred by an operator.")

    response = run_action(operator_client, CHANGELIST, "droplet_set_ok", [droplet])
    assert shown_messages(response) == [("success", f"{droplet.name}: marked as OK.")]
    droplet.refresh_from_db()
    assert (droplet.state, droplet.error_message) == (State.OK, "")


def test_an_action_is_recorded_in_the_admin_history(operator, operator_client, droplet):
    run_action(operator_client, CHANGELIST, "droplet_set_erred", [droplet])

    entry = LogEntry.objects.get(object_id=str(droplet.pk))
    assert (entry.user, entry.get_change_message()) == (operator, "Mark erred")


def test_delete_asks_first_then_schedules_the_deletion_on_digitalocean(operator_client, droplet, enqueued):
    with enqueued() as calls:
        page = run_action(operator_client, CHANGELIST, "droplet_delete", [droplet])
    assert page.templates[0].name == "admin/droplets/droplet/action_confirmation.html"
    assert droplet.backend_id in page.content.decode()
    droplet.refresh_from_db()
    assert droplet.state == State.OK
    assert calls == []

    with enqueued() as calls:
        response = confirm_action(operator_client, CHANGELIST, "droplet_delete", [droplet])
    assert shown_messages(response) == [
        ("success", f"{droplet.name}: deleted, or scheduled for deletion on DigitalOcean.")
    ]
    droplet.refresh_from_db()
    assert droplet.state == State.DELETION_SCHEDULED
    assert calls == [(droplet.pk, "delete", {})]


def test_delete_removes_at_once_an_erred_droplet_that_never_reached_digitalocean(
    operator_client, world, catalog, enqueued
):
    droplet = make_droplet(project=world.project, catalog=catalog, state=State.ERRED, backend_id="")
    with enqueued() as calls:
        confirm_action(operator_client, CHANGELIST, "droplet_delete", [droplet])

    assert not Droplet.objects.filter(pk=droplet.pk).exists()
    assert calls == []


def test_unlink_asks_first_then_forgets_the_droplet_without_touching_digitalocean(
    operator_client, droplet, enqueued
):
    page = run_action(operator_client, CHANGELIST, "droplet_unlink", [droplet])
    assert "keeps running" in page.content.decode()
    assert Droplet.objects.filter(pk=droplet.pk).exists()

    with enqueued() as calls:
        response = confirm_action(operator_client, CHANGELIST, "droplet_unlink", [droplet])
    assert shown_messages(response) == [
        ("success", f"{droplet.name}: unlinked; it still runs on DigitalOcean if it was there.")
    ]
    assert not Droplet.objects.filter(pk=droplet.pk).exists()
    assert calls == []


def test_djangos_own_add_and_delete_are_not_offered(operator_client, droplet):
    changelist = operator_client.get(CHANGELIST)
    actions = {value for value, _ in changelist.context["action_form"].fields["action"].choices if value}
    assert actions == {
        "droplet_pull",
        "droplet_start",
        "droplet_stop",
        "droplet_resize",
        "droplet_update",
        "droplet_restart",
        "droplet_set_ok",
        "droplet_set_erred",
        "droplet_delete",
        "droplet_unlink",
    }
    delete_url = reverse("admin:droplets_droplet_delete", args=[droplet.pk])
    assert operator_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert operator_client.get(reverse("admin:droplets_droplet_add")).status_code == 403
    assert Droplet.objects.filter(pk=droplet.pk).exists()


def test_delete_and_unlink_need_the_delete_permission(admin_client_for, droplet):
    user = make_user(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_droplet", "change_droplet"], content_type__app_label="droplets"
        )
    )
    client = admin_client_for(user)

    actions = {value for value, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices}
    assert "droplet_set_erred" in actions
    assert not actions & {"droplet_delete", "droplet_unlink"}
    confirm_action(client, CHANGELIST, "droplet_unlink", [droplet])
    assert Droplet.objects.filter(pk=droplet.pk).exists()


@pytest.mark.parametrize("state", [State.ERRED, State.UPDATING, State.CREATION_SCHEDULED])
def test_an_operator_annotates_a_droplet_in_any_state(operator_client, droplet, state):
    Droplet.objects.filter(pk=droplet.pk).update(state=state)
    response = operator_client.post(change_url(droplet), {"description": "failed overnight, see ticket 42"})
    assert response.status_code == 302
    droplet.refresh_from_db()
    assert (droplet.description, droplet.state) == ("failed overnight, see ticket 42", state)


def test_the_change_form_edits_only_the_description(operator_client, droplet):
    page = operator_client.get(change_url(droplet))
    assert list(page.context["adminform"].form.fields) == ["description"]

    response = operator_client.post(
        change_url(droplet), {"description": "web tier", "name": "renamed", "state": State.ERRED}
    )
    assert response.status_code == 302
    droplet.refresh_from_db()
    assert (droplet.description, droplet.name, droplet.state) == ("web tier", droplet.name, State.OK)
    assert droplet.name != "renamed"


def test_changelist_has_no_per_row_queries(operator_client, world, catalog):
    def queries_for_changelist():
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(CHANGELIST).status_code == 200
        return len(queries)

    make_droplet(project=world.project, catalog=catalog)
    one = queries_for_changelist()
    for _ in range(5):
        make_droplet(project=world.project, catalog=catalog)
    assert queries_for_changelist() == one


def test_changelist_shows_the_columns_and_finds_by_name_backend_id_uuid_and_ip(operator_client, droplet):
    page = operator_client.get(CHANGELIST).content.decode()
    for text in (droplet.name, "OK", "Online", droplet.project.name, droplet.project.customer.name):
        assert text in page
    assert droplet.external_ips[0] in page

    other = make_droplet(project=droplet.project, service_settings=droplet.service_settings)
    for term in (
        droplet.name,
        droplet.backend_id,
        str(droplet.uuid),
        droplet.uuid.hex,
        droplet.external_ips[0],
    ):
        found = operator_client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert list(found) == [droplet], term
    erred = operator_client.get(CHANGELIST, {"state__exact": State.ERRED}).context["cl"].result_list
    assert list(erred) == []
    assert (
        other in operator_client.get(CHANGELIST, {"runtime_state__exact": "online"}).context["cl"].result_list
    )
