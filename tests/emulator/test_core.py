"""Unit tests of the emulated cloud: state machine, clock, pagination, rate limits, faults, state file."""

from __future__ import annotations

import json
import random

import pytest

from droplets.emulator.clock import VirtualClock, isoformat
from droplets.emulator.config import EmulatorConfig
from droplets.emulator.core import (
    POWER_OFF_FIRST,
    POWER_ON_FIRST,
    ApiError,
    EmulatorCore,
    ssh_fingerprint,
)
from droplets.emulator.faults import RequestFacts, parse_rule
from droplets.emulator.ratelimit import RateLimiter, WindowLimit
from droplets.emulator.statefile import load_state, save_state

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SEED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYX7YQflN9kLKlDYhDUSN3gizo8I/C2aGcybeYfxBOe sammy@emulator"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILKl5piuqVaorZ6ytHTlwNeoBqpSpbzdtEh450ixfL4 test"
CREATE = {"name": "web-1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}
CREATE_MANY = {key: value for key, value in CREATE.items() if key != "name"}


@pytest.fixture
def core() -> EmulatorCore:
    """Real durations (time_scale 1) on a clock that moves only when the test advances it."""
    return EmulatorCore(EmulatorConfig(), clock=VirtualClock(source=lambda: T0))


def create_droplet(core: EmulatorCore, **overrides) -> tuple[dict, int]:
    [(droplet, action_id)] = core.create_droplets({**CREATE, **overrides})
    return droplet, action_id


def run_action(core: EmulatorCore, droplet_id: int, body: dict) -> dict:
    action = core.start_droplet_action(droplet_id, body)
    core.advance_clock(core.config.action_durations[body["type"]])
    return core.get_action(action["id"])


def error_of(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


class TestCreate:
    def test_a_new_droplet_is_locked_until_its_create_action_completes(self, core):
        droplet, action_id = create_droplet(core, ipv6=True)
        assert (droplet["status"], droplet["locked"], droplet["networks"]) == (
            "new",
            True,
            {"v4": [], "v6": []},
        )

        core.advance_clock(3.9)
        assert core.get_action(action_id)["status"] == "in-progress"
        core.advance_clock(0.1)

        loaded = core.get_droplet(droplet["id"])
        assert (loaded["status"], loaded["locked"]) == ("active", False)
        networks = {net["type"]: net["ip_address"] for net in loaded["networks"]["v4"]}
        assert networks["public"].startswith(("192.0.2.", "198.51.100.", "203.0.113."))
        assert networks["private"].startswith("10.")
        assert loaded["networks"]["v6"][0]["ip_address"].startswith("2001:db8::")
        assert loaded["features"] == ["private_networking", "ipv6"]
        action = core.get_action(action_id)
        assert action["status"] == "completed"
        assert action["completed_at"] == isoformat(T0 + 4)

    def test_vpc_uuid_null_gets_the_region_default_vpc(self, core):
        first, _ = create_droplet(core, vpc_uuid=None)
        second, _ = create_droplet(core, name="web-2")
        assert first["vpc_uuid"] == second["vpc_uuid"]

    def test_ids_grow_and_actions_share_one_sequence(self, core):
        (first, first_action), (second, second_action) = core.create_droplets(
            {**CREATE_MANY, "names": ["a", "b"]}
        )
        assert second["id"] == first["id"] + 1
        assert second_action == first_action + 1

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"size": "s-64vcpu"}, "You specified an invalid size for Droplet creation."),
            ({"image": "windows-11"}, "You specified an invalid image for Droplet creation."),
            ({"region": "mars1"}, "You specified an invalid region for Droplet creation."),
            ({"region": "nyc2"}, "Region nyc2 is not available for new Droplets."),
            ({"region": "sgp1", "size": "s-4vcpu-8gb"}, "Size s-4vcpu-8gb is not available in region sgp1."),
            ({"image": 170001234, "region": "fra1"}, "Image 170001234 is not available in region fra1."),
            ({"name": "bad name!"}, "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"),
            ({"ssh_keys": [643099]}, '["643099"] are invalid key identifiers for Droplet creation.'),
            ({"ssh_keys": ["aa:bb"]}, '["aa:bb"] are invalid key identifiers for Droplet creation.'),
        ],
    )
    def test_invalid_requests_are_422(self, core, overrides, message):
        error = error_of(core.create_droplets, {**CREATE, **overrides})
        assert (error.status, error.error_id, error.message) == (422, "unprocessable_entity", message)

    def test_ssh_keys_may_be_ids_numeric_strings_or_fingerprints(self, core):
        fingerprint = ssh_fingerprint(SEED_KEY)
        droplet, _ = create_droplet(core, ssh_keys=[512189, "512189", fingerprint])
        assert droplet["status"] == "new"

    def test_private_snapshots_are_found_by_id_only(self, core):
        assert create_droplet(core, image="170001234")[0]["image"]["public"] is False
        assert error_of(core.create_droplets, {**CREATE, "image": "web-base-2025-01"}).status == 422

    def test_the_droplet_limit_is_enforced(self, core):
        for index in range(25):
            core.seed_droplet(name=f"d{index}")
        error = error_of(core.create_droplets, CREATE)
        assert error.message == "creating this/these droplet(s) will exceed your droplet limit"

    def test_more_than_ten_names_are_refused(self, core):
        names = [f"n{i}" for i in range(11)]
        assert error_of(core.create_droplets, {**CREATE_MANY, "names": names}).status == 422


