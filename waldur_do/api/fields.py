"""Hyperlinks by uuid, rendered as 32 hex digits, and accepted with or without dashes."""

import uuid

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers


def parse_uuid(value):
    """The UUID for a hex or dashed string, or None when it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class _UuidLinkMixin:
    lookup_field = "uuid"

    def __init__(self, view_name, **kwargs):
        kwargs.setdefault("lookup_field", "uuid")
        super().__init__(view_name=view_name, **kwargs)

    def get_url(self, obj, view_name, request, format):
        return self.reverse(view_name, kwargs={"uuid": obj.uuid.hex}, request=request, format=format)


class UuidHyperlinkedRelatedField(_UuidLinkMixin, serializers.HyperlinkedRelatedField):
    def get_object(self, view_name, view_args, view_kwargs):
        parsed = parse_uuid(view_kwargs.get("uuid"))
        if parsed is None:
            raise ObjectDoesNotExist
        return self.get_queryset().get(uuid=parsed)


class UuidHyperlinkedIdentityField(_UuidLinkMixin, serializers.HyperlinkedIdentityField):
    pass
