from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group

from accounts.forms import AdminSignInForm
from accounts.models import ApiToken, Invitation, SshChallenge, SshPublicKey, User
from maisie_site.readonly_admin import ReadOnlyAdmin

# The admin's sign-in counts against the same limits and per-login lock as every other sign-in
# (served by accounts.views.admin_sign_in, which answers 429 when it refuses).
admin.site.login_form = AdminSignInForm

# What only a superuser may give: otherwise a staff user allowed to change users could make
# themselves superuser or grant themselves every permission.
SUPERUSER_ONLY_FIELDS = ["is_superuser", "groups", "user_permissions"]


class UserChangeFormForLogin(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormForLogin(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("login", "full_name", "email")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Create, deactivate (untick "active"), reset passwords and set the staff flag."""

    form = UserChangeFormForLogin
    add_form = UserCreationFormForLogin
    ordering = ["login"]
    list_display = ["login", "full_name", "email", "is_active", "is_staff", "created"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["login", "full_name", "email"]
    readonly_fields = ["last_login", "created", "updated"]
    fieldsets = [
        (None, {"fields": ["login", "password"]}),
        ("Profile", {"fields": ["full_name", "email"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created", "updated"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["login", "full_name", "email", "password1", "password2"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else fields + SUPERUSER_ONLY_FIELDS

    def has_change_permission(self, request, obj=None):
        # A superuser's password, flags and profile are theirs and other superusers' to change
        # (the password form asks this too); other staff see the account read-only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups carry permissions: only superusers make or change them (a staff user in a group
    could otherwise grant it, and so themselves, every permission)."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class CredentialAdmin(admin.ModelAdmin):
    """A credential is shown, and revoked by deleting it, never made or changed here: its scope
    and expiry are its owner's choice (a staff user could otherwise lift a token's read-only flag
    or extend its expiry, or swap a key), and a secret is shown once, where its owner sees it.
    Only superusers revoke a superuser's credentials, as only they may change a superuser."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Asked per object by "delete selected" too (get_deleted_objects).
        if obj is not None and obj.user.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(ApiToken)
class ApiTokenAdmin(CredentialAdmin):
    list_display = ["name", "user", "prefix", "read_only", "expires", "last_used", "created"]
    list_filter = ["read_only"]
    search_fields = ["name", "prefix", "user__login"]
    fields = ["user", "name", "prefix", "read_only", "expires", "last_used", "created"]


@admin.register(SshPublicKey)
class SshPublicKeyAdmin(CredentialAdmin):
    list_display = ["name", "user", "key_type", "fingerprint", "last_used", "created"]
    list_filter = ["key_type"]
    search_fields = ["name", "fingerprint", "user__login"]
    fields = ["user", "name", "public_key", "key_type", "fingerprint", "last_used", "created"]


@admin.register(SshChallenge)
class SshChallengeAdmin(admin.ModelAdmin):
    list_display = ["login", "expires", "used", "created"]
    search_fields = ["login"]
    fields = ["login", "challenge", "expires", "used", "created"]

    def has_add_permission(self, request):
        return False  # issued only by the API

    def has_change_permission(self, request, obj=None):
        return False  # reopening a used or expired challenge would let its signature be replayed


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Read-only: invitations are made and revoked by the workspace's owners (accounts/invitations.py,
    which records their events); the secret was shown once and only its hash is here."""

    list_display = ["invitee", "workspace", "role", "status", "expires", "created_by", "created"]
    list_filter = ["role"]
    search_fields = ["email", "login", "workspace__name", "prefix"]
    fields = [
        "workspace",
        "email",
        "login",
        "role",
        "prefix",
        "created_by",
        "created",
        "expires",
        "accepted",
        "accepted_by",
        "revoked",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("workspace", "created_by", "accepted_by")
