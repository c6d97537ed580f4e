import re

from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/projects/" in (tmp_path / "schema.yml").read_text()


def test_schema_and_swagger_ui_are_served_offline_without_login(db, client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


# What the server answers for each droplet operation (docs/api.md, "Conventions" and "Operations"), every
# one of which the schema must document.
DROPLET_STATUSES = {
    "list": {"200", "400", "401", "404"},
    "count": {"200", "400", "401", "404"},
    "retrieve": {"200", "401", "404"},
    "create": {"201", "400", "401", "403"},
    "update": {"200", "400", "401", "403", "404", "409"},
    "partial_update": {"200", "400", "401", "403", "404", "409"},
    "destroy": {"204", "401", "403", "404", "409"},
    "start": {"202", "401", "403", "404", "409"},
    "stop": {"202", "401", "403", "404", "409"},
    "restart": {"202", "401", "403", "404", "409"},
    "resize": {"202", "400", "401", "403", "404", "409"},
    "pull": {"202", "401", "403", "404", "409"},
    "unlink": {"204", "401", "403", "404"},
    "set_erred": {"200", "400", "401", "403", "404"},
    "set_ok": {"200", "401", "403", "404"},
}


def test_the_schema_documents_every_status_a_droplet_operation_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        operation["operationId"]: set(operation["responses"])
        for item in schema["paths"].values()
        for operation in item.values()
    }
    for name, statuses in DROPLET_STATUSES.items():
        operation_id = f"digitalocean_droplets_{name}"
        assert statuses <= documented[operation_id], (operation_id, statuses - documented[operation_id])


def test_every_operation_is_described_for_users_not_for_us():
    """The published descriptions say who may call an operation and what it does, nothing of our code."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    internal = re.compile(r"can_manage|docstring|queryset|serializer|selector|drf-spectacular|Waldur's shape")
    described = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            text = operation.get("description", "")
            assert not internal.search(text), (method, path, text)
            described.append(bool(text))
    for name, component in schema["components"]["schemas"].items():
        assert not internal.search(component.get("description", "")), name
    assert all(described)
