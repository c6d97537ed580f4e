"""The backend adapter over the real python-digitalocean and real HTTP: every library failure leaves it as
one of backend.errors, every request goes where the service settings say with their token, and a listing
cut short is never passed off as whole."""

import json
import socket
import time

import pytest
import requests
from werkzeug.wrappers import Response

from droplets.backend import errors, get_backend
from droplets.backend.base import SshKeySpec
from droplets.backend.digitalocean import DigitalOceanBackend
from droplets.emulator.core import ssh_fingerprint
from droplets.emulator.server import BackgroundServer
from droplets.emulator.wsgi import token_fingerprint
from tests.fixtures.backend import OTHER_TOKEN, make_backend, make_emulated_settings
from tests.fixtures.ssh_keys import generate_public_key

DROPLET_PATH = r"^/v2/droplets/\d+$"
SECRET = "s3cret-token-never-shown"


def _seed(emulator, **fields) -> str:
    return str(emulator.core.seed_droplet(name="web-1", **fields)["id"])


@pytest.mark.parametrize(
    ("effect", "error", "message"),
    [
        (
            "rate_limited",
            errors.RateLimitedError,
            "DigitalOcean's API rate limit for this account is exhausted.",
        ),
        (
            "server_error",
            errors.TransientError,
            "DigitalOcean had an internal error (500): Unexpected server-side error",
        ),
        (
            "bad_gateway_html",
            errors.TransientError,
            "DigitalOcean answered 502 with a page that is not JSON.",
        ),
        ("empty_5xx", errors.TransientError, "DigitalOcean answered 503 with a page that is not JSON."),
        (
            "unauthorized",
            errors.UnauthorizedError,
            "DigitalOcean refused the token: Unable to authenticate you.",
        ),
        ("not_found", errors.NotFoundError, "The droplet no longer exists on DigitalOcean."),
        # No "id" in the body: the library itself dies with IndexError; the status still says what it was.
        (
            "malformed_error",
            errors.TransientError,
            "DigitalOcean had an internal error (500): Internal server error",
        ),
        ("drop_connection", errors.TransientError, "DigitalOcean could not be reached."),
        ("truncate_body", errors.TransientError, "DigitalOcean could not be reached."),
    ],
)
def test_each_fault_becomes_one_kind_of_backend_error(emulator_server, effect, error, message):
    droplet_id = _seed(emulator_server)
    emulator_server.control.add_faults({"match": {"path_regex": DROPLET_PATH}, "effect": effect})

    with pytest.raises(errors.BackendError) as raised:
        make_backend(emulator_server, token=SECRET).get_droplet(droplet_id)

    assert type(raised.value) is error
    assert raised.value.message == str(raised.value) == message
    assert SECRET not in str(raised.value)
    assert raised.value.retryable is issubclass(error, errors.TransientError)
    # Translated at the boundary: nothing of the library or of requests is chained to it.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_rate_limited_carries_when_to_retry_from_retry_after(emulator_server):
    emulator_server.control.add_faults({"effect": "rate_limited"})  # Retry-After: 60
    with pytest.raises(errors.RateLimitedError) as raised:
        make_backend(emulator_server).check_account()
    assert raised.value.retry_after == 60.0


def test_an_answer_slower_than_the_timeout_is_transient(emulator_server):
    emulator_server.control.add_faults(
        {"match": {"path_regex": "^/v2/account$"}, "effect": {"latency_ms": 600}}
    )
    with pytest.raises(errors.TransientError, match=r"^DigitalOcean did not answer within 0\.2 s\.$"):
        make_backend(emulator_server, timeout=0.2).check_account()


def test_a_second_action_while_one_is_pending_is_rejected_with_digitaloceans_message(emulator_server):
    droplet_id = _seed(emulator_server)
    emulator_server.control.add_faults({"effect": "stuck_action"})
    backend = make_backend(emulator_server)
    backend.reboot(droplet_id)

    with pytest.raises(errors.RejectedError) as raised:
        backend.power_off(droplet_id)

    assert raised.value.message == "DigitalOcean rejected the request: Droplet already has a pending event."
    assert not raised.value.retryable


def test_an_unknown_token_is_unauthorized_and_never_named(emulator_server):
    emulator_server.control.configure(tokens=[emulator_server.token])
    with pytest.raises(errors.UnauthorizedError) as raised:
        make_backend(emulator_server, token=SECRET).check_account()
    assert SECRET not in raised.value.message


