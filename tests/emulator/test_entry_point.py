"""``python -m droplets.emulator`` serves on a real port and keeps its state file across a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"Authorization": "Bearer entry-point"}


@contextmanager
def running_emulator(state_file: Path) -> Iterator[str]:
    """Start the CLI on a free port; yield its /v2/ URL; stop it with SIGTERM as docker and honcho do."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "droplets.emulator",
            "--port",
            "0",
            "--time-scale",
            "0",
            "--state-file",
            state_file,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # The last line before serving names the end point; "Loaded state" may come first.
        line = process.stdout.readline()
        while "DIGITALOCEAN_END_POINT=" not in line:
            assert line, "the emulator exited before serving"
            line = process.stdout.readline()
        yield line.strip().split("=", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_cli_serves_and_its_state_survives_a_restart(tmp_path):
    state_file = tmp_path / "state.json"
    body = {"name": "kept", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "fra1"}
    with running_emulator(state_file) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v2/")
        created = requests.post(f"{url}droplets", json=body, headers=HEADERS, timeout=5)
        assert created.status_code == 202
        droplet_id = created.json()["droplet"]["id"]

    with running_emulator(state_file) as url:
        droplet = requests.get(f"{url}droplets/{droplet_id}", headers=HEADERS, timeout=5).json()["droplet"]
        assert (droplet["name"], droplet["status"]) == ("kept", "active")
