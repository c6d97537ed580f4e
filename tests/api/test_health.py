"""Liveness and readiness probes: no credentials needed, JSON answers, readiness reflects the database
and the broker."""

import json

from django.db import OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.test import APIClient

from waldur_do import health

from .helpers import body


def test_health_answers_ok_without_credentials(db):
    response = APIClient().get("/health/")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


def test_ready_answers_ok_when_the_database_answers(db):
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


def test_probes_answer_head(db):
    for path in ("/health/", "/ready/"):
        assert APIClient().head(path).status_code == 200


class _UnreachableBroker:
    def connection_for_write(self):
        raise KombuOperationalError("Error 111 connecting to redis://:hunter2@10.0.0.9:6379")


def test_ready_answers_503_naming_the_broker_when_it_is_down(db, monkeypatch):
    monkeypatch.setattr(health, "celery_app", _UnreachableBroker())
    response = APIClient().get("/ready/")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "broker": "OperationalError"}
    assert b"hunter2" not in response.content and b"10.0.0.9" not in response.content
