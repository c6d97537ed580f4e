"""The DigitalOcean v2 endpoints: routes, request parsing and response envelopes in DigitalOcean's shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .core import ApiError, EmulatorCore, Page, dumps

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_PER_PAGE = 20

# Paths are matched without their trailing slash (python-digitalocean sends one, the spec has none).
API_ROUTES = Map(
    [
        Rule("/v2/account", methods=["GET"], endpoint="account_get"),
        Rule("/v2/account/keys", methods=["GET"], endpoint="ssh_keys_list"),
        Rule("/v2/account/keys", methods=["POST"], endpoint="ssh_key_create"),
        Rule("/v2/account/keys/<key>", methods=["GET"], endpoint="ssh_key_get"),
        Rule("/v2/account/keys/<key>", methods=["PUT"], endpoint="ssh_key_update"),
        Rule("/v2/account/keys/<key>", methods=["DELETE"], endpoint="ssh_key_delete"),
        Rule("/v2/actions", methods=["GET"], endpoint="actions_list"),
        Rule("/v2/actions/<int:action_id>", methods=["GET"], endpoint="action_get"),
        Rule("/v2/droplets", methods=["GET"], endpoint="droplets_list"),
        Rule("/v2/droplets", methods=["POST"], endpoint="droplets_create"),
        Rule("/v2/droplets/<int:droplet_id>", methods=["GET"], endpoint="droplet_get"),
        Rule("/v2/droplets/<int:droplet_id>", methods=["DELETE"], endpoint="droplet_delete"),
        Rule("/v2/droplets/<int:droplet_id>/actions", methods=["GET"], endpoint="droplet_actions_list"),
        Rule("/v2/droplets/<int:droplet_id>/actions", methods=["POST"], endpoint="droplet_action_start"),
        Rule(
            "/v2/droplets/<int:droplet_id>/actions/<int:action_id>",
            methods=["GET"],
            endpoint="droplet_action_get",
        ),
        Rule("/v2/images", methods=["GET"], endpoint="images_list"),
        Rule("/v2/images/<image>", methods=["GET"], endpoint="image_get"),
        Rule("/v2/regions", methods=["GET"], endpoint="regions_list"),
        Rule("/v2/sizes", methods=["GET"], endpoint="sizes_list"),
    ]
)


def json_response(status: int, payload) -> Response:
    return Response(dumps(payload), status=status, content_type=JSON_CONTENT_TYPE)


def error_response(status: int, error_id: str, message: str, request_id: str) -> Response:
    return json_response(status, {"id": error_id, "message": message, "request_id": request_id})


def no_content() -> Response:
    # DigitalOcean's 204s carry a content-type although they have no body (no_content_with_content_type).
    return Response(status=204, content_type=JSON_CONTENT_TYPE)


def read_json_body(request: Request) -> dict:
    """The request's JSON object; an empty body is ``{}`` (python-digitalocean sends ``{}`` with DELETE)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ApiError(400, "bad_request", f"The request body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The request body must be a JSON object.")
    return body


def _int_arg(query: MultiDict, name: str, default: int) -> int:
    # Bad paging values are clamped to something sensible rather than refused, as the spec suggests.
    try:
        return int(query.get(name, default))
    except ValueError:
        return default


def page_links(page: Page, base_url: str, path: str, query: MultiDict) -> dict:
    """``links.pages`` as DigitalOcean sends them: absolute, keeping the other query parameters."""

    def url(number: int) -> str:
        params = [("page", str(number)), *((k, v) for k, v in query.items(multi=True) if k != "page")]
        return f"{base_url}{path}?{urlencode(params)}"

    pages = {}
    if page.page > 1:
        pages["first"] = url(1)
        pages["prev"] = url(page.page - 1)
    if page.page < page.last_page:
        pages["last"] = url(page.last_page)
        pages["next"] = url(page.page + 1)
    return {"pages": pages} if pages else {}


@dataclass(frozen=True)
class ApiCall:
    """One matched request, as the endpoint handlers see it."""

    request: Request
    args: Mapping[str, object]
    base_url: str  # scheme://host, from public_url or the request's Host header
    path: str  # without a trailing slash

    @property
    def query(self) -> MultiDict:
        return self.request.args

    def listing(self, key: str, page: Page) -> Response:
        links = page_links(page, self.base_url, self.path, self.query)
        # Spliced by hand: the items arrive already serialized (see core.Page).
        body = f'{{"{key}":[{",".join(page.items)}],"links":{dumps(links)},"meta":{{"total":{page.total}}}}}'
        return Response(body, status=200, content_type=JSON_CONTENT_TYPE)

    def paging(self) -> tuple[int, int]:
        return _int_arg(self.query, "page", 1), _int_arg(self.query, "per_page", DEFAULT_PER_PAGE)


