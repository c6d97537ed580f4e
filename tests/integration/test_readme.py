"""The README's walkthrough, run as written against a live server, a real worker and the emulator.

The only changes are the token (the test's own, where the README says to paste it) and the port (the live
server's instead of 8000)."""

import io
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from waldur_do.structure.models import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration]
TOKEN_LINE = "export TOKEN=…   # the token `make run` printed (`make token` prints it again)"


def readme_shell_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using the API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def test_the_readme_walkthrough_runs_as_written(
    live_server, transactional_db, emulator_server, celery_worker_process
):
    emulator_server.control.configure(time_scale=0.05)
    call_command("seed_demo", emulator_url=emulator_server.url, stdout=io.StringIO())
    _wait_for_settings(ServiceSettings.objects.get())
    port = live_server.url.rsplit(":", 1)[1]
    blocks = readme_shell_blocks()
    assert len(blocks) == 3, "the walkthrough: create, the Python client, the lifecycle"
    assert TOKEN_LINE in blocks[0]
    token = Token.objects.get(user__username="admin").key
    script = "\n".join(["set -euo pipefail", f"cd {ROOT}", *blocks]).replace(
        TOKEN_LINE, f"export TOKEN={token}"
    )
    result = subprocess.run(
        ["bash", "-c", script.replace(":8000", f":{port}")],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout  # HTTPie writes no newline after a body when its output is not a terminal
    assert "web-1 OK online" in out  # the Python client's list
    # wait_droplet shows the create, the start (and the Python client) ending online, stop and resize
    # ending offline, and the droplet gone after the delete.
    assert out.count("OK online") >= 3 and out.count("OK offline") >= 2, out
    for answer in ('{"status":"stop was scheduled"}', '{"status":"resize was scheduled","disk":false}'):
        assert answer in out
    gone, history = out.rstrip().rsplit("\n", 1)
    assert gone.endswith("gone"), out
    types = [event["event_type"] for event in json.loads(history)]
    assert types[0] == "resource_creation_scheduled" and types[-1] == "resource_deletion_succeeded", types


def _wait_for_settings(settings_row, timeout=30):
    deadline = time.monotonic() + timeout
    while settings_row.state == ServiceSettings.State.CREATING and time.monotonic() < deadline:
        time.sleep(0.1)
        settings_row.refresh_from_db()
    assert settings_row.state == ServiceSettings.State.OK, settings_row.error_message
