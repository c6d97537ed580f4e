from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import Customer, CustomerRole, Project, ProjectRole, ServiceSettings, SshPublicKey, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "is_staff", "is_active")
    readonly_fields = ("uuid",)


class CustomerRoleInline(admin.TabularInline):
    model = CustomerRole
    extra = 0
    autocomplete_fields = ("user",)


class ProjectRoleInline(admin.TabularInline):
    model = ProjectRole
    extra = 0
    autocomplete_fields = ("user",)


def droplets_link(lookup: str):
    """A read-only field linking to the changelist of the object's droplets (`lookup` filters them)."""

    @admin.display(description="Droplets")
    def droplets(self, obj):
        from droplets.models import Droplet  # the droplets app builds on this one, not the other way round

        count = Droplet.objects.filter(**{lookup: obj.pk}).count()
        url = reverse("admin:droplets_droplet_changelist") + f"?{lookup}={obj.pk}"
        return format_html('<a href="{}">{} droplet{}</a>', url, count, "" if count == 1 else "s")

    return droplets


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "native_name", "created")
    search_fields = ("name", "abbreviation", "native_name")
    readonly_fields = ("uuid", "droplets")
    inlines = (CustomerRoleInline,)
    droplets = droplets_link("project__customer__id__exact")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "created")
    list_filter = ("customer",)
    list_select_related = ("customer",)
    search_fields = ("name", "customer__name")
    readonly_fields = ("uuid", "droplets")
    inlines = (ProjectRoleInline,)
    droplets = droplets_link("project__id__exact")


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "type",
        "state",
        "shared",
        "customer",
        "backend_url",
        "sync_interval",
        "synced_at",
    )
    list_filter = ("state", "shared", "type")
    list_select_related = ("customer",)
    search_fields = ("name",)
    readonly_fields = ("uuid", "state", "error_message", "droplets", "sync_interval", "synced_at")
    actions = ("check_token_and_pull_catalog",)
    droplets = droplets_link("service_settings__id__exact")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page shows every field as text: the token stays out of it.
            fields = [name for name in fields if name != "token"]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "token" in form.base_fields:
            # Write-only here too: the field renders empty and keeps the stored value when left so.
            form.base_fields["token"].widget = forms.PasswordInput(render_value=False)
            form.base_fields["token"].required = obj is None
        return form

    def save_model(self, request, obj, form, change):
        """Through the services, so that a new token or endpoint is checked and its catalog pulled."""
        fields = dict(form.cleaned_data)
        if change:
            if not fields["token"]:
                del fields["token"]
            # The service compares with the stored row; `obj` already holds the submitted values.
            services.service_settings_update(
                service_settings=ServiceSettings.objects.get(pk=obj.pk), **fields
            )
        else:
            # The admin goes on with `obj` (log entry, redirect), so it becomes the row the service made.
            obj.pk = services.service_settings_create(**fields).pk
            obj.refresh_from_db()

    @admin.action(description="Check token and pull catalog", permissions=("change",))
    def check_token_and_pull_catalog(self, request, queryset):
        for service_settings in queryset:
            services.service_settings_schedule_sync(service_settings=service_settings)
            self.message_user(
                request, f"{service_settings}: token check and catalog pull scheduled.", messages.SUCCESS
            )


@admin.register(SshPublicKey)
class SshPublicKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "fingerprint_md5", "is_shared")
    list_filter = ("is_shared",)
    search_fields = ("name", "user__username", "fingerprint_md5")
    readonly_fields = ("uuid", "fingerprint_md5", "fingerprint_sha256")
