"""Which events a user may read: those of the droplets they may see (their projects'), all for staff. An
event's project is copied in when it is written, so this holds after the droplet is gone."""

from django.db.models import QuerySet

from waldur_do.structure import selectors as structure_selectors

from .models import Event


def event_list(*, user) -> QuerySet[Event]:
    if user.is_staff:
        return Event.objects.all()
    return Event.objects.filter(project_id__in=structure_selectors.project_list(user=user).values("pk"))
