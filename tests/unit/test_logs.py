"""Log lines (waldur_do/logs.py, settings.LOGGING): the droplet and task they are about, on every line, in
JSON or text; and no token in any of them."""

import contextlib
import io
import json
import logging
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.conf import settings

from waldur_do.logs import droplet_context, redact

DROPLET = SimpleNamespace(pk=1, uuid=uuid4(), backend_id="4242", operation="stop")


def _line(formatter_name: str, message: str, *args, droplet=DROPLET) -> str:
    """What the configured console handler writes for a record logged in `droplet`'s context."""
    config = settings.LOGGING
    handler = logging.StreamHandler(io.StringIO())
    formatter_config = dict(config["formatters"][formatter_name])
    factory = formatter_config.pop("()")
    module, _, name = factory.rpartition(".")
    handler.setFormatter(getattr(__import__(module, fromlist=[name]), name)(**formatter_config))
    for filter_config in config["filters"].values():
        module, _, name = filter_config["()"].rpartition(".")
        handler.addFilter(getattr(__import__(module, fromlist=[name]), name)())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with droplet_context(droplet) if droplet is not None else contextlib.nullcontext():
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return handler.stream.getvalue()


def test_a_json_line_names_the_droplet_and_its_operation():
    line = json.loads(_line("json", "stop failed: %s", "boom"))
    assert line["message"] == "stop failed: boom"
    assert (line["droplet_uuid"], line["backend_id"], line["operation"]) == (DROPLET.uuid.hex, "4242", "stop")
    assert (line["level"], line["logger"]) == ("WARNING", "tests.logs")
    assert "task_id" in line and "time" in line


def test_the_line_that_ends_an_operation_still_names_it():
    with droplet_context(DROPLET):
        ended = SimpleNamespace(pk=1, uuid=DROPLET.uuid, backend_id="4242", operation="")
        assert '"operation": "stop"' in _line("json", "stop succeeded", droplet=ended)


def test_a_text_line_shows_only_the_context_it_has():
    assert f"[droplet_uuid={DROPLET.uuid.hex} backend_id=4242 operation=stop]" in _line("text", "x")
    assert not _line("text", "plain", droplet=None).rstrip().endswith("]")


def test_the_celery_task_id_is_on_the_lines_of_a_task(celery_app_eager_task_id):
    assert celery_app_eager_task_id in _line("text", "inside a task")


@pytest.fixture
def celery_app_eager_task_id(monkeypatch):
    task_id = uuid4().hex
    task = SimpleNamespace(request=SimpleNamespace(id=task_id))
    monkeypatch.setattr("waldur_do.logs.current_task", task)
    return task_id


@pytest.mark.parametrize(
    "line",
    [
        '"GET /api/digitalocean-droplets/?x-auth-token=0123456789abcdef0123 HTTP/1.1" 200 512',
        '"GET /api/?page=2&X-Auth-Token=0123456789abcdef0123&o=name HTTP/1.1" 200 12',
        "request headers: Authorization: Token 0123456789abcdef0123",
        "calling DigitalOcean with Bearer dop_v1_0123456789abcdef0123",
    ],
)
def test_tokens_are_redacted_from_every_line(line):
    assert "0123456789abcdef0123" not in _line("text", "%s", line)
    assert "0123456789abcdef0123" not in _line("json", line)
    assert "[redacted]" in redact(line)


def test_the_runservers_request_lines_are_redacted():
    """Through the logging Django configured: the runserver logs each request line to `django.server`."""
    # pytest adds capturing handlers of its own beside the configured console handler.
    (handler,) = [h for h in logging.getLogger("django.server").handlers if type(h) is logging.StreamHandler]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("django.server").info(
            '"%s" %s %s', "GET /api/?x-auth-token=SECRETSECRETSECRET HTTP/1.1", "200", "12"
        )
    finally:
        handler.setStream(previous)
    assert "GET /api/?x-auth-token=[redacted] HTTP/1.1" in stream.getvalue()
    assert "SECRETSECRETSECRET" not in stream.getvalue()