class TestActions:
    @pytest.mark.parametrize(
        ("action_type", "status_before", "status_after"),
        [
            ("power_off", "active", "off"),
            ("shutdown", "active", "off"),
            ("power_on", "off", "active"),
            ("reboot", "active", "active"),
            ("power_cycle", "active", "active"),
            ("power_cycle", "off", "active"),
            ("password_reset", "off", "off"),
        ],
    )
    def test_accepted_transitions(self, core, action_type, status_before, status_after):
        droplet = core.seed_droplet(name="d", status=status_before)
        started = core.start_droplet_action(droplet["id"], {"type": action_type})
        assert (started["status"], started["completed_at"]) == ("in-progress", None)
        assert core.get_droplet(droplet["id"])["locked"] is True

        core.advance_clock(core.config.action_durations[action_type])

        assert core.get_action(started["id"])["status"] == "completed"
        loaded = core.get_droplet(droplet["id"])
        assert (loaded["status"], loaded["locked"]) == (status_after, False)

    @pytest.mark.parametrize(
        ("action_type", "status", "message"),
        [
            ("power_on", "active", "Droplet is already powered on."),
            ("power_off", "off", "Droplet is already powered off."),
            ("shutdown", "off", "Droplet is already powered off."),
            ("reboot", "off", POWER_ON_FIRST),
            ("resize", "active", POWER_OFF_FIRST),
            ("snapshot", "active", POWER_OFF_FIRST),
            ("power_off", "new", "Droplet is new and cannot run a power_off event."),
        ],
    )
    def test_refused_transitions(self, core, action_type, status, message):
        droplet = core.seed_droplet(name="d", status=status)
        error = error_of(
            core.start_droplet_action, droplet["id"], {"type": action_type, "size": "s-2vcpu-4gb"}
        )
        assert (error.status, error.message) == (422, message)

    def test_a_second_action_while_one_is_pending_is_refused(self, core):
        droplet = core.seed_droplet(name="d")
        core.start_droplet_action(droplet["id"], {"type": "reboot"})
        error = error_of(core.start_droplet_action, droplet["id"], {"type": "power_off"})
        assert error.message == "Droplet already has a pending event."
        assert error_of(core.delete_droplet, droplet["id"]).message == "Droplet already has a pending event."

    def test_unknown_action_types_and_droplets(self, core):
        droplet = core.seed_droplet(name="d")
        assert error_of(core.start_droplet_action, droplet["id"], {"type": "explode"}).status == 422
        assert error_of(core.start_droplet_action, 1, {"type": "reboot"}).status == 404

    def test_idempotent_power_accepts_and_completes_at_once(self, core):
        core.configure({"idempotent_power": True})
        droplet = core.seed_droplet(name="d")
        action = core.start_droplet_action(droplet["id"], {"type": "power_on"})
        assert action["status"] == "completed"
        assert core.get_droplet(droplet["id"])["locked"] is False

    def test_actions_complete_in_start_order_on_the_virtual_clock(self, core):
        first, second = core.seed_droplet(name="a"), core.seed_droplet(name="b")
        slow = core.start_droplet_action(first["id"], {"type": "reboot"})  # 3 s
        core.advance_clock(1)
        fast = core.start_droplet_action(second["id"], {"type": "power_off"})  # 2 s, due at 3 s too
        core.advance_clock(10)
        assert core.get_action(slow["id"])["completed_at"] == isoformat(T0 + 3)
        assert core.get_action(fast["id"])["completed_at"] == isoformat(T0 + 3)
        assert [a["id"] for a in map(json.loads, core.list_actions(1, 20).items)] == [fast["id"], slow["id"]]

    def test_time_scale_zero_completes_on_the_next_request(self, core):
        core.configure({"time_scale": 0})
        droplet, _action_id = create_droplet(core)
        assert droplet["status"] == "new"
        assert core.get_droplet(droplet["id"])["status"] == "active"

    def test_rename_ipv6_backups(self, core):
        droplet = core.seed_droplet(name="d")
        run_action(core, droplet["id"], {"type": "rename", "name": "renamed.example.com"})
        run_action(core, droplet["id"], {"type": "enable_ipv6"})
        run_action(core, droplet["id"], {"type": "enable_backups"})
        loaded = core.get_droplet(droplet["id"])
        assert loaded["name"] == "renamed.example.com"
        assert set(loaded["features"]) == {"private_networking", "ipv6", "backups"}
        assert loaded["networks"]["v6"]
        assert loaded["next_backup_window"]["start"] == "2026-01-02T00:00:00Z"
        run_action(core, droplet["id"], {"type": "disable_backups"})
        assert core.get_droplet(droplet["id"])["next_backup_window"] is None
        error = error_of(core.start_droplet_action, droplet["id"], {"type": "rename", "name": "no spaces"})
        assert error.status == 422

    def test_snapshot_creates_a_private_image(self, core):
        droplet = core.seed_droplet(name="d", status="off")
        run_action(core, droplet["id"], {"type": "snapshot", "name": "before-upgrade"})
        [snapshot_id] = core.get_droplet(droplet["id"])["snapshot_ids"]
        image = core.get_image(str(snapshot_id))
        assert (image["name"], image["public"], image["type"]) == ("before-upgrade", False, "snapshot")

    def test_droplet_actions_are_listed_newest_first_and_scoped_to_the_droplet(self, core):
        droplet, create_action = create_droplet(core)
        core.advance_clock(4)
        power_off = run_action(core, droplet["id"], {"type": "power_off"})
        listed = [json.loads(item)["id"] for item in core.list_droplet_actions(droplet["id"], 1, 20).items]
        assert listed == [power_off["id"], create_action]
        assert core.get_droplet_action(droplet["id"], create_action)["type"] == "create"
        assert error_of(core.get_droplet_action, droplet["id"] + 1, create_action).status == 404


