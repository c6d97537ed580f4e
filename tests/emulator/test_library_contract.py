"""python-digitalocean 1.17.0 itself, unmodified, against the emulator over real HTTP.

Objects the library builds for us (the Action of ``power_off(return_dict=False)``) read the end point from
the environment, so the end point is set there as well as passed explicitly.
"""

from __future__ import annotations

import importlib
import json

import digitalocean
import pytest
import requests
from digitalocean.baseapi import DataReadError, JSONReadError, NotFoundError

from droplets.emulator.wsgi import token_fingerprint
from tests.fixtures.emulator import RunningEmulator

CREATE = {"name": "web-1", "region": "nyc3", "size_slug": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}
TEST_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")


@pytest.fixture
def cloud(emulator_server: RunningEmulator, monkeypatch) -> RunningEmulator:
    monkeypatch.setenv("DIGITALOCEAN_END_POINT", emulator_server.url)
    monkeypatch.setenv("PYTHON_DIGITALOCEAN_REQUEST_TIMEOUT_SEC", "5")
    return emulator_server


@pytest.fixture
def no_wait_sleep(monkeypatch) -> None:
    """Action.wait() sleeps a second between its 21 polls; the emulator's clock makes that unnecessary."""
    monkeypatch.setattr(importlib.import_module("digitalocean.Action"), "sleep", lambda seconds: None)


def manager(cloud: RunningEmulator) -> digitalocean.Manager:
    return digitalocean.Manager(token=cloud.token, end_point=cloud.url)


def new_droplet(cloud: RunningEmulator, **overrides) -> digitalocean.Droplet:
    """A created droplet whose create action has completed (time_scale 0)."""
    droplet = digitalocean.Droplet(token=cloud.token, end_point=cloud.url, **{**CREATE, **overrides})
    droplet.create()
    action = digitalocean.Action(token=cloud.token, end_point=cloud.url, id=droplet.action_ids[0])
    action.load()
    assert action.wait(update_every_seconds=0)
    return droplet.load()


def test_catalog_and_account(cloud):
    do = manager(cloud)
    assert do.get_account().email == "sammy@example.com"
    assert {region.slug for region in do.get_all_regions()} >= {"nyc1", "nyc3", "nyc2"}
    assert "s-1vcpu-1gb" in {size.slug for size in do.get_all_sizes()}
    assert do.get_image("ubuntu-24-04-x64").distribution == "Ubuntu"
    assert [image.id for image in do.get_my_images()] == [170001234]


def test_create_completes_to_active_with_an_ipv4_address(cloud):
    droplet = new_droplet(cloud)
    assert droplet.status == "active"
    assert droplet.ip_address.startswith(TEST_NETS)
    assert droplet.private_ip_address.startswith("10.")
    assert droplet.locked is False


def test_power_off_then_on_reboot_and_rename(cloud):
    droplet = new_droplet(cloud)
    assert droplet.power_off(return_dict=False).wait(update_every_seconds=0)
    assert droplet.load().status == "off"
    assert droplet.power_on(return_dict=False).wait(update_every_seconds=0)
    assert droplet.load().status == "active"
    assert droplet.reboot(return_dict=False).wait(update_every_seconds=0)
    assert droplet.load().status == "active"
    assert droplet.rename("renamed.example.com", return_dict=False).wait(update_every_seconds=0)
    assert droplet.load().name == "renamed.example.com"


def test_resize_needs_the_droplet_off_and_changes_the_disk_only_when_asked(cloud):
    droplet = new_droplet(cloud)
    with pytest.raises(
        DataReadError, match=r"^Droplet is currently on\. Please power it off to run this event\.$"
    ):
        droplet.resize("s-1vcpu-2gb")
    droplet.power_off(return_dict=False).wait(update_every_seconds=0)

    assert droplet.resize("s-1vcpu-2gb", disk=False, return_dict=False).wait(update_every_seconds=0)
    droplet.load()
    assert (droplet.size_slug, droplet.memory, droplet.vcpus, droplet.disk) == ("s-1vcpu-2gb", 2048, 1, 25)

    assert droplet.resize("s-2vcpu-4gb", return_dict=False).wait(update_every_seconds=0)
    droplet.load()
    assert (droplet.size_slug, droplet.memory, droplet.disk) == ("s-2vcpu-4gb", 4096, 80)


