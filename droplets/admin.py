"""Operators watch droplets and their catalogs here and change droplets only through the services, with the
same checks and state transitions as the API: nothing clicked here can bypass the state machine."""

import operator
from functools import reduce

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import localtime

from waldur_do.api.fields import parse_uuid
from waldur_do.errors import DomainError
from waldur_do.events.models import Event

from . import services
from .models import Droplet, Image, Region, Size
from .states import IN_PROGRESS_STATES, SCHEDULED_STATES, RuntimeState, State

# The colours of the changelist's state badges: settled, failed, waiting for a worker, being worked on.
STATE_COLOURS = {
    State.OK: "#2e7d32",
    State.ERRED: "#c62828",
    **{state: "#b26a00" for state in SCHEDULED_STATES},
    **{state: "#1565c0" for state in IN_PROGRESS_STATES},
}
RUNTIME_COLOURS = {
    RuntimeState.ONLINE: "#2e7d32",
    RuntimeState.OFFLINE: "#616161",
    RuntimeState.ERROR: "#c62828",
}
TRANSITION_COLOUR = "#1565c0"  # starting, stopping, resizing…
HISTORY_SHOWN = 50  # events on the droplet's page; the event list has them all
ERROR_PREVIEW = 60  # characters of the error shown in the list; the whole of it on hover

# Events that do not change a droplet's state: "since" looks past them.
STATE_KEEPING_EVENTS = (
    "_accepted",
    "_retried",
    "_drift_detected",
    "_adopted",
    "_twin_detected",
    "_twin_destroyed",
)


def droplet_action(service, *, description, done, permission="change", confirm="", form_class=None):
    """An admin action that calls `service` for each selected droplet and reports each outcome on its own: a
    droplet whose state refuses the operation shows the API's 409 reason and does not stop the others.
    With `confirm`, the operator first sees the selected droplets and that question, as for Django's delete;
    with `form_class` too, they fill in what the operation needs (the size of a resize), which the form
    turns into the service's arguments for each droplet (`arguments_for(droplet)`, which may refuse)."""

    @admin.action(description=description, permissions=(permission,))
    def action(modeladmin, request, queryset):
        form = None
        if form_class is not None:
            form = form_class(queryset, request.POST if request.POST.get("post") else None)
        if confirm and not (request.POST.get("post") and (form is None or form.is_valid())):
            return _confirmation_page(
                modeladmin, request, queryset, action=action.__name__, question=confirm, form=form
            )
        for droplet in queryset:
            try:
                arguments = form.arguments_for(droplet) if form is not None else {}
                service(droplet=droplet, actor=request.user, **arguments)
            except DomainError as error:
                modeladmin.message_user(request, f"{droplet}: {error.message}", messages.ERROR)
            else:
                modeladmin.log_change(request, droplet, description)
                modeladmin.message_user(request, f"{droplet}: {done}", messages.SUCCESS)

    # Django keys actions by name; the service's name is unique and says what runs.
    action.__name__ = service.__name__
    return action


class ResizeForm(forms.Form):
    size = forms.ChoiceField(help_text="Sizes every selected droplet's DigitalOcean account offers.")
    disk = forms.BooleanField(
        required=False, help_text="Grow the disk too, for good (the resize can then not be undone)."
    )

    def __init__(self, droplets, data=None):
        super().__init__(data)
        settings_ids = {d.service_settings_id for d in droplets}
        slugs = None
        for settings_id in settings_ids:
            offered = set(
                Size.objects.filter(service_settings_id=settings_id).values_list("backend_id", flat=True)
            )
            slugs = offered if slugs is None else slugs & offered
        sizes = Size.objects.filter(service_settings_id__in=settings_ids, backend_id__in=slugs or ())
        labels = {
            size.backend_id: f"{size.backend_id} ({size.cores} CPU, {size.ram // 1024} GB RAM)"
            for size in sizes
        }
        self.fields["size"].choices = sorted(labels.items())

    def arguments_for(self, droplet):
        size = Size.objects.get(
            service_settings_id=droplet.service_settings_id, backend_id=self.cleaned_data["size"]
        )
        return {"size": size, "disk": self.cleaned_data["disk"]}


class RenameForm(forms.Form):
    name = forms.CharField(max_length=150, validators=Droplet._meta.get_field("name").validators)

    def __init__(self, droplets, data=None):
        super().__init__(data)
        self.droplets = list(droplets)

    def clean(self):
        if len(self.droplets) != 1:
            raise forms.ValidationError("Rename one droplet at a time: two droplets cannot take one name.")
        return super().clean()

    def arguments_for(self, droplet):
        return {"name": self.cleaned_data["name"]}


def _confirmation_page(modeladmin, request, queryset, *, action, question, form=None):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Are you sure?" if form is None else question,
        "question": question,
        "form": form,
        "queryset": queryset,
        "action": action,
        "opts": modeladmin.opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/droplets/droplet/action_confirmation.html", context)


