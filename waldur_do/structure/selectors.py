"""Who sees and who manages what (docs/api.md, "Roles and visibility").

A user sees a customer or project when they hold any role on the customer or on the project; they manage
when they are staff, the customer's owner or (for a project) its admin or manager. Every check is a
subquery, so visibility filters add no joins and no duplicate rows to the querysets they restrict.
"""

from django.db.models import Q, QuerySet

from .models import Customer, CustomerRole, Project, ProjectRole, ServiceSettings, SshPublicKey

PROJECT_MANAGER_ROLES = (ProjectRole.Role.ADMIN, ProjectRole.Role.MANAGER)


def _customer_ids_with_role(user, roles=None):
    qs = CustomerRole.objects.filter(user=user)
    if roles is not None:
        qs = qs.filter(role__in=roles)
    return qs.values("customer_id")


def _project_ids_with_role(user, roles=None):
    qs = ProjectRole.objects.filter(user=user)
    if roles is not None:
        qs = qs.filter(role__in=roles)
    return qs.values("project_id")


def customer_list(*, user) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    if user.is_staff:
        return customers
    via_projects = Project.objects.filter(pk__in=_project_ids_with_role(user)).values("customer_id")
    return customers.filter(Q(pk__in=_customer_ids_with_role(user)) | Q(pk__in=via_projects))


def project_list(*, user) -> QuerySet[Project]:
    projects = Project.objects.select_related("customer")
    if user.is_staff:
        return projects
    return projects.filter(
        Q(customer_id__in=_customer_ids_with_role(user)) | Q(pk__in=_project_ids_with_role(user))
    )


def managed_project_list(*, user) -> QuerySet[Project]:
    """Projects the user may change things in: staff, customer owners, project admins and managers."""
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(
        Q(customer_id__in=_customer_ids_with_role(user, [CustomerRole.Role.OWNER]))
        | Q(pk__in=_project_ids_with_role(user, PROJECT_MANAGER_ROLES))
    )


def service_settings_list(*, user) -> QuerySet[ServiceSettings]:
    settings = ServiceSettings.objects.select_related("customer")
    if user.is_staff:
        return settings
    return settings.filter(Q(shared=True) | Q(customer_id__in=customer_list(user=user).values("pk")))


def ssh_key_list(*, user) -> QuerySet[SshPublicKey]:
    """Keys the user sees: staff see every key (to support users), others their own and the shared ones."""
    if user.is_staff:
        return SshPublicKey.objects.select_related("user")
    return ssh_key_usable_list(user=user)


def ssh_key_usable_list(*, user) -> QuerySet[SshPublicKey]:
    """Keys the user may put on a droplet: their own and the shared ones, staff included (docs/api.md,
    "Create")."""
    return SshPublicKey.objects.select_related("user").filter(Q(user=user) | Q(is_shared=True))


def owns_any_customer(*, user) -> bool:
    return user.is_staff or _customer_ids_with_role(user, [CustomerRole.Role.OWNER]).exists()


def is_customer_owner(*, user, customer: Customer) -> bool:
    return (
        user.is_staff
        or CustomerRole.objects.filter(user=user, customer=customer, role=CustomerRole.Role.OWNER).exists()
    )


def can_manage_project(*, user, project: Project) -> bool:
    return managed_project_list(user=user).filter(pk=project.pk).exists()


def can_manage_service_settings(*, user, service_settings: ServiceSettings) -> bool:
    return can_hold_service_settings(
        user=user, customer=service_settings.customer, shared=service_settings.shared
    )


def can_hold_service_settings(*, user, customer: Customer | None, shared: bool) -> bool:
    """Whether `user` may have settings owned this way: staff any; a customer's owner only that customer's
    private ones. Checked on create and on every update, so an owner can neither share their settings with
    every customer nor hand them to a customer they don't own."""
    if user.is_staff:
        return True
    return not shared and customer is not None and is_customer_owner(user=user, customer=customer)
