"""One place that turns errors into API answers: DRF's own, Django's, and the services' domain errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from waldur_do.errors import DomainError


def exception_handler(exc, context):
    # A refused request must leave nothing behind, even what a service wrote before it raised: under
    # ATOMIC_REQUESTS the request's transaction commits unless marked for rollback, as DRF does for its own.
    if isinstance(exc, DomainError):
        set_rollback()
        return _domain_error_response(exc)
    if isinstance(exc, ProtectedError):
        set_rollback()
        return Response({"detail": _protected_message(exc)}, status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def _domain_error_response(exc: DomainError) -> Response:
    if exc.status_code == 400:
        return Response({exc.field or "non_field_errors": [exc.message]}, status=400)
    return Response({"detail": exc.message}, status=exc.status_code)


def _protected_message(exc: ProtectedError) -> str:
    blocking = {str(obj._meta.verbose_name_plural) for obj in exc.protected_objects}  # lazy strings
    return f"Cannot delete it while it still has {', '.join(sorted(blocking))}."
