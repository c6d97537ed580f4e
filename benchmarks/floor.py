"""The floor: the cheapest views that answer what the API's lists answer, for the benchmark to compare with.

Never routed in production (benchmarks/urls.py adds them for the benchmark server only). Each one does what a
list must do and nothing more: the same token lookup as DRF's TokenAuthentication, the count for
`X-Result-Count`, the first page of the same rows from `.values()` (no model objects), each row written out
by hand as a dict literal, and orjson. No DRF, no filters, no content negotiation, no `Link` header (so the
floor does a little less than a list, never more), no transaction. Staff only: the benchmark's user.

`benchmarks.api_load` asserts that each floor's body is byte for byte the API's body for the same page.
"""

import orjson
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from rest_framework.authtoken.models import Token

from droplets.models import Droplet, Image, Region, Size
from waldur_do.events.models import Event

DATE = "%Y-%m-%dT%H:%M:%S.%fZ"  # REST_FRAMEWORK["DATETIME_FORMAT"]; the database gives UTC datetimes

DROPLET_COLUMNS = (
    "uuid",
    "name",
    "description",
    "service_settings__uuid",
    "service_settings__state",
    "service_settings__error_message",
    "project__uuid",
    "project__name",
    "project__customer__uuid",
    "project__customer__name",
    "project__customer__native_name",
    "project__customer__abbreviation",
    "error_message",
    "error_traceback",
    "state",
    "created",
    "modified",
    "backend_id",
    "start_time",
    "cores",
    "ram",
    "disk",
    "min_ram",
    "min_disk",
    "user_data",
    "external_ips",
    "internal_ips",
    "latitude",
    "longitude",
    "key_name",
    "key_fingerprint",
    "image_name",
    "runtime_state",
    "region_name",
)


