import django_filters

from waldur_do.api.filters import AnyOfFilter, NamedFilterSet, OrderingFilter

from ..models import Droplet, Image, Region, Size
from ..selectors import droplet_managed_ids
from ..states import RuntimeState, State


class DropletFilter(NamedFilterSet):
    description = django_filters.CharFilter(lookup_expr="icontains")
    uuid = django_filters.UUIDFilter()
    backend_id = django_filters.CharFilter()
    customer = django_filters.UUIDFilter(field_name="project__customer__uuid")
    customer_uuid = django_filters.UUIDFilter(field_name="project__customer__uuid")
    customer_name = django_filters.CharFilter(field_name="project__customer__name", lookup_expr="icontains")
    customer_native_name = django_filters.CharFilter(
        field_name="project__customer__native_name", lookup_expr="icontains"
    )
    customer_abbreviation = django_filters.CharFilter(
        field_name="project__customer__abbreviation", lookup_expr="icontains"
    )
    project = django_filters.UUIDFilter(field_name="project__uuid")
    project_uuid = django_filters.UUIDFilter(field_name="project__uuid")
    project_name = django_filters.CharFilter(field_name="project__name", lookup_expr="icontains")
    service_settings_uuid = django_filters.UUIDFilter(field_name="service_settings__uuid")
    service_settings_name = django_filters.CharFilter(
        field_name="service_settings__name", lookup_expr="icontains"
    )
    external_ip = django_filters.CharFilter(method="filter_external_ip")
    state = AnyOfFilter(choices=[(s.value, s.value) for s in State])
    runtime_state = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in RuntimeState if s.value])
    can_manage = django_filters.BooleanFilter(method="filter_can_manage")
    o = OrderingFilter(
        fields=(
            ("name", "name"),
            ("state", "state"),
            ("created", "created"),
            ("project__customer__name", "customer_name"),
            ("project__customer__native_name", "customer_native_name"),
            ("project__customer__abbreviation", "customer_abbreviation"),
            ("project__name", "project_name"),
            ("service_settings__name", "service_name"),
        )
    )

    class Meta:
        model = Droplet
        fields = ()

    def filter_external_ip(self, queryset, name, value):
        # The list is stored as JSON text on every backend: match the quoted address as a whole.
        return queryset.filter(external_ips__icontains=f'"{value}"')

    def filter_can_manage(self, queryset, name, value):
        managed = droplet_managed_ids(user=self.request.user)
        return queryset.filter(pk__in=managed) if value else queryset.exclude(pk__in=managed)


class CatalogFilter(NamedFilterSet):
    service_settings_uuid = django_filters.UUIDFilter(field_name="service_settings__uuid")


class RegionFilter(CatalogFilter):
    o = OrderingFilter(fields=("name",))

    class Meta:
        model = Region
        fields = ()


class ImageFilter(CatalogFilter):
    distribution = django_filters.CharFilter(lookup_expr="icontains")
    type = django_filters.CharFilter()
    o = OrderingFilter(fields=("distribution", "type", "name"))

    class Meta:
        model = Image
        fields = ()


class SizeFilter(CatalogFilter):
    cores = django_filters.NumberFilter()
    ram = django_filters.NumberFilter()
    disk = django_filters.NumberFilter()
    o = OrderingFilter(fields=("cores", "ram", "disk", "name"))

    class Meta:
        model = Size
        fields = ()