class TestResize:
    @pytest.fixture
    def off_droplet(self, core) -> dict:
        return core.seed_droplet(name="d", status="off")

    def test_cpu_and_ram_only_keeps_the_disk(self, core, off_droplet):
        run_action(core, off_droplet["id"], {"type": "resize", "size": "s-1vcpu-2gb"})
        loaded = core.get_droplet(off_droplet["id"])
        assert (loaded["size_slug"], loaded["memory"], loaded["disk"], loaded["status"]) == (
            "s-1vcpu-2gb",
            2048,
            25,
            "off",
        )

    @pytest.mark.parametrize("disk", [True, "true"])
    def test_disk_true_or_the_string_grows_the_disk_for_good(self, core, off_droplet, disk):
        run_action(core, off_droplet["id"], {"type": "resize", "size": "s-1vcpu-2gb", "disk": disk})
        assert core.get_droplet(off_droplet["id"])["disk"] == 50
        error = error_of(
            core.start_droplet_action, off_droplet["id"], {"type": "resize", "size": "s-1vcpu-1gb"}
        )
        assert error.message == "Size can not decrease size of Droplet's disk image"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"size": "s-1vcpu-1gb"}, "Droplet is already this size."),
            ({"size": "s-1vcpu-512mb-10gb"}, "Size can not decrease size of Droplet's disk image"),
            ({"size": "nope"}, "You specified an invalid size for Droplet resize."),
            ({"size": "s-1vcpu-2gb", "disk": "maybe"}, "disk must be true or false."),
        ],
    )
    def test_invalid_resizes(self, core, off_droplet, body, message):
        error = error_of(core.start_droplet_action, off_droplet["id"], {"type": "resize", **body})
        assert (error.status, error.message) == (422, message)

    def test_a_size_not_offered_in_the_region_is_refused(self, core):
        droplet = core.seed_droplet(name="d", region="sgp1", status="off")
        error = error_of(core.start_droplet_action, droplet["id"], {"type": "resize", "size": "s-4vcpu-8gb"})
        assert error.message == "Size s-4vcpu-8gb is not available in region sgp1."

    def test_auto_power_off_mode_resizes_an_active_droplet_and_powers_it_back_on(self, core):
        core.configure({"strict_resize": False})
        droplet = core.seed_droplet(name="d")
        core.start_droplet_action(droplet["id"], {"type": "resize", "size": "s-2vcpu-4gb"})
        assert core.get_droplet(droplet["id"])["status"] == "off"
        core.advance_clock(6)
        loaded = core.get_droplet(droplet["id"])
        assert (loaded["status"], loaded["size_slug"]) == ("active", "s-2vcpu-4gb")


