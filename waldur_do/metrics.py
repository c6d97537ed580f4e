"""Prometheus metrics, at `/metrics`.

Counters and histograms are kept by every process that counts (web and workers) in Prometheus' multiprocess
mode: each process writes its own memory-mapped files in PROMETHEUS_MULTIPROC_DIR (settings), and a scrape
adds them all up. The web and worker processes of one host share that folder (docker-compose mounts one
volume into each), so no pushgateway is needed. What the database knows (droplets by state, operations in
flight, the oldest of them, the stuck ones) is read at scrape time instead, so it is never stale.
"""

import hmac
import ipaddress
import re
import time

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from waldur_do.api.authentication import QueryTokenAuthentication, TokenAuthentication

HTTP_REQUESTS = Counter(
    "waldur_do_http_requests_total",
    "HTTP requests answered, by view, method and status.",
    ["view", "method", "status"],
)
HTTP_DURATION = Histogram(
    "waldur_do_http_request_duration_seconds", "Time to answer a request, by view.", ["view"]
)
DIGITALOCEAN_REQUESTS = Counter(
    "waldur_do_digitalocean_requests_total",
    "Requests to DigitalOcean, by kind (method and path pattern) and outcome.",
    ["kind", "outcome"],
)
RATE_LIMIT_WAITS = Counter(
    "waldur_do_digitalocean_rate_limit_waits_total",
    "Steps put off because DigitalOcean's rate limit was hit.",
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "waldur_do_digitalocean_rate_limit_wait_seconds_total", "Seconds of those waits, added up."
)
TASKS = Counter("waldur_do_celery_tasks_total", "Celery tasks run, by task and outcome.", ["task", "outcome"])
TASK_DURATION = Histogram(
    "waldur_do_celery_task_duration_seconds", "Time a Celery task ran, by task.", ["task"]
)

_NUMBER_SEGMENT = re.compile(r"/[^/]*\d[^/]*")


def digitalocean_request(method: str, url: str, outcome: str) -> None:
    """Counts one request; the path is reduced to its pattern (ids become `{id}`), to keep the labels few."""
    path = url.split("/v2/", 1)[-1].split("?", 1)[0].rstrip("/")
    DIGITALOCEAN_REQUESTS.labels(
        kind=f"{method} {_NUMBER_SEGMENT.sub('/{id}', '/' + path)}", outcome=outcome
    ).inc()


def digitalocean_outcome(status: int) -> str:
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    if status == 404:
        return "not_found"
    return "ok" if status < 400 else "rejected"


def rate_limit_wait(seconds: float) -> None:
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.inc(seconds)


def task_finished(name: str, outcome: str, seconds: float) -> None:
    TASKS.labels(task=name, outcome=outcome).inc()
    TASK_DURATION.labels(task=name).observe(seconds)


class MetricsMiddleware:
    """Counts every answer by the view that gave it (`unresolved` for paths no view matched)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "unresolved"
        HTTP_REQUESTS.labels(view=view, method=request.method, status=str(response.status_code)).inc()
        HTTP_DURATION.labels(view=view).observe(time.monotonic() - started)
        return response


class DatabaseCollector:
    """Gauges read from the database at each scrape."""

    def collect(self):
        from droplets.selectors import droplet_operation_stats, droplet_state_counts

        by_state = GaugeMetricFamily("waldur_do_droplets", "Droplets, by state.", labels=["state"])
        for state, count in droplet_state_counts().items():
            by_state.add_metric([state], count)
        yield by_state
        stats = droplet_operation_stats()
        in_flight = GaugeMetricFamily(
            "waldur_do_droplet_operations_in_flight",
            "Operations in flight, by operation and state.",
            labels=["operation", "state"],
        )
        oldest = GaugeMetricFamily(
            "waldur_do_droplet_operation_oldest_seconds",
            "Age of the oldest operation in flight, by state.",
            labels=["state"],
        )
        for row in stats.in_flight:
            in_flight.add_metric([row["operation"], row["state"]], row["count"])
        for state, age in stats.oldest_age_by_state.items():
            oldest.add_metric([state], age)
        yield in_flight
        yield oldest
        yield GaugeMetricFamily(
            "waldur_do_droplet_operations_stuck",
            "Operations in flight past their deadline.",
            value=stats.stuck,
        )


class MayScrapeMetrics(permissions.BasePermission):
    """Metrics are for operators: staff (by session or API token), a scraper sending METRICS_BEARER_TOKEN,
    or one on METRICS_ALLOWED_NETWORKS."""

    def has_permission(self, request, view):
        user = request.user
        return _from_allowed_network(request) or _bearer_matches(request) or bool(user and user.is_staff)


class MetricsView(APIView):
    # Token first: its `WWW-Authenticate` makes an anonymous scrape a 401, not a 403.
    authentication_classes = (TokenAuthentication, QueryTokenAuthentication, SessionAuthentication)
    permission_classes = (MayScrapeMetrics,)
    schema = None  # Prometheus' text format, not part of the API

    def get(self, request):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(DatabaseCollector())
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _from_allowed_network(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


def _bearer_matches(request) -> bool:
    expected = settings.METRICS_BEARER_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)
