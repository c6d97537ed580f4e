"""docs/api.md, "Conventions" and "Filters", on the droplet list: filters, ordering, `field`, pagination and
HEAD."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.api.helpers import assert_detail, body, detail_url, list_url
from tests.contract import DROPLET_FIELDS as FIELDS
from tests.fixtures.droplets import make_catalog, make_droplet
from tests.fixtures.factories import client_for, make_customer, make_project, make_service_settings
from waldur_do.structure.models import ProjectRole

ROUTE = "digitalocean-droplets"
NOWHERE = uuid.UUID(int=1).hex  # a valid uuid of nothing (fixed: test ids must not vary between runs)
LINK_RE = re.compile(r'<([^>]+)>; rel="(first|prev|next|last)"')


@pytest.fixture
def fleet(world):
    """Three droplets in two customers, every filtered attribute distinct where it matters.

    web-1 and db-1 are in the world's customer (Alpha Org) and project (Apollo) on its settings (Alpha DO);
    web-2 is in Beta Org / Borealis on Beta DO, where the world's manager is only a member.
    """
    alpha = world.customer
    alpha.name, alpha.native_name, alpha.abbreviation = "Alpha Org", "Alfa Oy", "ALF"
    alpha.save()
    apollo = world.project
    apollo.name = "Apollo"
    apollo.save()
    beta = make_customer(name="Beta Org", native_name="Beeta Ab", abbreviation="BET")
    borealis = make_project(customer=beta, name="Borealis")
    ProjectRole.objects.create(user=world.users["manager"], project=borealis, role="member")
    alpha_do = make_catalog(make_service_settings(customer=alpha, name="Alpha DO"))
    beta_do = make_catalog(make_service_settings(customer=beta, name="Beta DO"))

    web1 = make_droplet(
        project=apollo,
        catalog=alpha_do,
        name="web-1",
        description="Front end",
        backend_id="111",
        external_ips=["198.51.100.1", "198.51.100.2"],
    )
    db1 = make_droplet(
        project=apollo,
        catalog=alpha_do,
        name="db-1",
        description="database",
        backend_id="222",
        external_ips=["198.51.100.12"],
        state=State.ERRED,
        runtime_state=RuntimeState.OFFLINE,
    )
    web2 = make_droplet(
        project=borealis,
        catalog=beta_do,
        name="web-2",
        backend_id="333",
        external_ips=[],
        state=State.CREATION_SCHEDULED,
        runtime_state=RuntimeState.NONE,
    )
    now = timezone.now()
    for age, droplet in enumerate((web1, db1, web2)):  # created in this order, a minute apart
        Droplet.objects.filter(pk=droplet.pk).update(created=now - timedelta(minutes=3 - age))
    return {
        "web-1": web1,
        "db-1": db1,
        "web-2": web2,
        "alpha": alpha,
        "beta": beta,
        "apollo": apollo,
        "borealis": borealis,
        "alpha_do": alpha_do.service_settings,
        "beta_do": beta_do.service_settings,
    }


def _names(response):
    assert response.status_code == 200, response.content
    return [item["name"] for item in body(response)]


def _resolve(value, fleet):
    """`<key>` is the hex uuid of fleet[key]; `<key:dashed>` its dashed form."""
    match = re.fullmatch(r"<(\w[\w-]*)(:dashed)?>", value)
    if not match:
        return value
    obj_uuid = fleet[match[1]].uuid
    return str(obj_uuid) if match[2] else obj_uuid.hex


# (parameter, value, names expected): a positive and a negative case for each filter.
FILTERS = [
    ("name", "web", {"web-1", "web-2"}),
    ("name", "WEB-", {"web-1", "web-2"}),
    ("name", "zzz", set()),
    ("name_exact", "web-1", {"web-1"}),
    ("name_exact", "web", set()),
    ("description", "FRONT", {"web-1"}),
    ("description", "back end", set()),
    ("customer", "<alpha>", {"web-1", "db-1"}),
    ("customer", "<beta:dashed>", {"web-2"}),
    ("customer", NOWHERE, set()),
    ("customer_uuid", "<alpha:dashed>", {"web-1", "db-1"}),
    ("customer_uuid", "<apollo>", set()),
    ("customer_name", "alpha", {"web-1", "db-1"}),
    ("customer_name", "gamma", set()),
    ("customer_native_name", "beeta", {"web-2"}),
    ("customer_native_name", "Alpha", set()),
    ("customer_abbreviation", "alf", {"web-1", "db-1"}),
    ("customer_abbreviation", "XYZ", set()),
    ("project", "<borealis>", {"web-2"}),
    ("project", "<alpha>", set()),
    ("project_uuid", "<apollo:dashed>", {"web-1", "db-1"}),
    ("project_uuid", NOWHERE, set()),
    ("project_name", "bore", {"web-2"}),
    ("project_name", "zeus", set()),
    ("service_settings_uuid", "<beta_do>", {"web-2"}),
    ("service_settings_uuid", "<beta>", set()),
    ("service_settings_name", "alpha do", {"web-1", "db-1"}),
    ("service_settings_name", "Gamma DO", set()),
    ("uuid", "<db-1>", {"db-1"}),
    ("uuid", "<db-1:dashed>", {"db-1"}),
    ("uuid", NOWHERE, set()),
    ("backend_id", "222", {"db-1"}),
    ("backend_id", "22", set()),
    ("external_ip", "198.51.100.1", {"web-1"}),
    ("external_ip", "198.51.100.2", {"web-1"}),
    ("external_ip", "198.51.100.12", {"db-1"}),
    ("external_ip", "198.51.100", set()),
    ("external_ip", "10.0.0.1", set()),
    ("state", "OK", {"web-1"}),
    ("state", "CREATION_SCHEDULED", {"web-2"}),
    ("state", "DELETING", set()),
    ("runtime_state", "offline", {"db-1"}),
    ("runtime_state", "stopping", set()),
]


@pytest.mark.parametrize(("param", "value", "expected"), FILTERS)
def test_filter(world, fleet, param, value, expected):
    response = world.client("staff").get(list_url(ROUTE), {param: _resolve(value, fleet)})
    assert set(_names(response)) == expected


def test_empty_filter_values_are_ignored(world, fleet):
    query = {param: "" for param, _, _ in FILTERS}
    assert len(_names(world.client("staff").get(list_url(ROUTE), query))) == 3
    # A blank choice among real ones (a form's empty option) is ignored too.
    assert set(_names(world.client("staff").get(list_url(ROUTE), {"state": ["", "ERRED"]}))) == {"db-1"}


def test_state_is_repeatable(world, fleet):
    response = world.client("staff").get(list_url(ROUTE), {"state": ["OK", "ERRED"]})
    assert set(_names(response)) == {"web-1", "db-1"}


def test_filters_combine(world, fleet):
    response = world.client("staff").get(list_url(ROUTE), {"name": "web", "customer_name": "alpha"})
    assert _names(response) == ["web-1"]


@pytest.mark.parametrize(
    ("role", "value", "expected"),
    [
        ("staff", "true", {"web-1", "db-1", "web-2"}),
        ("staff", "false", set()),
        ("manager", "true", {"web-1", "db-1"}),
        ("manager", "false", {"web-2"}),
        ("manager", "True", {"web-1", "db-1"}),
        ("manager", "False", {"web-2"}),
        ("member", "true", set()),
        ("member", "false", {"web-1", "db-1"}),
        ("owner", "true", {"web-1", "db-1"}),
        ("support", "false", {"web-1", "db-1"}),
        ("stranger", "false", set()),
    ],
)
def test_can_manage(world, fleet, role, value, expected):
    assert set(_names(world.client(role).get(list_url(ROUTE), {"can_manage": value}))) == expected


UUID_PARAMS = ("customer", "customer_uuid", "project", "project_uuid", "service_settings_uuid", "uuid")


@pytest.mark.parametrize("param", UUID_PARAMS)
@pytest.mark.parametrize("value", ["nonsense", "1234", "g" * 32])
def test_malformed_uuid_filter(world, fleet, param, value):
    response = world.client("staff").get(list_url(ROUTE), {param: value})
    assert response.status_code == 400
    assert body(response) == {param: ["Enter a valid UUID."]}


@pytest.mark.parametrize(
    ("param", "values"),
    [
        ("state", ["Ok"]),
        ("state", ["ok"]),
        ("state", ["OK", "RUNNING"]),
        ("state", ["Erred"]),
        ("runtime_state", ["ONLINE"]),
        ("runtime_state", ["running"]),
    ],
)
def test_unknown_state_label_is_400(world, fleet, param, values):
    response = world.client("staff").get(list_url(ROUTE), {param: values})
    assert response.status_code == 400
    (message,) = body(response)[param]
    assert message.startswith("Select a valid choice.")


# --- ordering -------------------------------------------------------------------------------------------

ORDER_KEYS = {
    "name": lambda d: d.name,
    "state": lambda d: d.state,
    "created": lambda d: d.created,
    "customer_name": lambda d: d.project.customer.name,
    "customer_native_name": lambda d: d.project.customer.native_name,
    "customer_abbreviation": lambda d: d.project.customer.abbreviation,
    "project_name": lambda d: d.project.name,
    "service_name": lambda d: d.service_settings.name,
}


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("field", list(ORDER_KEYS))
def test_ordering(world, fleet, field, descending):
    droplets = sorted(
        Droplet.objects.select_related("project__customer", "service_settings"), key=lambda d: d.pk
    )
    # Ties are broken by the primary key, ascending, whichever way the field goes.
    expected = sorted(droplets, key=ORDER_KEYS[field], reverse=descending)
    response = world.client("staff").get(list_url(ROUTE), {"o": f"-{field}" if descending else field})
    assert _names(response) == [d.name for d in expected]


def test_the_orderings_tell_apart(world, fleet):
    """The fixture's data make each ordering differ from the default one in at least one direction."""
    client = world.client("staff")
    default = _names(client.get(list_url(ROUTE)))
    assert default == ["db-1", "web-1", "web-2"]
    for field in ORDER_KEYS:
        orders = {tuple(_names(client.get(list_url(ROUTE), {"o": o}))) for o in (field, f"-{field}")}
        assert len(orders) == 2, field


