"""The README's HTTPie walkthrough, run as written against a live server, a real worker and the emulator.

The only changes are the port (the live server's instead of 8000) and a wait after each command that
starts an operation, where the README tells the reader to check the state before going on."""

import io
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

# Waits for the droplet in $DROPLET to settle (or to be gone, after a DELETE); fails after 30 s. Asks with
# urllib rather than HTTPie: it polls, and HTTPie takes half a second to start.
WAIT_HELPERS = r"""
state() {
    python3 - "$DROPLET" "$TOKEN" <<'PY'
import json, sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Token " + sys.argv[2]})
try:
    print(json.load(urllib.request.urlopen(request))["state"])
except urllib.error.HTTPError as error:
    print("GONE" if error.code == 404 else error.code)
PY
}
settle() {
    for _ in $(seq 300); do
        case "$(state)" in OK|GONE) return 0;; ERRED) echo "droplet erred" >&2; return 1;; esac
        sleep 0.1
    done
    echo "droplet never settled" >&2; return 1
}
"""


def readme_shell_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using the API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def with_waits(block: str) -> str:
    """Appends `settle` after every command that starts an operation (a line continued with `\\` counts
    from its last line)."""
    lines = []
    starts_operation = False
    for line in block.splitlines():
        starts_operation = starts_operation or bool(re.search(r"\bapi (POST|DELETE) ", line))
        lines.append(line)
        if starts_operation and not line.rstrip().endswith("\\"):
            lines.append("settle")
            starts_operation = False
    return "\n".join(lines)


def test_the_readme_walkthrough_runs_as_written(
    live_server, transactional_db, emulator_server, celery_worker_process
):
    emulator_server.control.configure(time_scale=0.05)
    call_command("seed_demo", emulator_url=emulator_server.url, stdout=io.StringIO())
    settings_row = ServiceSettings.objects.get()
    _wait_for_settings(settings_row)
    port = live_server.url.rsplit(":", 1)[1]
    blocks = readme_shell_blocks()
    assert len(blocks) == 2, "the walkthrough has two shell blocks"
    token_line = "export TOKEN=…   # the token `make run` printed"
    assert token_line in blocks[0]
    script = "\n".join(
        [
            "set -euo pipefail",
            f"cd {ROOT}",
            blocks[0].replace(token_line, f"export TOKEN={Token.objects.get(user__username='admin').key}"),
            WAIT_HELPERS,
            "settle",
            with_waits(blocks[1]),
            'test "$(state)" = GONE',
        ]
    ).replace(":8000/", f":{port}/")
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    for answer in ('{"status":"stop was scheduled"}', '{"status":"resize was scheduled","disk":false}'):
        assert answer in result.stdout


def _wait_for_settings(settings_row, timeout=30):
    deadline = time.monotonic() + timeout
    while settings_row.state == ServiceSettings.State.CREATING and time.monotonic() < deadline:
        time.sleep(0.1)
        settings_row.refresh_from_db()
    assert settings_row.state == ServiceSettings.State.OK, settings_row.error_message
