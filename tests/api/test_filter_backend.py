"""waldur_do/api/filters.py, FilterBackend: no FilterSet is built for a request that filters nothing."""

import pytest

from droplets.api import filters
from tests.api.helpers import body, list_url
from tests.fixtures.droplets import make_droplet

ROUTE = "digitalocean-droplets"


@pytest.fixture
def built(monkeypatch):
    """Counts the DropletFilter sets built."""
    count = []
    original = filters.DropletFilter.__init__

    def counting(self, *args, **kwargs):
        count.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(filters.DropletFilter, "__init__", counting)
    return count


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page": 1},
        {"page_size": 5},
        {"field": ["name", "uuid"]},
        {"x-auth-token": "t"},
        {"format": "json"},
    ],
)
def test_no_filterset_without_a_filter_parameter(world, catalog, built, params):
    make_droplet(project=world.project, catalog=catalog)
    response = world.client("member").get(list_url(ROUTE), params)
    assert response.status_code == 200 and len(body(response)) == 1
    assert built == []


@pytest.mark.parametrize(
    "params", [{"name": "nothing-matches"}, {"o": "-name"}, {"name": ""}, {"unknown": "x"}]
)
def test_any_other_parameter_goes_through_the_filterset(world, catalog, built, params):
    make_droplet(project=world.project, catalog=catalog)
    response = world.client("member").get(list_url(ROUTE), params)
    assert response.status_code == 200
    assert built == [1]
    assert len(body(response)) == (0 if params.get("name") else 1)


def test_a_filterset_that_filters_by_itself_is_always_built(world, catalog, monkeypatch):
    make_droplet(project=world.project, catalog=catalog)

    def nothing(self, queryset):
        return queryset.none()

    monkeypatch.setattr(filters.DropletFilter, "filter_queryset", nothing)
    assert body(world.client("member").get(list_url(ROUTE))) == []