def test_unknown_ordering_is_400(world, fleet):
    response = world.client("staff").get(list_url(ROUTE), {"o": "backend_id"})
    assert response.status_code == 400
    assert "o" in body(response)


# --- field ----------------------------------------------------------------------------------------------

FIELD_CASES = [
    (["name", "uuid"], ["uuid", "name"]),
    (["state"], ["state"]),
    (["name", "bogus"], ["name"]),
    (["bogus"], FIELDS),
    ([], FIELDS),
    (
        ["marketplace_plan_uuid", "is_usage_based", "access_url"],
        ["access_url", "marketplace_plan_uuid", "is_usage_based"],
    ),
    (["region", "ssh_public_key"], FIELDS),  # write-only: not rendered, so as unknown
    (["size", "name"], ["name"]),
]


@pytest.mark.parametrize(("wanted", "keys"), FIELD_CASES)
def test_field_on_list_and_retrieve(world, fleet, wanted, keys):
    client = world.client("staff")
    listed = body(client.get(list_url(ROUTE), {"field": wanted}))
    assert len(listed) == 3
    assert all(list(item) == keys for item in listed)
    one = body(client.get(detail_url(ROUTE, fleet["web-1"].uuid), {"field": wanted}))
    assert list(one) == keys


def test_field_does_not_change_what_a_write_answers(world, fleet):
    response = world.client("staff").patch(
        detail_url(ROUTE, fleet["web-1"].uuid) + "?field=name", {"description": "x"}, format="json"
    )
    assert list(body(response)) == FIELDS


