"""Regions, images and sizes mirror DigitalOcean and change only when pulled: read-only in the admin,
listed per service settings."""

import pytest
from django.urls import reverse

from tests.fixtures.droplets import make_catalog
from tests.fixtures.factories import make_service_settings

MODELS = ("region", "image", "size")


@pytest.mark.parametrize("model", MODELS)
def test_catalog_lists_filter_by_service_settings(operator_client, catalog, model):
    make_catalog(make_service_settings())  # another account's catalog, with the same slugs
    changelist = reverse(f"admin:droplets_{model}_changelist")

    response = operator_client.get(changelist, {"service_settings__id__exact": catalog.service_settings.pk})

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(getattr(catalog, f"{model}s").values())


@pytest.mark.parametrize("model", MODELS)
def test_catalogs_are_read_only(operator_client, catalog, model):
    item = next(iter(getattr(catalog, f"{model}s").values()))
    change = reverse(f"admin:droplets_{model}_change", args=[item.pk])

    page = operator_client.get(change)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert operator_client.post(change, {"name": "edited"}).status_code == 403
    assert operator_client.get(reverse(f"admin:droplets_{model}_add")).status_code == 403
    assert operator_client.get(reverse(f"admin:droplets_{model}_delete", args=[item.pk])).status_code == 403
    changelist = operator_client.get(reverse(f"admin:droplets_{model}_changelist"))
    assert changelist.context["action_form"] is None  # not even Django's bulk delete
