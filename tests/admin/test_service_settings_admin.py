"""Service settings in the admin: created and changed through the services (so a new token is checked and
its catalog pulled), checked again on demand, and the token is never rendered on any admin page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.fixtures.factories import make_customer, make_service_settings, make_user
from waldur_do.structure.models import ServiceSettings

from .helpers import run_action, shown_messages

TOKEN = "dop_v1_admin-must-never-render-0123456789abcdef"
CHANGELIST = reverse("admin:structure_servicesettings_changelist")
ADD = reverse("admin:structure_servicesettings_add")


def url(name, service_settings):
    return reverse(f"admin:structure_servicesettings_{name}", args=[service_settings.pk])


def form_data(service_settings=None, **fields):
    """What the add/change form posts: the settings' current values, the token field left empty."""
    data = {"name": "Account", "type": "DigitalOcean", "customer": "", "backend_url": "", "token": ""}
    if service_settings is not None:
        data |= {
            "name": service_settings.name,
            "customer": service_settings.customer_id or "",
            "backend_url": service_settings.backend_url,
        }
        if service_settings.shared:
            data["shared"] = "on"
    return data | fields


@pytest.fixture
def service_settings(db):
    return make_service_settings(token=TOKEN)


def test_check_token_and_pull_catalog_schedules_a_sync_per_settings(
    operator_client, service_settings, syncs_enqueued
):
    other = make_service_settings()
    with syncs_enqueued() as calls:
        response = run_action(
            operator_client, CHANGELIST, "check_token_and_pull_catalog", [service_settings, other]
        )

    assert sorted(calls) == sorted([(service_settings.pk,), (other.pk,)])
    assert sorted(shown_messages(response)) == sorted(
        ("success", f"{s.name}: token check and catalog pull scheduled.") for s in (service_settings, other)
    )


def test_adding_settings_goes_through_the_service(operator_client, syncs_enqueued):
    customer = make_customer()
    with syncs_enqueued() as calls:
        response = operator_client.post(ADD, form_data(name="New account", customer=customer.pk, token=TOKEN))

    created = ServiceSettings.objects.get(name="New account")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:structure_servicesettings_changelist")
    assert (created.token, created.customer, created.state) == (
        TOKEN,
        customer,
        ServiceSettings.State.CREATING,
    )
    assert calls == [(created.pk,)]


def test_adding_settings_needs_a_token(operator_client, syncs_enqueued):
    with syncs_enqueued() as calls:
        response = operator_client.post(ADD, form_data(name="No token"))

    assert response.status_code == 200
    assert "token" in response.context["adminform"].form.errors
    assert not ServiceSettings.objects.filter(name="No token").exists()
    assert calls == []


def test_changing_other_fields_keeps_the_token_and_checks_nothing(
    operator_client, service_settings, syncs_enqueued
):
    with syncs_enqueued() as calls:
        response = operator_client.post(
            url("change", service_settings), form_data(service_settings, name="Renamed")
        )

    assert response.status_code == 302
    service_settings.refresh_from_db()
    assert (service_settings.name, service_settings.token) == ("Renamed", TOKEN)
    assert service_settings.state == ServiceSettings.State.OK
    assert calls == []


def test_a_new_token_is_stored_and_checked(operator_client, service_settings, syncs_enqueued):
    with syncs_enqueued() as calls:
        operator_client.post(url("change", service_settings), form_data(service_settings, token="dop_v1_new"))

    service_settings.refresh_from_db()
    assert (service_settings.token, service_settings.state) == ("dop_v1_new", ServiceSettings.State.CREATING)
    assert calls == [(service_settings.pk,)]


def test_the_token_appears_on_no_admin_page(operator_client, admin_client_for, service_settings):
    pages = [
        operator_client.get(CHANGELIST),
        operator_client.get(CHANGELIST, {"q": service_settings.name}),
        operator_client.get(ADD),
        operator_client.get(url("change", service_settings)),
        operator_client.get(url("history", service_settings)),
        operator_client.get(url("delete", service_settings)),
        # A form that fails validation is rendered again with what was posted, the token included.
        operator_client.post(ADD, form_data(name="", token=TOKEN)),
        operator_client.post(
            url("change", service_settings), form_data(service_settings, name="", token=TOKEN)
        ),
    ]
    # A view-only page renders every field as text: the token must be left out of it.
    viewer = make_user(is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_servicesettings"))
    pages.append(admin_client_for(viewer).get(url("change", service_settings)))

    for page in pages:
        assert page.status_code == 200, page.request
        assert TOKEN not in page.content.decode(), page.request
    assert pages[3].context["adminform"].form["token"].value() == TOKEN  # the check above has teeth
