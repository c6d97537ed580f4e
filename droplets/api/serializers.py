"""Waldur-compatible shapes. Class names give the OpenAPI component names the Waldur clients know."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from waldur_do.api.fields import UuidHyperlinkedIdentityField, UuidHyperlinkedRelatedField
from waldur_do.api.serializers import HyperlinkedSerializer
from waldur_do.structure import selectors as structure_selectors
from waldur_do.structure.models import Project, ServiceSettings, SshPublicKey

from ..models import Droplet, Image, Region, Size, hostname_validator
from ..states import State

MARKETPLACE_FIELDS = (
    "marketplace_offering_uuid",
    "marketplace_offering_name",
    "marketplace_offering_plugin_options",
    "marketplace_offering_type",
    "marketplace_category_uuid",
    "marketplace_category_name",
    "marketplace_resource_uuid",
    "marketplace_plan_uuid",
    "marketplace_resource_state",
)


@extend_schema_field({"type": "string", "nullable": True})
class NullField(serializers.ReadOnlyField):
    """Always null: there is no marketplace here, yet the clients expect the keys."""

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, value):
        return None


@extend_schema_field({"type": "object", "additionalProperties": {}, "nullable": True})
class NullObjectField(NullField):
    """Always null, where Waldur's would be an object."""


class CatalogSerializer(HyperlinkedSerializer):
    service_settings = UuidHyperlinkedRelatedField(view_name="servicesettings-detail", read_only=True)
    service_settings_uuid = serializers.UUIDField(
        source="service_settings.uuid", format="hex", read_only=True
    )


class DigitalOceanRegionSerializer(CatalogSerializer):
    url = UuidHyperlinkedIdentityField(view_name="digitalocean-region-detail")

    class Meta:
        model = Region
        fields = ("url", "uuid", "name", "service_settings", "service_settings_uuid")


class NestedRegionSerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="digitalocean-region-detail")

    class Meta:
        model = Region
        fields = ("url", "uuid", "name")


class DigitalOceanImageSerializer(CatalogSerializer):
    url = UuidHyperlinkedIdentityField(view_name="digitalocean-image-detail")
    regions = NestedRegionSerializer(many=True, read_only=True)

    class Meta:
        model = Image
        fields = (
            "url",
            "uuid",
            "name",
            "distribution",
            "type",
            "regions",
            "is_official",
            "created_at",
            "min_disk_size",
            "service_settings",
            "service_settings_uuid",
        )


class DigitalOceanSizeSerializer(CatalogSerializer):
    url = UuidHyperlinkedIdentityField(view_name="digitalocean-size-detail")
    regions = NestedRegionSerializer(many=True, read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=5, read_only=True, coerce_to_string=False)

    class Meta:
        model = Size
        fields = (
            "url",
            "uuid",
            "name",
            "cores",
            "ram",
            "disk",
            "transfer",
            "price",
            "regions",
            "service_settings",
            "service_settings_uuid",
        )