class SentRequests:
    """Every HTTP request this process sends, whichever library object sends it."""

    def __init__(self, monkeypatch):
        self.sent = []
        send = requests.adapters.HTTPAdapter.send

        def recording_send(adapter, request, **kwargs):
            self.sent.append((request.url, request.headers.get("Authorization"), kwargs.get("timeout")))
            return send(adapter, request, **kwargs)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", recording_send)

    def to_api(self, emulator) -> list:
        """Leaves out the test's own calls to the emulator's control plane."""
        return [entry for entry in self.sent if not entry[0].startswith(f"{emulator.base_url}/_emulator/")]


def test_every_call_uses_the_settings_endpoint_token_and_timeout_never_the_environment(
    db, emulator_server, monkeypatch
):
    # What the library would fall back on: a process-wide account and endpoint, and no timeout at all.
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "environment-token")
    monkeypatch.setenv("DIGITALOCEAN_END_POINT", "http://127.0.0.1:9/v2/")
    monkeypatch.delenv("PYTHON_DIGITALOCEAN_REQUEST_TIMEOUT_SEC", raising=False)
    sent = SentRequests(monkeypatch)
    backend = get_backend(make_emulated_settings(emulator_server, token="token-of-these-settings"))
    public_key = generate_public_key()
    key = {"name": "laptop", "public_key": public_key, "fingerprint": ssh_fingerprint(public_key)}
    backend.check_account()
    backend.list_regions(), backend.list_sizes(), backend.list_images()
    created = backend.create_droplet(
        name="web-1",
        region="nyc1",
        size="s-1vcpu-1gb",
        image="debian-12-x64",
        user_data="#!/bin/sh\n",
        tag="waldur-do-abc",
        ssh_key=SshKeySpec(**key),
    )
    droplet_id = created.droplet_id
    assert backend.get_action(droplet_id, created.action_id).status == "completed"
    assert backend.find_droplet_by_tag("waldur-do-abc").id == droplet_id
    backend.get_droplet(droplet_id), backend.list_droplets()
    for action in (backend.reboot, backend.shutdown, backend.power_on, backend.power_off):
        action(droplet_id)
    backend.resize(droplet_id, size="s-2vcpu-2gb", disk=True)
    backend.rename(droplet_id, name="web-2")
    backend.destroy_droplet(droplet_id)

    api_requests = sent.to_api(emulator_server)
    log = emulator_server.control.requests()
    assert len(api_requests) == len(log) > 15  # nothing went anywhere but the emulator
    assert {url.split("/v2/")[0] for url, _, _ in api_requests} == {emulator_server.base_url}
    assert {auth for _, auth, _ in api_requests} == {"Bearer token-of-these-settings"}
    assert {timeout for _, _, timeout in api_requests} == {
        5.0
    }  # settings.test's DIGITALOCEAN_REQUEST_TIMEOUT
    assert {entry["token_fingerprint"] for entry in log} == {token_fingerprint("token-of-these-settings")}
    assert all(entry["status"] < 400 or entry["path"].startswith("/v2/account/keys/") for entry in log)


def test_the_ssh_key_is_added_to_the_account_once(emulator_server):
    public_key = generate_public_key()
    spec = SshKeySpec(name="laptop", public_key=public_key, fingerprint=ssh_fingerprint(public_key))
    backend = make_backend(emulator_server)
    for name in ("web-1", "web-2"):
        backend.create_droplet(
            name=name,
            region="nyc1",
            size="s-1vcpu-1gb",
            image="debian-12-x64",
            user_data="",
            tag="t",
            ssh_key=spec,
        )

    log = emulator_server.control.requests()
    assert [e["method"] for e in log if e["path"] == "/v2/account/keys/"] == ["POST"]
    key_ids = [e["body"]["ssh_keys"] for e in log if e["path"] == "/v2/droplets/" and e["method"] == "POST"]
    assert key_ids[0] == key_ids[1] and len(key_ids[0]) == 1


def test_a_key_another_worker_added_meanwhile_is_used_not_refused(emulator_server):
    """Two creates with the same new key: both look it up (not there), one adds it, the other's add is
    refused ("already in use") and must then use the key the first one added."""
    public_key = generate_public_key()
    spec = SshKeySpec(name="laptop", public_key=public_key, fingerprint=ssh_fingerprint(public_key))
    backend = make_backend(emulator_server)
    added_by_the_other = backend._ensure_ssh_key(spec)
    # Our lookup ran before the other worker's add landed.
    emulator_server.control.add_faults(
        {
            "match": {"method": "GET", "path_regex": "^/v2/account/keys/"},
            "when": {"times": 1},
            "effect": "not_found",
        }
    )

    assert backend._ensure_ssh_key(spec) == added_by_the_other
    posts = [
        e
        for e in emulator_server.control.requests()
        if e["path"] == "/v2/account/keys/" and e["method"] == "POST"
    ]
    assert [e["status"] for e in posts] == [201, 422]


