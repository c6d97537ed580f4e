"""The admin index's panel: how many droplets are in each state, in flight, erred and stuck, each a link to
the changelist filtered to them."""

from django import template
from django.urls import reverse

from ..selectors import droplet_operation_stats, droplet_state_counts
from ..states import State

register = template.Library()


@register.inclusion_tag("admin/droplets/dashboard.html")
def droplet_dashboard():
    changelist = reverse("admin:droplets_droplet_changelist")
    counts = droplet_state_counts()
    stats = droplet_operation_stats()
    attention = [
        ("Erred", counts[State.ERRED], f"{changelist}?attention=erred", "#c62828"),
        ("Stuck past their deadline", stats.stuck, f"{changelist}?attention=stuck", "#c62828"),
        (
            "Operations in flight",
            sum(row["count"] for row in stats.in_flight),
            f"{changelist}?attention=in_flight",
            "#1565c0",
        ),
    ]
    by_state = [
        (state.label, counts[state.value], f"{changelist}?state__exact={state.value}") for state in State
    ]
    return {
        "attention": attention,
        "by_state": by_state,
        "total": sum(counts.values()),
        "changelist": changelist,
    }
