"""The commands `make run` and `make token` use: the port check, the demo's data and its welcome block."""

import io
import socket

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from tests.fixtures.network import free_port
from waldur_do.structure.models import ServiceSettings


def call(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_check_ports_names_the_taken_port_and_the_way_out(listening_port):
    free = free_port()
    with pytest.raises(CommandError) as refused:
        call("check_ports", str(free), str(listening_port))
    assert str(refused.value) == (
        f"Port {listening_port} already in use on 127.0.0.1. "
        "Pick free ones, e.g. `make run PORT=8123 EMULATOR_PORT=8124`."
    )


def test_check_ports_passes_free_ports():
    assert call("check_ports", str(free_port())) == ""


def test_demo_info_prints_the_urls_login_and_token_in_one_block(db):
    call("seed_demo", emulator_url="http://127.0.0.1:8124/v2/")
    token = Token.objects.get(user__username="admin").key
    block = call("demo_info", port=8123).splitlines()
    assert block[0] == block[-1] == "=" * 78
    assert "  API:    http://127.0.0.1:8123/api/" in block
    assert "  Admin:  http://127.0.0.1:8123/admin/   (login admin / admin)" in block
    assert f"  Token:  {token}" in block
    assert '    .venv/bin/http :8123/api/projects/ "Authorization: Token $TOKEN"' in block


def test_demo_info_before_any_demo_says_what_to_run(db):
    with pytest.raises(CommandError, match="`make run` creates it"):
        call("demo_info")


def test_seed_demo_is_idempotent_and_follows_the_emulator_to_a_new_port(
    db, django_capture_on_commit_callbacks
):
    call("seed_demo", emulator_url="http://127.0.0.1:8808/v2/")
    call("seed_demo", emulator_url="http://127.0.0.1:8808/v2/")
    demo = ServiceSettings.objects.get()
    assert demo.backend_url == "http://127.0.0.1:8808/v2/"

    call("seed_demo", emulator_url="http://127.0.0.1:8124/v2/")
    demo.refresh_from_db()
    assert demo.backend_url == "http://127.0.0.1:8124/v2/"
    assert demo.state == ServiceSettings.State.CREATING  # checked again at its new address
    assert ServiceSettings.objects.count() == 1
    assert Token.objects.count() == 1
