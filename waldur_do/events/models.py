"""The history of every droplet: what was asked, by whom, and what DigitalOcean answered at each step.

Rows are written only by `log.py` and never changed. They outlive what they are about: a droplet's uuid and
name, its project's and customer's, are copied in, so the history of a deleted droplet still reads whole."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from waldur_do.models import UuidModel

SYSTEM_ACTOR = "system"


class Event(UuidModel):
    created = models.DateTimeField(default=timezone.now, db_index=True)
    event_type = models.CharField(max_length=100, db_index=True)
    message = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, help_text=f"The user's username, or “{SYSTEM_ACTOR}” for workers and beat."
    )
    droplet = models.ForeignKey(
        "droplets.Droplet", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    droplet_uuid = models.UUIDField(db_index=True)
    droplet_name = models.CharField(max_length=150)
    project = models.ForeignKey(
        "structure.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        "structure.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action_id = models.CharField(max_length=64, blank=True, help_text="DigitalOcean's action, if any.")
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]  # newest first; pk breaks ties so pages never overlap
        indexes = [models.Index(fields=["droplet_uuid", "created"], name="event_droplet_created")]

    def __str__(self):
        return f"{self.event_type}: {self.message}"
