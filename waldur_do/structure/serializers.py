from rest_framework import serializers

from waldur_do.api.fields import UuidHyperlinkedIdentityField, UuidHyperlinkedRelatedField
from waldur_do.api.serializers import HyperlinkedSerializer

from .models import Customer, Project, ServiceSettings, SshPublicKey
from .selectors import customer_list


class CustomerSerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="customer-detail")

    class Meta:
        model = Customer
        fields = ("url", "uuid", "name", "native_name", "abbreviation", "created")


class ProjectSerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="project-detail")
    customer = UuidHyperlinkedRelatedField(
        view_name="customer-detail", queryset=Customer.objects.all(), visible_to=customer_list
    )
    customer_uuid = serializers.UUIDField(source="customer.uuid", format="hex", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Project
        fields = (
            "url",
            "uuid",
            "name",
            "description",
            "customer",
            "customer_uuid",
            "customer_name",
            "created",
        )


class ServiceSettingsSerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="servicesettings-detail")
    customer = UuidHyperlinkedRelatedField(
        view_name="customer-detail",
        queryset=Customer.objects.all(),
        visible_to=customer_list,
        required=False,
        allow_null=True,
    )
    customer_name = serializers.CharField(
        source="customer.name", read_only=True, default=None, allow_null=True
    )
    token = serializers.CharField(write_only=True, required=False, max_length=255)

    class Meta:
        model = ServiceSettings
        fields = (
            "url",
            "uuid",
            "name",
            "type",
            "state",
            "error_message",
            "shared",
            "customer",
            "customer_name",
            "backend_url",
            "token",
            "created",
            "sync_interval",
        )
        read_only_fields = ("type", "state", "error_message", "sync_interval")

    def validate(self, attrs):
        if self.instance is None and not attrs.get("token"):
            raise serializers.ValidationError({"token": ["This field is required."]})
        shared = attrs.get("shared", getattr(self.instance, "shared", False))
        customer = attrs.get("customer", getattr(self.instance, "customer", None))
        if not shared and customer is None:
            raise serializers.ValidationError({"customer": ["Private service settings need a customer."]})
        if shared and customer is not None:
            raise serializers.ValidationError({"customer": ["Shared service settings have no customer."]})
        return attrs


class SshPublicKeySerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="sshpublickey-detail")
    user_uuid = serializers.UUIDField(source="user.uuid", format="hex", read_only=True)

    class Meta:
        model = SshPublicKey
        fields = (
            "url",
            "uuid",
            "name",
            "public_key",
            "fingerprint_md5",
            "fingerprint_sha256",
            "user_uuid",
            "is_shared",
        )
        read_only_fields = ("fingerprint_md5", "fingerprint_sha256", "is_shared")