# --- pagination and HEAD --------------------------------------------------------------------------------


@pytest.fixture
def many(world, catalog):
    return [make_droplet(project=world.project, catalog=catalog, name=f"node-{i:02}") for i in range(25)]


def _links(response):
    return {rel: url for url, rel in LINK_RE.findall(response.get("Link", ""))}


@pytest.mark.parametrize(
    ("query", "on_page", "first_name", "rels"),
    [
        ({}, 10, "node-00", {"next", "last"}),
        ({"page": 2}, 10, "node-10", {"first", "prev", "next", "last"}),
        ({"page": 3}, 5, "node-20", {"first", "prev"}),
        ({"page_size": 25}, 25, "node-00", set()),
        ({"page_size": 1000}, 25, "node-00", set()),
        ({"page_size": 7, "page": 4}, 4, "node-21", {"first", "prev"}),
    ],
)
def test_pagination(world, many, query, on_page, first_name, rels):
    response = world.client("member").get(list_url(ROUTE), query)
    names = _names(response)
    assert len(names) == on_page and names[0] == first_name
    assert response["X-Result-Count"] == "25"
    assert set(_links(response)) == rels


def test_page_size_is_capped_at_300(world, catalog):
    Droplet.objects.bulk_create(
        Droplet(
            name=f"n{i:03}",
            project=world.project,
            service_settings=catalog.service_settings,
            state=State.OK,
            runtime_state=RuntimeState.ONLINE,
        )
        for i in range(301)
    )
    response = world.client("member").get(list_url(ROUTE), {"page_size": 500})
    assert len(_names(response)) == 300
    assert response["X-Result-Count"] == "301"
    assert set(_links(response)) == {"next", "last"}


def test_page_past_the_end_is_404(world, many):
    response = world.client("member").get(list_url(ROUTE), {"page": 4})
    assert_detail(response, 404)


def test_head_answers_the_headers_without_a_body(world, many):
    client = world.client("member")
    get = client.get(list_url(ROUTE), {"page": 2, "name": "node"})
    head = client.head(list_url(ROUTE), {"page": 2, "name": "node"})
    assert head.status_code == 200
    assert head.content == b""
    assert head["X-Result-Count"] == get["X-Result-Count"] == "25"
    assert head["Link"] == get["Link"]
    assert head["Content-Type"].startswith("application/json")


def test_head_unauthenticated_is_401(db):
    assert client_for(None).head(list_url(ROUTE)).status_code == 401


def test_the_list_shows_only_visible_droplets_with_the_right_count(world, fleet):
    response = world.client("member").get(list_url(ROUTE))
    assert set(_names(response)) == {"web-1", "db-1"}
    assert response["X-Result-Count"] == "2"
