"""The base every API viewset builds on: uuid lookups in both spellings, and a clean 404 for anything else."""

from django.http import Http404
from rest_framework import permissions, viewsets

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


class ModelViewSet(UuidLookupMixin, viewsets.ModelViewSet):
    pass


class ReadOnlyModelViewSet(UuidLookupMixin, viewsets.ReadOnlyModelViewSet):
    pass
