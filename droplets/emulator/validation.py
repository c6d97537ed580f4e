"""Checks each emulator response against DigitalOcean's OpenAPI specification (``DOEMU_VALIDATE=1``, and in
tests).

openapi-core is a dev dependency, so it is imported only when validation is switched on.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

SPEC_ENV = "DOEMU_SPEC"
# The spec's only server; paths are compared without the trailing slash python-digitalocean adds.
SPEC_HOST_URL = "https://api.digitalocean.com"
# The project's own reduced copy of DigitalOcean's spec (tests/data/NOTICE says where it comes from).
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "tests" / "data" / "digitalocean-openapi.yaml"


class ResponseValidationFailed(AssertionError):
    """The emulator answered something DigitalOcean's spec does not allow."""


def spec_path() -> Path:
    path = Path(os.environ.get(SPEC_ENV) or DEFAULT_SPEC)
    if not path.is_file():
        raise FileNotFoundError(
            f"DigitalOcean OpenAPI spec not found at {path}; set {SPEC_ENV} to its location"
        )
    return path


@functools.cache
def _load_openapi(path: Path):
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(path))


def _describe(error: Exception) -> str:
    details = [str(error)]
    cause = error.__cause__
    while cause is not None:
        details.append(str(cause))
        details.extend(str(schema_error) for schema_error in getattr(cause, "schema_errors", ()))
        cause = cause.__cause__
    return "; ".join(details)


class ResponseValidator:
    def __init__(self, path: Path | None = None):
        self._openapi = _load_openapi(path or spec_path())

    def validate(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes, mimetype: str
    ) -> None:
        """Raise ResponseValidationFailed, naming every violation, unless the response fits the spec."""
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(SPEC_HOST_URL, method, path.rstrip("/") or "/")
        response = MockResponse(body, status_code=status, headers=dict(headers), content_type=mimetype)
        try:
            self._openapi.validate_response(request, response)
        except OpenAPIError as error:
            raise ResponseValidationFailed(f"{method} {path} -> {status}: {_describe(error)}") from error