def test_two_accounts_on_two_endpoints_side_by_side(emulator_server, other_emulator_server):
    emulator_server.control.configure(tokens=[emulator_server.token])
    first, second = make_backend(emulator_server), make_backend(other_emulator_server)

    ids = {}
    for backend, name in ((first, "first-1"), (second, "second-1"), (first, "first-2")):
        created = backend.create_droplet(
            name=name,
            region="nyc1",
            size="s-1vcpu-1gb",
            image="debian-12-x64",
            user_data="",
            tag="t",
            ssh_key=None,
        )
        ids[name] = created.droplet_id
    first.power_off(ids["first-1"])
    second.power_off(ids["second-1"])

    assert sorted(d.name for d in first.list_droplets()) == ["first-1", "first-2"]
    assert [d.name for d in second.list_droplets()] == ["second-1"]
    assert {e["token_fingerprint"] for e in emulator_server.control.requests()} == {
        token_fingerprint(emulator_server.token)
    }
    assert {e["token_fingerprint"] for e in other_emulator_server.control.requests()} == {
        token_fingerprint(OTHER_TOKEN)
    }
    assert {e["status"] for e in other_emulator_server.control.requests()} < set(range(200, 300))


def test_a_listing_over_several_pages_is_read_whole(emulator_server):
    emulator_server.control.configure(max_per_page=2)
    seeded = [_seed(emulator_server) for _ in range(5)]
    assert [d.id for d in make_backend(emulator_server).list_droplets()] == seeded


def test_a_listing_cut_short_by_a_rate_limit_on_a_later_page_is_rate_limited(emulator_server):
    emulator_server.control.configure(max_per_page=2)
    for _ in range(5):
        _seed(emulator_server)
    emulator_server.control.add_faults(
        {"match": {"path_regex": "^/v2/droplets$", "page_gte": 2}, "effect": "rate_limited"}
    )

    with pytest.raises(errors.RateLimitedError):  # transient: the listing is taken again later, whole
        make_backend(emulator_server).list_droplets()


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("list_sizes", {"sizes": [{"slug": "s-1vcpu-1gb"}], "links": {}, "meta": {"total": 1}}),
        ("list_regions", {"regions": [{"name": "no slug"}], "links": {}, "meta": {"total": 1}}),
        ("list_images", {"images": [None], "links": {}, "meta": {"total": 1}}),
        ("list_droplets", {"droplets": [{"id": 1}], "links": {}, "meta": {"total": 1}}),
        ("list_droplets", ["not", "an", "object"]),
    ],
)
def test_a_success_answer_without_what_it_must_hold_is_unreadable_not_a_crash(method, answer):
    """A 200 whose items lack their keys (a proxy, an API change): a TransientError like any bad answer."""

    def wrong_shape(environ, start_response):
        return Response(json.dumps(answer), content_type="application/json")(environ, start_response)

    with BackgroundServer(wrong_shape) as server:
        backend = DigitalOceanBackend(token="t", api_url=f"{server.base_url}/v2/", timeout=5.0)
        with pytest.raises(errors.TransientError, match="could not be read"):
            getattr(backend, method)()


def _answering(status: int, body, headers=None, content_type="application/json"):
    """A server that answers every request the same way, as DigitalOcean (or a proxy in front) might."""
    payload = json.dumps(body) if not isinstance(body, str) else body

    def app(environ, start_response):
        return Response(payload, status=status, headers=headers or {}, content_type=content_type)(
            environ, start_response
        )

    return BackgroundServer(app)


# DigitalOcean's several wordings of one error, with and without request_id, and what a proxy answers: the
# kind comes from the status and the error id, never from the English.
WORDINGS = [
    (429, {"id": "too_many_requests", "message": "API rate limit exceeded."}, errors.RateLimitedError),
    (
        429,
        {"id": "too_many_requests", "message": "API Rate limit exceeded.", "request_id": "r"},
        errors.RateLimitedError,
    ),
    (
        500,
        {"id": "server_error", "message": "Server was unable to give you a response."},
        errors.TransientError,
    ),
    (
        503,
        {"id": "service_unavailable", "message": "Service is currently unavailable."},
        errors.TransientError,
    ),
    (504, {"id": "gateway_timeout", "message": "Something we have never seen."}, errors.TransientError),
    (502, "<html><body>Bad Gateway</body></html>", errors.TransientError),
    (401, {"id": "unauthorized", "message": "Unable to authenticate you"}, errors.UnauthorizedError),
    (
        403,
        {"id": "forbidden", "message": "You are not authorized to perform this operation"},
        errors.UnauthorizedError,
    ),
    (
        422,
        {"id": "unprocessable_entity", "message": "Droplet already has a pending event."},
        errors.RejectedError,
    ),
    (400, {"id": "bad_request", "message": "Some brand new complaint."}, errors.RejectedError),
]


