"""Serializer behaviour shared by every endpoint."""

from rest_framework import permissions, serializers


def requested_fields(request, readable) -> set[str] | None:
    """`?field=a&field=b` keeps only those keys of a read; unknown names are ignored, and none valid (or a
    write) means all, None. Lists rendered from rows (rows.py) select by the same rule."""
    if request is None or request.method not in permissions.SAFE_METHODS:
        return None
    return set(request.query_params.getlist("field")).intersection(readable) or None


class RestrictedFieldsMixin:
    def get_fields(self):
        fields = super().get_fields()
        if not self._renders_response():
            return fields
        # Write-only fields are never rendered, so asking for one is asking for an unknown field.
        readable = [name for name, field in fields.items() if not field.write_only]
        wanted = requested_fields(self.context.get("request"), readable)
        if wanted is None:
            return fields
        return {name: field for name, field in fields.items() if name in wanted}

    def _renders_response(self):
        """True for the response's own serializer (or its list's child), not for nested ones."""
        parent = self.parent
        return parent is None or (isinstance(parent, serializers.ListSerializer) and parent.parent is None)


# Waldur's shape: `url` and `uuid` first, uuids as 32 hex digits. (A comment, not a docstring: drf-spectacular
# would publish a docstring as the description of every object in the schema.)
class HyperlinkedSerializer(RestrictedFieldsMixin, serializers.HyperlinkedModelSerializer):
    uuid = serializers.UUIDField(format="hex", read_only=True)