class DigitalOceanDropletSerializer(HyperlinkedSerializer):
    url = UuidHyperlinkedIdentityField(view_name="digitalocean-droplet-detail")
    service_name = serializers.SerializerMethodField()
    # Links in a request body reach only what the user may see (or, for keys, use); anything else is an
    # "Invalid hyperlink", exactly like a link to nothing.
    service_settings = UuidHyperlinkedRelatedField(
        view_name="servicesettings-detail",
        queryset=ServiceSettings.objects.all(),
        visible_to=structure_selectors.service_settings_list,
    )
    service_settings_uuid = serializers.UUIDField(
        source="service_settings.uuid", format="hex", read_only=True
    )
    service_settings_state = serializers.CharField(source="service_settings.state", read_only=True)
    service_settings_error_message = serializers.CharField(
        source="service_settings.error_message", read_only=True
    )
    project = UuidHyperlinkedRelatedField(
        view_name="project-detail",
        queryset=Project.objects.all(),
        visible_to=structure_selectors.project_list,
    )
    project_name = serializers.CharField(source="project.name", read_only=True)
    project_uuid = serializers.UUIDField(source="project.uuid", format="hex", read_only=True)
    customer = UuidHyperlinkedRelatedField(
        view_name="customer-detail", source="project.customer", read_only=True
    )
    customer_uuid = serializers.UUIDField(source="project.customer.uuid", format="hex", read_only=True)
    customer_name = serializers.CharField(source="project.customer.name", read_only=True)
    customer_native_name = serializers.CharField(source="project.customer.native_name", read_only=True)
    customer_abbreviation = serializers.CharField(source="project.customer.abbreviation", read_only=True)
    error_traceback = serializers.SerializerMethodField()
    resource_type = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=[(s.value, s.value) for s in State], read_only=True)
    access_url = serializers.CharField(read_only=True, allow_null=True)
    external_ips = serializers.ListField(child=serializers.IPAddressField(protocol="IPv4"), read_only=True)
    internal_ips = serializers.ListField(child=serializers.IPAddressField(protocol="IPv4"), read_only=True)

    ssh_public_key = UuidHyperlinkedRelatedField(
        view_name="sshpublickey-detail",
        queryset=SshPublicKey.objects.all(),
        visible_to=structure_selectors.ssh_key_usable_list,
        write_only=True,
        required=False,
        allow_null=True,
    )
    region = UuidHyperlinkedRelatedField(
        view_name="digitalocean-region-detail", queryset=Region.objects.all(), write_only=True
    )
    image = UuidHyperlinkedRelatedField(
        view_name="digitalocean-image-detail", queryset=Image.objects.all(), write_only=True
    )
    size = UuidHyperlinkedRelatedField(
        view_name="digitalocean-size-detail", queryset=Size.objects.all(), write_only=True
    )
    user_data = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    marketplace_offering_uuid = NullField()
    marketplace_offering_name = NullField()
    marketplace_offering_plugin_options = NullObjectField()
    marketplace_offering_type = NullField()
    marketplace_category_uuid = NullField()
    marketplace_category_name = NullField()
    marketplace_resource_uuid = NullField()
    marketplace_plan_uuid = NullField()
    marketplace_resource_state = NullField()
    is_usage_based = serializers.SerializerMethodField()
    is_limit_based = serializers.SerializerMethodField()

    class Meta:
        model = Droplet
        fields = (
            "url",
            "uuid",
            "name",
            "description",
            "service_name",
            "service_settings",
            "service_settings_uuid",
            "service_settings_state",
            "service_settings_error_message",
            "project",
            "project_name",
            "project_uuid",
            "customer",
            "customer_uuid",
            "customer_name",
            "customer_native_name",
            "customer_abbreviation",
            "error_message",
            "error_traceback",
            "resource_type",
            "state",
            "created",
            "modified",
            "backend_id",
            "access_url",
            "start_time",
            "cores",
            "ram",
            "disk",
            "min_ram",
            "min_disk",
            "user_data",
            "external_ips",
            "internal_ips",
            "latitude",
            "longitude",
            "key_name",
            "key_fingerprint",
            "image_name",
            "runtime_state",
            "region_name",
            *MARKETPLACE_FIELDS,
            "is_usage_based",
            "is_limit_based",
            "ssh_public_key",
            "region",
            "image",
            "size",
        )
        read_only_fields = (
            "error_message",
            "backend_id",
            "start_time",
            "cores",
            "ram",
            "disk",
            "min_ram",
            "min_disk",
            "latitude",
            "longitude",
            "key_name",
            "key_fingerprint",
            "image_name",
            "runtime_state",
            "region_name",
            "created",
            "modified",
        )

    def get_service_name(self, droplet) -> str:
        return "DigitalOcean"

    def get_resource_type(self, droplet) -> str:
        return "DigitalOcean.Droplet"

    def get_error_traceback(self, droplet) -> str:
        request = self.context.get("request")
        return droplet.error_traceback if request is not None and request.user.is_staff else ""

    # Nullable in the schema as in Waldur's, although always false here.
    @extend_schema_field({"type": "boolean", "nullable": True})
    def get_is_usage_based(self, droplet) -> bool:
        return False

    @extend_schema_field({"type": "boolean", "nullable": True})
    def get_is_limit_based(self, droplet) -> bool:
        return False


# Bodies of the operations that are not the droplet itself.


class DigitalOceanDropletUpdateSerializer(serializers.Serializer):
    # The model's validator, not a RegexField with its own "invalid" message: that message would also
    # replace "Not a valid string." for a name that is not a string at all.
    name = serializers.CharField(max_length=150, validators=[hostname_validator])
    description = serializers.CharField(max_length=4096, allow_blank=True, required=False)


class DigitalOceanDropletResizeSerializer(serializers.Serializer):
    size = UuidHyperlinkedRelatedField(
        view_name="digitalocean-size-detail", queryset=Size.objects.all(), write_only=True
    )
    disk = serializers.BooleanField(
        help_text="True: permanent, also grows the disk. False: CPU and RAM only."
    )


class SetErredSerializer(serializers.Serializer):
    error_message = serializers.CharField(required=False, allow_blank=True, default="")
    error_traceback = serializers.CharField(required=False, allow_blank=True, default="")
