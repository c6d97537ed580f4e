from django.core.validators import RegexValidator
from django.db import models

from waldur_do.models import TimestampedModel, UuidModel
from waldur_do.structure.models import Project, ServiceSettings, SshPublicKey

from .states import Phase, RuntimeState, State


class CatalogItem(UuidModel):
    """A region, image or size as one DigitalOcean account offers it: each service settings has its own."""

    service_settings = models.ForeignKey(ServiceSettings, on_delete=models.CASCADE, related_name="+")
    backend_id = models.CharField(max_length=255, help_text="DigitalOcean's slug or id.")
    name = models.CharField(max_length=150)

    class Meta:
        abstract = True
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap
        constraints = [
            models.UniqueConstraint(
                fields=["service_settings", "backend_id"], name="unique_%(class)s_per_settings"
            ),
        ]

    def __str__(self):
        return self.name


class Region(CatalogItem):
    available = models.BooleanField(default=True)

    class Meta(CatalogItem.Meta):
        pass


class Image(CatalogItem):
    distribution = models.CharField(max_length=100)
    type = models.CharField(max_length=100)
    is_official = models.BooleanField(default=False, help_text="Provided by DigitalOcean.")
    created_at = models.DateTimeField(null=True, blank=True)
    min_disk_size = models.PositiveIntegerField(null=True, blank=True, help_text="MiB")
    regions = models.ManyToManyField(Region, related_name="images", blank=True)

    class Meta(CatalogItem.Meta):
        pass

    @property
    def full_name(self):
        return f"{self.distribution} {self.name}"

    def __str__(self):
        return self.full_name  # "Debian 12 x64": DigitalOcean's name alone ("12 x64") says too little


class Size(CatalogItem):
    cores = models.PositiveSmallIntegerField()
    ram = models.PositiveIntegerField(help_text="MiB")
    disk = models.PositiveIntegerField(help_text="MiB")
    transfer = models.PositiveIntegerField(help_text="MiB")
    price = models.DecimalField(max_digits=12, decimal_places=5, default=0, help_text="Monthly, USD")
    regions = models.ManyToManyField(Region, related_name="sizes", blank=True)

    class Meta(CatalogItem.Meta):
        ordering = ["cores", "ram", "disk", "pk"]


hostname_validator = RegexValidator(
    r"^[a-zA-Z0-9.-]+$", "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"
)


class Droplet(UuidModel, TimestampedModel):
    name = models.CharField(max_length=150, validators=[hostname_validator])
    description = models.CharField(max_length=4096, blank=True)
    service_settings = models.ForeignKey(ServiceSettings, on_delete=models.PROTECT, related_name="droplets")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="droplets")

    state = models.CharField(max_length=32, choices=State.choices, default=State.CREATION_SCHEDULED)
    runtime_state = models.CharField(max_length=32, choices=RuntimeState.choices, blank=True, default="")
    backend_id = models.CharField(max_length=255, blank=True, db_index=True)
    error_message = models.TextField(blank=True)
    error_traceback = models.TextField(blank=True)

    # What was asked for at create; kept (nullable) so catalog refreshes never take droplets with them.
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    size = models.ForeignKey(Size, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ssh_public_key = models.ForeignKey(
        SshPublicKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_data = models.TextField(blank=True)

    # As DigitalOcean reports them.
    cores = models.PositiveSmallIntegerField(default=0)
    ram = models.PositiveIntegerField(default=0, help_text="MiB")
    disk = models.PositiveIntegerField(default=0, help_text="MiB")
    min_ram = models.PositiveIntegerField(default=0, help_text="MiB")
    min_disk = models.PositiveIntegerField(default=0, help_text="MiB")
    external_ips = models.JSONField(default=list, blank=True)
    internal_ips = models.JSONField(default=list, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    key_name = models.CharField(max_length=150, blank=True)
    key_fingerprint = models.CharField(max_length=47, blank=True)
    image_name = models.CharField(max_length=255, blank=True)
    region_name = models.CharField(max_length=150, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)

    # The operation in flight, whole (docs/operations.md): a message names only the droplet and a generation.
    operation = models.CharField(max_length=16, blank=True)
    operation_phase = models.CharField(max_length=16, choices=Phase.choices, blank=True)
    # What was asked (target size, new name, DigitalOcean's slugs for a create…), kept as the request saw it.
    operation_params = models.JSONField(default=dict, blank=True)
    operation_started = models.DateTimeField(null=True, blank=True)
    operation_deadline = models.DateTimeField(null=True, blank=True)
    # Bumped by every step that claims the operation: a message for an older generation does nothing.
    operation_generation = models.PositiveIntegerField(default=0)
    # Until when the operation is in a worker's hands (running, or its next step is due): past it, beat
    # sends it on again. A request leaves it briefly leased, so a message the broker lost is sent again.
    operation_lease_until = models.DateTimeField(null=True, blank=True)
    operation_attempts = models.PositiveIntegerField(default=0)  # steps taken in the current phase
    operation_error = models.TextField(blank=True)  # the last error that was retried
    action_id = models.CharField(max_length=32, blank=True)
    last_polled = models.DateTimeField(null=True, blank=True)  # when a worker last took a step

    class Meta:
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap
        indexes = [
            models.Index(fields=["state", "operation_started"]),
            models.Index(fields=["operation", "operation_lease_until"]),
        ]

    def __str__(self):
        return self.name

    @property
    def access_url(self):
        return self.external_ips[0] if self.external_ips else None


class SharedState(models.Model):
    """What every process shares about a DigitalOcean account (backend/shared.py), on deployments whose
    broker is not Redis: its request budget, the latest look at its actions. Keys hold a hash of the token,
    never the token."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(null=True)

    def __str__(self):
        return self.key