class DigitalOceanApi:
    """One method per route endpoint; each turns an ``ApiCall`` into a response or raises ``ApiError``."""

    def __init__(self, core: EmulatorCore):
        self.core = core

    def handler(self, endpoint: str) -> Callable[[ApiCall], Response]:
        return getattr(self, endpoint)

    def account_get(self, call: ApiCall) -> Response:
        return json_response(200, {"account": self.core.account()})

    def ssh_keys_list(self, call: ApiCall) -> Response:
        return call.listing("ssh_keys", self.core.list_ssh_keys(*call.paging()))

    def ssh_key_create(self, call: ApiCall) -> Response:
        return json_response(201, {"ssh_key": self.core.create_ssh_key(read_json_body(call.request))})

    def ssh_key_get(self, call: ApiCall) -> Response:
        return json_response(200, {"ssh_key": self.core.get_ssh_key(call.args["key"])})

    def ssh_key_update(self, call: ApiCall) -> Response:
        key = self.core.update_ssh_key(call.args["key"], read_json_body(call.request))
        return json_response(200, {"ssh_key": key})

    def ssh_key_delete(self, call: ApiCall) -> Response:
        self.core.delete_ssh_key(call.args["key"])
        return no_content()

    def actions_list(self, call: ApiCall) -> Response:
        return call.listing("actions", self.core.list_actions(*call.paging()))

    def action_get(self, call: ApiCall) -> Response:
        return json_response(200, {"action": self.core.get_action(call.args["action_id"])})

    def droplets_list(self, call: ApiCall) -> Response:
        page, per_page = call.paging()
        droplets = self.core.list_droplets(
            tag_name=call.query.get("tag_name"),
            name=call.query.get("name"),
            droplet_type=call.query.get("type"),
            page=page,
            per_page=per_page,
        )
        return call.listing("droplets", droplets)

    def droplets_create(self, call: ApiCall) -> Response:
        body = read_json_body(call.request)
        created = self.core.create_droplets(body)
        links = {
            "actions": [
                {"id": action_id, "rel": "create", "href": f"{call.base_url}/v2/actions/{action_id}"}
                for _droplet, action_id in created
            ]
        }
        if "name" in body:
            return json_response(202, {"droplet": created[0][0], "links": links})
        return json_response(202, {"droplets": [droplet for droplet, _action_id in created], "links": links})

    def droplet_get(self, call: ApiCall) -> Response:
        return json_response(200, {"droplet": self.core.get_droplet(call.args["droplet_id"])})

    def droplet_delete(self, call: ApiCall) -> Response:
        self.core.delete_droplet(call.args["droplet_id"])
        return no_content()

    def droplet_actions_list(self, call: ApiCall) -> Response:
        actions = self.core.list_droplet_actions(call.args["droplet_id"], *call.paging())
        return call.listing("actions", actions)

    def droplet_action_start(self, call: ApiCall) -> Response:
        action = self.core.start_droplet_action(call.args["droplet_id"], read_json_body(call.request))
        return json_response(201, {"action": action})

    def droplet_action_get(self, call: ApiCall) -> Response:
        action = self.core.get_droplet_action(call.args["droplet_id"], call.args["action_id"])
        return json_response(200, {"action": action})

    def images_list(self, call: ApiCall) -> Response:
        page, per_page = call.paging()
        images = self.core.list_images(
            image_type=call.query.get("type"),
            private=call.query.get("private", "").lower() == "true",
            tag_name=call.query.get("tag_name"),
            page=page,
            per_page=per_page,
        )
        return call.listing("images", images)

    def image_get(self, call: ApiCall) -> Response:
        return json_response(200, {"image": self.core.get_image(call.args["image"])})

    def regions_list(self, call: ApiCall) -> Response:
        return call.listing("regions", self.core.list_regions(*call.paging()))

    def sizes_list(self, call: ApiCall) -> Response:
        return call.listing("sizes", self.core.list_sizes(*call.paging()))
