"""Operators watch droplets and their catalogs here and change droplets only through the services, with the
same checks and state transitions as the API: nothing clicked here can bypass the state machine."""

from uuid import UUID

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.template.response import TemplateResponse

from waldur_do.errors import DomainError

from . import services
from .models import Droplet, Image, Region, Size


def droplet_action(service, *, description, done, permission="change", confirm=""):
    """An admin action that calls `service` for each selected droplet and reports each outcome on its own: a
    droplet whose state refuses the operation shows the API's 409 reason and does not stop the others.
    With `confirm`, the operator first sees the selected droplets and that question, as for Django's delete.
    """

    @admin.action(description=description, permissions=(permission,))
    def action(modeladmin, request, queryset):
        if confirm and not request.POST.get("post"):
            return _confirmation_page(modeladmin, request, queryset, action=action.__name__, question=confirm)
        for droplet in queryset:
            try:
                service(droplet=droplet, actor=request.user)
            except DomainError as error:
                modeladmin.message_user(request, f"{droplet}: {error.message}", messages.ERROR)
            else:
                modeladmin.log_change(request, droplet, description)
                modeladmin.message_user(request, f"{droplet}: {done}", messages.SUCCESS)

    # Django keys actions by name; the service's name is unique and says what runs.
    action.__name__ = service.__name__
    return action


def _confirmation_page(modeladmin, request, queryset, *, action, question):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Are you sure?",
        "question": question,
        "queryset": queryset,
        "action": action,
        "opts": modeladmin.opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/droplets/droplet/action_confirmation.html", context)


@admin.register(Droplet)
class DropletAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "state",
        "runtime_state",
        "project",
        "service_settings",
        "backend_id",
        "external_ip",
        "modified",
    )
    list_filter = ("state", "runtime_state", "service_settings")
    list_select_related = ("project__customer", "service_settings")  # both appear in every row
    search_fields = ("name", "backend_id", "uuid")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "uuid",
                    "description",
                    "project",
                    "service_settings",
                    "backend_id",
                    "created",
                    "modified",
                )
            },
        ),
        (
            "State",
            {
                "fields": (
                    "state",
                    "runtime_state",
                    "error_message",
                    "error_traceback",
                )
            },
        ),
        (
            "Operation in flight",
            {
                "fields": (
                    ("operation", "operation_phase"),
                    "operation_params",
                    ("operation_started", "operation_deadline"),
                    ("operation_lease_until", "operation_generation", "operation_attempts"),
                    "operation_error",
                    "action_id",
                )
            },
        ),
        (
            "On DigitalOcean",
            {
                "fields": (
                    ("region", "region_name"),
                    ("image", "image_name"),
                    "size",
                    ("cores", "ram", "disk"),
                    ("min_ram", "min_disk"),
                    ("external_ips", "internal_ips"),
                    ("ssh_public_key", "key_name", "key_fingerprint"),
                    "user_data",
                    "start_time",
                    ("latitude", "longitude"),
                )
            },
        ),
    )
    actions = (
        droplet_action(services.droplet_pull, description="Pull from DigitalOcean", done="pull scheduled."),
        droplet_action(services.droplet_start, description="Start", done="start scheduled."),
        droplet_action(services.droplet_stop, description="Stop", done="stop scheduled."),
        droplet_action(services.droplet_restart, description="Restart", done="restart scheduled."),
        droplet_action(services.droplet_set_ok, description="Mark OK", done="marked as OK."),
        droplet_action(services.droplet_set_erred, description="Mark erred", done="marked as erred."),
        droplet_action(
            services.droplet_delete,
            description="Delete on DigitalOcean",
            done="deleted, or scheduled for deletion on DigitalOcean.",
            permission="remove",
            confirm="Delete these droplets on DigitalOcean? Their servers and disks will be destroyed.",
        ),
        droplet_action(
            services.droplet_unlink,
            description="Unlink (forget without touching DigitalOcean)",
            done="unlinked; it still runs on DigitalOcean if it was there.",
            permission="remove",
            confirm="Forget these droplets? Whatever runs on DigitalOcean keeps running, unmanaged.",
        ),
    )

    @admin.display(description="External IP")
    def external_ip(self, droplet):
        return droplet.access_url

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The API shows uuids as 32 hex digits, which PostgreSQL's text form of a uuid (dashed) never matches.
        try:
            uuid = UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(uuid=uuid), may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        # Only the description is edited here: everything else changes through the actions.
        return [name for name in flatten_fieldsets(self.fieldsets) if name != "description"]

    def save_model(self, request, obj, form, change):
        # Through the service, which writes the description alone: saving the whole row would overwrite what
        # a worker writes meanwhile. Operators annotate droplets in any state, erred ones above all.
        services.droplet_annotate(droplet=obj, description=obj.description)

    def has_add_permission(self, request):
        # Droplets are created through the API, which checks the catalog, the project and the settings.
        return False

    def has_delete_permission(self, request, obj=None):
        # Django's delete would drop rows whose servers still run on DigitalOcean: the actions replace it.
        return False

    def has_remove_permission(self, request):
        """Who may run the delete and unlink actions: holders of Django's delete permission."""
        return super().has_delete_permission(request)


class CatalogItemAdmin(admin.ModelAdmin):
    """Catalogs mirror what each DigitalOcean account offers and change only when pulled (the service
    settings' "Check token and pull catalog"), so they are read-only here."""

    list_filter = ("service_settings",)
    list_select_related = ("service_settings",)
    search_fields = ("name", "backend_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(CatalogItemAdmin):
    list_display = ("name", "backend_id", "available", "service_settings")
    list_filter = ("service_settings", "available")


@admin.register(Image)
class ImageAdmin(CatalogItemAdmin):
    list_display = ("name", "distribution", "type", "backend_id", "min_disk_size", "service_settings")
    list_filter = ("service_settings", "distribution", "type", "is_official")


@admin.register(Size)
class SizeAdmin(CatalogItemAdmin):
    list_display = ("name", "cores", "ram", "disk", "price", "service_settings")
    list_filter = ("service_settings", "cores")
