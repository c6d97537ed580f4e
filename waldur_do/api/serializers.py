"""Serializer behaviour shared by every endpoint."""

from rest_framework import permissions, serializers


# `?field=a&field=b` keeps only those keys; unknown names are ignored, and none valid means all.
class RestrictedFieldsMixin:
    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is None or request.method not in permissions.SAFE_METHODS or not self._renders_response():
            return fields
        # Write-only fields are never rendered, so asking for one is asking for an unknown field.
        readable = {name for name, field in fields.items() if not field.write_only}
        wanted = set(request.query_params.getlist("field")) & readable
        if not wanted:
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
