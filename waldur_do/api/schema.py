"""drf-spectacular additions so the schema says what the server really answers."""

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

LIST_HEADERS = [
    OpenApiParameter(
        "X-Result-Count",
        OpenApiTypes.INT,
        location=OpenApiParameter.HEADER,
        response=True,
        description="How many objects the whole list holds.",
    ),
    OpenApiParameter(
        "Link",
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        response=True,
        description='RFC 8288 links to the first, prev, next and last pages (`rel="…"`).',
    ),
]


# The range of each integer column on every database Django supports. A model's own validators use the
# current database's range instead (SQLite's integers are all 64-bit), which would make the schema depend on
# DATABASE_URL.
PORTABLE_INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


class AutoSchema(SpectacularAutoSchema):
    def get_operation_id(self):
        """Waldur's ids: `digitalocean_droplets_start`, not drf-spectacular's `…_start_create`."""
        operation_id = super().get_operation_id()
        action = getattr(self.view, "action", None)
        if self.method == "POST" and action != "create" and operation_id.endswith("_create"):
            return operation_id.removesuffix("_create")
        return operation_id

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        portable = self._portable_range(field)
        if portable is not None and result.get("type") == "integer":
            low, high = portable
            result.update(minimum=max(low, result.get("minimum", low)), maximum=high)
            if high <= 2147483647:
                result.pop("format", None)
        return result

    @staticmethod
    def _portable_range(field):
        """The portable range of the model column behind a serializer's integer field, when the field takes
        its limits from that column (as ModelSerializer makes it)."""
        if not isinstance(field, serializers.IntegerField) or field.max_value is None:
            return None
        model = getattr(getattr(field.parent, "Meta", None), "model", None)
        try:
            column = model._meta.get_field(field.source)
        except (AttributeError, FieldDoesNotExist):
            return None
        internal_type = column.get_internal_type()
        if internal_type not in PORTABLE_INTEGER_RANGES:
            return None
        if field.max_value != connection.ops.integer_field_range(internal_type)[1]:
            return None
        return PORTABLE_INTEGER_RANGES[internal_type]

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_list_view():
            parameters += LIST_HEADERS
        if self.method in ("GET", "HEAD"):
            parameters.append(
                OpenApiParameter(
                    "field",
                    OpenApiTypes.STR,
                    many=True,
                    explode=True,
                    description="Return only these fields (repeatable); unknown names are ignored.",
                )
            )
        return parameters


class QueryTokenScheme(OpenApiAuthenticationExtension):
    target_class = "waldur_do.api.authentication.QueryTokenAuthentication"
    name = "queryTokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "x-auth-token"}


def add_count_operations(result, generator, request, public):
    """Documents `HEAD` on every list as Waldur does (`<name>_count`): the list's filters, the total in
    `X-Result-Count`, no body. drf-spectacular leaves HEAD out, although Django answers it through GET."""
    for path_item in result.get("paths", {}).values():
        listing = path_item.get("get")
        if not listing or not listing["operationId"].endswith("_list"):
            continue
        ok = listing["responses"]["200"]
        path_item["head"] = {
            "operationId": listing["operationId"].removesuffix("_list") + "_count",
            "description": "The number of objects the list holds, in the X-Result-Count header.",
            # `field` shapes a body, and HEAD has none.
            "parameters": [p for p in listing.get("parameters", []) if p["name"] != "field"],
            "tags": listing.get("tags", []),
            "security": listing.get("security", []),
            "responses": {"200": {"headers": ok.get("headers", {}), "description": "No response body"}},
        }
    return result


