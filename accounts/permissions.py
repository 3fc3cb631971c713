from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import ApiToken


class ReadOnlyTokenPermission(BasePermission):
    """A read-only API token may only read."""

    message = "This API token is read-only."

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken) and request.auth.read_only:
            return request.method in SAFE_METHODS
        return True


class IsStaff(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)
