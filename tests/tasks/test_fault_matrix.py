"""Every operation under every way DigitalOcean goes wrong, generated from two tables: the operations and the
faults. Each cell drives the operation step by step (the step a worker runs) through python-digitalocean
over HTTP against the emulator, on its virtual clock, and checks where it ends: state, runtime state,
error_message, and DigitalOcean's side (no twin, no action sent twice)."""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from droplets.execution import droplet_backend_tag
from droplets.models import Droplet
from droplets.states import OPERATIONS as STATES_OPERATIONS
from droplets.states import RuntimeState, State
from tests.fixtures.backend import fresh, make_droplet_on_do, make_scheduled_create, schedule, step
from waldur_do.events.models import Event

OK, ERRED = State.OK, State.ERRED
ONLINE, OFFLINE, ERROR = RuntimeState.ONLINE, RuntimeState.OFFLINE, RuntimeState.ERROR
WRONG_URL = "check the settings' API URL"
MAX_STEPS = 80


@dataclass(frozen=True)
class Op:
    status_before: str | None  # the droplet's status on DigitalOcean before (None: a create)
    action: str | None  # the DigitalOcean action it sends
    ends: tuple  # (state, runtime state) when it succeeds; None: the row is deleted
    runtime_if_failed: RuntimeState
    params: dict = field(default_factory=dict)


OPERATIONS = {
    "create": Op(None, "create", (OK, ONLINE), ERROR),
    "start": Op("off", "power_on", (OK, ONLINE), OFFLINE),
    "stop": Op("active", "shutdown", (OK, OFFLINE), ONLINE),
    "restart": Op("active", "reboot", (OK, ONLINE), ONLINE),
    "resize": Op("off", "resize", (OK, OFFLINE), OFFLINE, {"size": "s-2vcpu-2gb", "disk": False}),
    "rename": Op("active", "rename", (OK, ONLINE), ONLINE, {"name": "renamed", "old_name": "{name}"}),
    "pull": Op("active", None, (OK, ONLINE), ONLINE),
    "delete": Op("active", None, None, ONLINE),
}


@dataclass(frozen=True)
class Fault:
    rules: list  # fault rules; "{requests}" in a match stands for the operation's own requests
    applies: tuple = tuple(OPERATIONS)
    outcome: str = "succeeds"  # or "fails"
    message: str = ""  # the failure's error_message, or a part of it
    timeout: float | None = None  # DIGITALOCEAN_REQUEST_TIMEOUT for the cell
    wrong_url: bool = False
    past_deadline_after: int | None = None  # steps after which the deadline is (kept) past


ACTIONS = ("create", "start", "stop", "restart", "resize", "rename")
FAULTS = {
    "429": Fault([{"match": "{requests}", "when": {"times": 2}, "effect": "rate_limited"}]),
    "429 in the spec's wording": Fault(
        [{"match": "{requests}", "when": {"times": 2}, "effect": "rate_limited_spec"}]
    ),
    "500 with an unknown message": Fault(
        [{"match": "{requests}", "when": {"times": 2}, "effect": "server_no_response"}]
    ),
    "503 service unavailable": Fault(
        [{"match": "{requests}", "when": {"times": 1}, "effect": "server_unavailable"}]
    ),
    "HTML 502": Fault([{"match": "{requests}", "when": {"times": 2}, "effect": "bad_gateway_html"}]),
    "timeout": Fault(
        [{"match": "{requests}", "when": {"times": 1}, "effect": {"latency_ms": 700}}], timeout=0.3
    ),
    "dropped connection": Fault([{"match": "{requests}", "when": {"times": 1}, "effect": "drop_connection"}]),
    "errored action": Fault(
        [{"match": {"action_type": "{action}"}, "effect": "action_errored"}],
        applies=tuple(op for op in ACTIONS if op != "stop"),
        outcome="fails",
        message="DigitalOcean could not {verb} the droplet: its {action} action failed.",
    ),
    # A guest that cannot shut down is powered off: the stop still succeeds.
    "errored shutdown": Fault(
        [{"match": {"action_type": "shutdown"}, "effect": "action_errored"}], applies=("stop",)
    ),
    "stuck action": Fault(
        [{"match": {"action_type": "{action}"}, "effect": "stuck_action"}],
        applies=tuple(op for op in ACTIONS if op != "create"),
        outcome="fails",
        message="it was still in progress there. Pull the droplet once it has finished",
        past_deadline_after=4,
    ),
    "stuck create": Fault(
        [{"match": {"action_type": "create"}, "effect": "stuck_action"}],
        applies=("create",),
        outcome="fails",
        message="DigitalOcean did not finish the create within 30 minutes; it was still in progress there.",
        past_deadline_after=4,
    ),
    "status lag": Fault(
        [{"match": {"action_type": "{action}"}, "effect": {"status_lag_s": 40}}],
        applies=("create", "start", "stop", "resize"),
    ),
    "wrong base path": Fault([], outcome="fails", message=WRONG_URL, wrong_url=True),
}
CELLS = [(op, fault) for fault, spec in FAULTS.items() for op in spec.applies]


