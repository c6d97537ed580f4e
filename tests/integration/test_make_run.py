"""`make run` as a newcomer types it, on a machine where the default ports 8000 and 8808 are taken."""

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.fixtures.network import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration]


@contextlib.contextmanager
def taken(*ports):
    """Listens on each port that is free, so that all of them are taken while the block runs."""
    with contextlib.ExitStack() as stack:
        for port in ports:
            server = stack.enter_context(socket.socket())
            with contextlib.suppress(OSError):  # already taken by someone else: just as good
                server.bind(("127.0.0.1", port))
                server.listen()
        yield


def lines_of(process) -> queue.Queue:
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def read_until(lines: queue.Queue, pattern: str, seen: list[str], timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no line matched {pattern!r}; the output was:\n{''.join(seen)}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_like_ctrl_c(process, timeout: float = 30) -> None:
    """SIGINT to the whole process group, as a terminal sends it; whatever outlives the timeout is killed."""
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("a process of `make run` outlived Ctrl-C by 30 s")


def test_make_run_on_other_ports_serves_the_api_the_worker_and_the_emulator(tmp_path):
    port, emulator_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
        "EMULATOR_STATE_FILE": str(tmp_path / "emulator.json"),
    }
    with taken(8000, 8808):
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"EMULATOR_PORT={emulator_port}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        seen: list[str] = []
        try:
            lines = lines_of(process)
            read_until(lines, rf"waldur-do is up at http://127\.0\.0\.1:{port}/", seen, timeout=180)
            token = read_until(lines, r"Token:  ([0-9a-f]{40})", seen, timeout=5)[1]
            api = requests.Session()
            api.headers["Authorization"] = f"Token {token}"

            projects = api.get(f"http://127.0.0.1:{port}/api/projects/", timeout=10)
            assert projects.status_code == 200
            assert [p["name"] for p in projects.json()] == ["Demo Project"]
            # The worker checks the demo settings against the emulator on its port and pulls the catalog.
            deadline = time.monotonic() + 60
            while (state := api.get(f"http://127.0.0.1:{port}/api/service-settings/", timeout=10).json()[0])[
                "state"
            ] != "OK" and time.monotonic() < deadline:
                time.sleep(0.5)
            assert state["state"] == "OK", state
            regions = api.get(f"http://127.0.0.1:{port}/api/digitalocean-regions/", timeout=10)
            assert int(regions.headers["X-Result-Count"]) > 0
        finally:
            stop_like_ctrl_c(process)
    assert "That port is already in use" not in "".join(seen)