def _staff(request):
    """The user of `Authorization: Token <key>`, as DRF's TokenAuthentication finds it; None unless staff."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Token" or not key:
        return None
    try:
        user = Token.objects.select_related("user").get(key=key).user
    except Token.DoesNotExist:
        return None
    return user if user.is_active and user.is_staff else None


def _page_size(request):
    try:
        size = int(request.GET.get("page_size", 10))
    except ValueError:
        return 10
    return min(size, 300) if size > 0 else 10


def _answer(request, queryset, rows_to_json):
    if _staff(request) is None:
        return JsonResponse({"detail": "Staff only."}, status=403)
    count = queryset.count()
    rows = list(queryset[: _page_size(request)])
    base = f"{request.scheme}://{request.get_host()}"
    response = HttpResponse(orjson.dumps(rows_to_json(rows, base)), content_type="application/json")
    response["X-Result-Count"] = str(count)
    return response


@transaction.non_atomic_requests
def droplet_list(request):
    def rows_to_json(rows, base):
        return [
            {
                "url": f"{base}/api/digitalocean-droplets/{r['uuid'].hex}/",
                "uuid": r["uuid"].hex,
                "name": r["name"],
                "description": r["description"],
                "service_name": "DigitalOcean",
                "service_settings": f"{base}/api/service-settings/{r['service_settings__uuid'].hex}/",
                "service_settings_uuid": r["service_settings__uuid"].hex,
                "service_settings_state": r["service_settings__state"],
                "service_settings_error_message": r["service_settings__error_message"],
                "project": f"{base}/api/projects/{r['project__uuid'].hex}/",
                "project_name": r["project__name"],
                "project_uuid": r["project__uuid"].hex,
                "customer": f"{base}/api/customers/{r['project__customer__uuid'].hex}/",
                "customer_uuid": r["project__customer__uuid"].hex,
                "customer_name": r["project__customer__name"],
                "customer_native_name": r["project__customer__native_name"],
                "customer_abbreviation": r["project__customer__abbreviation"],
                "error_message": r["error_message"],
                "error_traceback": r["error_traceback"],
                "resource_type": "DigitalOcean.Droplet",
                "state": r["state"],
                "created": r["created"].strftime(DATE),
                "modified": r["modified"].strftime(DATE),
                "backend_id": r["backend_id"],
                "access_url": r["external_ips"][0] if r["external_ips"] else None,
                "start_time": r["start_time"].strftime(DATE) if r["start_time"] else None,
                "cores": r["cores"],
                "ram": r["ram"],
                "disk": r["disk"],
                "min_ram": r["min_ram"],
                "min_disk": r["min_disk"],
                "user_data": r["user_data"],
                "external_ips": r["external_ips"],
                "internal_ips": r["internal_ips"],
                "latitude": r["latitude"],
                "longitude": r["longitude"],
                "key_name": r["key_name"],
                "key_fingerprint": r["key_fingerprint"],
                "image_name": r["image_name"],
                "runtime_state": r["runtime_state"],
                "region_name": r["region_name"],
                "marketplace_offering_uuid": None,
                "marketplace_offering_name": None,
                "marketplace_offering_plugin_options": None,
                "marketplace_offering_type": None,
                "marketplace_category_uuid": None,
                "marketplace_category_name": None,
                "marketplace_resource_uuid": None,
                "marketplace_plan_uuid": None,
                "marketplace_resource_state": None,
                "is_usage_based": False,
                "is_limit_based": False,
            }
            for r in rows
        ]

    return _answer(request, Droplet.objects.values(*DROPLET_COLUMNS), rows_to_json)


@transaction.non_atomic_requests
def region_list(request):
    def rows_to_json(rows, base):
        return [
            {
                "url": f"{base}/api/digitalocean-regions/{r['uuid'].hex}/",
                "uuid": r["uuid"].hex,
                "name": r["name"],
                "service_settings": f"{base}/api/service-settings/{r['service_settings__uuid'].hex}/",
                "service_settings_uuid": r["service_settings__uuid"].hex,
            }
            for r in rows
        ]

    return _answer(request, Region.objects.values("uuid", "name", "service_settings__uuid"), rows_to_json)


def _regions_of(model, rows, base):
    """{item pk: [{url, uuid, name}, ...]} for the page's items, in the regions' order, in one query."""
    through = model.regions.through
    owner = f"{model._meta.model_name}_id"
    links = (
        through.objects.filter(**{f"{owner}__in": [r["pk"] for r in rows]})
        .order_by("region__name", "region__pk")
        .values_list(owner, "region__uuid", "region__name")
    )
    regions = {r["pk"]: [] for r in rows}
    for pk, uuid, name in links:
        regions[pk].append(
            {"url": f"{base}/api/digitalocean-regions/{uuid.hex}/", "uuid": uuid.hex, "name": name}
        )
    return regions


@transaction.non_atomic_requests
def image_list(request):
    def rows_to_json(rows, base):
        regions = _regions_of(Image, rows, base)
        return [
            {
                "url": f"{base}/api/digitalocean-images/{r['uuid'].hex}/",
                "uuid": r["uuid"].hex,
                "name": r["name"],
                "distribution": r["distribution"],
                "type": r["type"],
                "regions": regions[r["pk"]],
                "is_official": r["is_official"],
                "created_at": r["created_at"].strftime(DATE) if r["created_at"] else None,
                "min_disk_size": r["min_disk_size"],
                "service_settings": f"{base}/api/service-settings/{r['service_settings__uuid'].hex}/",
                "service_settings_uuid": r["service_settings__uuid"].hex,
            }
            for r in rows
        ]

    columns = ("pk", "uuid", "name", "distribution", "type", "is_official", "created_at", "min_disk_size")
    return _answer(request, Image.objects.values(*columns, "service_settings__uuid"), rows_to_json)


@transaction.non_atomic_requests
def size_list(request):
    def rows_to_json(rows, base):
        regions = _regions_of(Size, rows, base)
        return [
            {
                "url": f"{base}/api/digitalocean-sizes/{r['uuid'].hex}/",
                "uuid": r["uuid"].hex,
                "name": r["name"],
                "cores": r["cores"],
                "ram": r["ram"],
                "disk": r["disk"],
                "transfer": r["transfer"],
                "price": float(r["price"]),
                "regions": regions[r["pk"]],
                "service_settings": f"{base}/api/service-settings/{r['service_settings__uuid'].hex}/",
                "service_settings_uuid": r["service_settings__uuid"].hex,
            }
            for r in rows
        ]

    columns = ("pk", "uuid", "name", "cores", "ram", "disk", "transfer", "price")
    return _answer(request, Size.objects.values(*columns, "service_settings__uuid"), rows_to_json)


class AtomicReadsMiddleware:
    """The old behaviour, for `BENCH_ATOMIC_READS=1` only: a GET or HEAD runs inside a transaction, as it did
    under ATOMIC_REQUESTS (on SQLite with transaction_mode IMMEDIATE, holding the write lock throughout)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with transaction.atomic():
            return self.get_response(request)


@transaction.non_atomic_requests
def event_list(request):
    def rows_to_json(rows, base):
        return [
            {
                "uuid": r["uuid"].hex,
                "created": r["created"].strftime(DATE),
                "event_type": r["event_type"],
                "message": r["message"],
                "context": r["context"],
            }
            for r in rows
        ]

    events = Event.objects.order_by("-created", "-pk").values(
        "uuid", "created", "event_type", "message", "context"
    )
    return _answer(request, events, rows_to_json)
