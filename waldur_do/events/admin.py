"""The event list for triage: every droplet's history, filterable, read-only (only the engine writes it)."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from waldur_do.api.fields import parse_uuid

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created", "event_type", "droplet_link", "message", "actor_name", "action_id")
    list_filter = ("event_type", "actor_name", ("customer", admin.RelatedOnlyFieldListFilter), "created")
    list_select_related = ("droplet",)
    search_fields = ("droplet_name", "message", "action_id")
    search_help_text = "Droplet name or uuid, words of the message, or a DigitalOcean action id."
    date_hierarchy = "created"
    fields = (
        "created",
        "event_type",
        "message",
        "actor_name",
        "droplet_link",
        "droplet_uuid",
        "project",
        "customer",
        "action_id",
        "context",
    )
    readonly_fields = fields

    @admin.display(description="Droplet")
    def droplet_link(self, event):
        if event.droplet_id is None:
            return f"{event.droplet_name} (gone)"
        url = reverse("admin:droplets_droplet_change", args=[event.droplet_id])
        return format_html('<a href="{}">{}</a>', url, event.droplet_name)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        uuid = parse_uuid(search_term.strip())
        if uuid is None:
            return results, may_have_duplicates
        return results | queryset.filter(Q(droplet_uuid=uuid) | Q(uuid=uuid)), may_have_duplicates

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the history is purged by age only (EVENT_RETENTION_DAYS)