def test_destroy_then_load_is_not_found(cloud):
    droplet = new_droplet(cloud)
    assert droplet.destroy() is True
    with pytest.raises(NotFoundError):
        droplet.load()


def test_a_second_action_while_one_is_pending_is_refused(cloud):
    droplet = new_droplet(cloud)
    cloud.control.configure(time_scale=1)
    droplet.reboot()
    with pytest.raises(DataReadError, match=r"^Droplet already has a pending event\.$"):
        droplet.power_off()


def test_get_all_droplets_follows_every_page(cloud):
    cloud.control.configure(max_per_page=2)
    ids = [cloud.core.seed_droplet(name=f"d{index}")["id"] for index in range(5)]
    cloud.control.clear_requests()

    assert [droplet.id for droplet in manager(cloud).get_all_droplets()] == ids
    pages = [entry["query"].get("page") for entry in cloud.control.requests()]
    assert pages == [None, "2", "3"]


def test_a_429_on_page_two_silently_truncates_the_listing(cloud):
    """The library does not check later pages: the project's sync must compare meta.total itself."""
    cloud.control.configure(max_per_page=2)
    for index in range(5):
        cloud.core.seed_droplet(name=f"d{index}")
    cloud.control.add_faults(
        {"match": {"path_regex": "^/v2/droplets$", "page_gte": 2}, "effect": "rate_limited"}
    )
    assert len(manager(cloud).get_all_droplets()) == 2


def test_rate_limit_is_data_read_error(cloud):
    cloud.control.configure(rate_limit=2)
    do = manager(cloud)
    do.get_account()
    do.get_account()
    with pytest.raises(DataReadError, match=r"^API Rate limit exceeded\.$"):
        do.get_account()


@pytest.mark.parametrize(
    ("preset", "error"),
    [
        ("rate_limited", DataReadError),
        ("server_error", DataReadError),
        ("unauthorized", DataReadError),
        ("not_found", NotFoundError),
        ("bad_gateway_html", JSONReadError),
        ("empty_5xx", JSONReadError),
        # The library indexes [id, message][1]: a body without "id" crashes it. The project must guard this.
        ("malformed_error", IndexError),
    ],
)
def test_fault_presets_raise_what_the_library_raises(cloud, preset, error):
    cloud.control.add_faults({"effect": preset, "when": {"times": 1}})
    with pytest.raises(error):
        manager(cloud).get_account()
    assert manager(cloud).get_account().email == "sammy@example.com"


@pytest.mark.parametrize(
    ("effect", "error"),
    [
        ("drop_connection", requests.exceptions.ConnectionError),
        ("truncate_body", requests.exceptions.ChunkedEncodingError),
        ({"latency_ms": 1500}, requests.exceptions.ReadTimeout),
    ],
)
def test_connection_faults_raise_requests_errors(cloud, monkeypatch, effect, error):
    monkeypatch.setenv("PYTHON_DIGITALOCEAN_REQUEST_TIMEOUT_SEC", "0.3")
    cloud.control.add_faults(
        {"match": {"path_regex": "^/v2/account$"}, "effect": effect, "when": {"times": 1}}
    )
    with pytest.raises(error):
        manager(cloud).get_account()


def test_a_dropped_create_creates_nothing(cloud):
    cloud.control.add_faults({"match": {"method": "POST"}, "effect": "drop_connection", "when": {"times": 1}})
    with pytest.raises(requests.exceptions.ConnectionError):
        digitalocean.Droplet(token=cloud.token, end_point=cloud.url, **CREATE).create()
    assert manager(cloud).get_all_droplets() == []


