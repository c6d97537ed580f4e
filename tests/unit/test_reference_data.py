"""The reference documents in tests/data/ and the script that makes them from the published ones."""

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from tests.data.reduce_openapi import main, reduce

DATA = Path(__file__).resolve().parents[1] / "data"
REDUCED = ("digitalocean-openapi.yaml", "waldur-openapi.yaml")

FULL = {
    "openapi": "3.0.3",
    "info": {"title": "T", "version": "1", "description": "prose"},
    "tags": [{"name": "things", "description": "prose"}],
    "paths": {
        "/api/things/": {
            "get": {
                "operationId": "things_list",
                "summary": "prose",
                "tags": ["things"],
                "x-code-samples": [{"lang": "sh"}],
                "parameters": [{"name": "description", "in": "query", "description": "prose"}],
                "responses": {
                    "200": {
                        "description": "prose",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Thing"},
                                "examples": {"one": {"value": {}}},
                            }
                        },
                    }
                },
            }
        },
        "/api/other/": {"get": {"responses": {"200": {"$ref": "#/components/responses/Other"}}}},
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "description": "prose",
                "properties": {
                    "description": {"type": "string", "description": "prose", "example": "x"},
                    "state": {"$ref": "#/components/schemas/State"},
                },
            },
            "State": {"type": "string", "enum": ["OK", "ERRED"], "x-enum-descriptions": ["prose"]},
            "Unused": {"type": "integer"},
        },
        "responses": {"Other": {"description": "prose"}},
        "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}},
    },
}


def test_reduce_keeps_the_facts_and_drops_the_prose():
    assert reduce(FULL, ["/api/things/"]) == {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/api/things/": {
                "get": {
                    "operationId": "things_list",
                    "parameters": [{"name": "description", "in": "query"}],
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {
                        "description": {"type": "string"},
                        "state": {"$ref": "#/components/schemas/State"},
                    },
                },
                "State": {"type": "string", "enum": ["OK", "ERRED"]},
            },
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
    }


def test_reduce_follows_references_to_shared_responses():
    reduced = reduce(FULL, ["/api/other/"])
    assert reduced["components"]["responses"] == {"Other": {"description": ""}}
    assert "schemas" not in reduced["components"]


def test_the_script_writes_a_header_naming_the_source(tmp_path):
    full, out = tmp_path / "full.yaml", tmp_path / "out.yaml"
    full.write_text(yaml.safe_dump(FULL))
    assert main([str(full), str(out), "--keep", "/api/things/", "--source", "somewhere 1.0"]) == 0
    assert out.read_text().startswith("# Reduced from somewhere 1.0\n# by tests/data/reduce_openapi.py")
    assert yaml.safe_load(out.read_text()) == reduce(FULL, ["/api/things/"])


def test_the_committed_documents_are_what_the_script_makes():
    """Reducing a reduced document changes nothing: no prose, no unused component is left in them."""
    for name in REDUCED:
        document = yaml.safe_load((DATA / name).read_text())
        assert reduce(document, list(document["paths"])) == document, name


def test_the_digitalocean_document_is_valid_openapi():
    # The emulator's response validation loads it; Waldur's own published schema is not valid as published
    # (an empty `required` list), and we keep it as it is.
    validate(yaml.safe_load((DATA / "digitalocean-openapi.yaml").read_text()))


def test_each_document_names_its_source_and_licence():
    notice = (DATA / "NOTICE").read_text()
    for name in REDUCED:
        assert name in notice
    assert "Apache License, Version 2.0" in notice and "MIT License" in notice
