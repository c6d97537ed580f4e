from rest_framework import serializers

from waldur_do.api.serializers import RestrictedFieldsMixin

from .models import Event


# Waldur's event: what happened (`event_type`, `message`) and to what and by whom (`context`: the resource,
# its project and customer, the user, DigitalOcean's action id, and the details of this kind of event).
class EventSerializer(RestrictedFieldsMixin, serializers.ModelSerializer):
    uuid = serializers.UUIDField(format="hex", read_only=True)
    context = serializers.DictField(read_only=True)

    class Meta:
        model = Event
        fields = ("uuid", "created", "event_type", "message", "context")
