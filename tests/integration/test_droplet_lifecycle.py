"""A droplet's whole life through the API, a real worker and the emulator, as a user lives it."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration]


def is_settled(body):
    return body is not None and body["state"] in ("OK", "ERRED")


def _scrape(api) -> dict:
    response = api.get(f"{api.base_url}/metrics")
    assert response.status_code == 200, response.text[:300]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_create_stop_resize_start_restart_rename_delete(demo, celery_worker_process, caplog):
    api = demo.api
    metrics_before = _scrape(api)
    droplet = demo.create_droplet("web-1")
    assert droplet["state"] == "CREATION_SCHEDULED"
    url = droplet["url"]

    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"], droplet["error_message"]) == ("OK", "online", "")
    assert (
        droplet["backend_id"]
        and droplet["external_ips"]
        and droplet["access_url"] == droplet["external_ips"][0]
    )
    assert (droplet["cores"], droplet["ram"], droplet["disk"]) == (1, 1024, 25 * 1024)
    assert droplet["image_name"] == "Debian 12 x64"
    assert droplet["region_name"] == "New York 1"
    assert droplet["start_time"] is not None

    assert api.post(f"{url}stop/").status_code == 202
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"], droplet["start_time"]) == ("OK", "offline", None)

    resize = api.post(
        f"{url}resize/", {"size": demo.catalog_url("digitalocean-sizes", "s-2vcpu-2gb"), "disk": False}
    )
    assert resize.json() == {"status": "resize was scheduled", "disk": False}
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"]) == ("OK", "offline")
    assert (droplet["cores"], droplet["ram"], droplet["disk"]) == (2, 2048, 25 * 1024)  # the disk stays

    resize = api.post(
        f"{url}resize/", {"size": demo.catalog_url("digitalocean-sizes", "s-2vcpu-4gb"), "disk": True}
    )
    assert resize.status_code == 202, resize.text
    droplet = api.wait_for(url, is_settled)
    assert (droplet["cores"], droplet["ram"], droplet["disk"]) == (2, 4096, 80 * 1024)

    assert api.post(f"{url}start/").status_code == 202
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"]) == ("OK", "online")

    assert api.post(f"{url}restart/").json() == {"status": "restart was scheduled"}
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"]) == ("OK", "online")

    renamed = api.patch(url, {"name": "web-renamed"})
    assert renamed.json()["state"] == "UPDATE_SCHEDULED"
    droplet = api.wait_for(url, is_settled)
    assert droplet["state"] == "OK"
    assert demo.droplet_on_do(droplet["backend_id"])["name"] == "web-renamed"

    assert api.delete(url).status_code == 204
    api.wait_for(url, lambda body: body is None)
    assert demo.droplet_on_do(droplet["backend_id"]) is None

    # The history tells the whole life, from the API, after the droplet is gone.
    events = api.get("events/", params={"scope": url, "o": "created", "page_size": 100}).json()
    types = [event["event_type"] for event in events]
    for prefix in (
        "resource_creation",
        "resource_stop",
        "droplet_resize",
        "resource_start",
        "resource_update",
    ):
        assert f"{prefix}_scheduled" in types and f"{prefix}_succeeded" in types, (prefix, types)
    assert types[0] == "resource_creation_scheduled" and types[-1] == "resource_deletion_succeeded"
    # The worker's log lines name the droplet and the task they are about, and no token reaches any log.
    worker_log = celery_worker_process.output()
    ours = [line for line in worker_log.splitlines() if f"droplet_uuid={droplet['uuid']}" in line]
    stop_done = next(line for line in ours if "resource_stop_succeeded" in line)
    assert "operation=stop" in stop_done and "task_id=" in stop_done, stop_done
    user_token = api.session.headers["Authorization"].split()[1]
    for secret in (user_token, demo.emulator.token):
        assert secret not in worker_log
        assert secret not in caplog.text
    # What the worker counted reaches the web's /metrics (this test's process made no DigitalOcean call).
    metrics_after = _scrape(api)
    for name, labels in (
        ("waldur_do_celery_tasks_total", {"task": "droplets.advance", "outcome": "success"}),
        ("waldur_do_digitalocean_requests_total", {"kind": "POST /droplets", "outcome": "ok"}),
    ):
        key = (name, frozenset(labels.items()))
        assert metrics_after.get(key, 0) > metrics_before.get(key, 0), key


def test_pull_after_an_outside_change_then_an_errored_action(demo):
    api = demo.api
    url = demo.create_droplet("web-2")["url"]
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"]) == ("OK", "online")

    # Someone powers the droplet off and resizes it in DigitalOcean's own console.
    demo.emulator.control.out_of_band(int(droplet["backend_id"]), status="off", size_slug="s-2vcpu-2gb")
    assert api.post(f"{url}pull/").json() == {"detail": "Pull operation was successfully scheduled."}
    droplet = api.wait_for(url, is_settled)
    assert (droplet["state"], droplet["runtime_state"], droplet["cores"], droplet["ram"]) == (
        "OK",
        "offline",
        2,
        2048,
    )

    # DigitalOcean accepts the power-on but the action ends in error: the droplet says so at once.
    demo.emulator.control.add_faults({"match": {"action_type": "power_on"}, "effect": "action_errored"})
    assert api.post(f"{url}start/").status_code == 202
    droplet = api.wait_for(url, is_settled, timeout=10)
    assert droplet["state"] == "ERRED"
    assert droplet["runtime_state"] == "offline"
    assert droplet["error_message"] == "DigitalOcean could not start the droplet: its power_on action failed."

    # An erred droplet can still be deleted; DigitalOcean's 404 afterwards counts as gone.
    assert api.delete(url).status_code == 204
    api.wait_for(url, lambda body: body is None)
    assert demo.droplet_on_do(droplet["backend_id"]) is None
