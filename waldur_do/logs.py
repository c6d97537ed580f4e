"""What every log line says about where it comes from: the droplet it is about and the Celery task that runs.

Code that works on a droplet enters `droplet_context(droplet)`; `ContextFilter` then puts the droplet's
uuid, backend id and operation, and the current Celery task's id, on every record logged meanwhile, from any
module. The formatters (settings.LOGGING) show them: JSON lines in production, readable text in development.
`RedactTokens` keeps credentials out of request lines (the runserver's and the access logs)."""

import contextvars
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass

from celery import current_task

CONTEXT_FIELDS = ("droplet_uuid", "backend_id", "operation", "task_id")


@dataclass(frozen=True)
class _DropletContext:
    droplet: object
    operation: str  # named when the context was entered: the line that says it ended still names it


_context = contextvars.ContextVar("log_droplet", default=None)


@contextmanager
def droplet_context(droplet):
    outer = _context.get()
    operation = droplet.operation or (outer.operation if outer and outer.droplet.pk == droplet.pk else "")
    token = _context.set(_DropletContext(droplet, operation))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds the CONTEXT_FIELDS to every record ("" where there is nothing to say)."""

    def filter(self, record):
        context = _context.get()
        droplet = context.droplet if context is not None else None
        record.droplet_uuid = droplet.uuid.hex if droplet is not None else ""
        record.backend_id = getattr(droplet, "backend_id", "") or ""
        record.operation = context.operation if context is not None else ""
        task = current_task
        record.task_id = (task.request.id or "") if task else ""
        return True


class TextFormatter(logging.Formatter):
    """The development format: the message, then the context fields that have a value."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record):
        line = super().format(record)
        context = " ".join(
            f"{name}={value}" for name in CONTEXT_FIELDS if (value := getattr(record, name, ""))
        )
        return f"{line} [{context}]" if context else line


# A token in a query string (`?x-auth-token=…`) or an Authorization header value.
_TOKEN_IN_QUERY = re.compile(r"(?i)(x-auth-token=)[^&\s\"']+")
_TOKEN_IN_HEADER = re.compile(r"(?i)\b(token|bearer)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str) -> str:
    return _TOKEN_IN_HEADER.sub(r"\1 [redacted]", _TOKEN_IN_QUERY.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    """Rewrites a record whose message or arguments carry a token (a request line with `?x-auth-token=`)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
