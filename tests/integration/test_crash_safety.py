"""A worker process SIGKILLed at each phase of an operation: after claiming it with nothing sent, while its
request to DigitalOcean is on the wire (it lands after the kill), and while following DigitalOcean. A new
worker, sent on by beat once the dead one's lease has passed, finishes each operation correctly: exactly one
droplet exists for a create, and a message of the dead worker's generation, delivered late, does nothing.

The suite runs on the filesystem broker and again on Redis (CI runs both), so these run on each."""

import signal
import time

import pytest

from droplets import services
from droplets.execution import droplet_backend_tag
from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tasks.droplets import droplet_advance_task
from tasks.periodic import droplet_resume_stalled_task
from tests.fixtures.backend import make_droplet_on_do, make_emulated_settings
from tests.fixtures.droplets import make_catalog, make_ssh_key
from tests.fixtures.factories import make_project, make_user
from tests.fixtures.worker import purge_queues, start_worker, stop_worker

pytestmark = [pytest.mark.integration]

HELD = {"latency_ms": 2500}  # long enough to kill the worker while it waits for the answer
# A short lease, so that a dead worker's operation is sent on within seconds; a landing window longer than
# a held request, as the real one is longer than DigitalOcean takes to answer.
CRASH_SETTINGS = {"DROPLET_STEP_LEASE_SECONDS": "1", "DROPLET_LANDING_WINDOW_SECONDS": "3.5"}


def _wait(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"never: {what}")
        time.sleep(0.05)
    return value


def _row(droplet):
    return Droplet.objects.filter(pk=droplet.pk).first()


@pytest.fixture
def world(transactional_db, emulator_server):
    emulator_server.control.configure(time_scale=0.02)
    purge_queues()
    project = make_project()
    catalog = make_catalog(make_emulated_settings(emulator_server, customer=project.customer))
    return project, catalog


def _kill_then_finish(tmp_path, droplet, kill_when, done):
    """Runs a worker until `kill_when(row)` holds, SIGKILLs it, then lets a new worker and beat's sweep
    finish the operation until `done(row)` holds."""
    first = start_worker(tmp_path / "first.log", **CRASH_SETTINGS)
    try:
        _wait(lambda: kill_when(_row(droplet)), "the worker reached the phase to kill it in")
        time.sleep(0.3)  # inside the held request by now
        dead_generation = _row(droplet).operation_generation - 1  # the message it was working on
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    # The dead worker's held request is answered (and logged) only when its hold is over.
    held_until = time.monotonic() + HELD["latency_ms"] / 1000
    second = start_worker(tmp_path / "second.log", **CRASH_SETTINGS)
    try:
        # A late copy of the dead worker's message (a broker's redelivery): it must change nothing.
        droplet_advance_task.apply_async((droplet.pk, dead_generation))

        def finished():
            droplet_resume_stalled_task.apply()  # beat, many times a second instead of every minute
            row = _row(droplet)
            return done(row)

        _wait(finished, f"the operation finished; second worker:\n{second.output()}", timeout=45)
    finally:
        stop_worker(second)
    time.sleep(max(0.0, held_until - time.monotonic()) + 0.2)


def _tagged(emulator, droplet) -> list[dict]:
    tag = droplet_backend_tag(droplet)
    return [d for d in emulator.control.state()["droplets"] if tag in d["tags"]]


def _requests_for(emulator, backend_id: str) -> int:
    return sum(1 for e in emulator.control.requests() if f"/droplets/{backend_id}" in e["path"])


def _held(match: dict, *, dropped: bool) -> list[dict]:
    """The request matching `match` waits 4 s (the worker is killed meanwhile); `dropped`: it then never
    reaches DigitalOcean, else it is carried out after the kill."""
    rules = [{"match": match, "when": {"times": 1}, "effect": HELD}]
    if dropped:
        rules.append({"match": match, "when": {"times": 1}, "effect": "drop_connection"})
    return rules


PHASES = ["after claim", "after send", "while polling"]


