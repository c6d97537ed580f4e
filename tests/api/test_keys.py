"""SSH public keys: each supported type is accepted and fingerprinted as OpenSSH does; anything else is a 400
under `public_key` that says what is wrong."""

import base64
import re

import pytest

from tests.fixtures.ssh_keys import KEY_TYPES, cached_public_key, expected_fingerprints, generate_public_key
from waldur_do.structure.models import SshPublicKey

from .helpers import HEX32, assert_field_error, body, detail_url

# A public key generated with `ssh-keygen -t ed25519`, and what `ssh-keygen -l [-E md5] -f` printed for it:
# an oracle that does not share the server's arithmetic.
SSH_KEYGEN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMjpYc0ZPdyT8coB0puEBLWcRKxyagdwHFZ/KzqzPQ6K root@vm"
SSH_KEYGEN_MD5 = "00:fc:2f:d4:20:70:6e:8f:70:e6:7a:f5:d2:dd:7e:50"
SSH_KEYGEN_SHA256 = "t6HuadjEzoCAbRkhwVoGibLMatF5cB3KQ0V6Xl3fFjo"


def _create(client, public_key, name="laptop"):
    return client.post("/api/keys/", {"name": name, "public_key": public_key}, format="json")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_each_supported_key_type_is_accepted_and_fingerprinted(world, key_type):
    public_key = cached_public_key(key_type)
    response = _create(world.client("member"), public_key)

    assert response.status_code == 201, response.content
    data = body(response)
    md5, sha256 = expected_fingerprints(public_key)
    assert (data["fingerprint_md5"], data["fingerprint_sha256"]) == (md5, sha256)
    assert data["public_key"] == public_key
    assert data["user_uuid"] == world.users["member"].uuid.hex
    assert data["is_shared"] is False
    assert set(data) == {
        "url",
        "uuid",
        "name",
        "public_key",
        "fingerprint_md5",
        "fingerprint_sha256",
        "user_uuid",
        "is_shared",
    }


def test_fingerprints_match_what_ssh_keygen_prints(world):
    data = body(_create(world.client("member"), SSH_KEYGEN_KEY))
    assert data["fingerprint_md5"] == SSH_KEYGEN_MD5
    assert data["fingerprint_sha256"] == SSH_KEYGEN_SHA256


def test_an_rsa_fingerprint_is_the_md5_of_the_decoded_blob(world):
    public_key = generate_public_key("ssh-rsa", comment="")
    data = body(_create(world.client("member"), public_key))
    assert len(data["fingerprint_md5"]) == 47 and data["fingerprint_md5"].count(":") == 15
    assert data["fingerprint_md5"] == expected_fingerprints(public_key)[0]


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda k: k, id="with-comment"),
        pytest.param(lambda k: " ".join(k.split()[:2]), id="without-comment"),
        pytest.param(lambda k: f"  {k}\n", id="surrounding-whitespace"),
        pytest.param(lambda k: k + " with a comment of many words", id="long-comment"),
    ],
)
def test_keys_are_accepted_with_or_without_a_comment(world, spelling):
    public_key = spelling(cached_public_key("ssh-ed25519"))
    response = _create(world.client("member"), public_key)
    assert response.status_code == 201, response.content
    assert body(response)["public_key"] == public_key.strip()


def _blob(key_type="ssh-ed25519"):
    return cached_public_key(key_type).split()[1]


