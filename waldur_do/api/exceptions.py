"""One place that turns errors into API answers: DRF's own, Django's, and the services' domain errors."""

import logging

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from waldur_do.errors import DomainError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def client_error_for(exc: Exception) -> exceptions.APIException | None:
    """The 400-class answer owed for one of Django's own refusals of a request (its limits on size, fields
    and files, an unknown Host), which DRF does not know and would let through as a 500; None for anything
    else. The message is ours, never Django's: those echo the request and name our settings."""
    if not isinstance(exc, SuspiciousOperation):
        return None
    # Django logs these to django.security.<Name> itself only when nothing below it answered them.
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            f"The request body is larger than the {_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} accepted."
        )
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return exceptions.ParseError(f"The request has more than {limit} query parameters or form fields.")
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ParseError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
        )
    if isinstance(exc, DisallowedHost):
        return exceptions.ParseError("The Host header names a host this server does not serve.")
    return exceptions.ParseError("The request is malformed.")


def _size(limit: int | None) -> str:
    return "unlimited" if limit is None else f"{limit / (1024 * 1024):g} MiB"


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
    exc = client_error_for(exc) or exc
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
