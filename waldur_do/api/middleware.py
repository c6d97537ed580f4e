"""Guarantees that nothing under /api/ answers with an HTML page, whatever went wrong below DRF."""

import logging
from http import HTTPStatus

from django.http import JsonResponse

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        # Django's own 404 (unknown path) or 405/400 pages are HTML; answer them in the API's error shape.
        return _json_error(response.status_code, response)

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse({"detail": "Internal server error."}, status=500)


def _json_error(status_code, original):
    # DRF's own error rendered as HTML for a browser (the browsable API) still says what went wrong: keep it.
    data = getattr(original, "data", None)
    if not isinstance(data, dict | list):
        data = {"detail": _generic_detail(status_code)}
    response = JsonResponse(data, status=status_code, safe=False, json_dumps_params={"ensure_ascii": False})
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if original.has_header(header):
            response[header] = original[header]
    return response


def _generic_detail(status_code):
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    return {404: "Not found."}.get(status_code, phrase + ".")
