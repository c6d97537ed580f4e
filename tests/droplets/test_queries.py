"""The droplet list issues a constant number of SQL queries, whatever the page size (no per-row queries)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from droplets.models import Droplet
from droplets.states import RuntimeState, State
from tests.api.helpers import body, list_url
from tests.fixtures.droplets import make_ssh_key

ROUTE = "digitalocean-droplets"
# The list itself: the count and the page (visibility is a subquery of the page's own query). Authentication
# (the token and its user) and the request's savepoint come on top.
LIST_QUERIES = 4


@pytest.fixture
def hundred(world, catalog):
    key = make_ssh_key(user=world.users["manager"])
    Droplet.objects.bulk_create(
        Droplet(
            name=f"node-{i:03}",
            project=world.project,
            service_settings=catalog.service_settings,
            region=catalog.regions["nyc1"],
            image=catalog.images["debian-12-x64"],
            size=catalog.sizes["s-2vcpu-2gb"],
            ssh_public_key=key,
            state=State.OK,
            runtime_state=RuntimeState.ONLINE,
            external_ips=[f"203.0.113.{i % 250 + 1}"],
        )
        for i in range(100)
    )


def _queries(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(list_url(ROUTE), params)
    assert response.status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    list_sql = [
        s
        for s in sql
        if "SAVEPOINT" not in s.upper() and "authtoken_token" not in s and "structure_user" not in s
    ]
    return len(body(response)), len(sql), list_sql


@pytest.mark.parametrize("role", ["staff", "owner", "member"])
@pytest.mark.parametrize(
    "params",
    [{}, {"can_manage": "<role>"}, {"state": ["OK", "ERRED"], "o": "-customer_name", "name": "node"}],
    ids=["plain", "can-manage", "filtered-ordered"],
)
def test_the_list_does_not_grow_with_the_page(world, hundred, role, params):
    if "can_manage" in params:  # the droplets are the member's to see, not to manage
        params = {"can_manage": "false" if role == "member" else "true"}
    client = world.client(role)
    client.get(list_url(ROUTE))  # the token exists from here on
    small, small_total, _ = _queries(client, page_size=10, **params)
    large, large_total, large_sql = _queries(client, page_size=100, **params)

    assert (small, large) == (10, 100)
    assert small_total == large_total, large_sql
    assert len(large_sql) <= LIST_QUERIES, "\n".join(large_sql)


def test_head_and_field_cost_no_more(world, hundred):
    client = world.client("manager")
    _, plain, _ = _queries(client, page_size=100)
    _, fields, _ = _queries(client, page_size=100, field=["name", "customer_name", "marketplace_plan_uuid"])
    with CaptureQueriesContext(connection) as head:
        client.head(list_url(ROUTE), {"page_size": 100})
    assert fields <= plain
    assert len(head.captured_queries) == plain
