"""Liveness and readiness probes for load balancers and orchestrators.

They are answered by a middleware that runs before any other, so that a probe sent to the container's own
address (`http://127.0.0.1:8000/ready/`) is answered whatever DJANGO_ALLOWED_HOSTS says, without an HTTPS
redirect, a session or a database transaction around it. They reveal nothing but "ok" or the kind of failure.
"""

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

from django.db import connection
from django.http import JsonResponse

from tasks import celery_app
from tasks.heartbeat import queues_without_worker


def health(request):
    """The process is up and answers."""
    return JsonResponse({"status": "ok"})


# However the broker fails (refusing, or accepting and never answering), the probe answers within this.
READINESS_TIMEOUT = 3.0


def ready(request):
    """The process can do its work: the database answers, the broker takes connections, and every queue has
    a worker that was seen lately. Each failure is named by its kind only (no hosts, no credentials)."""
    failures = {name: error for name, check in READINESS_CHECKS.items() if (error := check())}
    if failures:
        return JsonResponse({"status": "unavailable", **failures}, status=503)
    return JsonResponse({"status": "ok"})


def _bounded(check) -> str | None:
    """Runs a check in a thread of its own and gives up on it after READINESS_TIMEOUT."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(check).result(timeout=READINESS_TIMEOUT)
    except FuturesTimeout:
        return "Timeout"
    finally:
        pool.shutdown(wait=False)


def _database_error() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any database failure means "not ready", which is the answer we owe
        return type(error).__name__
    return None


def _broker_error() -> str | None:
    return _bounded(_broker_connection_error)


def _broker_connection_error() -> str | None:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # likewise for the broker: whatever the transport raises
        return type(error).__name__
    return None


def _workers_error() -> str | None:
    try:
        missing = queues_without_worker()
    except Exception as error:  # the database check names a database that is away; this says no more
        return type(error).__name__
    return f"No worker seen lately for: {', '.join(missing)}" if missing else None


READINESS_CHECKS = {"database": _database_error, "broker": _broker_error, "workers": _workers_error}


PROBES = {"/health/": health, "/ready/": ready}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