class AttentionFilter(admin.SimpleListFilter):
    """What an operator looks at first: failed droplets, and operations that ran past their deadline."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return (
            ("erred", "Erred"),
            ("stuck", "Stuck (past its deadline)"),
            ("in_flight", "Operation in flight"),
        )

    def queryset(self, request, queryset):
        if self.value() == "erred":
            return queryset.filter(state=State.ERRED)
        if self.value() == "stuck":
            return queryset.exclude(operation="").filter(operation_deadline__lt=timezone.now())
        if self.value() == "in_flight":
            return queryset.exclude(operation="")
        return queryset


@admin.register(Droplet)
class DropletAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "state_badge",
        "runtime_badge",
        "operation_in_flight",
        "since",
        "error",
        "ip",
        "project_name",
        "customer",
    )
    list_filter = (
        AttentionFilter,
        "state",
        "runtime_state",
        ("project__customer", admin.RelatedOnlyFieldListFilter),
        ("project", admin.RelatedOnlyFieldListFilter),
        "region_name",
        ("service_settings", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("project__customer", "service_settings")  # both appear in every row
    search_fields = ("name", "backend_id", "uuid")
    search_help_text = "Name, uuid, DigitalOcean id or IP address."
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
        ("History", {"fields": ("history",)}),
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
        droplet_action(
            services.droplet_resize,
            description="Resize",
            done="resize scheduled.",
            confirm="Resize these droplets (they must be offline)",
            form_class=ResizeForm,
        ),
        droplet_action(
            services.droplet_update,
            description="Rename",
            done="rename scheduled.",
            confirm="Rename this droplet, here and on DigitalOcean",
            form_class=RenameForm,
        ),
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

    def get_queryset(self, request):
        # "Since": when the droplet entered its state, which the history knows (the last event that moved
        # it); a droplet with no such event has been in its state since it was created.
        entered = (
            Event.objects.filter(droplet=OuterRef("pk"))
            .exclude(
                reduce(operator.or_, (Q(event_type__endswith=suffix) for suffix in STATE_KEEPING_EVENTS))
            )
            .order_by("-created")
            .values("created")[:1]
        )
        return super().get_queryset(request).annotate(state_since=Coalesce(Subquery(entered), F("created")))

    @admin.display(description="Events, newest first")
    def history(self, droplet):
        events = list(Event.objects.filter(droplet_uuid=droplet.uuid)[:HISTORY_SHOWN])
        rows = format_html_join(
            "",
            '<tr><td style="white-space:nowrap">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>',
            (
                (date_format(localtime(e.created), "Y-m-d H:i:s"), e.event_type, e.message, e.actor_name)
                for e in events
            ),
        )
        every = reverse("admin:events_event_changelist") + f"?q={droplet.uuid.hex}"
        return format_html(
            '<table class="droplet-history"><thead><tr><th>When</th><th>Event</th><th>What happened</th>'
            "<th>By</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All events of this droplet</a></p>',
            rows
            or mark_safe('<tr><td colspan="4">No events yet.</td></tr>'),  # a constant: nothing to escape
            every,
        )

    @admin.display(description="State", ordering="state")
    def state_badge(self, droplet):
        return _badge(droplet.get_state_display(), STATE_COLOURS.get(droplet.state, TRANSITION_COLOUR))

    @admin.display(description="Runtime", ordering="runtime_state")
    def runtime_badge(self, droplet):
        if not droplet.runtime_state:
            return ""
        colour = RUNTIME_COLOURS.get(droplet.runtime_state, TRANSITION_COLOUR)
        return _badge(droplet.get_runtime_state_display(), colour)

    @admin.display(description="Operation", ordering="operation")
    def operation_in_flight(self, droplet):
        if not droplet.operation:
            return ""
        overdue = droplet.operation_deadline and droplet.operation_deadline < timezone.now()
        label = f"{droplet.operation} ({droplet.get_operation_phase_display().lower()})"
        return _badge(f"{label}, past its deadline", STATE_COLOURS[State.ERRED]) if overdue else label

    @admin.display(description="Since", ordering="state_since")
    def since(self, droplet):
        return format_html(
            '<span title="{}">{}</span>',
            droplet.state_since.isoformat(timespec="seconds"),
            timesince(droplet.state_since),
        )

    @admin.display(description="Error")
    def error(self, droplet):
        message = droplet.error_message or droplet.operation_error
        if not message:
            return ""
        shown = message if len(message) <= ERROR_PREVIEW else message[: ERROR_PREVIEW - 1] + "…"
        return format_html('<span title="{}">{}</span>', message, shown)

    @admin.display(description="IP")
    def ip(self, droplet):
        return droplet.access_url or ""

    @admin.display(description="Project", ordering="project__name")
    def project_name(self, droplet):
        return droplet.project.name  # the customer has its own column

    @admin.display(description="Customer", ordering="project__customer__name")
    def customer(self, droplet):
        return droplet.project.customer

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        # Addresses are kept as JSON lists: a quoted address matches one address whole, on every database.
        address = Q(external_ips__icontains=f'"{term}"') | Q(internal_ips__icontains=f'"{term}"')
        # The API shows uuids as 32 hex digits, which PostgreSQL's text form of a uuid (dashed) never matches.
        uuid = parse_uuid(term)
        return results | queryset.filter(address | Q(uuid=uuid) if uuid else address), may_have_duplicates

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


BADGE_STYLE = "color:#fff;padding:1px 6px;border-radius:8px;white-space:nowrap"


def _badge(text, colour):
    return format_html('<span style="background:{};{}">{}</span>', colour, BADGE_STYLE, text)
