"""The ``/_emulator/`` control plane: state, reset, faults, clock, actions, request log, drift, config.

It lives outside ``/v2`` so it cannot collide with the API, needs no token and is not rate limited.
"""

from __future__ import annotations

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import config as config_module
from .core import EmulatorCore
from .http import json_response, no_content, read_json_body

CONTROL_ROUTES = Map(
    [
        Rule("/_emulator/state", methods=["GET"], endpoint="state"),
        Rule("/_emulator/reset", methods=["POST"], endpoint="reset"),
        Rule("/_emulator/faults", methods=["GET"], endpoint="faults_list"),
        Rule("/_emulator/faults", methods=["POST"], endpoint="faults_add"),
        Rule("/_emulator/faults", methods=["DELETE"], endpoint="faults_clear"),
        Rule("/_emulator/clock/advance", methods=["POST"], endpoint="clock_advance"),
        Rule("/_emulator/actions/complete", methods=["POST"], endpoint="actions_complete"),
        Rule("/_emulator/requests", methods=["GET"], endpoint="requests_list"),
        Rule("/_emulator/requests", methods=["DELETE"], endpoint="requests_clear"),
        Rule("/_emulator/droplets/<int:droplet_id>/out-of-band", methods=["POST"], endpoint="out_of_band"),
        Rule("/_emulator/config", methods=["GET"], endpoint="config_get"),
        Rule("/_emulator/config", methods=["PUT"], endpoint="config_put"),
    ]
)


class ControlPlane:
    """One method per control route; ValueError from the core becomes a 400."""

    def __init__(self, core: EmulatorCore):
        self.core = core

    def handle(self, endpoint: str, request: Request, args: dict) -> Response:
        return getattr(self, endpoint)(request, **args)

    def state(self, request: Request) -> Response:
        return json_response(
            200,
            {
                "now": self.core.clock.now(),
                "config": config_module.as_json(self.core.config),
                "faults": self.core.fault_rules(),
                **self.core.export_state(),
            },
        )

    def reset(self, request: Request) -> Response:
        seed = read_json_body(request).get("seed")
        self.core.reset(seed=None if seed is None else int(seed))
        return no_content()

    def faults_list(self, request: Request) -> Response:
        return json_response(200, {"rules": self.core.fault_rules()})

    def faults_add(self, request: Request) -> Response:
        body = read_json_body(request)
        # {"rules": [...]} adds several rules at once; any other object is a single rule.
        raw_rules = body.get("rules", [body])
        if not isinstance(raw_rules, list):
            raise ValueError("rules must be a list")
        return json_response(201, {"rules": self.core.add_fault_rules(raw_rules)})

    def faults_clear(self, request: Request) -> Response:
        self.core.clear_fault_rules()
        return no_content()

    def clock_advance(self, request: Request) -> Response:
        seconds = float(read_json_body(request).get("seconds", 0))
        return json_response(200, {"now": self.core.advance_clock(seconds)})

    def actions_complete(self, request: Request) -> Response:
        return json_response(200, {"completed": self.core.complete_pending_actions()})

    def requests_list(self, request: Request) -> Response:
        return json_response(200, {"requests": self.core.request_log()})

    def requests_clear(self, request: Request) -> Response:
        self.core.clear_request_log()
        return no_content()

    def out_of_band(self, request: Request, droplet_id: int) -> Response:
        droplet = self.core.out_of_band(droplet_id, read_json_body(request))
        return no_content() if droplet is None else json_response(200, {"droplet": droplet})

    def config_get(self, request: Request) -> Response:
        return json_response(200, {"config": config_module.as_json(self.core.config)})

    def config_put(self, request: Request) -> Response:
        new_config = self.core.configure(read_json_body(request))
        return json_response(200, {"config": config_module.as_json(new_config)})
