from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import ApiToken, SshChallenge, SshPublicKey, User


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "read_only", "expires", "last_used", "created"]
    list_filter = ["read_only"]
    search_fields = ["name", "prefix", "user__login"]
    readonly_fields = ["user", "prefix", "last_used", "created"]
    fields = ["user", "name", "prefix", "read_only", "expires", "last_used", "created"]

    def has_add_permission(self, request):
        return False  # a secret is shown once, so tokens are created where the user can see it


@admin.register(SshPublicKey)
class SshPublicKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_type", "fingerprint", "last_used", "created"]
    list_filter = ["key_type"]
    search_fields = ["name", "fingerprint", "user__login"]
    readonly_fields = ["key_type", "fingerprint", "last_used", "created"]
    fields = ["user", "name", "public_key", "key_type", "fingerprint", "last_used", "created"]


@admin.register(SshChallenge)
class SshChallengeAdmin(admin.ModelAdmin):
    list_display = ["login", "expires", "used", "created"]
    search_fields = ["login"]
    readonly_fields = ["login", "challenge", "expires", "used", "created"]

    def has_add_permission(self, request):
        return False  # issued only by the API
