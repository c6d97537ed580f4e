"""Reads of droplets and catalogs, restricted to what a user may see (docs/api.md, "Roles and visibility")."""

from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from waldur_do.structure import selectors as structure_selectors

from .models import Droplet, Image, Region, Size
from .states import State


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


def droplet_state_counts() -> dict[str, int]:
    """How many droplets are in each state (every state named, zeros included)."""
    counts = dict(Droplet.objects.order_by().values_list("state").annotate(count=Count("pk")))
    return {state.value: counts.get(state.value, 0) for state in State}


@dataclass(frozen=True)
class OperationStats:
    in_flight: list[dict]  # {"operation", "state", "count"}
    oldest_age_by_state: dict[str, float]  # seconds since the oldest operation in each state started
    stuck: int  # past their deadline


def droplet_operation_stats() -> OperationStats:
    now = timezone.now()
    in_flight = Droplet.objects.exclude(operation="").order_by()
    rows = list(
        in_flight.values("operation", "state").annotate(count=Count("pk"), oldest=Min("operation_started"))
    )
    oldest = {}
    for row in rows:
        if row["oldest"] is not None:
            age = (now - row["oldest"]).total_seconds()
            oldest[row["state"]] = max(age, oldest.get(row["state"], 0.0))
    return OperationStats(
        in_flight=[{key: row[key] for key in ("operation", "state", "count")} for row in rows],
        oldest_age_by_state=oldest,
        stuck=in_flight.filter(operation_deadline__lt=now).count(),
    )
