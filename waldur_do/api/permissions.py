"""Object permissions: reads are decided by the viewset's queryset (what you can't see is a 404), writes by
the viewset's `can_manage(user, obj)` (what you see but may not change is a 403). Creating is first checked
by the viewset's `can_create(user)`, before the body is read, so that a user who may create nothing at all
gets the 403 the contract's order of checks promises rather than a 400 about their body."""

from rest_framework import permissions


class CanManageOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return getattr(view, "action", None) != "create" or view.can_create(request.user)

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or view.can_manage(request.user, obj)
