"""drf-spectacular additions so the schema says what the server really answers."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

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


class AutoSchema(SpectacularAutoSchema):
    def get_operation_id(self):
        """Waldur's ids: `digitalocean_droplets_start`, not drf-spectacular's `…_start_create`."""
        operation_id = super().get_operation_id()
        action = getattr(self.view, "action", None)
        if self.method == "POST" and action != "create" and operation_id.endswith("_create"):
            return operation_id.removesuffix("_create")
        return operation_id

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
            "parameters": listing.get("parameters", []),
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
}
ERROR_DESCRIPTIONS = {
    "400": "The request is invalid; the body names each problem by field.",
    "401": "No credentials, or a token that is not valid.",
    "403": "The object is visible, but the user may not do this to it.",
    "404": "No such object among those the user may see (or a page past the end of a list).",
}


def add_error_responses(result, generator, request, public):
    """Documents the errors every endpoint can answer (docs/api.md, "Conventions"), which drf-spectacular
    leaves out: 401 wherever credentials are needed, 404 on objects and list pages, 400 and 403 on writes
    and filters."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation["responses"]
            is_list = operation["operationId"].endswith(("_list", "_count"))
            codes = {"404"} if "{uuid}" in path or is_list else set()
            if operation.get("security"):
                codes.add("401")
            if method in ("post", "put", "patch", "delete"):
                codes.add("403")
            if method in ("post", "put", "patch") or is_list:
                codes.add("400")
            for code in sorted(codes - set(responses)):
                responses[code] = {"description": ERROR_DESCRIPTIONS[code]}
                if method != "head":  # an answer to HEAD has no body
                    schema = "ValidationErrors" if code == "400" else "ErrorDetail"
                    responses[code]["content"] = {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    }
    return result
