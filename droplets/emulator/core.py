"""The emulated DigitalOcean account: catalog, ssh keys, droplets and actions, all behind one lock.

Actions progress lazily: every public method first completes the actions whose deadline has passed on the
virtual clock, in the order they started. No background thread is needed, and tests can drive the clock.
Public methods return JSON-ready dicts in DigitalOcean's shapes and raise ``ApiError`` for API errors.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import ipaddress
import itertools
import json
import math
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

from .clock import VirtualClock, isoformat
from .config import EmulatorConfig, updated
from .faults import Effect, FaultRule, RequestFacts, parse_rule
from .ratelimit import RateLimiter, RateLimitVerdict, WindowLimit

MAX_PER_PAGE = 200
MAX_DROPLETS_PER_CREATE = 10
MAX_USER_DATA = 64 * 1024  # bytes
REQUEST_LOG_SIZE = 1000
DROPLET_NAME = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")
# TEST-NET-1..3 (RFC 5737) and the IPv6 documentation prefix: addresses that can never reach anything.
PUBLIC_V4_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")
PRIVATE_V4_BASE = ipaddress.IPv4Address("10.10.0.0")
PUBLIC_V6_BASE = ipaddress.IPv6Address("2001:db8::")
SSH_KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)

PENDING_EVENT = "Droplet already has a pending event."
INVALID_NAME = "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"
POWER_OFF_FIRST = "Droplet is currently on. Please power it off to run this event."
POWER_ON_FIRST = "Droplet is currently off. Please power it on to run this event."
# Droplet statuses in which each action type is accepted; strict_resize=False widens resize and snapshot.
# Actions DigitalOcean starts on its own (never through the API), locking the droplet while they run.
DIGITALOCEAN_EVENTS = ("backup", "live_migrate")
ACCEPTED_IN: dict[str, frozenset[str]] = {
    "power_on": frozenset({"off"}),
    "power_off": frozenset({"active"}),
    "shutdown": frozenset({"active"}),
    "reboot": frozenset({"active"}),
    "power_cycle": frozenset({"active", "off"}),
    "resize": frozenset({"off"}),
    "snapshot": frozenset({"off"}),
    "rename": frozenset({"active", "off"}),
    "password_reset": frozenset({"active", "off"}),
    "enable_ipv6": frozenset({"active", "off"}),
    "enable_backups": frozenset({"active", "off"}),
    "disable_backups": frozenset({"active", "off"}),
}
# Power requests that would change nothing: rejected, or accepted and completed at once (idempotent_power).
ALREADY_DONE: dict[tuple[str, str], str] = {
    ("power_on", "active"): "Droplet is already powered on.",
    ("power_off", "off"): "Droplet is already powered off.",
    ("shutdown", "off"): "Droplet is already powered off.",
}


class ApiError(Exception):
    """An error DigitalOcean would answer with: a status and an ``{id, message}`` body."""

    def __init__(self, status: int, error_id: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def not_found() -> ApiError:
    return ApiError(404, "not_found", "The resource you requested could not be found.")


def is_numeric_id(text: str) -> bool:
    """An id DigitalOcean would read as a number: ASCII digits only. (`str.isdigit()` is also true of "¹"
    and other Unicode digits, which `int()` then refuses or reads as another number.)"""
    return text.isascii() and text.isdigit()


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the base64-decoded key blob as colon hex, as DigitalOcean shows it; ValueError if not a key."""
    parts = public_key.split() if isinstance(public_key, str) else []
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise ValueError("not an OpenSSH public key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error as error:
        raise ValueError("the key is not base64") from error
    # The blob starts with its own length-prefixed type name; anything else is not the key it claims to be.
    declared_length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + declared_length] != parts[0].encode():
        raise ValueError("the key blob does not match its type")
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def parse_flag(value, name: str) -> bool:
    """python-digitalocean sends ``"disk": "true"`` as a string; accept that and real booleans."""
    if value in (True, "true"):
        return True
    if value in (None, False, "false"):
        return False
    raise unprocessable(f"{name} must be true or false.")


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _load_seed(name: str):
    return json.loads(resources.files(__package__).joinpath("seed", f"{name}.json").read_text())


@dataclass(frozen=True)
class Page:
    items: list[str]  # each item already serialized, so pages can be spliced without re-encoding
    total: int
    page: int
    per_page: int

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class Droplet:
    id: int
    name: str
    status: str
    size_slug: str
    disk: int
    region_slug: str
    image_id: int
    created_at: str
    vpc_uuid: str
    features: list[str]
    tags: list[str]
    ipv6_requested: bool = False
    networks_v4: list[dict] = field(default_factory=list)
    networks_v6: list[dict] = field(default_factory=list)
    backup_ids: list[int] = field(default_factory=list)
    snapshot_ids: list[int] = field(default_factory=list)
    next_backup_window: dict | None = None
    action_ids: list[int] = field(default_factory=list)
    pending_action_id: int | None = None
    # status_lag_s fault: GETs keep showing lagged_status until lagged_until.
    lagged_status: str | None = None
    lagged_until: float = 0.0
    # delete_lag_s fault: a deleted droplet stays listed as "archive" until then.
    archived_until: float | None = None

    # Listing pages splice each droplet's cached JSON text instead of serializing it again (10,000 droplets
    # must list fast). Any field assignment drops the cache, so the JSON-visible lists are always replaced,
    # never changed in place. action_ids is not in the JSON and is appended to.
    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        if name != "cached_text":
            object.__setattr__(self, "cached_text", None)


