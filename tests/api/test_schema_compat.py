"""Our OpenAPI schema against Waldur's published one and the generated client `waldur-api-client==8.1.3`:
the operations the client calls exist under the same ids, the droplet response keeps every property, and
every other difference is one that docs/api.md lists with its reason."""

import fnmatch
import re
from pathlib import Path

import pytest
import waldur_api_client.api
import yaml
from drf_spectacular.generators import SchemaGenerator

from .schema_diff import differences

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


# --- every difference from Waldur's schema is declared ----------------------------------------------------

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TABLE_HEADING = "### Every difference from Waldur's published schema"


def declared_differences() -> dict[str, str]:
    """docs/api.md's table of differences: each pattern of its first column, with the row's reason."""
    text = API_DOC.read_text()
    assert TABLE_HEADING in text, f"docs/api.md has no section {TABLE_HEADING!r}"
    section = text.split(TABLE_HEADING, 1)[1].split("\n#", 1)[0]
    declared = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        for pattern in re.findall(r"`([^`]+)`", cells[0]):
            declared[pattern] = cells[1]
    assert declared, "the table of differences is empty"
    return declared


def test_every_difference_from_waldurs_schema_is_declared_in_the_docs(reference, ours):
    found = differences(ours, reference)
    declared = declared_differences()
    undeclared = sorted(d for d in found if not any(fnmatch.fnmatchcase(d, p) for p in declared))
    assert not undeclared, (
        "differences from Waldur's schema that docs/api.md does not list "
        "(match Waldur's schema, or add a row with the reason):\n" + "\n".join(undeclared)
    )
    stale = sorted(p for p in declared if not any(fnmatch.fnmatchcase(d, p) for d in found))
    assert not stale, "rows of docs/api.md's table that match no difference any more:\n" + "\n".join(stale)


def test_the_comparison_sees_each_kind_of_difference(reference):
    """The comparison itself, on Waldur's schema changed by hand in each of the ways it must notice."""
    import copy

    changed = copy.deepcopy(reference)
    schemas = changed["components"]["schemas"]
    schemas["DigitalOceanDroplet"]["properties"]["marketplace_offering_plugin_options"] = {"type": "string"}
    schemas["DigitalOceanDroplet"]["properties"]["is_usage_based"].pop("nullable")
    schemas["DigitalOceanDroplet"]["required"] = ["url"]
    schemas["DigitalOceanDropletRequest"]["properties"]["ssh_public_key"]["nullable"] = True
    schemas["DigitalOceanDropletResizeRequest"]["properties"]["size"].pop("writeOnly")
    schemas["DigitalOceanImageOEnum"]["enum"].append("name")
    schemas["DigitalOceanDroplet"]["properties"]["runtime_state"] = {"type": "string", "enum": ["online"]}
    item = changed["paths"]["/api/digitalocean-droplets/{uuid}/"]
    item["get"]["parameters"][1]["schema"].pop("format")
    item["delete"]["responses"]["409"] = {"description": ""}
    del changed["components"]["securitySchemes"]["waldurOIDCAuth"]
    found = differences(changed, reference)
    for expected in (
        "digitalocean_droplets_list: 200 marketplace_offering_plugin_options type object -> string",
        "digitalocean_droplets_list: 200 is_usage_based nullable true -> false",
        "digitalocean_droplets_list: 200 url required false -> true",
        "digitalocean_droplets_create: request ssh_public_key nullable false -> true",
        "digitalocean_droplets_resize: request size writeOnly true -> false",
        "digitalocean_images_list: parameter o[] enum adds name",
        "digitalocean_droplets_retrieve: 200 runtime_state enum none -> enum",
        "digitalocean_droplets_retrieve: parameter uuid format uuid -> none",
        "digitalocean_droplets_destroy: status 409 added",
        "security scheme http bearer missing",
    ):
        assert expected in found, (expected, sorted(found))
    assert not differences(reference, reference)
