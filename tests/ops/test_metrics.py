"""`/metrics` (waldur_do/metrics.py): who may scrape it, and that what it reports moves with what happens:
HTTP answers, DigitalOcean's answers and rate limits, droplets and operations by state."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from droplets import services
from droplets.models import Droplet
from droplets.states import State
from tests.fixtures.backend import make_droplet_on_do, run_operation
from tests.fixtures.factories import client_for, make_user


def scrape(client=None) -> dict:
    """The scraped samples: {(name, frozenset(labels.items())): value}."""
    response = (client or client_for(make_user(is_staff=True))).get("/metrics")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_only_operators_may_scrape(db, settings):
    anonymous = APIClient().get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"]
    member = client_for(make_user()).get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert member.status_code == 403
    assert client_for(make_user(is_staff=True)).get("/metrics").status_code == 200


def test_a_scraper_may_use_a_bearer_token_or_an_allowed_network(db, settings):
    settings.METRICS_BEARER_TOKEN = "scrape-me"
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me", **outside).status_code == 200
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 401
    assert APIClient().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert APIClient().get("/metrics", **outside).status_code == 401


def test_http_answers_are_counted_by_view_and_status(world):
    labels = {"view": "digitalocean-droplet-list", "method": "GET", "status": "200"}
    before = value(scrape(), "waldur_do_http_requests_total", **labels)
    world.client("member").get("/api/digitalocean-droplets/")
    world.client("member").get("/api/digitalocean-droplets/")
    world.client("member").get(f"/api/digitalocean-droplets/{'0' * 32}/")
    after = scrape()
    assert value(after, "waldur_do_http_requests_total", **labels) == before + 2
    assert (
        value(
            after,
            "waldur_do_http_requests_total",
            view="digitalocean-droplet-detail",
            method="GET",
            status="404",
        )
        >= 1
    )


def test_digitalocean_answers_and_rate_limit_waits_are_counted(emulator_server, emulated_catalog, project):
    droplet = make_droplet_on_do(emulator_server, emulated_catalog, project)
    kind = "POST /droplets/{id}/actions"
    before = scrape()
    emulator_server.control.add_faults(
        {"match": {"path_regex": r"/actions$"}, "when": {"times": 1}, "effect": "rate_limited"}
    )
    services.droplet_stop(droplet=droplet)
    run_operation(droplet)

    after = scrape()
    counted = "waldur_do_digitalocean_requests_total"
    assert (
        value(after, counted, kind=kind, outcome="429")
        == value(before, counted, kind=kind, outcome="429") + 1
    )
    assert (
        value(after, counted, kind=kind, outcome="ok") == value(before, counted, kind=kind, outcome="ok") + 1
    )
    waits = "waldur_do_digitalocean_rate_limit_waits_total"
    assert value(after, waits) == value(before, waits) + 1
    assert value(after, "waldur_do_digitalocean_rate_limit_wait_seconds_total") > 0


def test_droplets_and_operations_in_flight_are_read_from_the_database(world, emulated_catalog):
    from tests.fixtures.droplets import make_droplet

    make_droplet(project=world.project, catalog=emulated_catalog, state=State.ERRED)
    started = timezone.now() - timedelta(minutes=30)
    make_droplet(
        project=world.project,
        catalog=emulated_catalog,
        state=State.UPDATING,
        operation="stop",
        operation_started=started,
        operation_deadline=started + timedelta(minutes=10),
    )
    samples = scrape()
    assert value(samples, "waldur_do_droplets", state="ERRED") == 1
    assert value(samples, "waldur_do_droplets", state="UPDATING") == 1
    assert value(samples, "waldur_do_droplets", state="OK") == 0
    assert value(samples, "waldur_do_droplet_operations_in_flight", operation="stop", state="UPDATING") == 1
    assert value(samples, "waldur_do_droplet_operation_oldest_seconds", state="UPDATING") >= 30 * 60
    assert value(samples, "waldur_do_droplet_operations_stuck") == 1
    assert Droplet.objects.count() == 2


@pytest.mark.parametrize("path", ["/metrics"])
def test_metrics_are_not_in_the_api_schema(staff_client, path):
    assert path.encode() not in staff_client.get("/api/schema/").content
