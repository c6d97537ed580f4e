from waldur_do.api import rows
from waldur_do.api.viewsets import ReadOnlyModelViewSet

from . import filters, selectors
from .serializers import EventSerializer


class EventViewSet(ReadOnlyModelViewSet):
    """The history of droplets, newest first: every operation asked for (and by whom), each step a worker
    took, what DigitalOcean answered, every retry and failure, drift found by the sync, and operators'
    interventions. A project member sees the events of the project's droplets; staff see all. Read-only."""

    serializer_class = EventSerializer
    filterset_class = filters.EventFilter
    list_rows = rows.RowRenderer(EventSerializer)  # the list's fast read path (waldur_do/api/rows.py)

    def get_visible_queryset(self, user):
        return selectors.event_list(user=user)
