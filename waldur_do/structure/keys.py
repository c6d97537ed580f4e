"""Parsing and fingerprinting of OpenSSH public keys."""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

SUPPORTED_KEY_TYPES = (
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)


class InvalidPublicKey(ValueError):
    pass


@dataclass(frozen=True)
class ParsedPublicKey:
    key_type: str
    fingerprint_md5: str
    fingerprint_sha256: str


def parse_public_key(text: str) -> ParsedPublicKey:
    """Checks that `text` is one OpenSSH public key line of a supported type, and fingerprints it."""
    parts = text.strip().split()
    if len(parts) < 2:
        raise InvalidPublicKey("Key must look like '<type> <base64 data> [comment]'.")
    key_type, encoded = parts[0], parts[1]
    if key_type not in SUPPORTED_KEY_TYPES:
        raise InvalidPublicKey(
            f"Key type '{key_type}' is not supported; use one of: {', '.join(SUPPORTED_KEY_TYPES)}."
        )
    try:
        blob = base64.b64decode(encoded, validate=True)
        load_ssh_public_key(f"{key_type} {encoded}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise InvalidPublicKey("Key data is not a valid OpenSSH public key.") from None
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return ParsedPublicKey(
        key_type=key_type,
        fingerprint_md5=":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
        fingerprint_sha256=sha256,
    )