@pytest.mark.parametrize(("status", "body", "error"), WORDINGS)
def test_errors_are_told_by_status_and_id_not_by_wording(status, body, error):
    content_type = "text/html" if isinstance(body, str) else "application/json"
    with _answering(status, body, content_type=content_type) as server:
        backend = DigitalOceanBackend(token="t", api_url=f"{server.base_url}/v2/", timeout=5.0)
        with pytest.raises(errors.BackendError) as raised:
            backend.power_on("1")
    assert type(raised.value) is error
    assert raised.value.retryable is issubclass(error, errors.TransientError)
    if isinstance(body, dict):
        assert body["message"] in raised.value.message or error is errors.RateLimitedError


def test_a_rate_limit_without_retry_after_waits_until_ratelimit_reset():
    reset = str(int(time.time()) + 42)
    body = {"id": "too_many_requests", "message": "API rate limit exceeded."}
    with _answering(429, body, headers={"ratelimit-reset": reset, "ratelimit-remaining": "0"}) as server:
        backend = DigitalOceanBackend(token="t", api_url=f"{server.base_url}/v2/", timeout=5.0)
        with pytest.raises(errors.RateLimitedError) as raised:
            backend.check_account()
    assert 40 <= raised.value.retry_after <= 42


@pytest.mark.parametrize("headers", [{}, {"retry-after": "soon"}, {"ratelimit-reset": "99999999999"}])
def test_a_rate_limit_with_no_believable_hint_waits_the_configured_time(headers):
    body = {"id": "too_many_requests", "message": "API rate limit exceeded."}
    with _answering(429, body, headers=headers) as server:
        backend = DigitalOceanBackend(
            token="t", api_url=f"{server.base_url}/v2/", timeout=5.0, rate_limit_retry=7.0
        )
        with pytest.raises(errors.RateLimitedError) as raised:
            backend.check_account()
    assert raised.value.retry_after == 7.0


def test_a_droplet_path_that_404s_is_gone_only_when_the_account_answers(emulator_server):
    with pytest.raises(errors.NotFoundError) as raised:
        make_backend(emulator_server).get_droplet("987654")
    assert raised.value.message == "The droplet no longer exists on DigitalOcean."


@pytest.mark.parametrize("call", ["get_droplet", "destroy_droplet", "power_on"])
def test_a_wrong_api_url_is_never_read_as_a_deleted_droplet(emulator_server, call):
    droplet_id = _seed(emulator_server)
    backend = DigitalOceanBackend(
        token=emulator_server.token, api_url=f"{emulator_server.base_url}/v3/", timeout=5.0
    )
    with pytest.raises(errors.RejectedError) as raised:
        getattr(backend, call)(droplet_id)
    assert "check the settings' API URL" in raised.value.message
    assert not raised.value.retryable


def test_a_bug_of_ours_while_reading_an_answer_is_not_passed_off_as_digitaloceans(
    emulator_server, monkeypatch
):
    droplet_id = _seed(emulator_server)

    def broken(data):
        raise AttributeError("our typo")

    monkeypatch.setattr("droplets.backend.digitalocean._droplet", broken)
    with pytest.raises(AttributeError, match="our typo"):
        make_backend(emulator_server).get_droplet(droplet_id)


def test_a_write_whose_answer_never_came_may_have_landed(emulator_server):
    droplet_id = _seed(emulator_server)
    emulator_server.control.add_faults(
        {"match": {"method": "POST"}, "effect": {"latency_ms": 600}},
        {"match": {"method": "GET"}, "effect": {"latency_ms": 600}},
    )
    backend = make_backend(emulator_server, timeout=0.2)
    with pytest.raises(errors.TransientError) as write:
        backend.power_on(droplet_id)
    with pytest.raises(errors.TransientError) as read:
        backend.get_droplet(droplet_id)
    assert write.value.may_have_landed and not read.value.may_have_landed


def test_a_write_that_never_connected_did_not_land():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = DigitalOceanBackend(token="t", api_url=f"http://127.0.0.1:{port}/v2/", timeout=2.0)
    with pytest.raises(errors.TransientError, match="could not be reached") as raised:
        backend.power_on("1")
    assert not raised.value.may_have_landed