@dataclass
class Action:
    id: int
    type: str
    resource_id: int
    region_slug: str
    started_at: float
    due_at: float
    params: dict
    status: str = "in-progress"
    completed_at: float | None = None
    # Decided by the fault rules when the action starts: "completed", "errored", "create_errored" or "stuck".
    outcome: str = "completed"
    shutdown_noop: bool = False
    status_lag_s: float = 0.0


def _locked(method):
    """Run a public method under the lock, after completing every action that is due."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            self._settle()
            return method(self, *args, **kwargs)

    return wrapper


class EmulatorCore:
    def __init__(self, config: EmulatorConfig | None = None, clock: VirtualClock | None = None):
        self._lock = threading.RLock()
        self.config = config or EmulatorConfig()
        self.clock = clock or VirtualClock()
        self._limiter = RateLimiter()
        self._request_log: deque[dict] = deque(maxlen=REQUEST_LOG_SIZE)
        self._faults: list[FaultRule] = []
        self._next_fault_id = 1
        sizes = _load_seed("sizes")
        # Seed catalog objects are shared by every droplet and action that embeds them and never mutated.
        self._sizes: dict[str, dict] = {size["slug"]: size for size in sizes}
        self._regions: dict[str, dict] = {
            region["slug"]: {**region, "sizes": [s["slug"] for s in sizes if region["slug"] in s["regions"]]}
            for region in _load_seed("regions")
        }
        self._reset_state()

    def _reset_state(self) -> None:
        self._rng = random.Random(self.config.seed)
        # Read afresh: the account's keys and images change at runtime, the seed files never do.
        account_seed = _load_seed("account")
        self._account: dict = account_seed["account"]
        self._ssh_keys: dict[int, dict] = {}
        for key in account_seed["ssh_keys"]:
            self._ssh_keys[key["id"]] = {**key, "fingerprint": ssh_fingerprint(key["public_key"])}
        self._images: dict[int, dict] = {}
        self._image_kinds: dict[int, str] = {}
        for kind, images in _load_seed("images").items():
            for image in images:
                self._images[image["id"]] = image
                self._image_kinds[image["id"]] = kind
        # Ids only grow, so insertion order is id order: list pages are slices, with no sorting.
        self._droplets: dict[int, Droplet] = {}
        self._archived_ids: set[int] = set()
        self._actions: dict[int, Action] = {}
        self._pending: list[Action] = []
        self._next_droplet_id = self._rng.randrange(400_000_000, 500_000_000)
        self._next_action_id = self._rng.randrange(1_900_000_000, 2_000_000_000)
        self._next_image_id = self._rng.randrange(180_000_000, 190_000_000)
        self._next_ssh_key_id = self._rng.randrange(40_000_000, 50_000_000)
        self._addresses_assigned = 0
        self._vpc_uuids = {slug: self._random_uuid() for slug in self._regions}
        self._limiter.clear()
        self._request_log.clear()

    def _random_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # Lazy progress ------------------------------------------------------------------------------------------

    def _settle(self) -> None:
        now = self.clock.now()
        due = [action for action in self._pending if action.outcome != "stuck" and action.due_at <= now]
        for action in due:
            self._finish(action, action.due_at)
        for droplet_id in [i for i in self._archived_ids if self._droplets[i].archived_until <= now]:
            self._archived_ids.discard(droplet_id)
            del self._droplets[droplet_id]

    def _finish(self, action: Action, completed_at: float) -> None:
        self._pending.remove(action)
        action.completed_at = completed_at
        action.status = "completed" if action.outcome == "completed" else "errored"
        droplet = self._droplets.get(action.resource_id)
        if droplet is None or droplet.archived_until is not None:
            return
        droplet.pending_action_id = None
        if action.outcome == "completed":
            status_before = droplet.status
            self._COMPLETERS[action.type](self, droplet, action)
            if action.status_lag_s and droplet.status != status_before:
                droplet.lagged_status = status_before
                droplet.lagged_until = completed_at + action.status_lag_s
        elif action.outcome == "create_errored":
            if self.config.create_errored_outcome == "vanish":
                del self._droplets[droplet.id]
            else:
                droplet.status = "off"

    def _complete_create(self, droplet: Droplet, action: Action) -> None:
        droplet.status = "active"
        self._assign_addresses(droplet)

    def _complete_power_on(self, droplet: Droplet, action: Action) -> None:
        droplet.status = "active"

    def _complete_power_off(self, droplet: Droplet, action: Action) -> None:
        droplet.status = "off"

    def _complete_shutdown(self, droplet: Droplet, action: Action) -> None:
        # shutdown_noop: the action completes but the guest ignored it (digitalocean/api-v2#79).
        if not action.shutdown_noop:
            droplet.status = "off"

    def _complete_nothing(self, droplet: Droplet, action: Action) -> None:
        """reboot and password_reset leave nothing the API shows."""

    def _complete_resize(self, droplet: Droplet, action: Action) -> None:
        droplet.size_slug = action.params["size"]
        if action.params["disk"]:
            droplet.disk = self._sizes[droplet.size_slug]["disk"]
        droplet.status = action.params.get("restore_status", droplet.status)

    def _complete_rename(self, droplet: Droplet, action: Action) -> None:
        droplet.name = action.params["name"]

    def _complete_enable_ipv6(self, droplet: Droplet, action: Action) -> None:
        if "ipv6" not in droplet.features:
            droplet.features = [*droplet.features, "ipv6"]
            droplet.networks_v6 = [self._public_v6(self._addresses_assigned)]
            self._addresses_assigned += 1

    def _complete_enable_backups(self, droplet: Droplet, action: Action) -> None:
        if "backups" not in droplet.features:
            droplet.features = [*droplet.features, "backups"]
        start = (math.floor(action.completed_at / 86400) + 1) * 86400
        droplet.next_backup_window = {"start": isoformat(start), "end": isoformat(start + 23 * 3600)}

    def _complete_disable_backups(self, droplet: Droplet, action: Action) -> None:
        droplet.features = [feature for feature in droplet.features if feature != "backups"]
        droplet.next_backup_window = None

    def _complete_snapshot(self, droplet: Droplet, action: Action) -> None:
        source = self._images[droplet.image_id]
        image_id = self._next_image_id
        self._next_image_id += 1
        self._images[image_id] = {
            **source,
            "id": image_id,
            "name": action.params["name"],
            "slug": None,
            "public": False,
            "type": "snapshot",
            "regions": [droplet.region_slug],
            "created_at": isoformat(action.completed_at),
            "min_disk_size": droplet.disk,
            "description": "",
            "tags": [],
        }
        self._image_kinds[image_id] = "private"
        droplet.snapshot_ids = [*droplet.snapshot_ids, image_id]

    _COMPLETERS: dict[str, Callable] = {
        "create": _complete_create,
        "power_on": _complete_power_on,
        "power_cycle": _complete_power_on,
        "power_off": _complete_power_off,
        "shutdown": _complete_shutdown,
        "reboot": _complete_nothing,
        "password_reset": _complete_nothing,
        "resize": _complete_resize,
        "rename": _complete_rename,
        "enable_ipv6": _complete_enable_ipv6,
        "enable_backups": _complete_enable_backups,
        "disable_backups": _complete_disable_backups,
        "snapshot": _complete_snapshot,
        "backup": _complete_nothing,
        "live_migrate": _complete_nothing,
    }

    # Addresses ----------------------------------------------------------------------------------------------

    @staticmethod
    def _public_v6(index: int) -> dict:
        address, gateway = PUBLIC_V6_BASE + index + 2, PUBLIC_V6_BASE + 1
        return {"ip_address": str(address), "netmask": 64, "gateway": str(gateway), "type": "public"}

    def _assign_addresses(self, droplet: Droplet) -> None:
        index = self._addresses_assigned
        self._addresses_assigned += 1
        # 3 x 253 public addresses: a large fleet (benchmarks) reuses them, which nothing here relies on.
        network = PUBLIC_V4_NETWORKS[(index // 253) % len(PUBLIC_V4_NETWORKS)]
        droplet.networks_v4 = [
            {
                "ip_address": str(PRIVATE_V4_BASE + index + 2),
                "netmask": "255.255.0.0",
                "gateway": "nil",  # DigitalOcean's way of saying a private interface has no gateway
                "type": "private",
            },
            {
                "ip_address": f"{network}.{index % 253 + 2}",
                "netmask": "255.255.255.0",
                "gateway": f"{network}.1",
                "type": "public",
            },
        ]
        if droplet.ipv6_requested:
            droplet.networks_v6 = [self._public_v6(index)]

    # Faults -------------------------------------------------------------------------------------------------

    def _fire(self, kind: str, action_type: str | None) -> Effect | None:
        for rule in self._faults:
            if rule.matches_event(kind, action_type) and rule.fires(self._rng):
                return rule.effect
        return None

    def _decide_outcome(self, action_type: str) -> str:
        if self._fire("stuck_action", action_type):
            return "stuck"
        if action_type == "create" and self._fire("create_errored", action_type):
            return "create_errored"
        if self._fire("action_errored", action_type):
            return "errored"
        return "completed"

    @_locked
    def plan_request_faults(self, facts: RequestFacts) -> tuple[float, Effect | None]:
        """Seconds of injected latency, and the first terminal effect (a reply or a connection fault)."""
        latency_s = 0.0
        for rule in self._faults:
            if not (rule.matches_request(facts) and rule.fires(self._rng)):
                continue
            if rule.effect.kind != "latency":
                return latency_s, rule.effect
            low, high = rule.effect.latency_ms
            latency_s += self._rng.uniform(low, high) / 1000
        return latency_s, None

    @_locked
    def add_fault_rules(self, raw_rules: list) -> list[dict]:
        """Parse every rule first, so one bad rule adds none; raises ValueError."""
        rules = [parse_rule(raw, self._next_fault_id + offset) for offset, raw in enumerate(raw_rules)]
        self._next_fault_id += len(rules)
        self._faults.extend(rules)
        return [rule.as_json() for rule in rules]

    @_locked
    def clear_fault_rules(self) -> None:
        self._faults.clear()
        # Stuck actions were stuck by a rule: clearing the rules lets them finish on their deadline.
        for action in self._pending:
            if action.outcome == "stuck":
                action.outcome = "completed"
        self._settle()

    @_locked
    def fault_rules(self) -> list[dict]:
        return [rule.as_json() for rule in self._faults]

    # Auth, rate limits, request log -------------------------------------------------------------------------

    def authenticate(self, token: str) -> bool:
        tokens = self.config.tokens
        return bool(token) and (not tokens or token in tokens)

    def _main_window(self) -> WindowLimit:
        return WindowLimit("main", self.config.rate_limit, self.config.rate_window_s)

    @_locked
    def acquire_rate_limit(self, token: str, *, ssh_keys_listing: bool = False) -> RateLimitVerdict:
        config = self.config
        secondary = []
        if config.burst_limit:
            secondary.append(WindowLimit("burst", config.burst_limit, config.burst_window_s))
        if ssh_keys_listing and config.ssh_keys_limit:
            secondary.append(WindowLimit("ssh_keys", config.ssh_keys_limit, config.ssh_keys_window_s))
        return self._limiter.acquire(token, self._main_window(), secondary, self.clock.now())

    @_locked
    def rate_limit_status(self, token: str) -> RateLimitVerdict:
        return self._limiter.peek(token, self._main_window(), self.clock.now())

    @_locked
    def record_request(self, entry: dict) -> None:
        self._request_log.append(entry)

    @_locked
    def request_log(self) -> list[dict]:
        return list(self._request_log)

    @_locked
    def clear_request_log(self) -> None:
        self._request_log.clear()

    # Control ------------------------------------------------------------------------------------------------

    @_locked
    def configure(self, changes: Mapping[str, object]) -> EmulatorConfig:
        """Apply runtime settings (PUT /_emulator/config); raises ValueError on a bad one."""
        self.config = updated(self.config, changes)
        return self.config

    @_locked
    def reset(self, seed: int | None = None) -> None:
        """Back to the seed catalog and account: no droplets, actions, faults or counted requests."""
        if seed is not None:
            self.config = dataclasses.replace(self.config, seed=seed)
        self._faults.clear()
        self._reset_state()

    @_locked
    def advance_clock(self, seconds: float) -> float:
        now = self.clock.advance(seconds)
        self._settle()
        return now

    @_locked
    def complete_pending_actions(self) -> list[int]:
        """Finish every pending action now, stuck ones included (POST /_emulator/actions/complete)."""
        finished = list(self._pending)
        now = self.clock.now()
        for action in finished:
            if action.outcome == "stuck":
                action.outcome = "completed"
            self._finish(action, now)
        return [action.id for action in finished]

    @_locked
    def out_of_band(self, droplet_id: int, changes: Mapping[str, object]) -> dict | None:
        """Drift made behind the app's back, with no action recorded, as from the control panel.

        ``status`` ("off"/"active") and ``size_slug`` (CPU and RAM only, as the control panel's default
        resize: the disk stays) apply at once; ``delete`` removes the droplet; ``event`` ("backup",
        "live_migrate") starts an action DigitalOcean itself runs, which locks the droplet ("pending event")
        until it ends. ValueError on bad input.
        """
        droplet = self._live_droplet(droplet_id)
        unknown = set(changes) - {"status", "size_slug", "delete", "event"}
        if unknown:
            raise ValueError(f"unknown out-of-band changes: {sorted(unknown)}")
        if changes.get("status") not in (None, "off", "active"):
            raise ValueError("status must be 'off' or 'active'")
        if "size_slug" in changes and changes["size_slug"] not in self._sizes:
            raise ValueError(f"unknown size {changes['size_slug']!r}")
        if changes.get("event") not in (None, *DIGITALOCEAN_EVENTS):
            raise ValueError(f"event must be one of {', '.join(DIGITALOCEAN_EVENTS)}")
        if changes.get("event") and droplet.pending_action_id is not None:
            raise ValueError("the droplet is locked by another action already")
        if changes.get("delete"):
            del self._droplets[droplet.id]
            return None
        if changes.get("event"):
            self._start_action(droplet, changes["event"], {})
        if "status" in changes:
            droplet.status = changes["status"]
            droplet.lagged_status = None
        if "size_slug" in changes:
            droplet.size_slug = changes["size_slug"]
        return self._droplet_json(droplet, self.clock.now())

    @_locked
    def seed_droplet(
        self,
        *,
        name: str,
        size: str = "s-1vcpu-1gb",
        region: str = "nyc3",
        image: str = "ubuntu-24-04-x64",
        status: str = "active",
        tags: Iterable[str] = (),
    ) -> dict:
        """Add a finished droplet with no action and no limit check: for demos, tests and benchmarks."""
        droplet = self._new_droplet(
            name, self._sizes[size], self._regions[region], self._find_image(image), list(tags), None, False
        )
        droplet.status = status
        self._assign_addresses(droplet)
        return self._droplet_json(droplet, self.clock.now())

    # Persistence --------------------------------------------------------------------------------------------

    @_locked
    def export_state(self) -> dict:
        """Everything a restart must keep, as JSON data (the state file, and most of GET /_emulator/state)."""
        return {
            "clock_offset": self.clock.offset,
            "next_ids": {
                "droplet": self._next_droplet_id,
                "action": self._next_action_id,
                "image": self._next_image_id,
                "ssh_key": self._next_ssh_key_id,
            },
            "addresses_assigned": self._addresses_assigned,
            "vpc_uuids": self._vpc_uuids,
            "account": self._account,
            "ssh_keys": list(self._ssh_keys.values()),
            "images": [{"kind": self._image_kinds[i], "image": image} for i, image in self._images.items()],
            "droplets": [dataclasses.asdict(droplet) for droplet in self._droplets.values()],
            "actions": [dataclasses.asdict(action) for action in self._actions.values()],
        }

    @_locked
    def import_state(self, state: Mapping) -> None:
        self.clock.offset = state["clock_offset"]
        next_ids = state["next_ids"]
        self._next_droplet_id = next_ids["droplet"]
        self._next_action_id = next_ids["action"]
        self._next_image_id = next_ids["image"]
        self._next_ssh_key_id = next_ids["ssh_key"]
        self._addresses_assigned = state["addresses_assigned"]
        self._vpc_uuids = dict(state["vpc_uuids"])
        self._account = state["account"]
        self._ssh_keys = {key["id"]: key for key in state["ssh_keys"]}
        self._images = {entry["image"]["id"]: entry["image"] for entry in state["images"]}
        self._image_kinds = {entry["image"]["id"]: entry["kind"] for entry in state["images"]}
        self._droplets = {d["id"]: Droplet(**d) for d in sorted(state["droplets"], key=lambda d: d["id"])}
        self._archived_ids = {d.id for d in self._droplets.values() if d.archived_until is not None}
        self._actions = {a["id"]: Action(**a) for a in sorted(state["actions"], key=lambda a: a["id"])}
        in_progress = [a for a in self._actions.values() if a.status == "in-progress"]
        self._pending = sorted(in_progress, key=lambda a: (a.started_at, a.id))
        self._settle()

    # Serialization ------------------------------------------------------------------------------------------

    def _droplet_json(self, droplet: Droplet, now: float) -> dict:
        size = self._sizes[droplet.size_slug]
        if droplet.archived_until is not None:
            status = "archive"
        elif droplet.lagged_status is not None and now < droplet.lagged_until:
            status = droplet.lagged_status
        else:
            status = droplet.status
        return {
            "id": droplet.id,
            "name": droplet.name,
            "memory": size["memory"],
            "vcpus": size["vcpus"],
            "disk": droplet.disk,
            "disk_info": [{"type": "local", "size": {"amount": droplet.disk, "unit": "gib"}}],
            "locked": droplet.pending_action_id is not None,
            "status": status,
            "kernel": None,
            "created_at": droplet.created_at,
            "features": droplet.features,
            "backup_ids": droplet.backup_ids,
            "next_backup_window": droplet.next_backup_window,
            "snapshot_ids": droplet.snapshot_ids,
            "image": self._images[droplet.image_id],
            "volume_ids": [],
            "size": size,
            "size_slug": droplet.size_slug,
            "networks": {"v4": droplet.networks_v4, "v6": droplet.networks_v6},
            "region": self._regions[droplet.region_slug],
            "tags": droplet.tags,
            "vpc_uuid": droplet.vpc_uuid,
        }

    def _droplet_text(self, droplet: Droplet, now: float) -> str:
        if droplet.lagged_status is not None and now < droplet.lagged_until:
            return dumps(self._droplet_json(droplet, now))  # changes with time alone: not cacheable
        if droplet.cached_text is None:
            droplet.cached_text = dumps(self._droplet_json(droplet, now))
        return droplet.cached_text

    def _action_json(self, action: Action) -> dict:
        return {
            "id": action.id,
            "status": action.status,
            "type": action.type,
            "started_at": isoformat(action.started_at),
            "completed_at": None if action.completed_at is None else isoformat(action.completed_at),
            "resource_id": action.resource_id,
            "resource_type": "droplet",
            "region": self._regions[action.region_slug],
            "region_slug": action.region_slug,
        }

    def _action_text(self, action: Action) -> str:
        return dumps(self._action_json(action))

    def _page(self, items: Iterable, total: int, page: int, per_page: int, to_text: Callable) -> Page:
        """One page of ``items``; only that page is serialized. per_page is clamped, never refused, and a
        page past the end is empty, however far past (islice refuses a start beyond sys.maxsize)."""
        per_page = max(1, min(per_page, MAX_PER_PAGE, self.config.max_per_page))
        page = max(1, page)
        start = (page - 1) * per_page
        chosen = itertools.islice(items, start, start + per_page) if start < total else ()
        return Page([to_text(item) for item in chosen], total, page, per_page)

    def _whole_list_page(self, items: list, page: int, per_page: int) -> Page:
        return self._page(items, len(items), page, per_page, dumps)

    # Account, ssh keys, catalog -----------------------------------------------------------------------------

    @_locked
    def account(self) -> dict:
        return self._account

    @_locked
    def list_ssh_keys(self, page: int, per_page: int) -> Page:
        return self._whole_list_page(list(self._ssh_keys.values()), page, per_page)

    def _ssh_key(self, reference: str) -> dict:
        if is_numeric_id(reference):
            key = self._ssh_keys.get(int(reference))
        else:
            key = next((k for k in self._ssh_keys.values() if k["fingerprint"] == reference), None)
        if key is None:
            raise not_found()
        return key

    @_locked
    def get_ssh_key(self, reference: str) -> dict:
        return self._ssh_key(reference)

    @_locked
    def create_ssh_key(self, body: Mapping) -> dict:
        name, public_key = body.get("name"), body.get("public_key")
        if not isinstance(name, str) or not name.strip():
            raise unprocessable("Name can't be blank")
        try:
            fingerprint = ssh_fingerprint(public_key)
        except ValueError as error:
            raise unprocessable("Key invalid, key should be of the format `type key [comment]`") from error
        if any(key["fingerprint"] == fingerprint for key in self._ssh_keys.values()):
            raise unprocessable("SSH Key is already in use on your account")
        key_id = self._next_ssh_key_id
        self._next_ssh_key_id += 1
        key = {"id": key_id, "fingerprint": fingerprint, "public_key": public_key, "name": name}
        self._ssh_keys[key["id"]] = key
        return key

    @_locked
    def update_ssh_key(self, reference: str, body: Mapping) -> dict:
        key = self._ssh_key(reference)
        name = body.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise unprocessable("Name can't be blank")
            key["name"] = name
        return key

    @_locked
    def delete_ssh_key(self, reference: str) -> None:
        del self._ssh_keys[self._ssh_key(reference)["id"]]

    @_locked
    def list_regions(self, page: int, per_page: int) -> Page:
        return self._whole_list_page(list(self._regions.values()), page, per_page)

    @_locked
    def list_sizes(self, page: int, per_page: int) -> Page:
        return self._whole_list_page(list(self._sizes.values()), page, per_page)

    @_locked
    def list_images(
        self, *, image_type: str | None, private: bool, tag_name: str | None, page: int, per_page: int
    ) -> Page:
        images = [
            image
            for image_id, image in self._images.items()
            if (image_type is None or self._image_kinds[image_id] == image_type)
            and (not private or not image["public"])
            and (tag_name is None or tag_name in image["tags"])
        ]
        return self._whole_list_page(images, page, per_page)

    def _find_image(self, reference) -> dict | None:
        """By id (an int or a numeric string), or by slug for public images, as DigitalOcean resolves them."""
        if isinstance(reference, bool):
            return None
        if isinstance(reference, int) or (isinstance(reference, str) and is_numeric_id(reference)):
            return self._images.get(int(reference))
        return next((i for i in self._images.values() if i["public"] and i["slug"] == reference), None)

    @_locked
    def get_image(self, reference: str) -> dict:
        image = self._find_image(reference)
        if image is None:
            raise not_found()
        return image

    # Droplets -----------------------------------------------------------------------------------------------

    def _live_droplet(self, droplet_id: int) -> Droplet:
        droplet = self._droplets.get(droplet_id)
        if droplet is None or droplet.archived_until is not None:
            raise not_found()
        return droplet

    @_locked
    def list_droplets(
        self, *, tag_name: str | None, name: str | None, droplet_type: str | None, page: int, per_page: int
    ) -> Page:
        now = self.clock.now()
        if droplet_type == "gpus":
            matching: Iterable[Droplet] = []
            total = 0
        elif tag_name is None and name is None:
            matching, total = self._droplets.values(), len(self._droplets)
        else:
            wanted_name = None if name is None else name.lower()
            matching = [
                d
                for d in self._droplets.values()
                if (tag_name is None or tag_name in d.tags)
                and (name is None or d.name.lower() == wanted_name)
            ]
            total = len(matching)
        return self._page(matching, total, page, per_page, lambda d: self._droplet_text(d, now))

    @_locked
    def get_droplet(self, droplet_id: int) -> dict:
        droplet = self._droplets.get(droplet_id)
        if droplet is None:
            raise not_found()
        return self._droplet_json(droplet, self.clock.now())

    def _new_droplet(
        self,
        name: str,
        size: dict,
        region: dict,
        image: dict,
        tags: list[str],
        vpc_uuid: str | None,
        ipv6: bool,
        backups: bool = False,
        monitoring: bool = False,
    ) -> Droplet:
        flags = {"backups": backups, "ipv6": ipv6, "monitoring": monitoring}
        features = ["private_networking", *(feature for feature, on in flags.items() if on)]
        droplet = Droplet(
            id=self._next_droplet_id,
            name=name,
            status="new",
            size_slug=size["slug"],
            disk=size["disk"],
            region_slug=region["slug"],
            image_id=image["id"],
            created_at=isoformat(self.clock.now()),
            vpc_uuid=vpc_uuid or self._vpc_uuids[region["slug"]],
            features=features,
            tags=tags,
            ipv6_requested=ipv6,
        )
        self._next_droplet_id += 1
        self._droplets[droplet.id] = droplet
        return droplet

    def _resolve_ssh_keys(self, references) -> None:
        if not isinstance(references, list):
            raise unprocessable("ssh_keys must be a list of ids or fingerprints.")
        invalid = []
        for reference in references:
            text = str(reference)
            if isinstance(reference, bool) or not isinstance(reference, int | str):
                invalid.append(text)
            elif is_numeric_id(text):
                if int(text) not in self._ssh_keys:
                    invalid.append(text)
            elif all(key["fingerprint"] != text for key in self._ssh_keys.values()):
                invalid.append(text)
        if invalid:
            # DigitalOcean's wording, quoted in rmoriz/knife-digital_ocean#63.
            raise unprocessable(f"{json.dumps(invalid)} are invalid key identifiers for Droplet creation.")

    def _choose_region(self, slug, size: dict, image: dict) -> dict:
        if slug is None:
            # DigitalOcean picks a region when none is given: the first one that can host the droplet.
            region = next(
                (
                    r
                    for r in self._regions.values()
                    if r["available"] and size["slug"] in r["sizes"] and r["slug"] in image["regions"]
                ),
                None,
            )
            if region is None:
                raise unprocessable("No region can host this size and image.")
            return region
        region = self._regions.get(slug) if isinstance(slug, str) else None
        if region is None:
            raise unprocessable("You specified an invalid region for Droplet creation.")
        if not region["available"]:
            raise unprocessable(f"Region {slug} is not available for new Droplets.")
        if size["slug"] not in region["sizes"]:
            raise unprocessable(f"Size {size['slug']} is not available in region {slug}.")
        if slug not in image["regions"]:
            raise unprocessable(f"Image {image['id']} is not available in region {slug}.")
        return region

    @_locked
    def create_droplets(self, body: Mapping) -> list[tuple[dict, int]]:
        """POST /v2/droplets (one name, or up to ten): [(droplet JSON, its create action id)]."""
        if ("name" in body) == ("names" in body):
            raise unprocessable("Specify either name or names.")
        names = [body["name"]] if "name" in body else body["names"]
        if not isinstance(names, list) or not names or len(names) > MAX_DROPLETS_PER_CREATE:
            raise unprocessable(f"names must list 1 to {MAX_DROPLETS_PER_CREATE} names.")
        if not all(isinstance(n, str) and len(n) <= 255 and DROPLET_NAME.match(n) for n in names):
            raise unprocessable(INVALID_NAME)
        size = self._sizes.get(body.get("size")) if isinstance(body.get("size"), str) else None
        if size is None:
            raise unprocessable("You specified an invalid size for Droplet creation.")
        image = self._find_image(body.get("image"))
        if image is None:
            raise unprocessable("You specified an invalid image for Droplet creation.")
        region = self._choose_region(body.get("region"), size, image)
        self._resolve_ssh_keys(body.get("ssh_keys") or [])
        if body.get("volumes"):
            raise unprocessable(f"Volumes {json.dumps(body['volumes'])} could not be found.")
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise unprocessable("tags must be a list of strings.")
        user_data = body.get("user_data")
        if user_data is not None and not (
            isinstance(user_data, str) and len(user_data.encode()) <= MAX_USER_DATA
        ):
            raise unprocessable("user_data must be text of at most 64 KiB.")
        vpc_uuid = body.get("vpc_uuid")
        if vpc_uuid is not None and not isinstance(vpc_uuid, str):
            raise unprocessable("vpc_uuid must be a string.")
        live = sum(1 for d in self._droplets.values() if d.archived_until is None)
        if live + len(names) > self._account["droplet_limit"]:
            raise unprocessable("creating this/these droplet(s) will exceed your droplet limit")
        created = []
        for name in names:
            droplet = self._new_droplet(
                name,
                size,
                region,
                image,
                list(tags),
                vpc_uuid,
                ipv6=bool(body.get("ipv6")),
                backups=bool(body.get("backups")),
                monitoring=bool(body.get("monitoring")),
            )
            action = self._start_action(droplet, "create", {})
            created.append((self._droplet_json(droplet, self.clock.now()), action.id))
        return created

    @_locked
    def delete_droplet(self, droplet_id: int) -> None:
        droplet = self._live_droplet(droplet_id)
        if droplet.pending_action_id is not None:
            if self.config.reject_delete_while_locked:
                raise unprocessable(PENDING_EVENT)
            pending = self._actions[droplet.pending_action_id]
            pending.outcome = "errored"
            self._finish(pending, self.clock.now())
        self._record_completed_action(droplet, "destroy")
        lag = self._fire("delete_lag_s", None)
        if lag is not None and lag.seconds > 0:
            droplet.archived_until = self.clock.now() + lag.seconds
            self._archived_ids.add(droplet.id)
        else:
            del self._droplets[droplet.id]

    # Actions ------------------------------------------------------------------------------------------------

    def _record_action(self, droplet: Droplet, action_type: str, params: dict, due_at: float) -> Action:
        action = Action(
            id=self._next_action_id,
            type=action_type,
            resource_id=droplet.id,
            region_slug=droplet.region_slug,
            started_at=self.clock.now(),
            due_at=due_at,
            params=params,
        )
        self._next_action_id += 1
        self._actions[action.id] = action
        droplet.action_ids.append(action.id)
        return action

    def _record_completed_action(self, droplet: Droplet, action_type: str) -> Action:
        """An action over as soon as it starts, with nothing left to apply (destroy, idempotent power)."""
        now = self.clock.now()
        action = self._record_action(droplet, action_type, {}, now)
        action.status, action.completed_at = "completed", now
        return action

    def _start_action(self, droplet: Droplet, action_type: str, params: dict) -> Action:
        duration = self.config.action_durations[action_type] * self.config.time_scale
        action = self._record_action(droplet, action_type, params, self.clock.now() + duration)
        action.outcome = self._decide_outcome(action_type)
        action.shutdown_noop = action_type == "shutdown" and bool(self._fire("shutdown_noop", action_type))
        lag = self._fire("status_lag_s", action_type)
        action.status_lag_s = lag.seconds if lag else 0.0
        droplet.pending_action_id = action.id
        self._pending.append(action)
        return action

    def _action_params(self, droplet: Droplet, action_type: str, body: Mapping) -> dict:
        if action_type == "resize":
            slug = body.get("size")
            size = self._sizes.get(slug) if isinstance(slug, str) else None
            if size is None:
                raise unprocessable("You specified an invalid size for Droplet resize.")
            if slug == droplet.size_slug:
                raise unprocessable("Droplet is already this size.")
            if droplet.region_slug not in size["regions"]:
                raise unprocessable(f"Size {slug} is not available in region {droplet.region_slug}.")
            if size["disk"] < droplet.disk:
                raise unprocessable("Size can not decrease size of Droplet's disk image")
            return {"size": slug, "disk": parse_flag(body.get("disk"), "disk")}
        if action_type == "rename":
            name = body.get("name")
            if not isinstance(name, str) or len(name) > 255 or not DROPLET_NAME.match(name):
                raise unprocessable(INVALID_NAME)
            return {"name": name}
        if action_type == "snapshot":
            name = body.get("name") or f"{droplet.name}-{int(self.clock.now())}"
            if not isinstance(name, str):
                raise unprocessable("name must be a string.")
            return {"name": name}
        return {}

    def _check_status(self, droplet: Droplet, action_type: str) -> None:
        accepted = ACCEPTED_IN[action_type]
        if action_type in ("resize", "snapshot") and not self.config.strict_resize:
            accepted = accepted | {"active"}
        if droplet.status in accepted:
            return
        if (action_type, droplet.status) in ALREADY_DONE:
            raise unprocessable(ALREADY_DONE[(action_type, droplet.status)])
        if droplet.status == "active":
            raise unprocessable(POWER_OFF_FIRST)
        if droplet.status == "off":
            raise unprocessable(POWER_ON_FIRST)
        raise unprocessable(f"Droplet is {droplet.status} and cannot run a {action_type} event.")

    @_locked
    def start_droplet_action(self, droplet_id: int, body: Mapping) -> dict:
        """POST /v2/droplets/{id}/actions: the new action, in progress; ApiError 404/422 otherwise."""
        droplet = self._live_droplet(droplet_id)
        action_type = body.get("type")
        if action_type not in ACCEPTED_IN:
            raise unprocessable(f"{json.dumps(action_type)} is not a valid action type.")
        if droplet.pending_action_id is not None:
            raise unprocessable(PENDING_EVENT)
        if (action_type, droplet.status) in ALREADY_DONE and self.config.idempotent_power:
            return self._action_json(self._record_completed_action(droplet, action_type))
        self._check_status(droplet, action_type)
        params = self._action_params(droplet, action_type, body)
        if action_type == "resize" and droplet.status == "active":
            # resize_auto_power_off: power off now, back on when the resize completes.
            params["restore_status"] = "active"
            droplet.status = "off"
        return self._action_json(self._start_action(droplet, action_type, params))

    @_locked
    def list_droplet_actions(self, droplet_id: int, page: int, per_page: int) -> Page:
        droplet = self._live_droplet(droplet_id)
        action_ids = droplet.action_ids
        newest_first = (self._actions[i] for i in reversed(action_ids))
        return self._page(newest_first, len(action_ids), page, per_page, self._action_text)

    @_locked
    def get_droplet_action(self, droplet_id: int, action_id: int) -> dict:
        action = self._actions.get(action_id)
        if action is None or action.resource_id != droplet_id:
            raise not_found()
        return self._action_json(action)

    @_locked
    def list_actions(self, page: int, per_page: int) -> Page:
        newest_first = reversed(self._actions.values())
        return self._page(newest_first, len(self._actions), page, per_page, self._action_text)

    @_locked
    def get_action(self, action_id: int) -> dict:
        action = self._actions.get(action_id)
        if action is None:
            raise not_found()
        return self._action_json(action)
