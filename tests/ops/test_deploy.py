"""The deployment as shipped: compose, the image's files, production settings, gunicorn's access log.

There is no Docker engine here, so compose and the Dockerfile are read as data; what they run (settings,
gunicorn's configuration, the healthcheck commands' endpoints) is run for real.
"""

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from droplets.states import OPERATIONS
from tests.fixtures.network import free_port

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "poller", "beat", "demo-seed")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def production_env(tmp_path, **extra) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "cloud.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
        **extra,
    }


def variables_settings_read() -> set[str]:
    source = "\n".join(path.read_text() for path in (ROOT / "settings").glob("*.py"))
    named = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', source))
    environ = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    deadlines = {f"DROPLET_{name.upper()}_DEADLINE_MINUTES" for name in OPERATIONS}
    return named | environ | deadlines


def test_every_app_container_gets_the_env_file(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert service["environment"]["DATABASE_URL"].startswith("postgres://waldur:${POSTGRES_PASSWORD:?"), (
            name
        )


def test_no_password_is_written_in_the_compose_file(compose):
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert "waldur:waldur@" not in (ROOT / "docker-compose.yml").read_text()


def test_every_long_running_service_has_a_healthcheck(compose):
    for name in ("postgres", "redis", "web", "worker", "poller", "beat", "emulator"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "inspect ping --destination default@" in compose["services"]["worker"]["healthcheck"]["test"][1]
    assert "inspect ping --destination polling@" in compose["services"]["poller"]["healthcheck"]["test"][1]
    assert compose["services"]["beat"]["healthcheck"]["test"][:4] == [
        "CMD",
        "python",
        "manage.py",
        "check_beat",
    ]


def test_env_example_lists_every_variable_the_settings_and_compose_read(compose):
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", example, flags=re.M))
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert variables_settings_read() | interpolated <= listed
    assert re.search(r"^DJANGO_SECRET_KEY=$", example, flags=re.M)  # a secret is never shipped filled in


def test_the_image_leaves_out_the_venv_local_data_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".env", "var", ".git", "tests"} <= ignored


def test_the_dockerfile_installs_dependencies_before_copying_the_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    manifests = dockerfile.index("COPY pyproject.toml constraints.txt ./")
    dependencies = dockerfile.index("pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt")
    assert manifests < dependencies < dockerfile.index("COPY waldur_do")


def test_check_deploy_is_clean_with_https_on(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path, DJANGO_SECURE_HSTS_PRELOAD="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_defaults_are_https_and_persistent_connections(tmp_path):
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
        "d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "31536000", "True", "60", "True"]


def test_gunicorns_access_log_never_shows_a_query_string(tmp_path):
    """A client may authenticate with `?x-auth-token=`; gunicorn runs with the image's configuration."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "waldur_do.wsgi", "--config", "settings/gunicorn.py"],
            cwd=ROOT,
            env=production_env(tmp_path, PORT=str(port), WEB_CONCURRENCY="1"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health/?x-auth-token=SECRET-TOKEN"
                ) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert '"GET /health/ HTTP/1.1" 200' in text
    assert "SECRET-TOKEN" not in text


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("--queues") + 1].split(","))


def test_users_requests_have_workers_of_their_own(compose):
    """A flood of polls or a long sync must not delay a user's request: separate workers per queue."""
    assert _queues(compose["services"]["worker"]["command"]) == {"default"}
    assert _queues(compose["services"]["poller"]["command"]) == {"polling", "periodic"}
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert _queues(procfile["worker"].split()) == {"default"}
    assert _queues(procfile["poller"].split()) == {"polling", "periodic"}
