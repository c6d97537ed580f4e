import django_filters
from django.urls import Resolver404, resolve
from rest_framework.exceptions import ValidationError

from waldur_do.api.fields import parse_uuid
from waldur_do.api.filters import InstantFilter, OrderingFilter

from .models import Event

# The resources that have a history; `scope` names one of them by its URL, as Waldur's clients do.
SCOPE_VIEWS = {"digitalocean-droplet-detail"}


class EventFilter(django_filters.FilterSet):
    scope = django_filters.CharFilter(method="filter_scope", help_text="The URL of a droplet.")
    resource_uuid = django_filters.UUIDFilter(field_name="droplet_uuid")
    project = django_filters.UUIDFilter(field_name="project__uuid")
    project_uuid = django_filters.UUIDFilter(field_name="project__uuid")
    customer = django_filters.UUIDFilter(field_name="customer__uuid")
    customer_uuid = django_filters.UUIDFilter(field_name="customer__uuid")
    event_type = django_filters.CharFilter(
        method="filter_event_type", help_text="Repeat it for several: `?event_type=a&event_type=b`."
    )
    created_from = InstantFilter(field_name="created", lookup_expr="gte")
    created_to = InstantFilter(field_name="created", lookup_expr="lte")
    o = OrderingFilter(fields=(("created", "created"), ("event_type", "event_type")))

    class Meta:
        model = Event
        fields = ()

    def filter_scope(self, queryset, name, value):
        return queryset.filter(droplet_uuid=_scope_uuid(value))

    def filter_event_type(self, queryset, name, value):
        return queryset.filter(event_type__in=[t for t in self.data.getlist(name) if t])


def _scope_uuid(url: str):
    path = "/" + url.split("://", 1)[-1].partition("/")[2] if "://" in url else url
    try:
        match = resolve(path.split("?", 1)[0])
    except Resolver404:
        match = None
    uuid = parse_uuid(match.kwargs.get("uuid")) if match and match.url_name in SCOPE_VIEWS else None
    if uuid is None:
        raise ValidationError({"scope": ["Enter the URL of a droplet."]})
    return uuid