@pytest.mark.parametrize("phase", PHASES)
def test_a_create_survives_its_worker_killed(world, emulator_server, tmp_path, phase):
    project, catalog = world
    create = {"method": "POST", "path_regex": "^/v2/droplets$"}
    polling = {"method": "GET", "path_regex": r"^/v2/(droplets/\d+|droplets/\d+/actions/\d+|actions/\d+)$"}
    emulator_server.control.add_faults(
        *_held(polling if phase == "while polling" else create, dropped=phase == "after claim")
    )
    droplet = services.droplet_create(
        user=make_user(is_staff=True),
        name="web-1",
        service_settings=catalog.service_settings,
        project=project,
        region=catalog.regions["nyc1"],
        image=catalog.images["debian-12-x64"],
        size=catalog.sizes["s-1vcpu-1gb"],
        ssh_public_key=make_ssh_key(user=make_user()),
    )
    phase_to_kill_in = "awaiting" if phase == "while polling" else "sending"

    _kill_then_finish(
        tmp_path,
        droplet,
        kill_when=lambda row: row.operation_phase == phase_to_kill_in,
        done=lambda row: row.state == State.OK,
    )

    row = _row(droplet)
    assert (row.state, row.runtime_state, row.error_message) == (State.OK, RuntimeState.ONLINE, "")
    assert [str(d["id"]) for d in _tagged(emulator_server, droplet)] == [row.backend_id]  # no twin
    posts = [
        e
        for e in emulator_server.control.requests()
        if e["method"] == "POST" and e["path"] == "/v2/droplets/"
    ]
    # One create reached DigitalOcean; a second was sent only once the first had surely not arrived.
    assert sorted(e["status"] for e in posts) == ([202, 503] if phase == "after claim" else [202])
    _assert_nobody_follows_it_any_more(emulator_server, row.backend_id)


@pytest.mark.parametrize("operation", ["stop", "resize", "delete"])
@pytest.mark.parametrize("phase", PHASES)
def test_an_operation_survives_its_worker_killed(world, emulator_server, tmp_path, operation, phase):
    project, catalog = world
    droplet = make_droplet_on_do(
        emulator_server, catalog, project, status="off" if operation == "resize" else "active"
    )
    here = rf"^/v2/droplets/{droplet.backend_id}"
    write = (
        {"method": "DELETE", "path_regex": f"{here}$"}
        if operation == "delete"
        else {
            "method": "POST",
            "path_regex": f"{here}/actions$",
        }
    )
    polling = {"method": "GET", "path_regex": rf"{here}(/actions/\d+)?$"}
    emulator_server.control.add_faults(
        *_held(polling if phase == "while polling" else write, dropped=phase == "after claim")
    )

    if operation == "stop":
        services.droplet_stop(droplet=droplet)
    elif operation == "resize":
        services.droplet_resize(droplet=droplet, size=catalog.sizes["s-2vcpu-2gb"], disk=False)
    else:
        services.droplet_delete(droplet=droplet)
    if phase == "while polling":
        kill_when = lambda row: row.operation_phase == "awaiting"  # noqa: E731
    elif operation == "delete":
        kill_when = lambda row: row.state == State.DELETING  # noqa: E731  (a destroy is sent without a phase of its own)
    else:
        kill_when = lambda row: row.operation_phase == "sending"  # noqa: E731
    done = (lambda row: row is None) if operation == "delete" else (lambda row: row.state == State.OK)

    _kill_then_finish(tmp_path, droplet, kill_when, done)

    if operation == "delete":
        remaining = [
            d for d in emulator_server.control.state()["droplets"] if str(d["id"]) == droplet.backend_id
        ]
        assert all(d["status"] == "archive" for d in remaining)
        return
    row = _row(droplet)
    assert (row.state, row.runtime_state, row.error_message) == (State.OK, RuntimeState.OFFLINE, "")
    if operation == "resize":
        assert (row.cores, row.size.backend_id) == (2, "s-2vcpu-2gb")
    actions = [
        a for a in emulator_server.control.state()["actions"] if str(a["resource_id"]) == droplet.backend_id
    ]
    sent = "resize" if operation == "resize" else "shutdown"
    assert [a["type"] for a in actions].count(sent) == 1  # carried out once, whoever sent it
    _assert_nobody_follows_it_any_more(emulator_server, droplet.backend_id)


def _assert_nobody_follows_it_any_more(emulator, backend_id: str) -> None:
    """Once the operation is over, no chain of steps (the dead worker's, a duplicate) still polls it."""
    before = _requests_for(emulator, backend_id)
    for _ in range(3):
        droplet_resume_stalled_task.apply()
        time.sleep(0.5)
    assert _requests_for(emulator, backend_id) == before