class TestDelete:
    def test_delete_removes_the_droplet_and_records_a_destroy_action(self, core):
        droplet = core.seed_droplet(name="d")
        core.delete_droplet(droplet["id"])
        assert error_of(core.get_droplet, droplet["id"]).status == 404
        newest = json.loads(core.list_actions(1, 1).items[0])
        assert (newest["type"], newest["status"], newest["resource_id"]) == (
            "destroy",
            "completed",
            droplet["id"],
        )

    def test_delete_of_a_locked_droplet_can_be_allowed(self, core):
        core.configure({"reject_delete_while_locked": False})
        droplet, action_id = create_droplet(core)
        core.delete_droplet(droplet["id"])
        assert core.get_action(action_id)["status"] == "errored"


class TestPagination:
    def test_pages_are_stable_slices_in_id_order(self, core):
        ids = [core.seed_droplet(name=f"d{i}")["id"] for i in range(5)]

        def page_ids(page, per_page):
            listed = core.list_droplets(
                tag_name=None, name=None, droplet_type=None, page=page, per_page=per_page
            )
            return [json.loads(item)["id"] for item in listed.items], listed

        assert page_ids(1, 2)[0] == ids[:2]
        assert page_ids(3, 2)[0] == ids[4:]
        assert page_ids(9, 2)[0] == []
        _, listed = page_ids(1, 2)
        assert (listed.total, listed.last_page) == (5, 3)

    @pytest.mark.parametrize(
        ("requested", "max_per_page", "effective"), [(500, 200, 200), (0, 200, 1), (200, 2, 2)]
    )
    def test_per_page_is_clamped(self, core, requested, max_per_page, effective):
        core.configure({"max_per_page": max_per_page})
        assert core.list_regions(1, requested).per_page == effective

    def test_filters(self, core):
        web = core.seed_droplet(name="Web-1", tags=["web"])
        core.seed_droplet(name="db-1", tags=["db"])

        def ids(**filters):
            arguments = {"tag_name": None, "name": None, "droplet_type": None, **filters}
            return [
                json.loads(item)["id"] for item in core.list_droplets(page=1, per_page=20, **arguments).items
            ]

        assert ids(tag_name="web") == [web["id"]]
        assert ids(name="web-1") == [web["id"]]
        assert ids(droplet_type="gpus") == []

    def test_cached_listing_text_follows_changes(self, core):
        droplet = core.seed_droplet(name="d")
        core.list_droplets(tag_name=None, name=None, droplet_type=None, page=1, per_page=20)
        run_action(core, droplet["id"], {"type": "power_off"})
        listed = core.list_droplets(tag_name=None, name=None, droplet_type=None, page=1, per_page=20)
        assert json.loads(listed.items[0])["status"] == "off"


