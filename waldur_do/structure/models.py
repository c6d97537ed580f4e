from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from waldur_do.models import TimestampedModel, UuidModel


def validate_api_endpoint(value: str) -> None:
    """An http(s) URL with a host. Not Django's URLValidator: it refuses one-word hosts such as `emulator`,
    which is how containers name each other."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "Enter an http(s) URL of a DigitalOcean API, such as https://api.digitalocean.com/v2/."
        )


class User(UuidModel, AbstractUser):
    """Django's user with a public uuid, as Waldur's users have."""


class Customer(UuidModel, TimestampedModel):
    """An organisation: it owns projects and, optionally, private service settings."""

    name = models.CharField(max_length=150)
    native_name = models.CharField(max_length=160, blank=True)
    abbreviation = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap

    def __str__(self):
        return self.name


class Project(UuidModel, TimestampedModel):
    name = models.CharField(max_length=150)
    description = models.CharField(max_length=2000, blank=True)
    customer = models.ForeignKey(Customer, related_name="projects", on_delete=models.PROTECT)

    class Meta:
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap

    def __str__(self):
        return f"{self.name} ({self.customer.name})"


class CustomerRole(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        SUPPORT = "support", "Support"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="customer_roles", on_delete=models.CASCADE
    )
    customer = models.ForeignKey(Customer, related_name="roles", on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "customer", "role"], name="unique_customer_role"),
        ]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.customer}"


class ProjectRole(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Administrator"
        MANAGER = "manager", "Manager"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="project_roles", on_delete=models.CASCADE)
    project = models.ForeignKey(Project, related_name="roles", on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project", "role"], name="unique_project_role"),
        ]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.project}"


class ServiceSettings(UuidModel, TimestampedModel):
    """One DigitalOcean account (its token) and the endpoint it is reached at."""

    class Type(models.TextChoices):
        DIGITALOCEAN = "DigitalOcean", "DigitalOcean"

    class State(models.TextChoices):
        CREATING = "CREATING", "Creating"
        OK = "OK", "OK"
        ERRED = "ERRED", "Erred"

    name = models.CharField(max_length=150)
    type = models.CharField(max_length=32, choices=Type.choices, default=Type.DIGITALOCEAN)
    customer = models.ForeignKey(
        Customer, related_name="service_settings", on_delete=models.PROTECT, null=True, blank=True
    )
    shared = models.BooleanField(default=False, help_text="Shared settings serve every customer.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATING)
    error_message = models.TextField(blank=True)
    backend_url = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_api_endpoint],
        help_text="Another DigitalOcean API endpoint, such as the bundled emulator; ends in /v2/.",
    )
    # Write-only everywhere: never rendered, logged or put in an error message.
    token = models.CharField(max_length=255)
    # The drift sync (droplets/sync.py): when it last read the account whole, and how often it may, so that
    # it spends at most its share of the account's hourly request budget.
    synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_interval = models.PositiveIntegerField(
        default=60, editable=False, help_text="Seconds between two drift syncs of this account."
    )

    class Meta:
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap
        verbose_name_plural = "service settings"

    def __str__(self):
        return self.name


class SshPublicKey(UuidModel, TimestampedModel):
    name = models.CharField(max_length=150)
    public_key = models.TextField()
    fingerprint_md5 = models.CharField(max_length=47)
    fingerprint_sha256 = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="ssh_keys", on_delete=models.CASCADE)
    is_shared = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "pk"]  # pk breaks ties, so consecutive pages never overlap
        verbose_name = "SSH public key"
        constraints = [
            models.UniqueConstraint(fields=["user", "fingerprint_md5"], name="unique_user_key"),
        ]

    def __str__(self):
        return self.name
