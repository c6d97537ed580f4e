"""Fault-injection rules (docs/emulator.md, "Faults"): what to break, when, and how.

A rule is ``{"match": {...}, "when": {...}, "effect": ...}``. HTTP effects act on a request (a canned reply,
latency, a dropped or truncated connection); action effects change how an action (or a delete) plays out.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

RATE_LIMITED_BODY = {"id": "too_many_requests", "message": "API Rate limit exceeded."}
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class CannedReply:
    status: int
    # A dict is sent as JSON, a str as-is (with content_type), None as an empty body.
    body: dict | str | None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # False for the deliberately broken replies, which response validation must let through.
    spec_valid: bool = True
    # DigitalOcean adds a request_id to most error bodies, not to all.
    with_request_id: bool = True


PRESETS: dict[str, CannedReply] = {
    # As if DigitalOcean's 250-per-minute burst limit was hit (ratelimit-remaining is forced to 0 for 429s).
    "rate_limited": CannedReply(429, RATE_LIMITED_BODY, headers={"retry-after": "60"}),
    "server_error": CannedReply(500, {"id": "server_error", "message": "Unexpected server-side error"}),
    "bad_gateway_html": CannedReply(502, BAD_GATEWAY_HTML, "text/html", spec_valid=False),
    "empty_5xx": CannedReply(503, None, spec_valid=False),
    "unauthorized": CannedReply(401, {"id": "unauthorized", "message": "Unable to authenticate you."}),
    "not_found": CannedReply(
        404, {"id": "not_found", "message": "The resource you requested could not be found."}
    ),
    # No "id": python-digitalocean 1.17.0 dies with IndexError on this, which the project must guard against.
    "malformed_error": CannedReply(500, {"message": "Internal server error"}, spec_valid=False),
    # DigitalOcean words the same errors several ways (its own spec's wordings here), and not every error
    # body carries a request_id: a client must tell them apart by status and id, never by the English.
    "rate_limited_spec": CannedReply(
        429,
        {"id": "too_many_requests", "message": "API rate limit exceeded."},
        headers={"retry-after": "30"},
        with_request_id=False,
    ),
    "server_unavailable": CannedReply(
        503, {"id": "service_unavailable", "message": "Service is currently unavailable."}
    ),
    "server_no_response": CannedReply(
        500,
        {"id": "server_error", "message": "Server was unable to give you a response."},
        with_request_id=False,
    ),
    "unprocessable": CannedReply(
        422, {"id": "unprocessable_entity", "message": "The request could not be processed."}
    ),
}
CONNECTION_EFFECTS = ("drop_connection", "truncate_body")
ACTION_EFFECTS = ("action_errored", "stuck_action", "create_errored", "shutdown_noop")
ACTION_VALUE_EFFECTS = ("status_lag_s", "delete_lag_s")
REQUEST_MATCH_KEYS = ("method", "path_regex", "token", "action_type", "page_gte")


@dataclass(frozen=True)
class Effect:
    kind: str  # "reply", "latency", one of CONNECTION_EFFECTS, ACTION_EFFECTS or ACTION_VALUE_EFFECTS
    reply: CannedReply | None = None
    preset: str | None = None
    latency_ms: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0

    @property
    def acts_on_requests(self) -> bool:
        return self.kind in ("reply", "latency", *CONNECTION_EFFECTS)

    @property
    def exempt_from_validation(self) -> bool:
        """Deliberately broken answers (HTML, empty, no id) and dropped connections have nothing to check."""
        return self.kind == "drop_connection" or (self.kind == "reply" and not self.reply.spec_valid)


@dataclass(frozen=True)
class RequestFacts:
    """What a request rule can match on."""

    method: str
    path: str
    token: str
    page: int
    action_type: str | None


@dataclass
class FaultRule:
    id: int
    effect: Effect
    source: dict
    method: str | None = None
    path_regex: re.Pattern | None = None
    token: str | None = None
    action_type: str | None = None
    page_gte: int | None = None
    nth: frozenset[int] | None = None
    every: int | None = None
    probability: float | None = None
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def matches_request(self, facts: RequestFacts) -> bool:
        return (
            self.effect.acts_on_requests
            and (self.method is None or self.method == facts.method)
            and (self.path_regex is None or self.path_regex.search(facts.path) is not None)
            and (self.token is None or self.token == facts.token)
            and (self.action_type is None or self.action_type == facts.action_type)
            and (self.page_gte is None or facts.page >= self.page_gte)
        )

    def matches_event(self, kind: str, action_type: str | None) -> bool:
        return self.effect.kind == kind and (self.action_type is None or self.action_type == action_type)

    def fires(self, rng: random.Random) -> bool:
        """Count one matching event and decide whether the rule fires on it."""
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None and self.seen not in self.nth:
            return False
        if self.every is not None and self.seen % self.every:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def as_json(self) -> dict:
        return {"id": self.id, **self.source, "seen": self.seen, "fired": self.fired}


def _parse_effect(raw) -> Effect:
    if isinstance(raw, str):
        if raw in PRESETS:
            return Effect("reply", reply=PRESETS[raw], preset=raw)
        if raw in CONNECTION_EFFECTS or raw in ACTION_EFFECTS:
            return Effect(raw)
        raise ValueError(f"unknown effect {raw!r}")
    if not isinstance(raw, dict):
        raise ValueError("effect must be a name or an object")
    if "latency_ms" in raw:
        latency = raw["latency_ms"]
        low, high = (latency, latency) if isinstance(latency, int | float) else latency
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be a number or [min, max] with 0 <= min <= max")
        return Effect("latency", latency_ms=(float(low), float(high)))
    for kind in ACTION_VALUE_EFFECTS:
        if kind in raw:
            return Effect(kind, seconds=float(raw[kind]))
    if "status" in raw:
        status = int(raw["status"])
        if not 400 <= status <= 599:
            raise ValueError("an injected status must be an error status (4xx or 5xx)")
        body = raw.get("body")
        if body is not None and not isinstance(body, dict | str):
            raise ValueError("body must be a JSON object, a string or null")
        headers = {str(name).lower(): str(value) for name, value in raw.get("headers", {}).items()}
        text_type = "text/plain; charset=utf-8" if isinstance(body, str) else None
        content_type = headers.pop("content-type", text_type)
        # A JSON body is held to the spec (so a custom error must carry id and message); text is not JSON.
        is_json = isinstance(body, dict)
        reply = CannedReply(status, body if body != "" else None, content_type, headers, spec_valid=is_json)
        return Effect("reply", reply=reply)
    raise ValueError(f"unknown effect {raw!r}")


def parse_rule(raw: Mapping, rule_id: int) -> FaultRule:
    """Build a rule from its JSON form; raises ValueError saying what is wrong."""
    if not isinstance(raw, Mapping) or "effect" not in raw:
        raise ValueError("a rule is an object with an 'effect'")
    unknown = set(raw) - {"match", "when", "effect"}
    if unknown:
        raise ValueError(f"unknown rule keys: {sorted(unknown)}")
    effect = _parse_effect(raw["effect"])
    match, when = dict(raw.get("match") or {}), dict(raw.get("when") or {})
    allowed_match = REQUEST_MATCH_KEYS if effect.acts_on_requests else ("action_type",)
    if set(match) - set(allowed_match):
        raise ValueError(f"effect {effect.kind!r} can only match on {list(allowed_match)}")
    if set(when) - {"nth", "every", "probability", "times"}:
        raise ValueError("'when' takes nth, every, probability and times")
    try:
        return FaultRule(
            id=rule_id,
            effect=effect,
            source={"match": match, "when": when, "effect": raw["effect"]},
            method=match["method"].upper() if "method" in match else None,
            path_regex=re.compile(match["path_regex"]) if "path_regex" in match else None,
            token=match.get("token"),
            action_type=match.get("action_type"),
            page_gte=int(match["page_gte"]) if "page_gte" in match else None,
            nth=frozenset(int(n) for n in when["nth"]) if "nth" in when else None,
            every=int(when["every"]) if "every" in when else None,
            probability=float(when["probability"]) if "probability" in when else None,
            times=int(when["times"]) if "times" in when else None,
        )
    except (TypeError, re.error) as error:
        raise ValueError(str(error)) from error
