from rest_framework import routers
from rest_framework.permissions import AllowAny
from rest_framework.reverse import reverse

from .transactions import atomic_writes

AUTHENTICATION_HINT = (
    "Send `Authorization: Token <key>` (or `?x-auth-token=<key>`) with every request to these endpoints; "
    "an operator creates tokens in the admin, and `make token` prints the demo's."
)


class ApiRootView(routers.APIRootView):
    """The endpoints of this API, and how to authenticate to use them."""

    permission_classes = [AllowAny]

    @classmethod
    def as_view(cls, **initkwargs):
        return atomic_writes(super().as_view(**initkwargs))

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data = {
            "docs": reverse("swagger-ui", request=request),
            "schema": reverse("schema", request=request),
            "authentication": AUTHENTICATION_HINT,
            **response.data,
        }
        return response


class Router(routers.DefaultRouter):
    """Waldur's routes: plural kebab-case, trailing slash, no browsable root listing in the schema."""

    include_format_suffixes = False
    APIRootView = ApiRootView
