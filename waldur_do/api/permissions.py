"""Object permissions: reads are decided by the viewset's queryset (what you can't see is a 404), writes by
the viewset's `can_manage(user, obj)` (what you see but may not change is a 403)."""

from rest_framework import permissions


class CanManageOrReadOnly(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or view.can_manage(request.user, obj)


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)
