"""Schemathesis hooks, loaded by the `st` process through SCHEMATHESIS_HOOKS=tests.fuzzing.hooks.

A body that must link to objects that exist (a droplet's project, settings and catalog items, a project's
customer, a resize's size) or carry a real OpenSSH key is next to impossible to generate: left alone, every
create is a 400 and nothing behind it is ever reached. So two bodies in three get those fields from
WDO_FUZZ_BODIES (JSON: {"POST /api/projects/": {"customer": "http://…"}, …}), which the test fills with
the objects it made; the third is sent as generated. The choice hangs on the body itself, so a run with the
same seed sends the same requests.
"""

import hashlib
import json
import os
import zlib

import schemathesis

from tests.fuzzing import FRESH_KEY

BODIES = json.loads(os.environ.get("WDO_FUZZ_BODIES", "{}"))


def _openssh_ed25519(seed: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()).public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " fuzz@host"


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    fill = BODIES.get(f"{operation.method.upper()} {operation.path}") if operation is not None else None
    if not fill or not isinstance(body, dict):
        return body
    raw = json.dumps(body, sort_keys=True, default=str).encode()
    if zlib.crc32(raw) % 3 == 0:
        return body
    values = {name: _openssh_ed25519(raw) if value == FRESH_KEY else value for name, value in fill.items()}
    return {**body, **values}
