"""Liveness and readiness probes: no credentials needed, JSON answers, readiness reflects the database
and the broker."""

import json
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.test import APIClient

from tasks.heartbeat import worker_heartbeat_write
from tasks.models import WorkerHeartbeat
from waldur_do import health

from .helpers import body


def test_health_answers_ok_without_credentials(db):
    response = APIClient().get("/health/")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


@pytest.fixture
def workers_seen(db):
    """A worker on every queue wrote its heartbeat just now."""
    worker_heartbeat_write(hostname="celery@test", queues=["default", "polling", "periodic"])


def test_ready_answers_ok_when_the_database_answers(workers_seen):
    response = APIClient().get("/ready/")
    assert response.status_code == 200
    assert body(response)["status"] == "ok"


class _BrokenConnection:
    def cursor(self):
        raise OperationalError("connection refused: password=hunter2")


def test_ready_answers_503_without_leaking_details_when_the_database_is_down(db, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    response = APIClient().get("/ready/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["status"] == "unavailable"
    assert b"hunter2" not in response.content


def test_health_does_not_touch_the_database(db, monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())
    assert APIClient().get("/health/").status_code == 200


def test_probes_answer_head(workers_seen):
    for path in ("/health/", "/ready/"):
        assert APIClient().head(path).status_code == 200


class _UnreachableBroker:
    def connection_for_write(self):
        raise KombuOperationalError("Error 111 connecting to redis://:hunter2@10.0.0.9:6379")


def test_ready_answers_503_naming_the_broker_when_it_is_down(workers_seen, monkeypatch):
    monkeypatch.setattr(health, "celery_app", _UnreachableBroker())
    response = APIClient().get("/ready/")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "broker": "OperationalError"}
    assert b"hunter2" not in response.content and b"10.0.0.9" not in response.content


def test_ready_answers_503_naming_the_queues_no_worker_serves(db, settings):
    worker_heartbeat_write(hostname="default@host", queues=["default"])
    worker_heartbeat_write(hostname="polling@host", queues=["polling", "periodic"])
    WorkerHeartbeat.objects.filter(hostname="polling@host").update(
        seen=timezone.now() - settings.WORKER_HEARTBEAT_TIMEOUT - timedelta(seconds=1)
    )
    response = APIClient().get("/ready/")
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "unavailable",
        "workers": "No worker seen lately for: polling, periodic",
    }


def test_ready_answers_503_with_no_worker_at_all(db):
    response = APIClient().get("/ready/")
    assert response.status_code == 503
    assert json.loads(response.content)["workers"] == "No worker seen lately for: default, polling, periodic"


@pytest.mark.integration
def test_a_running_worker_makes_itself_seen(transactional_db, celery_worker_process):
    """The real worker's heartbeat step: within a beat of its interval, every queue it serves is seen."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.1)
    assert APIClient().get("/ready/").status_code == 200
    (heartbeat,) = WorkerHeartbeat.objects.all()
    assert set(heartbeat.queues) == {"default", "polling", "periodic"}
