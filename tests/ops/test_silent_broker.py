"""A broker that accepts connections and never answers (a wedged Redis, a half-open proxy): no request and no
probe hangs on it. Each check runs in a fresh interpreter configured for such a broker."""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the interpreter: a migrated SQLite database, a droplet, then a stop and /ready/ through the
# test client; prints what each answered.
SCRIPT = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from rest_framework.authtoken.models import Token
from tests.fixtures.droplets import make_catalog, make_droplet
from tests.fixtures.factories import make_project, make_service_settings, make_user
project = make_project()
catalog = make_catalog(make_service_settings(customer=project.customer))
droplet = make_droplet(project=project, catalog=catalog)
token = Token.objects.create(user=make_user(is_staff=True)).key
client = Client(HTTP_AUTHORIZATION=f"Token {token}")
stop = client.post(f"/api/digitalocean-droplets/{droplet.uuid.hex}/stop/")
droplet.refresh_from_db()
ready = client.get("/ready/")
print(json.dumps({"stop": stop.status_code, "state": droplet.state, "error": droplet.error_message,
                  "ready": ready.status_code, "ready_body": ready.json()}))
"""


@pytest.fixture
def silent_broker():
    """Accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_request_and_the_readiness_probe_answer_although_the_broker_never_does(silent_broker, tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{silent_broker}/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    # The stop is accepted and waits on its row for the broker (beat sends it), nothing turned ERRED.
    assert (answers["stop"], answers["state"], answers["error"]) == (202, "UPDATE_SCHEDULED", "")
    assert answers["ready"] == 503
    assert answers["ready_body"]["status"] == "unavailable" and answers["ready_body"]["broker"]
