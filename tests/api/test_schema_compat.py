"""Our OpenAPI schema against Waldur's published one and the generated client `waldur-api-client==8.1.3`:
the operations the client calls exist under the same ids, and the droplet response keeps every property."""

import re
from pathlib import Path

import pytest
import waldur_api_client.api
import yaml
from drf_spectacular.generators import SchemaGenerator

# Waldur's published schema for these endpoints, reduced to its facts (tests/data/NOTICE).
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "waldur-openapi.yaml"
CLIENT_API = Path(waldur_api_client.api.__file__).parent
TAGS = ("digitalocean_droplets", "digitalocean_images", "digitalocean_regions", "digitalocean_sizes")


def operations(schema: dict) -> dict[str, tuple[str, str, dict]]:
    return {
        operation["operationId"]: (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def client_operation_ids() -> set[str]:
    """The client names each operation's module after its operationId."""
    return {module.stem for tag in TAGS for module in (CLIENT_API / tag).glob(f"{tag}_*.py")}


def client_success_codes(operation_id: str) -> set[str]:
    """The statuses the client parses instead of raising (it raises on every 404)."""
    tag = next(tag for tag in TAGS if operation_id.startswith(tag))
    source = (CLIENT_API / tag / f"{operation_id}.py").read_text()
    return set(re.findall(r"response\.status_code == (\d{3}):", source)) - {"404"}


@pytest.fixture(scope="module")
def reference() -> dict:
    assert REFERENCE.is_file(), f"the reference schema is missing at {REFERENCE.resolve()}"
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture(scope="module")
def ours() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_reference_operation_the_client_uses_exists_in_ours(reference, ours):
    ours_ops, reference_ops = operations(ours), operations(reference)
    used = client_operation_ids() & set(reference_ops)
    assert len(used) == 24  # 15 droplet operations, 3 for each catalog
    missing = {op for op in used if op not in ours_ops}
    assert not missing, f"operations the client calls that our schema lacks: {sorted(missing)}"
    for op in used:
        assert ours_ops[op][:2] == reference_ops[op][:2], op  # same path, same method (`_count` is HEAD)


def test_our_schema_documents_the_statuses_the_client_accepts(reference, ours):
    ours_ops = operations(ours)
    for op in client_operation_ids() & set(operations(reference)):
        documented = set(ours_ops[op][2]["responses"])
        assert client_success_codes(op) <= documented, op


def test_droplet_response_keeps_every_reference_property(reference, ours):
    reference_properties = set(reference["components"]["schemas"]["DigitalOceanDroplet"]["properties"])
    our_properties = set(ours["components"]["schemas"]["DigitalOceanDroplet"]["properties"])
    assert reference_properties | {"marketplace_offering_type"} <= our_properties
    assert len(our_properties) >= 52
