"""The admin built for triage (docs/operations.md, "Operating"): what the droplet list shows and filters, the
resize and rename actions with their forms, a droplet's history on its page, the event list, the index's
panel, and the links from projects, customers and service settings to their droplets."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from droplets import services
from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.fixtures.droplets import make_droplet
from tests.fixtures.factories import make_customer, make_project

from .helpers import run_action, shown_messages

CHANGELIST = reverse("admin:droplets_droplet_changelist")
EVENTS = reverse("admin:events_event_changelist")


def listed(client, **params) -> list:
    return list(client.get(CHANGELIST, params).context["cl"].result_list)


def test_the_attention_filter_finds_erred_stuck_and_busy_droplets(operator_client, world, catalog):
    fine = make_droplet(project=world.project, catalog=catalog)
    erred = make_droplet(project=world.project, catalog=catalog, state=State.ERRED, error_message="boom")
    started = timezone.now() - timedelta(hours=1)
    stuck = make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.UPDATING,
        operation="stop",
        operation_started=started,
        operation_deadline=started + timedelta(minutes=10),
    )
    busy = make_droplet(
        project=world.project,
        catalog=catalog,
        state=State.UPDATING,
        operation="restart",
        operation_started=timezone.now(),
        operation_deadline=timezone.now() + timedelta(minutes=10),
    )
    assert listed(operator_client, attention="erred") == [erred]
    assert listed(operator_client, attention="stuck") == [stuck]
    assert set(listed(operator_client, attention="in_flight")) == {stuck, busy}
    assert fine in listed(operator_client)


def test_the_list_filters_by_customer_project_region_and_settings(operator_client, world, catalog):
    here = make_droplet(project=world.project, catalog=catalog, region="nyc1", region_name="New York 1")
    other_project = make_project(customer=make_customer())
    there = make_droplet(project=other_project, catalog=catalog, region="ams3", region_name="Amsterdam 3")
    assert listed(operator_client, project__customer__id__exact=world.customer.pk) == [here]
    assert listed(operator_client, project__id__exact=other_project.pk) == [there]
    assert listed(operator_client, region_name="Amsterdam 3") == [there]
    assert set(listed(operator_client, service_settings__id__exact=catalog.service_settings.pk)) == {
        here,
        there,
    }


def test_a_row_shows_the_operation_the_error_on_hover_and_since_when(operator_client, world, catalog):
    long_error = "DigitalOcean rejected the request: " + "x" * 200
    erred = make_droplet(project=world.project, catalog=catalog, state=State.ERRED, error_message=long_error)
    services.droplet_set_erred(droplet=erred, message=long_error)
    busy = make_droplet(project=world.project, catalog=catalog)
    services.droplet_stop(droplet=busy)

    page = operator_client.get(CHANGELIST).content.decode()
    assert f'title="{long_error}"' in page and long_error not in page.replace(f'title="{long_error}"', "")
    assert "stop (nothing sent yet)" in page
    assert "0\xa0minutes" in page  # both entered their state just now (Django's timesince)
    assert "background:#c62828" in page and "background:#b26a00" in page  # erred red, scheduled amber


def test_resize_asks_for_the_size_then_schedules_each_droplet_or_says_why_not(
    operator_client, world, catalog, enqueued
):
    offline = make_droplet(project=world.project, catalog=catalog, runtime_state=RuntimeState.OFFLINE)
    online = make_droplet(project=world.project, catalog=catalog)

    form_page = run_action(operator_client, CHANGELIST, "droplet_resize", [offline, online])
    choices = dict(form_page.context["form"].fields["size"].choices)
    assert "s-4vcpu-8gb" in choices and "CPU" in choices["s-4vcpu-8gb"]

    with enqueued() as calls:
        response = operator_client.post(
            CHANGELIST,
            {
                "action": "droplet_resize",
                "_selected_action": [offline.pk, online.pk],
                "post": "yes",
                "size": "s-4vcpu-8gb",
            },
            follow=True,
        )
    assert set(shown_messages(response)) == {
        ("success", f"{offline.name}: resize scheduled."),
        ("error", f"{online.name}: Valid runtime states for operation: offline."),
    }
    offline.refresh_from_db()
    assert (offline.operation, offline.operation_params) == ("resize", {"size": "s-4vcpu-8gb", "disk": False})
    assert len(calls) == 1


def test_rename_takes_one_droplet_and_a_valid_name(operator_client, droplet, world, catalog, enqueued):
    other = make_droplet(project=world.project, catalog=catalog)
    two = operator_client.post(
        CHANGELIST,
        {"action": "droplet_update", "_selected_action": [droplet.pk, other.pk], "post": "yes", "name": "x"},
    )
    assert "Rename one droplet at a time" in two.content.decode()
    bad = operator_client.post(
        CHANGELIST,
        {"action": "droplet_update", "_selected_action": [droplet.pk], "post": "yes", "name": "no spaces"},
    )
    assert bad.context["form"].errors["name"]
    assert Droplet.objects.get(pk=droplet.pk).operation == ""

    with enqueued():
        response = operator_client.post(
            CHANGELIST,
            {
                "action": "droplet_update",
                "_selected_action": [droplet.pk],
                "post": "yes",
                "name": "web-renamed",
            },
            follow=True,
        )
    assert shown_messages(response) == [("success", "web-renamed: rename scheduled.")]
    assert Droplet.objects.get(pk=droplet.pk).operation_params["old_name"] == droplet.name


def test_a_droplets_page_tells_its_history_and_who_acted(operator_client, operator, droplet, enqueued):
    with enqueued():
        run_action(operator_client, CHANGELIST, "droplet_stop", [droplet])
    services.droplet_set_erred(
        droplet=Droplet.objects.get(pk=droplet.pk), message="disk full", actor=operator
    )

    page = operator_client.get(reverse("admin:droplets_droplet_change", args=[droplet.pk])).content.decode()
    history = page[page.index("droplet-history") :]
    assert history.index("resource_set_erred") < history.index("resource_stop_scheduled")  # newest first
    assert "disk full" in history and operator.username in history
    assert f"{EVENTS}?q={droplet.uuid.hex}" in page


def test_the_event_list_filters_and_finds_a_droplets_events(operator_client, droplet, world, catalog):
    services.droplet_stop(droplet=droplet)
    other = make_droplet(project=world.project, catalog=catalog)
    services.droplet_restart(droplet=other)

    found = operator_client.get(EVENTS, {"q": droplet.uuid.hex}).context["cl"].result_list
    assert [e.event_type for e in found] == ["resource_stop_scheduled"]
    by_type = (
        operator_client.get(EVENTS, {"event_type": "resource_restart_scheduled"}).context["cl"].result_list
    )
    assert [e.droplet_id for e in by_type] == [other.pk]
    event = found[0]
    assert operator_client.get(reverse("admin:events_event_change", args=[event.pk])).status_code == 200
    assert operator_client.post(reverse("admin:events_event_delete", args=[event.pk])).status_code == 403


def test_the_index_counts_what_needs_attention_with_links(operator_client, world, catalog):
    make_droplet(project=world.project, catalog=catalog)
    make_droplet(project=world.project, catalog=catalog, state=State.ERRED)
    make_droplet(project=world.project, catalog=catalog, state=State.ERRED)

    page = operator_client.get(reverse("admin:index")).content.decode()
    panel = page[page.index('id="droplet-dashboard"') :]
    assert "Droplets: 3" in panel
    assert f'href="{CHANGELIST}?attention=erred" style="color:#c62828;font-weight:bold">2<' in panel
    assert f'href="{CHANGELIST}?state__exact=OK">1<' in panel


def test_projects_customers_and_settings_link_to_their_droplets(operator_client, droplet, world):
    pages = {
        "project": ("admin:structure_project_change", world.project.pk, "project__id__exact"),
        "customer": ("admin:structure_customer_change", world.customer.pk, "project__customer__id__exact"),
        "settings": (
            "admin:structure_servicesettings_change",
            droplet.service_settings_id,
            "service_settings__id__exact",
        ),
    }
    for name, (route, pk, lookup) in pages.items():
        page = operator_client.get(reverse(route, args=[pk])).content.decode()
        link = f"{CHANGELIST}?{lookup}={pk}"
        assert f'<a href="{link}">1 droplet</a>' in page, name
        assert listed(operator_client, **{lookup: pk}) == [droplet], name
