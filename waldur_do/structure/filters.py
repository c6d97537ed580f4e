import django_filters

from waldur_do.api.filters import NamedFilterSet, OrderingFilter

from .models import Customer, Project, ServiceSettings, SshPublicKey


class CustomerFilter(NamedFilterSet):
    abbreviation = django_filters.CharFilter(lookup_expr="icontains")
    native_name = django_filters.CharFilter(lookup_expr="icontains")
    o = OrderingFilter(fields=("name", "abbreviation", "native_name", "created"))

    class Meta:
        model = Customer
        fields = ()


class ProjectFilter(NamedFilterSet):
    customer = django_filters.UUIDFilter(field_name="customer__uuid")
    customer_uuid = django_filters.UUIDFilter(field_name="customer__uuid")
    customer_name = django_filters.CharFilter(field_name="customer__name", lookup_expr="icontains")
    o = OrderingFilter(fields=(("name", "name"), ("created", "created"), ("customer__name", "customer_name")))

    class Meta:
        model = Project
        fields = ()


class ServiceSettingsFilter(NamedFilterSet):
    type = django_filters.ChoiceFilter(choices=ServiceSettings.Type.choices)
    state = django_filters.ChoiceFilter(choices=ServiceSettings.State.choices)
    customer = django_filters.UUIDFilter(field_name="customer__uuid")
    customer_uuid = django_filters.UUIDFilter(field_name="customer__uuid")
    shared = django_filters.BooleanFilter()
    o = OrderingFilter(fields=("name", "type", "state", "created"))

    class Meta:
        model = ServiceSettings
        fields = ()


class SshPublicKeyFilter(NamedFilterSet):
    fingerprint_md5 = django_filters.CharFilter()
    fingerprint_sha256 = django_filters.CharFilter()
    user_uuid = django_filters.UUIDFilter(field_name="user__uuid")
    is_shared = django_filters.BooleanFilter()
    o = OrderingFilter(fields=("name", "created"))

    class Meta:
        model = SshPublicKey
        fields = ()
