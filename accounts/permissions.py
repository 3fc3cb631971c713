from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts import recent
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


class RecentSignInToCreate(BasePermission):
    """Creating a credential (API token, SSH key) needs a recent password or SSH sign-in, never
    an API token: a short-lived or stolen credential must not mint one that outlives it."""

    def has_permission(self, request, view):
        if view.action != "create":
            return True
        if isinstance(request.auth, ApiToken):
            self.message = "An API token cannot create API tokens or SSH keys; sign in with a password or SSH key."
            return False
        if not recent.is_recent(request):
            minutes = max(1, settings.MAISIE_RECENT_SIGN_IN_SECONDS // 60)
            self.message = (
                f"Creating API tokens or SSH keys needs a sign-in with a password or SSH key in the last"
                f" {minutes} minutes; sign in again (POST /api/v1/auth/login/) and retry with the new token."
            )
            return False
        return True
