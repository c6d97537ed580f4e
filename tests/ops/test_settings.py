"""The settings modules as a deployment uses them: each in a fresh interpreter, from the environment only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


SETTINGS_SEEN = "from django.conf import settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"


def load_settings(module: str, code: str = SETTINGS_SEEN, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings("settings.production", DJANGO_ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production." in result.stderr


def test_production_reads_everything_from_the_environment():
    result = load_settings(
        "settings.production",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="example.com",
        DATABASE_URL="postgres://u:p@db:5432/waldur",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.postgresql"]


def test_the_embedded_default_needs_no_environment():
    result = load_settings("settings.dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3"]


@pytest.mark.parametrize(
    ("env", "sent"), [({}, "False False"), ({"CELERY_TASK_EVENTS": "true"}, "True True")]
)
def test_task_events_are_sent_only_when_asked_for(env, sent):
    """Three or four broker messages a task, for nobody unless Flower or `celery events` watches."""
    code = (
        "from tasks import celery_app as app; "
        "print(app.conf.worker_send_task_events, app.conf.task_send_sent_event)"
    )
    result = load_settings("settings.dev", code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sent


def test_the_embedded_broker_connects_without_a_warning(tmp_path):
    """kombu warns "No hostname was supplied" on every connection to a URL without a host: noise in every
    process's log on a laptop, about nothing that is wrong."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    code = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "from tasks import celery_app\n"
        "with celery_app.connection_for_write() as broker:\n"
        "    broker.ensure_connection(max_retries=1); broker.info()\n"
        "print(celery_app.conf.broker_url)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "settings.dev", "CELERY_BROKER_FOLDER": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("filesystem://")
    assert "No hostname" not in result.stderr


def test_each_operations_deadline_is_read_from_the_environment():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from droplets.states import RESIZE, STOP; "
            "print(STOP.deadline.total_seconds(), RESIZE.deadline.total_seconds())",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.dev", "DROPLET_STOP_DEADLINE_MINUTES": "3"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["180.0", "3600.0"]
