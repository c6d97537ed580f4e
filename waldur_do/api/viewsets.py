"""The base every API viewset builds on: uuid lookups in both spellings, and a clean 404 for anything else."""

from django.http import Http404
from rest_framework import permissions, viewsets
from rest_framework.response import Response

from .fields import parse_uuid
from .permissions import CanManageOrReadOnly
from .transactions import atomic_writes


# Class docstrings of the concrete viewsets are the operations' descriptions in the published schema, so the
# bases explain themselves in comments. The permission default: authenticated, and `can_manage(user, obj)`
# for every write.
class UuidLookupMixin:
    permission_classes = (permissions.IsAuthenticated, CanManageOrReadOnly)
    lookup_field = "uuid"
    lookup_value_regex = "[^/]+"

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        # Reads run outside a transaction, writes inside one (transactions.py says why).
        return atomic_writes(super().as_view(actions, **initkwargs))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: there is no user to filter for
            return self.get_serializer_class().Meta.model.objects.none()
        return self.get_visible_queryset(self.request.user)

    def get_visible_queryset(self, user):
        """The objects `user` may see; anything else answers 404."""
        raise NotImplementedError

    def can_create(self, user):
        """Whether `user` may create anything here at all; the body's own references are checked later."""
        return True

    def get_object(self):
        parsed = parse_uuid(self.kwargs[self.lookup_field])
        if parsed is None:
            raise Http404(f"No {self.get_queryset().model._meta.object_name} matches the given query.")
        self.kwargs[self.lookup_field] = parsed
        return super().get_object()


# A viewset that sets `list_rows` to a rows.RowRenderer compiled from its serializer answers its list from
# `.values()` rows (waldur_do/api/rows.py): the same filters, ordering, pagination and headers, the same
# bytes, without a model object or a serializer per row. Retrieve and writes still answer through the
# serializer.
class RowListMixin:
    list_rows = None

    def list(self, request, *args, **kwargs):
        if self.list_rows is None:
            return super().list(request, *args, **kwargs)
        selection = self.list_rows.select(request)
        queryset = selection.values(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(selection.render(list(queryset), request))
        return self.get_paginated_response(selection.render(page, request))


class ModelViewSet(UuidLookupMixin, RowListMixin, viewsets.ModelViewSet):
    pass


class ReadOnlyModelViewSet(UuidLookupMixin, RowListMixin, viewsets.ReadOnlyModelViewSet):
    pass
