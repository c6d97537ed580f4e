from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

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


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "native_name", "created")
    search_fields = ("name", "abbreviation", "native_name")
    readonly_fields = ("uuid",)
    inlines = (CustomerRoleInline,)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "created")
    list_filter = ("customer",)
    list_select_related = ("customer",)
    search_fields = ("name", "customer__name")
    readonly_fields = ("uuid",)
    inlines = (ProjectRoleInline,)


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "state", "shared", "customer", "backend_url")
    list_filter = ("state", "shared", "type")
    list_select_related = ("customer",)
    search_fields = ("name",)
    readonly_fields = ("uuid", "state", "error_message")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # The token is write-only here too: the field renders empty and keeps the stored value when left so.
        form.base_fields["token"].widget = forms.PasswordInput(render_value=False)
        form.base_fields["token"].required = obj is None
        return form

    def save_model(self, request, obj, form, change):
        if change and not form.cleaned_data.get("token"):
            obj.token = ServiceSettings.objects.values_list("token", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)


@admin.register(SshPublicKey)
class SshPublicKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "fingerprint_md5", "is_shared")
    list_filter = ("is_shared",)
    search_fields = ("name", "user__username", "fingerprint_md5")
    readonly_fields = ("uuid", "fingerprint_md5", "fingerprint_sha256")