def _requests_match(op: str, droplet) -> dict:
    """The operation's own requests, and the look at the account's actions its polls share."""
    if op == "create":
        return {"path_regex": r"^/v2/droplets$|^/v2/actions/?$"}
    return {"path_regex": rf"^/v2/droplets/{droplet.backend_id}|^/v2/actions/?$"}


def _fill(value, **names):
    if isinstance(value, str):
        return names["requests"] if value == "{requests}" else value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, **names) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, **names) for item in value]
    return value


def _drive(droplet, emulator, fault: Fault) -> None:
    """Steps the operation until it is over, moving the emulator's clock on by each step's countdown."""
    for count in range(MAX_STEPS):
        if fault.past_deadline_after is not None and count >= fault.past_deadline_after:
            Droplet.objects.filter(pk=droplet.pk).update(operation_deadline=timezone.now())
        following = step(droplet)
        if following is None:
            return
        emulator.control.advance_clock(following.countdown)
        time.sleep(0.03)  # real time passes too: a request whose answer was lost may land meanwhile
    pytest.fail(f"the operation was still going after {MAX_STEPS} steps: {fresh(droplet).__dict__}")


@pytest.mark.parametrize(("operation", "fault_name"), CELLS, ids=[f"{op}-{fault}" for op, fault in CELLS])
def test_fault_matrix(emulator_server, emulated_catalog, project, settings, operation, fault_name):
    op, fault = OPERATIONS[operation], FAULTS[fault_name]
    settings.DROPLET_LANDING_WINDOW = timedelta(seconds=1)  # how long a lost answer is looked for, here
    if fault.timeout:
        settings.DIGITALOCEAN_REQUEST_TIMEOUT = fault.timeout
    if operation == "create":
        droplet = make_scheduled_create(emulated_catalog, project, size="s-1vcpu-1gb")
    else:
        droplet = make_droplet_on_do(emulator_server, emulated_catalog, project, status=op.status_before)
        schedule(droplet, operation, **_fill(op.params, name=droplet.name))
    if fault.wrong_url:
        settings_row = droplet.service_settings
        settings_row.backend_url = emulator_server.url.replace("/v2/", "/v3/")
        settings_row.save()
    emulator_server.control.add_faults(
        *_fill(
            fault.rules, requests=_requests_match(operation, droplet), action=op.action or "", verb=operation
        )
    )

    _drive(droplet, emulator_server, fault)

    row = fresh(droplet)
    if fault.outcome == "fails":
        assert (row.state, row.runtime_state) == (ERRED, op.runtime_if_failed)
        expected = _fill(fault.message, action=op.action or "", verb=operation)
        assert expected in row.error_message, row.error_message
        assert row.operation == ""
    elif op.ends is None:
        assert row is None
        assert all(
            d["status"] == "archive"
            for d in emulator_server.control.state()["droplets"]
            if str(d["id"]) == droplet.backend_id
        )
    else:
        assert (row.state, row.runtime_state, row.error_message) == (*op.ends, "")
        assert row.operation == ""
    _assert_digitalocean_side(emulator_server, operation, droplet, op)
    _assert_history(droplet, STATES_OPERATIONS[operation], fault, error=row.error_message if row else "")


def _assert_history(droplet, op, fault: Fault, *, error: str) -> None:
    """The history tells the cell's story: started, then what passed, then exactly one ending, which is the
    droplet's own outcome (a failure with the droplet's error message)."""
    events = list(Event.objects.filter(droplet_uuid=droplet.uuid).order_by("created", "pk"))
    types = [event.event_type for event in events]
    assert types[0] == op.event_type("started"), types
    endings = {op.event_type(stage) for stage in ("succeeded", "failed", "timed_out")}
    assert [t for t in types if t in endings] == types[-1:], types
    if fault.outcome == "fails":
        assert types[-1] in (op.event_type("failed"), op.event_type("timed_out")), types
        assert events[-1].context["error"] == error
    else:
        assert types[-1] == op.event_type("succeeded"), types
    retried = [event for event in events if event.event_type == op.event_type("retried")]
    assert all(event.context["error"] and event.context["retry_in_seconds"] > 0 for event in retried)


def _assert_digitalocean_side(emulator, operation, droplet, op) -> None:
    state = emulator.control.state()
    if operation == "create":
        tagged = [d for d in state["droplets"] if droplet_backend_tag(droplet) in d["tags"]]
        assert len(tagged) <= 1  # never a twin
        return
    if op.action:
        sent = [
            a
            for a in state["actions"]
            if str(a["resource_id"]) == droplet.backend_id and a["type"] == op.action
        ]
        assert len(sent) <= 1  # never the same action twice
