"""The event log in the admin, read-only: the table refuses changes anyway (events/append_only.py)."""

from django.contrib import admin

from events.models import Event
from maisie_site.readonly_admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["time", "kind", "actor_login", "subject_type", "subject_name", "workspace_id", "request_id"]
    list_filter = ["kind"]
    search_fields = ["subject_name", "actor_login", "request_id"]
    show_full_result_count = False  # a count of every event on each page would grow with the log