def test_an_errored_action_makes_wait_false_and_leaves_the_droplet(cloud):
    droplet = new_droplet(cloud)
    cloud.control.add_faults({"match": {"action_type": "power_off"}, "effect": "action_errored"})
    action = droplet.power_off(return_dict=False)
    assert action.wait(update_every_seconds=0) is False
    assert action.status == "errored"
    droplet.load()
    assert (droplet.status, droplet.locked) == ("active", False)


def test_a_stuck_action_makes_wait_time_out(cloud, no_wait_sleep):
    droplet = new_droplet(cloud)
    cloud.control.add_faults({"effect": "stuck_action"})
    action = droplet.power_off(return_dict=False)
    assert action.wait() is False
    assert action.status == "in-progress"
    cloud.control.complete_actions()
    action.load()
    assert action.status == "completed"
    assert droplet.load().status == "off"


def test_shutdown_noop_completes_while_the_droplet_stays_on(cloud):
    droplet = new_droplet(cloud)
    cloud.control.add_faults({"effect": "shutdown_noop"})
    assert droplet.shutdown(return_dict=False).wait(update_every_seconds=0)
    assert droplet.load().status == "active"


def test_out_of_band_drift_is_what_the_library_then_reads(cloud):
    droplet = new_droplet(cloud)
    cloud.control.out_of_band(droplet.id, status="off", size_slug="s-2vcpu-2gb")
    droplet.load()
    assert (droplet.status, droplet.size_slug) == ("off", "s-2vcpu-2gb")
    cloud.control.out_of_band(droplet.id, delete=True)
    with pytest.raises(NotFoundError):
        droplet.load()


def test_ssh_keys_through_the_library(cloud):
    key = digitalocean.SSHKey(
        token=cloud.token,
        end_point=cloud.url,
        name="laptop",
        public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILKl5piuqVaorZ6ytHTlwNeoBqpSpbzdtEh450ixfL4 test",
    )
    key.create()
    loaded = digitalocean.SSHKey(token=cloud.token, end_point=cloud.url, id=key.id)
    loaded.load()
    assert loaded.fingerprint == "72:32:9c:0e:41:e0:d7:a6:98:e9:1a:ed:e8:62:ac:02"
    assert len(manager(cloud).get_all_sshkeys()) == 2
    assert loaded.destroy() is True
    invalid = digitalocean.SSHKey(
        token=cloud.token, end_point=cloud.url, name="bad", public_key="ssh-rsa nope"
    )
    with pytest.raises(DataReadError):
        invalid.create()


def test_the_request_log_shows_the_bodies_the_library_is_known_to_send(cloud):
    droplet = new_droplet(cloud, ssh_keys=[512189])
    droplet.power_off(return_dict=False).wait(update_every_seconds=0)
    droplet.resize("s-1vcpu-2gb")
    droplet.destroy()
    log = cloud.control.requests()

    create = next(entry for entry in log if entry["method"] == "POST" and entry["path"] == "/v2/droplets/")
    assert create["body"] == {
        "name": "web-1",
        "size": "s-1vcpu-1gb",
        "image": "ubuntu-24-04-x64",
        "region": "nyc3",
        "ssh_keys": [512189],
        "backups": False,
        "ipv6": False,
        "private_networking": False,
        "volumes": [],
        "tags": [],
        "monitoring": False,
        "vpc_uuid": None,
    }
    resize = next(entry for entry in log if (entry["body"] or {}).get("type") == "resize")
    assert resize["body"] == {"type": "resize", "size": "s-1vcpu-2gb", "disk": "true"}
    delete = next(entry for entry in log if entry["method"] == "DELETE")
    assert (delete["path"], delete["body"], delete["status"]) == (f"/v2/droplets/{droplet.id}", {}, 204)
    assert all(entry["query"]["per_page"] == "200" for entry in log if entry["method"] == "GET")
    assert {entry["token_fingerprint"] for entry in log} == {token_fingerprint(cloud.token)}
    assert cloud.token not in json.dumps(log)  # the log is served without authentication