ERROR_SCHEMAS = {
    "ErrorDetail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": "Messages by field name (`non_field_errors` for the request as a whole).",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    "BadRequest": {
        "description": "Messages by field name, or one `detail` for a request that could not be read at all "
        "(a body that is not JSON, too many parameters, an unknown Host).",
        "oneOf": [
            {"$ref": "#/components/schemas/ValidationErrors"},
            {"$ref": "#/components/schemas/ErrorDetail"},
        ],
    },
}
ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: the body names each problem by field, or says in `detail` why the "
    "request could not be read.",
    "401": "No credentials, or a token that is not valid.",
    "403": "The object is visible, but the user may not do this to it.",
    "404": "No such object among those the user may see (or a page past the end of a list).",
    "406": "The Accept header asks for a type the server cannot answer in (it answers JSON).",
    "413": "The request body is larger than 2.5 MiB.",
    "415": "The body's Content-Type is not JSON, a form, or multipart.",
}
ERROR_BODIES = {"400": "BadRequest"}


def add_error_responses(result, generator, request, public):
    """Documents the errors every endpoint can answer (docs/api.md, "Conventions"), which drf-spectacular
    leaves out: 400 and 406 anywhere (a request that cannot be read: too many parameters, an unknown Host,
    an Accept header we cannot serve), 401 wherever credentials are needed, 404 on objects and list pages,
    403 on writes, 413 and 415 wherever a body is read."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation["responses"]
            is_list = operation["operationId"].endswith(("_list", "_count"))
            codes = {"400", "406"}
            if "{uuid}" in path or is_list:
                codes.add("404")
            if operation.get("security"):
                codes.add("401")
            if method in ("post", "put", "patch", "delete"):
                codes.add("403")
            if "requestBody" in operation:
                codes |= {"413", "415"}
            for code in sorted(codes - set(responses)):
                responses[code] = {"description": ERROR_DESCRIPTIONS[code]}
                if method != "head":  # an answer to HEAD has no body
                    schema = ERROR_BODIES.get(code, "ErrorDetail")
                    responses[code]["content"] = {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    }
            operation["responses"] = dict(sorted(responses.items()))
    return result


def _component_name(schema, components):
    """The object component a response body refers to, directly or as the items of a list (which may be a
    component of its own, `Paginated…List`)."""
    while True:
        schema = schema.get("items", schema)
        ref = schema.get("$ref", "")
        if not ref.startswith("#/components/schemas/"):
            return None
        name = ref.rsplit("/", 1)[-1]
        if components[name].get("type") != "array":
            return name
        schema = components[name]


def describe_field_selection(result, generator, request, public):
    """What `?field=` does to the schema, as in Waldur's: the names it takes are an enum of the serializer's
    fields (`DigitalOceanDropletFieldEnum`), and since a selection may leave any of them out, no field of an
    answer that can be shortened is `required`."""
    components = result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            field = next((p for p in operation.get("parameters", []) if p["name"] == "field"), None)
            if field is None:
                continue
            body = operation["responses"]["200"].get("content", {}).get("application/json", {})
            name = _component_name(body.get("schema", {}), components)
            if name is None:
                continue
            component = components[name]
            component.pop("required", None)
            names = set(component.get("properties", {}))
            names |= set(components.get(f"{name}Request", {}).get("properties", {}))
            components[f"{name}FieldEnum"] = {"type": "string", "enum": sorted(names)}
            field["schema"] = {"type": "array", "items": {"$ref": f"#/components/schemas/{name}FieldEnum"}}
    return result


def document_uuid_paths(result, generator, request, public):
    """A `{uuid}` in a path is a uuid, as Waldur's schema says: 32 hex digits as we render it, or dashed."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "uuid":
                    parameter["schema"] = {"type": "string", "format": "uuid"}
    return result


def add_create_links(result, generator, request, public):
    """OpenAPI links from each create's 201 to every operation on the object it made (retrieve, update,
    its actions, delete), by the `uuid` of the answer: what a client, and schemathesis's stateful phase,
    follows next."""
    paths = result.get("paths", {})
    for path, path_item in paths.items():
        created = path_item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {"uuid": "$response.body#/uuid"},
            }
            for other_path, other_item in paths.items()
            if other_path.startswith(f"{path}{{uuid}}/")
            for operation in other_item.values()
        }
        if links:
            created["links"] = links
    return result
