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
