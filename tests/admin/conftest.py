"""Admin clients, and a recorder of the service settings checks that admin actions schedule."""

import pytest
from django.test import Client

from tests.fixtures.droplets import EnqueueRecorder
from tests.fixtures.factories import make_user


@pytest.fixture
def operator(db):
    """A staff superuser, as `seed_demo` makes: every admin permission."""
    user = make_user(is_staff=True)
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


@pytest.fixture
def admin_client_for():
    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return client_for


@pytest.fixture
def operator_client(operator, admin_client_for) -> Client:
    return admin_client_for(operator)


@pytest.fixture
def syncs_enqueued(monkeypatch, django_capture_on_commit_callbacks) -> EnqueueRecorder:
    """Like `enqueued`, for `service_settings_sync_task`: `calls` holds `(service_settings_id,)` per check."""
    from tasks.structure import service_settings_sync_task

    recorder = EnqueueRecorder(django_capture_on_commit_callbacks, describe=lambda args: args)
    monkeypatch.setattr(service_settings_sync_task, "apply_async", recorder.record)
    return recorder
