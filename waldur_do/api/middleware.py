"""Guarantees that nothing under /api/ answers with an HTML page, whatever went wrong, below DRF or in any
other middleware. It is the outermost middleware after the probes (settings.MIDDLEWARE), so that the
answers the others give of their own (Django's 400 for an unknown Host, the 404 of an unknown path, a 500)
pass through it on their way out."""

import logging
from http import HTTPStatus

from django.core.exceptions import DisallowedHost
from django.http import JsonResponse

from .exceptions import client_error_for

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        # An unknown Host is refused by the middlewares below, in an HTML page that Django's debug mode
        # fills with the request itself; refuse it here first, in the API's words.
        refusal = _host_refusal(request)
        if refusal is not None:
            return refusal
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        # Django's own 404 (unknown path) or 405/400 pages are HTML; answer them in the API's error shape.
        return _json_error(response.status_code, response)

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        refusal = client_error_for(exception)
        if refusal is not None:
            return JsonResponse({"detail": str(refusal.detail)}, status=refusal.status_code)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse({"detail": "Internal server error."}, status=500)


def _host_refusal(request):
    try:
        request.get_host()
    except DisallowedHost as error:
        refusal = client_error_for(error)
        return JsonResponse({"detail": str(refusal.detail)}, status=refusal.status_code)
    return None


def _json_error(status_code, original):
    # DRF's own error rendered as HTML for a browser (the browsable API) still says what went wrong: keep it.
    data = getattr(original, "data", None)
    if not isinstance(data, dict | list):
        data = {"detail": _generic_detail(status_code)}
    response = JsonResponse(data, status=status_code, safe=False, json_dumps_params={"ensure_ascii": False})
    # Everything the page said in its headers (Allow, WWW-Authenticate, Retry-After, the security headers of
    # the middlewares below) still holds for the JSON that replaces it.
    for header, value in original.items():
        if header.lower() not in ("content-type", "content-length"):
            response[header] = value
    return response


def _generic_detail(status_code):
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    return {404: "Not found."}.get(status_code, phrase + ".")
