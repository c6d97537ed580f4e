"""The emulator as one WSGI application: auth, rate limits, faults, request log and validation around the API.

Order for a ``/v2`` request: route -> token -> rate limit -> injected faults -> endpoint. The route is
resolved first only to know whether the response has an operation in the spec to be validated against.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
import uuid
from pathlib import Path

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from .control import CONTROL_ROUTES, ControlPlane
from .core import ApiError, EmulatorCore, not_found
from .faults import PRESETS, RATE_LIMITED_BODY, CannedReply, Effect, RequestFacts
from .http import API_ROUTES, ApiCall, DigitalOceanApi, error_response, json_response, read_json_body
from .statefile import save_state
from .validation import ResponseValidator

CONTROL_PREFIX = "/_emulator/"
REQUEST_ID_HEADER = "x-request-id"


class ConnectionFaultWithoutSocket(RuntimeError):
    """drop_connection / truncate_body need a real socket; in-process clients get this instead."""


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_fingerprint(token: str) -> str:
    """How the request log names a token: enough to tell tokens apart, nothing to authenticate with (the
    log is served without authentication)."""
    return f"sha256:{hashlib.sha256(token.encode()).hexdigest()[:12]}" if token else ""


def _logged_body(request: Request):
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _canned_response(reply: CannedReply, request_id: str) -> Response:
    if isinstance(reply.body, dict):
        with_id = "id" in reply.body and reply.with_request_id
        body = {**reply.body, "request_id": request_id} if with_id else reply.body
        response = json_response(reply.status, body)
    else:
        response = Response(reply.body or b"", status=reply.status, content_type=reply.content_type)
        if reply.content_type is None:
            response.headers.remove("Content-Type")
    response.headers.update(reply.headers)
    return response


def _with_allow(response: Response, error: HTTPException) -> Response:
    """A 405 names the methods the resource has (RFC 9110, 15.5.6)."""
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _connection_of(environ) -> socket.socket:
    connection = environ.get("werkzeug.socket")
    if connection is None:
        raise ConnectionFaultWithoutSocket("connection faults need the real server (emulator_server)")
    return connection


def _drop(connection: socket.socket) -> None:
    # The client sees the connection close; the server's later write fails quietly as a dropped connection.
    connection.shutdown(socket.SHUT_RDWR)


def _truncated(response: Response, connection: socket.socket) -> Response:
    """Announce the full Content-Length, send half the body, then cut the connection."""
    body = response.get_data()

    def half_then_cut():
        yield body[: len(body) // 2]
        _drop(connection)

    truncated = Response(half_then_cut(), status=response.status_code, headers=response.headers)
    truncated.headers["Content-Length"] = str(len(body))
    return truncated


class EmulatorApp:
    def __init__(self, core: EmulatorCore, *, validate: bool = False, state_file: Path | None = None):
        self.core = core
        self.api = DigitalOceanApi(core)
        self.control = ControlPlane(core)
        self.state_file = state_file
        self.validator = ResponseValidator() if validate else None
        # Kept so a test fixture can fail a test whose responses broke the spec, even over a real socket.
        self.validation_failures: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        request_id = str(uuid.uuid4())
        if request.path.startswith(CONTROL_PREFIX):
            response = self._serve_control(request, request_id)
        else:
            response = self._serve_api(request, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        if self.state_file is not None and request.method != "GET" and response.status_code < 400:
            save_state(self.core, self.state_file)
        return response(environ, start_response)

    def _serve_control(self, request: Request, request_id: str) -> Response:
        try:
            endpoint, args = CONTROL_ROUTES.bind("emulator").match(request.path.rstrip("/"), request.method)
            return self.control.handle(endpoint, request, args)
        except HTTPException as error:
            error_id = {404: "not_found", 405: "method_not_allowed"}.get(error.code, "bad_request")
            return _with_allow(error_response(error.code, error_id, error.description, request_id), error)
        except ApiError as error:
            return error_response(error.status, error.error_id, error.message, request_id)
        except (ValueError, TypeError) as error:  # bad control input: a wrong value or a wrong JSON type
            return error_response(400, "bad_request", str(error), request_id)

    def _serve_api(self, request: Request, request_id: str) -> Response:
        path = request.path.rstrip("/") or "/"
        try:
            endpoint, args = API_ROUTES.bind("emulator").match(path, request.method)
            route_error = None
        except HTTPException as error:
            endpoint, args, route_error = None, {}, error
        token = _bearer_token(request)
        effect: Effect | None = None
        if not self.core.authenticate(token):
            verdict = self.core.rate_limit_status(token)
            response = _canned_response(PRESETS["unauthorized"], request_id)
        else:
            verdict = self.core.acquire_rate_limit(token, ssh_keys_listing=endpoint == "ssh_keys_list")
            if not verdict.allowed:
                message = RATE_LIMITED_BODY["message"]
                response = error_response(429, RATE_LIMITED_BODY["id"], message, request_id)
            else:
                latency_s, effect = self.core.plan_request_faults(self._facts(request, path, token))
                time.sleep(latency_s)
                response = self._answer(effect, endpoint, args, route_error, request, path, request_id)
        response.headers.update(verdict.headers())
        if response.status_code == 429:
            response.headers["ratelimit-remaining"] = "0"
        self._log(request, response, token, request_id, effect)
        # Only operations the spec has can be checked.
        spec_checked = endpoint is not None and (effect is None or not effect.exempt_from_validation)
        if spec_checked and self.validator is not None:
            self._validate(request, path, response)
        if effect is not None and effect.kind == "truncate_body":
            return _truncated(response, _connection_of(request.environ))
        return response

    def _answer(self, effect, endpoint, args, route_error, request, path, request_id) -> Response:
        if effect is not None and effect.kind == "drop_connection":
            # Dropped before the request is handled: nothing changes. (latency_ms beyond the client's
            # timeout covers the other case, a request that is handled but whose answer never arrives.)
            _drop(_connection_of(request.environ))
            return Response(status=503)
        if effect is not None and effect.kind == "reply":
            return _canned_response(effect.reply, request_id)
        if route_error is not None:
            return self._route_error_response(route_error, request_id)
        return self._call_endpoint(endpoint, request, args, path, request_id)

    @staticmethod
    def _facts(request: Request, path: str, token: str) -> RequestFacts:
        try:
            body = read_json_body(request) if request.method == "POST" else {}
        except ApiError:
            body = {}
        action_type = body.get("type")
        try:
            page = int(request.args.get("page", 1))
        except ValueError:
            page = 1
        return RequestFacts(
            method=request.method,
            path=path,
            token=token,
            page=page,
            action_type=action_type if isinstance(action_type, str) else None,
        )

    @staticmethod
    def _route_error_response(error: HTTPException, request_id: str) -> Response:
        if isinstance(error, MethodNotAllowed):
            message = "The method is not allowed for this resource."
            return _with_allow(error_response(405, "method_not_allowed", message, request_id), error)
        missing = not_found()
        return error_response(missing.status, missing.error_id, missing.message, request_id)

    def _call_endpoint(self, endpoint: str, request: Request, args: dict, path: str, request_id: str):
        base_url = (self.core.config.public_url or request.host_url).rstrip("/")
        call = ApiCall(request=request, args=args, base_url=base_url, path=path)
        try:
            return self.api.handler(endpoint)(call)
        except ApiError as error:
            return error_response(error.status, error.error_id, error.message, request_id)

    def _log(self, request: Request, response: Response, token: str, request_id: str, effect: Effect | None):
        self.core.record_request(
            {
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(),
                "body": _logged_body(request),
                "token_fingerprint": token_fingerprint(token),
                "status": response.status_code,
                "fault": None if effect is None else effect.preset or effect.kind,
            }
        )

    def _validate(self, request: Request, path: str, response: Response) -> None:
        try:
            self.validator.validate(
                request.method,
                path,
                response.status_code,
                response.headers,
                response.get_data(),
                response.mimetype or "",
            )
        except AssertionError as failure:
            self.validation_failures.append(str(failure))
            raise