MALFORMED = [
    pytest.param("garbage", "must look like", id="garbage"),
    pytest.param("", "blank", id="empty"),
    pytest.param("   ", "blank", id="whitespace"),
    pytest.param("ssh-ed25519", "must look like", id="type-only"),
    pytest.param("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "not supported", id="ssh-dss"),
    pytest.param("ssh-rsa1 AAAA", "not supported", id="unknown-type"),
    pytest.param(
        "-----BEGIN PUBLIC KEY----- MFkwEwYHKoZIzj0CAQYIKoZIzj0D -----END", "not supported", id="pem"
    ),
    pytest.param("ssh-ed25519 !!!not*base64!!!", "not a valid OpenSSH public key", id="bad-base64"),
    pytest.param("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMjpYc0", "not a valid", id="bad-padding"),
    pytest.param(f"ssh-ed25519 {_blob()[:-12]}", "not a valid", id="truncated-blob"),
    pytest.param(
        f"ssh-ed25519 {base64.b64encode(b'hello world').decode()}", "not a valid", id="valid-base64-junk"
    ),
    pytest.param(f"ssh-rsa {_blob('ssh-ed25519')}", "not a valid", id="type-does-not-match-blob"),
    pytest.param(f"ecdsa-sha2-nistp256 {_blob('ecdsa-sha2-nistp384')}", "not a valid", id="wrong-curve"),
    pytest.param(f"ssh-ed25519 {_blob()}{_blob()}", "not a valid", id="two-blobs-glued"),
]


@pytest.mark.parametrize(("public_key", "message"), MALFORMED)
def test_a_malformed_key_is_a_400_under_public_key(world, public_key, message):
    response = _create(world.client("member"), public_key)
    assert_field_error(response, "public_key", message)
    assert not SshPublicKey.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        pytest.param({"public_key": _blob()}, "name", "required", id="no-name"),
        pytest.param({"name": "k"}, "public_key", "required", id="no-key"),
        pytest.param({"name": "k", "public_key": None}, "public_key", "null", id="null-key"),
        pytest.param(
            {"name": "k", "public_key": ["ssh-ed25519", "AAAA"]}, "public_key", "valid string", id="list"
        ),
        pytest.param({"name": "x" * 151, "public_key": "x"}, "name", "150", id="long-name"),
        pytest.param({"name": "k", "public_key": "ssh-ed25519 AA\x00AA"}, "public_key", "Null", id="nul"),
    ],
)
def test_missing_or_mistyped_fields_are_a_400_naming_them(world, payload, field, message):
    assert_field_error(world.client("member").post("/api/keys/", payload, format="json"), field, message)


def test_a_duplicate_key_is_a_400(world):
    client = world.client("member")
    public_key = cached_public_key("ssh-ed25519")
    assert _create(client, public_key).status_code == 201
    assert_field_error(_create(client, public_key, name="again"), "public_key", "already have this key")
    # The same key under another comment is still the same key.
    other_comment = " ".join(public_key.split()[:2]) + " elsewhere"
    assert_field_error(_create(client, other_comment, name="again"), "public_key", "already have this key")
    assert SshPublicKey.objects.count() == 1


def test_two_users_may_register_the_same_key(world):
    public_key = cached_public_key("ssh-ed25519")
    assert _create(world.client("member"), public_key).status_code == 201
    assert _create(world.client("owner"), public_key).status_code == 201


def test_keys_cannot_be_shared_by_their_user(world):
    response = world.client("member").post(
        "/api/keys/",
        {"name": "k", "public_key": cached_public_key("ssh-ed25519"), "is_shared": True},
        format="json",
    )
    assert body(response)["is_shared"] is False


@pytest.mark.parametrize("method", ["put", "patch"])
def test_keys_are_immutable(world, method):
    data = body(_create(world.client("member"), cached_public_key("ssh-ed25519")))
    response = getattr(world.client("member"), method)(detail_url("keys", data["uuid"]), {"name": "x"})
    assert response.status_code == 405


def test_a_user_deletes_their_own_key(world):
    data = body(_create(world.client("member"), cached_public_key("ssh-ed25519")))
    assert world.client("member").delete(detail_url("keys", data["uuid"])).status_code == 204
    assert not SshPublicKey.objects.exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "LAP"}, {"laptop"}),
        ({"name_exact": "laptop"}, {"laptop"}),
        ({"name_exact": "lap"}, set()),
        ({"is_shared": "false"}, {"laptop", "desktop"}),
        ({"user_uuid": "owner"}, set()),
        ({"user_uuid": "member"}, {"laptop", "desktop"}),
        ({"o": "-name"}, {"laptop", "desktop"}),
    ],
)
def test_key_filters(world, query, expected):
    client = world.client("member")
    _create(client, generate_public_key(), name="laptop")
    laptop = SshPublicKey.objects.get()
    _create(client, generate_public_key(), name="desktop")
    if "user_uuid" in query:
        query = {"user_uuid": world.users[query["user_uuid"]].uuid.hex}
    names = [item["name"] for item in body(client.get("/api/keys/", query))]
    assert set(names) == expected
    if query.get("o") == "-name":
        assert names == ["laptop", "desktop"]
    data = body(client.get("/api/keys/", {"fingerprint_md5": laptop.fingerprint_md5}))
    assert [item["name"] for item in data] == ["laptop"]
    assert all(re.match(HEX32, item["uuid"]) for item in data)


def test_staff_see_every_users_keys(world):
    _create(world.client("member"), cached_public_key("ssh-ed25519"))
    _create(world.client("owner"), cached_public_key("ssh-ed25519"))
    assert len(body(world.client("staff").get("/api/keys/"))) == 2
    assert len(body(world.client("owner").get("/api/keys/"))) == 1
