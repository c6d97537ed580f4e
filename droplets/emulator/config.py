"""Emulator settings, read from CLI flags and ``DOEMU_*`` environment variables (flags win).

Each dataclass field is one setting: ``time_scale`` is ``--time-scale`` and ``DOEMU_TIME_SCALE``. The same
coercion serves ``PUT /_emulator/config``, so the three ways to set a value cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "DOEMU_"

# Seconds each action takes at time_scale 1. Real DigitalOcean is slower (a create takes 30-60 s), but the
# defaults must stay well inside python-digitalocean's Action.wait() window of about 21 s.
DEFAULT_ACTION_DURATIONS: dict[str, float] = {
    "create": 4.0,
    "power_on": 2.0,
    "power_off": 2.0,
    "shutdown": 3.0,
    "reboot": 3.0,
    "power_cycle": 3.0,
    "resize": 6.0,
    "rename": 2.0,
    "password_reset": 2.0,
    "enable_ipv6": 2.0,
    "enable_backups": 2.0,
    "disable_backups": 2.0,
    "snapshot": 2.0,
    # Started by DigitalOcean itself (out of band), locking the droplet meanwhile.
    "backup": 5.0,
    "live_migrate": 5.0,
}

CREATE_ERRORED_OUTCOMES = ("off", "vanish")


def _about(help_text: str, choices: tuple[str, ...] | None = None) -> dict:
    return {"help": help_text, "choices": choices}


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated cloud behaves. Every field can also be changed at runtime (PUT /_emulator/config)."""

    tokens: tuple[str, ...] = field(
        default=(), metadata=_about("accepted bearer tokens, comma-separated (default: any non-empty)")
    )
    seed: int = field(
        default=0, metadata=_about("seed of the RNG behind ids, uuids and probabilistic faults")
    )
    time_scale: float = field(
        default=1.0, metadata=_about("multiplier of every action duration; 0 completes actions at once")
    )
    action_durations: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ACTION_DURATIONS),
        metadata=_about("JSON object of per-type durations in seconds, merged over the defaults"),
    )
    max_per_page: int = field(
        default=200, metadata=_about("cap on per_page, to force multi-page listings (e.g. 2)")
    )
    rate_limit: int = field(default=5000, metadata=_about("requests per token per rate window"))
    rate_window_s: float = field(
        default=3600.0, metadata=_about("sliding window of the main rate limit, in seconds")
    )
    burst_limit: int = field(
        default=250, metadata=_about("requests per token per burst window; 0 switches the burst limit off")
    )
    burst_window_s: float = field(
        default=60.0, metadata=_about("sliding window of the burst limit, in seconds")
    )
    ssh_keys_limit: int = field(
        default=0, metadata=_about("GET /v2/account/keys per token per window; 0 switches it off")
    )
    ssh_keys_window_s: float = field(
        default=60.0, metadata=_about("sliding window of the ssh keys limit, in seconds")
    )
    public_url: str | None = field(
        default=None, metadata=_about("base of absolute URLs in links (default: the request's host)")
    )
    strict_resize: bool = field(
        default=True,
        metadata=_about(
            "resize and snapshot need the droplet off; when false an active droplet is powered off first"
        ),
    )
    idempotent_power: bool = field(
        default=False,
        metadata=_about(
            "accept power_on on an active droplet (power_off/shutdown on an off one) and complete at once"
        ),
    )
    reject_delete_while_locked: bool = field(
        default=True,
        metadata=_about("DELETE of a droplet with an action in progress is a 422, as for any other event"),
    )
    create_errored_outcome: str = field(
        default="off",
        metadata=_about(
            "what a create_errored fault leaves behind: an 'off' droplet or none", CREATE_ERRORED_OUTCOMES
        ),
    )


@dataclass(frozen=True)
class ServerConfig:
    """How the emulator process serves; fixed for the life of the process."""

    host: str = field(default="127.0.0.1", metadata=_about("address to bind"))
    port: int = field(default=8808, metadata=_about("TCP port; 0 picks a free one"))
    state_file: Path | None = field(
        default=None, metadata=_about("JSON file the state is loaded from and saved to")
    )
    validate: bool = field(
        default=False,
        metadata=_about("validate every response against DigitalOcean's OpenAPI spec (needs openapi-core)"),
    )


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def coerce(annotation, value):
    """Turn a CLI/env string or a JSON value into the field's type; raises ValueError on a bad value."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if value is None or value == "":
            return None
        (inner,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return coerce(inner, value)
    origin = typing.get_origin(annotation) or annotation
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if origin is dict:
        given = json.loads(value) if isinstance(value, str) else dict(value)
        unknown = set(given) - set(DEFAULT_ACTION_DURATIONS)
        if unknown:
            raise ValueError(f"unknown action types: {sorted(unknown)}")
        return {**DEFAULT_ACTION_DURATIONS, **{key: float(seconds) for key, seconds in given.items()}}
    if origin is bool:
        return _parse_bool(value) if isinstance(value, str) else bool(value)
    if origin in (int, float) and isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    return origin(value)


def _fields(config_cls) -> list[tuple[dataclasses.Field, object]]:
    hints = typing.get_type_hints(config_cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(config_cls)]


def updated(config, changes: Mapping[str, object]):
    """A copy of ``config`` with ``changes`` (JSON values or strings) applied and checked."""
    known = {f.name: (f, annotation) for f, annotation in _fields(type(config))}
    unknown = set(changes) - set(known)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    values = {}
    for name, value in changes.items():
        f, annotation = known[name]
        coerced = coerce(annotation, value)
        choices = f.metadata["choices"]
        if choices and coerced not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}")
        values[name] = coerced
    return dataclasses.replace(config, **values)


def _env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def load(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None):
    """Build (EmulatorConfig, ServerConfig) from the environment, then the command line."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python -m droplets.emulator",
        description="Stateful DigitalOcean v2 API emulator. Each flag is also an env var DOEMU_<NAME>.",
    )
    for config_cls in (ServerConfig, EmulatorConfig):
        for f, _annotation in _fields(config_cls):
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                default=None,
                metavar=f.name.upper(),
                help=f"{f.metadata['help']} (env {_env_name(f.name)})",
            )
    args = parser.parse_args(argv)
    configs = []
    for config_cls in (EmulatorConfig, ServerConfig):
        changes = {}
        for f, _annotation in _fields(config_cls):
            flag_value = getattr(args, f.name)
            if flag_value is not None:
                changes[f.name] = flag_value
            elif _env_name(f.name) in environ:
                changes[f.name] = environ[_env_name(f.name)]
        try:
            configs.append(updated(config_cls(), changes))
        except ValueError as error:
            parser.error(str(error))
    emulator_config, server_config = configs
    return emulator_config, server_config


def as_json(config) -> dict:
    """The config as JSON-ready values (for GET/PUT /_emulator/config)."""
    return {
        name: (list(value) if isinstance(value, tuple) else str(value) if isinstance(value, Path) else value)
        for name, value in dataclasses.asdict(config).items()
    }
