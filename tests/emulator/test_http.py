"""The emulator over WSGI: routing, DigitalOcean's response shapes, errors, headers, faults, control plane.

The ``emulator`` fixture validates every /v2 response against the OpenAPI subset and fails on a violation.
"""

from __future__ import annotations

import time
import uuid

import pytest

from droplets.emulator.clock import VirtualClock
from droplets.emulator.config import EmulatorConfig
from droplets.emulator.core import EmulatorCore
from droplets.emulator.validation import ResponseValidationFailed, spec_path
from droplets.emulator.wsgi import ConnectionFaultWithoutSocket, EmulatorApp
from tests.fixtures.emulator import InProcessEmulator

CREATE = {"name": "web-1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}
NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILKl5piuqVaorZ6ytHTlwNeoBqpSpbzdtEh450ixfL4 test"


def assert_do_error(response, status: int, error_id: str, message: str | None = None) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json
    assert body["id"] == error_id
    assert body["request_id"] == response.headers["x-request-id"]
    uuid.UUID(body["request_id"])
    if message is not None:
        assert body["message"] == message


def create(emulator: InProcessEmulator, **overrides) -> dict:
    response = emulator.post("/v2/droplets/", json={**CREATE, **overrides})
    assert response.status_code == 202, response.json
    return response.json


class TestRouting:
    @pytest.mark.parametrize(
        "path",
        [
            "/v2/account",
            "/v2/account/keys",
            "/v2/account/keys/512189",
            "/v2/account/keys/95:ec:4d:da:de:f5:29:6e:83:da:c1:f0:6d:36:3a:03",
            "/v2/regions",
            "/v2/sizes",
            "/v2/images",
            "/v2/images/ubuntu-24-04-x64",
            "/v2/images/170001234",
            "/v2/droplets",
            "/v2/actions",
        ],
    )
    @pytest.mark.parametrize("trailing_slash", ["", "/"])
    def test_every_read_endpoint_answers_with_and_without_a_trailing_slash(
        self, emulator, path, trailing_slash
    ):
        # python-digitalocean adds per_page=200 even to single-object GETs, with a JSON content type.
        response = emulator.get(path + trailing_slash + "?per_page=200", content_type="application/json")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        for header in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
            assert response.headers[header].isdigit()
        uuid.UUID(response.headers["x-request-id"])

    def test_droplet_and_action_paths(self, emulator):
        created = create(emulator)
        droplet_id, action_id = created["droplet"]["id"], created["links"]["actions"][0]["id"]
        for path in (
            f"/v2/droplets/{droplet_id}/",
            f"/v2/droplets/{droplet_id}/actions/",
            f"/v2/droplets/{droplet_id}/actions/{action_id}/",
            f"/v2/actions/{action_id}",
        ):
            assert emulator.get(path).status_code == 200, path

    def test_unknown_paths_and_ids_are_404_in_do_shape(self, emulator):
        assert_do_error(emulator.get("/v2/volumes"), 404, "not_found")
        assert_do_error(emulator.get("/v2/droplets/1"), 404, "not_found")
        assert_do_error(emulator.get("/v2/droplets/1/actions"), 404, "not_found")
        assert_do_error(emulator.get("/v2/images/no-such-image"), 404, "not_found")

    def test_a_wrong_method_is_405_with_id_and_message(self, emulator):
        assert_do_error(emulator.put("/v2/droplets/"), 405, "method_not_allowed")


class TestAuth:
    def test_a_missing_token_is_401(self, emulator):
        response = emulator.get("/v2/account", token=None)
        assert_do_error(response, 401, "unauthorized", "Unable to authenticate you.")
        assert response.headers["ratelimit-limit"] == "5000"

    def test_configured_tokens_restrict_access(self, emulator):
        emulator.core.configure({"tokens": "alpha,beta"})
        assert emulator.get("/v2/account", token="beta").status_code == 200
        assert_do_error(emulator.get("/v2/account", token="gamma"), 401, "unauthorized")


class TestPagination:
    @pytest.fixture
    def five_droplets(self, emulator) -> list[int]:
        return [emulator.core.seed_droplet(name=f"d{i}", tags=["web"])["id"] for i in range(5)]

    def test_links_are_absolute_and_keep_the_query(self, emulator, five_droplets):
        first = emulator.get("/v2/droplets/?per_page=2&tag_name=web").json
        assert [d["id"] for d in first["droplets"]] == five_droplets[:2]
        assert first["meta"] == {"total": 5}
        assert first["links"] == {
            "pages": {
                "last": "http://localhost/v2/droplets?page=3&per_page=2&tag_name=web",
                "next": "http://localhost/v2/droplets?page=2&per_page=2&tag_name=web",
            }
        }
        last = emulator.get("/v2/droplets?per_page=2&tag_name=web&page=3").json
        assert [d["id"] for d in last["droplets"]] == five_droplets[4:]
        assert last["links"]["pages"] == {
            "first": "http://localhost/v2/droplets?page=1&per_page=2&tag_name=web",
            "prev": "http://localhost/v2/droplets?page=2&per_page=2&tag_name=web",
        }

    def test_one_page_has_empty_links(self, emulator, five_droplets):
        assert emulator.get("/v2/droplets?per_page=200").json["links"] == {}

    def test_max_per_page_forces_pages_even_when_200_are_asked_for(self, emulator, five_droplets):
        emulator.core.configure({"max_per_page": 2})
        body = emulator.get("/v2/droplets?per_page=200").json
        assert len(body["droplets"]) == 2
        assert body["links"]["pages"]["next"] == "http://localhost/v2/droplets?page=2&per_page=200"

    def test_public_url_builds_the_links(self, emulator, five_droplets):
        emulator.core.configure({"public_url": "https://do.example.test/"})
        body = emulator.get("/v2/droplets?per_page=2").json
        assert body["links"]["pages"]["next"].startswith("https://do.example.test/v2/droplets?page=2")

    @pytest.mark.parametrize(
        "query", ["per_page=abc", "per_page=0", "per_page=-3", "page=zero", "per_page=999"]
    )
    def test_bad_paging_values_are_clamped_not_refused(self, emulator, five_droplets, query):
        assert emulator.get(f"/v2/droplets?{query}").status_code == 200


class TestDroplets:
    def test_create_is_202_with_a_create_action_link(self, emulator):
        body = create(emulator, vpc_uuid=None, private_networking=True, ssh_keys=[512189])
        droplet = body["droplet"]
        assert (droplet["status"], droplet["locked"], droplet["networks"]) == (
            "new",
            True,
            {"v4": [], "v6": []},
        )
        [link] = body["links"]["actions"]
        assert link["rel"] == "create"
        assert link["href"] == f"http://localhost/v2/actions/{link['id']}"

    def test_create_many(self, emulator):
        body = {key: value for key, value in CREATE.items() if key != "name"}
        response = emulator.post("/v2/droplets", json={**body, "names": ["a", "b"]})
        assert response.status_code == 202
        assert [d["name"] for d in response.json["droplets"]] == ["a", "b"]
        assert len(response.json["links"]["actions"]) == 2

    def test_delete_is_204_with_a_content_type_and_accepts_a_body(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        response = emulator.delete(f"/v2/droplets/{droplet_id}/", json={})
        assert response.status_code == 204
        assert response.data == b""
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert_do_error(emulator.get(f"/v2/droplets/{droplet_id}"), 404, "not_found")

    def test_action_201_then_completed(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        response = emulator.post(f"/v2/droplets/{droplet_id}/actions/", json={"type": "power_off"})
        assert response.status_code == 201
        assert (response.json["action"]["status"], response.json["action"]["completed_at"]) == (
            "in-progress",
            None,
        )
        action = emulator.get(f"/v2/actions/{response.json['action']['id']}").json["action"]
        assert action["status"] == "completed"
        assert action["region"]["slug"] == action["region_slug"] == "nyc3"


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "status", "error_id", "message"),
        [
            (b'{"name": "web-1",', 400, "bad_request", None),
            (b"[1, 2]", 400, "bad_request", "The request body must be a JSON object."),
            (b'{"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}', 422, "unprocessable_entity", None),
            (
                b'{"name": "w", "size": "m-64", "image": "ubuntu-24-04-x64"}',
                422,
                "unprocessable_entity",
                "You specified an invalid size for Droplet creation.",
            ),
            (
                b'{"name": "w", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "atlantis1"}',
                422,
                "unprocessable_entity",
                "You specified an invalid region for Droplet creation.",
            ),
            (
                b'{"name": "w", "size": "s-1vcpu-1gb", "image": "templeos"}',
                422,
                "unprocessable_entity",
                "You specified an invalid image for Droplet creation.",
            ),
            (
                b'{"name": "w", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "ssh_keys": ["643099"]}',
                422,
                "unprocessable_entity",
                '["643099"] are invalid key identifiers for Droplet creation.',
            ),
        ],
    )
    def test_create(self, emulator, body, status, error_id, message):
        response = emulator.post("/v2/droplets", data=body, content_type="application/json")
        assert_do_error(response, status, error_id, message)

    def test_a_second_action_while_one_is_pending(self, emulator):
        emulator.core.configure({"time_scale": 1})
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        assert emulator.post(f"/v2/droplets/{droplet_id}/actions", json={"type": "reboot"}).status_code == 201
        response = emulator.post(f"/v2/droplets/{droplet_id}/actions", json={"type": "power_off"})
        assert_do_error(response, 422, "unprocessable_entity", "Droplet already has a pending event.")

    def test_resize_while_on(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        body = {"type": "resize", "size": "s-2vcpu-4gb", "disk": "true"}
        response = emulator.post(f"/v2/droplets/{droplet_id}/actions", json=body)
        assert_do_error(
            response,
            422,
            "unprocessable_entity",
            "Droplet is currently on. Please power it off to run this event.",
        )

    def test_bad_ssh_keys(self, emulator):
        response = emulator.post("/v2/account/keys", json={"name": "k", "public_key": "ssh-rsa garbage"})
        assert_do_error(response, 422, "unprocessable_entity")
        seed_key = emulator.get("/v2/account/keys/512189").json["ssh_key"]
        duplicate = emulator.post(
            "/v2/account/keys", json={"name": "again", "public_key": seed_key["public_key"]}
        )
        assert_do_error(duplicate, 422, "unprocessable_entity", "SSH Key is already in use on your account")


class TestSshKeysAndImages:
    def test_ssh_key_lifecycle(self, emulator):
        created = emulator.post("/v2/account/keys/", json={"name": "laptop", "public_key": NEW_KEY})
        assert created.status_code == 201
        key = created.json["ssh_key"]
        assert key["fingerprint"] == "72:32:9c:0e:41:e0:d7:a6:98:e9:1a:ed:e8:62:ac:02"
        renamed = emulator.put(f"/v2/account/keys/{key['fingerprint']}", json={"name": "desk"})
        assert renamed.json["ssh_key"]["name"] == "desk"
        assert emulator.get("/v2/account/keys").json["meta"]["total"] == 2
        assert emulator.delete(f"/v2/account/keys/{key['id']}/").status_code == 204
        assert_do_error(emulator.get(f"/v2/account/keys/{key['id']}"), 404, "not_found")

    @pytest.mark.parametrize(
        ("query", "slugs"),
        [
            ("type=distribution", ["ubuntu-22-04-x64", "ubuntu-24-04-x64", "debian-12-x64"]),
            ("type=application", ["docker-22-04"]),
            ("private=true", [None]),
        ],
    )
    def test_image_filters(self, emulator, query, slugs):
        assert [image["slug"] for image in emulator.get(f"/v2/images?{query}").json["images"]] == slugs

    def test_regions_include_an_unavailable_one(self, emulator):
        regions = {region["slug"]: region for region in emulator.get("/v2/regions").json["regions"]}
        assert regions["nyc2"]["available"] is False
        assert "s-4vcpu-8gb" not in regions["sgp1"]["sizes"]


class TestRateLimits:
    def test_over_the_limit_is_429_with_remaining_zero(self, emulator):
        emulator.core.configure({"rate_limit": 2})
        assert emulator.get("/v2/account").headers["ratelimit-remaining"] == "1"
        assert emulator.get("/v2/account").headers["ratelimit-remaining"] == "0"
        response = emulator.get("/v2/account")
        assert_do_error(response, 429, "too_many_requests", "API Rate limit exceeded.")
        assert response.headers["ratelimit-remaining"] == "0"
        assert "retry-after" not in response.headers
        assert emulator.get("/v2/account", token="another-token").status_code == 200
        emulator.core.advance_clock(3600)
        assert emulator.get("/v2/account").status_code == 200

    def test_the_burst_limit_sends_retry_after(self, emulator):
        emulator.core.configure({"burst_limit": 1, "burst_window_s": 60})
        emulator.get("/v2/account")
        response = emulator.get("/v2/account")
        assert_do_error(response, 429, "too_many_requests")
        assert response.headers["retry-after"] == "60"

    def test_the_ssh_keys_listing_limit(self, emulator):
        emulator.core.configure({"ssh_keys_limit": 1})
        assert emulator.get("/v2/account/keys").status_code == 200
        assert emulator.get("/v2/account/keys").status_code == 429
        assert emulator.get("/v2/account").status_code == 200

    def test_the_control_plane_is_not_counted(self, emulator):
        emulator.core.configure({"rate_limit": 1})
        emulator.get("/_emulator/state")
        assert emulator.get("/v2/account").status_code == 200


class TestInjectedFaults:
    @pytest.mark.parametrize(
        ("preset", "status", "content_type"),
        [
            ("rate_limited", 429, "application/json; charset=utf-8"),
            ("server_error", 500, "application/json; charset=utf-8"),
            ("unauthorized", 401, "application/json; charset=utf-8"),
            ("not_found", 404, "application/json; charset=utf-8"),
            ("bad_gateway_html", 502, "text/html"),
            ("malformed_error", 500, "application/json; charset=utf-8"),
            ("empty_5xx", 503, None),
        ],
    )
    def test_presets(self, emulator, preset, status, content_type):
        emulator.core.add_fault_rules([{"effect": preset, "when": {"times": 1}}])
        response = emulator.get("/v2/droplets")
        assert response.status_code == status
        assert response.headers.get("Content-Type") == content_type
        assert response.headers["ratelimit-limit"] == "5000"
        if preset == "malformed_error":
            assert "id" not in response.json
        if preset == "empty_5xx":
            assert response.data == b""
        assert emulator.get("/v2/droplets").status_code == 200

    def test_rate_limited_preset_carries_retry_after_and_remaining_zero(self, emulator):
        emulator.core.add_fault_rules([{"effect": "rate_limited"}])
        response = emulator.get("/v2/droplets")
        assert (response.headers["ratelimit-remaining"], response.headers["retry-after"]) == ("0", "60")

    def test_a_custom_reply(self, emulator):
        rule = {
            "match": {
                "method": "POST",
                "path_regex": "^/v2/droplets/\\d+/actions$",
                "action_type": "power_off",
            },
            "effect": {"status": 503, "body": {"id": "service_unavailable", "message": "Try later."}},
        }
        emulator.core.add_fault_rules([rule])
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        refused = emulator.post(f"/v2/droplets/{droplet_id}/actions", json={"type": "power_off"})
        assert_do_error(refused, 503, "service_unavailable", "Try later.")
        assert emulator.post(f"/v2/droplets/{droplet_id}/actions", json={"type": "reboot"}).status_code == 201

    def test_page_gte_matches_later_pages_only(self, emulator):
        for index in range(3):
            emulator.core.seed_droplet(name=f"d{index}")
        emulator.core.add_fault_rules([{"match": {"page_gte": 2}, "effect": "rate_limited"}])
        assert emulator.get("/v2/droplets?per_page=2").status_code == 200
        assert emulator.get("/v2/droplets?per_page=2&page=2").status_code == 429

    def test_latency(self, emulator):
        emulator.core.add_fault_rules([{"effect": {"latency_ms": [40, 60]}}])
        started = time.perf_counter()
        assert emulator.get("/v2/account").status_code == 200
        assert time.perf_counter() - started >= 0.04

    @pytest.mark.parametrize("effect", ["drop_connection", "truncate_body"])
    def test_connection_faults_need_a_socket(self, emulator, effect):
        emulator.core.add_fault_rules([{"effect": effect}])
        with pytest.raises(ConnectionFaultWithoutSocket):
            emulator.get("/v2/account")

    def test_faults_are_logged(self, emulator):
        emulator.core.add_fault_rules([{"effect": "server_error", "when": {"nth": [2]}}])
        emulator.get("/v2/account")
        emulator.get("/v2/account")
        assert [entry["fault"] for entry in emulator.core.request_log()] == [None, "server_error"]


class TestControlPlane:
    def test_state_reset_and_config(self, emulator):
        emulator.core.seed_droplet(name="d")
        state = emulator.get("/_emulator/state").json
        assert [d["name"] for d in state["droplets"]] == ["d"]
        assert state["config"]["time_scale"] == 0.0
        assert emulator.post("/_emulator/reset", json={"seed": 3}).status_code == 204
        assert emulator.get("/_emulator/state").json["droplets"] == []
        updated = emulator.put(
            "/_emulator/config", json={"max_per_page": 2, "action_durations": {"create": 9}}
        )
        assert updated.json["config"]["max_per_page"] == 2
        assert updated.json["config"]["action_durations"]["create"] == 9.0
        assert updated.json["config"]["action_durations"]["reboot"] == 3.0

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PUT", "/_emulator/config", {"colour": "red"}),
            ("PUT", "/_emulator/config", {"max_per_page": "many"}),
            ("PUT", "/_emulator/config", {"create_errored_outcome": "explode"}),
            ("POST", "/_emulator/faults", {"effect": "explode"}),
            ("POST", "/_emulator/clock/advance", {"seconds": -1}),
        ],
    )
    def test_bad_control_requests_are_400(self, emulator, method, path, body):
        response = emulator.request(method, path, json=body)
        assert response.status_code == 400
        assert response.json["id"] == "bad_request"

    def test_clock_actions_and_faults(self, emulator):
        emulator.core.configure({"time_scale": 1})
        created = create(emulator)
        action_id = created["links"]["actions"][0]["id"]
        now = emulator.post("/_emulator/clock/advance", json={"seconds": 4}).json["now"]
        assert now == emulator.core.clock.now()
        assert emulator.get(f"/v2/actions/{action_id}").json["action"]["status"] == "completed"

        emulator.post("/_emulator/faults", json={"rules": [{"effect": "stuck_action"}]})
        assert len(emulator.get("/_emulator/faults").json["rules"]) == 1
        stuck = emulator.post(f"/v2/droplets/{created['droplet']['id']}/actions", json={"type": "reboot"})
        completed = emulator.post("/_emulator/actions/complete").json["completed"]
        assert completed == [stuck.json["action"]["id"]]
        assert emulator.delete("/_emulator/faults").status_code == 204
        assert emulator.get("/_emulator/faults").json["rules"] == []

    def test_request_log(self, emulator):
        emulator.post("/v2/droplets", json=CREATE)
        [entry] = emulator.get("/_emulator/requests").json["requests"]
        assert (entry["method"], entry["path"], entry["status"], entry["body"]) == (
            "POST",
            "/v2/droplets",
            202,
            CREATE,
        )
        assert emulator.delete("/_emulator/requests").status_code == 204
        assert emulator.get("/_emulator/requests").json["requests"] == []

    def test_out_of_band(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        response = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"status": "off"})
        assert response.json["droplet"]["status"] == "off"
        assert emulator.get(f"/v2/droplets/{droplet_id}").json["droplet"]["status"] == "off"
        gone = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"delete": True})
        assert gone.status_code == 204
        missing = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"delete": True})
        assert missing.status_code == 404

    def test_an_event_digitalocean_starts_itself_locks_the_droplet_until_it_ends(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        emulator.core.add_fault_rules([{"match": {"action_type": "backup"}, "effect": "stuck_action"}])
        started = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"event": "backup"})
        assert started.status_code == 200
        refused = emulator.post(f"/v2/droplets/{droplet_id}/actions", json={"type": "shutdown"})
        assert (refused.status_code, refused.json["message"]) == (422, "Droplet already has a pending event.")
        actions = emulator.get(f"/v2/droplets/{droplet_id}/actions").json["actions"]
        assert [(a["type"], a["status"]) for a in actions] == [("backup", "in-progress")]
        again = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"event": "backup"})
        assert again.status_code == 400

    def test_an_unknown_event_is_refused(self, emulator):
        droplet_id = emulator.core.seed_droplet(name="d")["id"]
        refused = emulator.post(f"/_emulator/droplets/{droplet_id}/out-of-band", json={"event": "reboot"})
        assert refused.status_code == 400

    @pytest.mark.parametrize(
        ("preset", "status", "request_id"),
        [
            ("rate_limited_spec", 429, False),
            ("server_unavailable", 503, True),
            ("server_no_response", 500, False),
            ("unprocessable", 422, True),
        ],
    )
    def test_digitaloceans_other_wordings_are_served_and_fit_its_spec(
        self, emulator, preset, status, request_id
    ):
        emulator.core.add_fault_rules([{"effect": preset}])
        answer = emulator.get("/v2/account")
        assert answer.status_code == status
        assert set(answer.json) == ({"id", "message", "request_id"} if request_id else {"id", "message"})

    def test_unknown_control_paths_are_404(self, emulator):
        assert emulator.get("/_emulator/nothing").status_code == 404


class TestValidation:
    def test_the_spec_is_found(self):
        assert spec_path().name == "digitalocean-openapi.yaml"

    def test_a_response_that_breaks_the_spec_fails_loudly(self):
        core = EmulatorCore(EmulatorConfig(), clock=VirtualClock(source=lambda: 0.0))
        app = EmulatorApp(core, validate=True)
        # A JSON error body without "id" that is not the malformed_error preset: validation must catch it.
        core.add_fault_rules([{"effect": {"status": 500, "body": {"message": "no id"}}}])
        with pytest.raises(ResponseValidationFailed, match="'id' is a required property"):
            InProcessEmulator(app).get("/v2/account")
        assert len(app.validation_failures) == 1

    def test_the_spec_location_can_be_overridden(self, monkeypatch, tmp_path):
        monkeypatch.setenv("DOEMU_SPEC", str(tmp_path / "missing.yaml"))
        with pytest.raises(FileNotFoundError, match="DOEMU_SPEC"):
            spec_path()
