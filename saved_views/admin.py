"""Saved views in the admin, to read and to remove; they are made from the project table."""

from django.contrib import admin

from saved_views.models import LastView, SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "is_default", "created_by", "created"]
    list_filter = ["is_default"]
    search_fields = ["name", "project__name"]
    # Read and delete only: names and the default change through saved_views.services.
    readonly_fields = fields = ["project", "name", "slug", "query", "is_default", "created_by", "created"]

    def has_add_permission(self, request):
        return False


@admin.register(LastView)
class LastViewAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "updated"]
    readonly_fields = ["user", "project", "query", "updated"]

    def has_add_permission(self, request):
        return False
