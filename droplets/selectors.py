"""Reads of droplets and catalogs, restricted to what a user may see (docs/api.md, "Roles and visibility")."""

from django.db.models import QuerySet

from waldur_do.structure import selectors as structure_selectors

from .models import Droplet, Image, Region, Size


def droplet_list(*, user) -> QuerySet[Droplet]:
    """Everything one droplet's response shows, in one query: no per-row queries whatever the page size."""
    droplets = Droplet.objects.select_related("service_settings", "project__customer")
    if user.is_staff:
        return droplets
    return droplets.filter(project_id__in=structure_selectors.project_list(user=user).values("pk"))


def droplet_managed_ids(*, user):
    """A subquery of the droplets `user` may change."""
    return Droplet.objects.filter(
        project_id__in=structure_selectors.managed_project_list(user=user).values("pk")
    ).values("pk")


def _catalog_list(model, *, user) -> QuerySet:
    items = model.objects.select_related("service_settings")
    if user.is_staff:
        return items
    visible = structure_selectors.service_settings_list(user=user).values("pk")
    return items.filter(service_settings_id__in=visible)


def region_list(*, user) -> QuerySet[Region]:
    return _catalog_list(Region, user=user)


def image_list(*, user) -> QuerySet[Image]:
    return _catalog_list(Image, user=user).prefetch_related("regions")


def size_list(*, user) -> QuerySet[Size]:
    return _catalog_list(Size, user=user).prefetch_related("regions")
