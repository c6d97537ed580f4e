"""Small helpers the API contract tests share: URLs as the API renders them, and error-shape checks."""

import json

BASE = "http://testserver"
HEX32 = r"^[0-9a-f]{32}$"


def list_url(route: str) -> str:
    return f"/api/{route}/"


def detail_url(route: str, uuid) -> str:
    return f"/api/{route}/{_hex(uuid)}/"


def link(route: str, uuid) -> str:
    """The absolute hyperlink a request body uses to refer to an object."""
    return BASE + detail_url(route, uuid)


def _hex(uuid) -> str:
    return uuid.hex if hasattr(uuid, "hex") else str(uuid)


def body(response):
    """The decoded JSON body, after checking the answer is JSON and not a server error."""
    assert response.status_code < 500, response.content[:500]
    content_type = response["Content-Type"]
    assert content_type.startswith("application/json"), (response.status_code, response.content[:200])
    return json.loads(response.content)


def assert_detail(response, status: int, detail: str | None = None) -> None:
    """`{"detail": "..."}` with this status (and this exact message, when one is given)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    data = body(response)
    assert set(data) == {"detail"}, data
    if detail is not None:
        assert data["detail"] == detail


def assert_field_error(response, field: str, contains: str = "") -> list[str]:
    """400 `{"<field>": ["message", ...]}`; returns the messages."""
    assert response.status_code == 400, (response.status_code, response.content[:500])
    data = body(response)
    assert field in data, data
    messages = data[field]
    assert isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages), data
    assert any(contains in message for message in messages), (contains, messages)
    return messages


def uuids(response) -> set[str]:
    return {item["uuid"] for item in body(response)}
