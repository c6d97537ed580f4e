from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from waldur_do.api.viewsets import ModelViewSet, UuidLookupMixin

from . import filters, selectors, services
from .serializers import (
    CustomerSerializer,
    ProjectSerializer,
    ServiceSettingsSerializer,
    SshPublicKeySerializer,
)

PROTECTED_DETAIL = inline_serializer("ProtectedDetail", {"detail": serializers.CharField()})


def _destroy_refused_while(children: str):
    """DELETE's answers: 204, or 409 while the object still has `children`."""
    conflict = OpenApiResponse(PROTECTED_DETAIL, description=f"It still has {children}: delete those first.")
    return extend_schema_view(destroy=extend_schema(responses={204: None, 409: conflict}))


@_destroy_refused_while("projects or service settings")
class CustomerViewSet(ModelViewSet):
    """Organisations. Anyone with a role in a customer or its projects sees it; staff create and delete
    customers, and staff and the customer's owners change them."""

    serializer_class = CustomerSerializer
    filterset_class = filters.CustomerFilter

    def get_visible_queryset(self, user):
        return selectors.customer_list(user=user)

    def can_create(self, user):
        return user.is_staff

    def can_manage(self, user, customer):
        if self.action == "destroy":
            return user.is_staff
        return selectors.is_customer_owner(user=user, customer=customer)


@_destroy_refused_while("droplets")
class ProjectViewSet(ModelViewSet):
    """Projects of a customer, which hold its droplets. Anyone with a role in the project or its customer sees
    it; staff and the customer's owners create, change and delete projects. A project cannot move to another
    customer."""

    serializer_class = ProjectSerializer
    filterset_class = filters.ProjectFilter

    def get_visible_queryset(self, user):
        return selectors.project_list(user=user)

    def can_create(self, user):
        return selectors.owns_any_customer(user=user)

    def can_manage(self, user, project):
        return selectors.is_customer_owner(user=user, customer=project.customer)

    def perform_create(self, serializer):
        customer = serializer.validated_data["customer"]
        if not selectors.is_customer_owner(user=self.request.user, customer=customer):
            raise PermissionDenied("Only staff and the customer's owners may create projects.")
        serializer.save()

    def perform_update(self, serializer):
        customer = serializer.validated_data.get("customer")
        if customer is not None and customer != serializer.instance.customer:
            raise serializers.ValidationError({"customer": ["A project cannot move to another customer."]})
        serializer.save()


@_destroy_refused_while("droplets")
class ServiceSettingsViewSet(ModelViewSet):
    """DigitalOcean accounts: a write-only API token and, for staff, another endpoint. A customer's settings
    are seen by those with a role in it, shared ones by everyone; staff and the customer's owners manage
    them. A new or changed token is checked, and the catalog pulled, in the background: `state` is
    `CREATING` until then, `OK` or `ERRED` (with `error_message`) after."""

    serializer_class = ServiceSettingsSerializer
    filterset_class = filters.ServiceSettingsFilter

    def get_visible_queryset(self, user):
        return selectors.service_settings_list(user=user)

    def can_create(self, user):
        return selectors.owns_any_customer(user=user)

    def can_manage(self, user, service_settings):
        return selectors.can_manage_service_settings(user=user, service_settings=service_settings)

    def perform_create(self, serializer):
        self._check_can_hold(serializer)
        serializer.instance = services.service_settings_create(**serializer.validated_data)

    def perform_update(self, serializer):
        self._check_can_hold(serializer)
        serializer.instance = services.service_settings_update(
            service_settings=serializer.instance, **serializer.validated_data
        )

    def _check_can_hold(self, serializer):
        """The settings as they will be after this request must still be the user's to manage."""
        data, instance = serializer.validated_data, serializer.instance
        customer = data["customer"] if "customer" in data else getattr(instance, "customer", None)
        shared = data.get("shared", getattr(instance, "shared", False))
        if not selectors.can_hold_service_settings(user=self.request.user, customer=customer, shared=shared):
            raise PermissionDenied("Only staff may share service settings or give them to another customer.")
        current_endpoint = instance.backend_url if instance else ""
        if data.get("backend_url", current_endpoint) != current_endpoint and not self.request.user.is_staff:
            # Workers send the settings' token to this URL: pointing it elsewhere is an operator's decision.
            raise PermissionDenied("Only staff may point service settings at another API endpoint.")


class SshPublicKeyViewSet(
    UuidLookupMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """SSH public keys for new droplets. Users see their own keys and the shared ones, and delete their own;
    staff see and delete all. A key cannot be edited: upload the changed key as a new one."""

    serializer_class = SshPublicKeySerializer
    filterset_class = filters.SshPublicKeyFilter

    def get_visible_queryset(self, user):
        return selectors.ssh_key_list(user=user)

    def can_manage(self, user, key):
        return user.is_staff or key.user_id == user.pk

    def perform_create(self, serializer):
        serializer.instance = services.ssh_key_create(user=self.request.user, **serializer.validated_data)
