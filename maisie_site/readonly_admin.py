"""The admin's read-only pages: records only the app writes (the event log, promotion requests,
webhook deliveries, invitations). Staff read them there; every change goes through the app's
services.py, which records it, so the admin never adds, changes or deletes one."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