class TestClock:
    def test_it_only_moves_forward(self):
        clock = VirtualClock(source=lambda: T0)
        assert clock.advance(5) == T0 + 5
        with pytest.raises(ValueError):
            clock.advance(-1)

    def test_timestamps_are_whole_utc_seconds(self):
        assert isoformat(T0 + 0.9) == "2026-01-01T00:00:00Z"


class TestRateLimiter:
    MAIN = WindowLimit("main", 3, 10)

    def test_a_sliding_window_refuses_then_recovers(self):
        limiter = RateLimiter()
        verdicts = [limiter.acquire("t", self.MAIN, [], T0 + i) for i in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
        assert verdicts[0].reset == T0 + 10
        assert verdicts[3].retry_after is None
        assert limiter.acquire("t", self.MAIN, [], T0 + 10).allowed  # the first request expired
        assert limiter.acquire("other-token", self.MAIN, [], T0 + 3).allowed

    def test_the_burst_window_sends_retry_after(self):
        limiter = RateLimiter()
        burst = WindowLimit("burst", 1, 60)
        assert limiter.acquire("t", WindowLimit("main", 100, 3600), [burst], T0).allowed
        refused = limiter.acquire("t", WindowLimit("main", 100, 3600), [burst], T0 + 15)
        assert (refused.allowed, refused.retry_after, refused.remaining) == (False, 45, 0)


class TestFaultRules:
    FACTS = RequestFacts(method="GET", path="/v2/droplets", token="t", page=1, action_type=None)

    @pytest.mark.parametrize(
        "raw",
        [
            {},
            {"effect": "explode"},
            {"effect": "rate_limited", "match": {"colour": "red"}},
            {"effect": "action_errored", "match": {"path_regex": "x"}},
            {"effect": {"status": 200}},
            {"effect": {"latency_ms": [5, 1]}},
            {"effect": "rate_limited", "when": {"sometimes": True}},
            {"effect": "rate_limited", "match": {"path_regex": "("}},
        ],
    )
    def test_bad_rules_are_refused_with_a_reason(self, raw):
        with pytest.raises(ValueError):
            parse_rule(raw, 1)

    @pytest.mark.parametrize(
        ("when", "fired_on"),
        [
            ({}, [1, 2, 3, 4, 5, 6]),
            ({"nth": [2, 5]}, [2, 5]),
            ({"every": 3}, [3, 6]),
            ({"times": 2}, [1, 2]),
            ({"every": 2, "times": 2}, [2, 4]),
        ],
    )
    def test_when(self, when, fired_on):
        rule = parse_rule({"effect": "server_error", "when": when}, 1)
        rng = random.Random(0)
        assert [n for n in range(1, 7) if rule.fires(rng)] == fired_on

    def test_probability_uses_the_seeded_rng(self):
        def pattern():
            rule = parse_rule({"effect": "server_error", "when": {"probability": 0.5}}, 1)
            rng = random.Random(42)
            return [rule.fires(rng) for _ in range(20)]

        assert pattern() == pattern()
        assert 0 < sum(pattern()) < 20

    @pytest.mark.parametrize(
        ("match", "matches"),
        [
            ({"method": "get", "path_regex": "^/v2/droplets$"}, True),
            ({"method": "POST"}, False),
            ({"page_gte": 2}, False),
            ({"token": "other"}, False),
        ],
    )
    def test_matching(self, match, matches):
        assert (
            parse_rule({"effect": "rate_limited", "match": match}, 1).matches_request(self.FACTS) is matches
        )

    def test_latency_accumulates_and_the_first_terminal_rule_wins(self, core):
        core.add_fault_rules(
            [{"effect": {"latency_ms": 30}}, {"effect": "server_error"}, {"effect": "not_found"}]
        )
        latency_s, effect = core.plan_request_faults(self.FACTS)
        assert (latency_s, effect.preset) == (0.03, "server_error")
        assert [rule["seen"] for rule in core.fault_rules()] == [1, 1, 0]

    def test_one_bad_rule_adds_none(self, core):
        with pytest.raises(ValueError):
            core.add_fault_rules([{"effect": "server_error"}, {"effect": "explode"}])
        assert core.fault_rules() == []


class TestActionFaults:
    def test_action_errored_leaves_the_droplet_unchanged_and_unlocked(self, core):
        core.add_fault_rules([{"match": {"action_type": "power_off"}, "effect": "action_errored"}])
        droplet = core.seed_droplet(name="d")
        action = run_action(core, droplet["id"], {"type": "power_off"})
        assert (action["status"], action["completed_at"]) == ("errored", isoformat(T0 + 2))
        loaded = core.get_droplet(droplet["id"])
        assert (loaded["status"], loaded["locked"]) == ("active", False)

    def test_stuck_actions_wait_for_actions_complete(self, core):
        core.add_fault_rules([{"effect": "stuck_action", "when": {"times": 1}}])
        droplet = core.seed_droplet(name="d")
        action = run_action(core, droplet["id"], {"type": "power_off"})
        core.advance_clock(3600)
        assert core.get_action(action["id"])["status"] == "in-progress"
        assert core.complete_pending_actions() == [action["id"]]
        assert core.get_droplet(droplet["id"])["status"] == "off"

    def test_clearing_the_rules_releases_stuck_actions(self, core):
        core.add_fault_rules([{"effect": "stuck_action"}])
        droplet = core.seed_droplet(name="d")
        action = run_action(core, droplet["id"], {"type": "reboot"})
        core.clear_fault_rules()
        assert core.get_action(action["id"])["status"] == "completed"

    @pytest.mark.parametrize(("outcome", "status"), [("off", "off"), ("vanish", None)])
    def test_create_errored(self, core, outcome, status):
        core.configure({"create_errored_outcome": outcome})
        core.add_fault_rules([{"effect": "create_errored"}])
        droplet, action_id = create_droplet(core)
        core.advance_clock(4)
        assert core.get_action(action_id)["status"] == "errored"
        if status is None:
            assert error_of(core.get_droplet, droplet["id"]).status == 404
        else:
            assert core.get_droplet(droplet["id"])["status"] == status

    def test_shutdown_noop_completes_but_the_droplet_stays_on(self, core):
        core.add_fault_rules([{"effect": "shutdown_noop"}])
        droplet = core.seed_droplet(name="d")
        assert run_action(core, droplet["id"], {"type": "shutdown"})["status"] == "completed"
        assert core.get_droplet(droplet["id"])["status"] == "active"

    def test_status_lag_shows_the_old_status_for_a_while(self, core):
        core.add_fault_rules([{"effect": {"status_lag_s": 5}}])
        droplet = core.seed_droplet(name="d")
        run_action(core, droplet["id"], {"type": "power_off"})
        assert core.get_droplet(droplet["id"])["status"] == "active"
        listed = core.list_droplets(tag_name=None, name=None, droplet_type=None, page=1, per_page=20)
        assert json.loads(listed.items[0])["status"] == "active"
        core.advance_clock(5)
        assert core.get_droplet(droplet["id"])["status"] == "off"

    def test_delete_lag_keeps_an_archived_droplet_listed(self, core):
        core.add_fault_rules([{"effect": {"delete_lag_s": 10}}])
        droplet = core.seed_droplet(name="d")
        core.delete_droplet(droplet["id"])
        assert core.get_droplet(droplet["id"])["status"] == "archive"
        assert error_of(core.start_droplet_action, droplet["id"], {"type": "reboot"}).status == 404
        core.advance_clock(10)
        assert error_of(core.get_droplet, droplet["id"]).status == 404


class TestOutOfBand:
    def test_drift_behind_the_apps_back(self, core):
        droplet = core.seed_droplet(name="d")
        drifted = core.out_of_band(droplet["id"], {"status": "off", "size_slug": "s-2vcpu-4gb"})
        assert (drifted["status"], drifted["size_slug"], drifted["memory"], drifted["disk"]) == (
            "off",
            "s-2vcpu-4gb",
            4096,
            25,
        )
        assert core.out_of_band(droplet["id"], {"delete": True}) is None
        assert error_of(core.get_droplet, droplet["id"]).status == 404

    @pytest.mark.parametrize("changes", [{"status": "exploded"}, {"size_slug": "huge"}, {"colour": "red"}])
    def test_bad_drift_is_refused(self, core, changes):
        droplet = core.seed_droplet(name="d")
        with pytest.raises(ValueError):
            core.out_of_band(droplet["id"], changes)


class TestSshKeys:
    def test_fingerprint_matches_ssh_keygen(self):
        # `ssh-keygen -l -E md5` on these keys.
        assert ssh_fingerprint(SEED_KEY) == "95:ec:4d:da:de:f5:29:6e:83:da:c1:f0:6d:36:3a:03"
        assert ssh_fingerprint(OTHER_KEY) == "72:32:9c:0e:41:e0:d7:a6:98:e9:1a:ed:e8:62:ac:02"

    @pytest.mark.parametrize(
        "public_key", ["", "ssh-rsa", "ssh-rsa not-base64!", "ssh-rsa " + OTHER_KEY.split()[1], None]
    )
    def test_invalid_keys(self, public_key):
        with pytest.raises(ValueError):
            ssh_fingerprint(public_key)

    def test_create_find_update_delete(self, core):
        key = core.create_ssh_key({"name": "laptop", "public_key": OTHER_KEY})
        assert core.get_ssh_key(key["fingerprint"]) == core.get_ssh_key(str(key["id"]))
        assert core.update_ssh_key(key["fingerprint"], {"name": "desk"})["name"] == "desk"
        assert error_of(core.create_ssh_key, {"name": "again", "public_key": OTHER_KEY}).message == (
            "SSH Key is already in use on your account"
        )
        core.delete_ssh_key(str(key["id"]))
        assert error_of(core.get_ssh_key, str(key["id"])).status == 404


class TestStateFile:
    def test_a_restart_keeps_droplets_actions_and_pending_work(self, core, tmp_path):
        finished = core.seed_droplet(name="done", tags=["keep"])
        pending, action_id = create_droplet(core, name="pending")
        core.create_ssh_key({"name": "laptop", "public_key": OTHER_KEY})
        state_file = tmp_path / "state.json"
        save_state(core, state_file)

        restarted = EmulatorCore(EmulatorConfig(), clock=VirtualClock(source=lambda: T0))
        assert load_state(restarted, state_file)
        assert restarted.get_droplet(finished["id"]) == core.get_droplet(finished["id"])
        assert restarted.get_action(action_id)["status"] == "in-progress"
        restarted.advance_clock(4)
        assert restarted.get_droplet(pending["id"])["status"] == "active"
        assert len(restarted.list_ssh_keys(1, 20).items) == 2
        assert restarted.create_droplets({**CREATE, "name": "next"})[0][0]["id"] == pending["id"] + 1

    def test_a_missing_file_is_a_fresh_start(self, core, tmp_path):
        assert load_state(core, tmp_path / "absent.json") is False

    def test_reset_returns_to_the_seed(self, core):
        core.seed_droplet(name="d")
        core.add_fault_rules([{"effect": "server_error"}])
        core.reset(seed=7)
        assert core.list_droplets(tag_name=None, name=None, droplet_type=None, page=1, per_page=20).total == 0
        assert core.fault_rules() == []
        assert core.config.seed == 7
