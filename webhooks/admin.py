"""Webhooks in the admin: staff read them and their delivery logs, change, pause, resume and delete
them through webhooks.services (so each change records its event), and redeliver. Secrets never
appear; a new webhook is made where its secret can be shown once (the settings pages, the API)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from maisie_site.readonly_admin import ReadOnlyAdmin
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Webhook

_EDITABLE = ["url", "description", "kinds", "condition"]


class WebhookForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        changed = {name: cleaned[name] for name in self.changed_data if name in _EDITABLE and name in cleaned}
        try:
            services.clean_fields(changed)
        except ValidationError as error:
            raise ValidationError(error.message_dict) from None
        return cleaned


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["id", "url", "workspace", "project", "owner", "active", "consecutive_failures", "last_success_at"]
    list_filter = ["active"]
    search_fields = ["url", "description", "workspace__name", "project__name"]
    list_select_related = ["workspace", "project", "owner"]
    fields = [
        "workspace",
        "project",
        "owner",
        *_EDITABLE,
        "active",
        "paused_at",
        "paused_reason",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "secret_rotated_at",
        "created",
        "updated",
    ]
    actions = ["pause", "resume"]

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.fields if field not in _EDITABLE]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name in _EDITABLE}
        services.webhook_update(webhook=obj, user=request.user, **changed)

    def delete_model(self, request, obj):
        services.webhook_delete(webhook=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for webhook in queryset:
            services.webhook_delete(webhook=webhook, user=request.user)

    @admin.action(description="Pause the selected webhooks")
    def pause(self, request, queryset):
        for webhook in queryset:
            services.webhook_pause(webhook=webhook, user=request.user)

    @admin.action(description="Resume the selected webhooks (their held deliveries go)")
    def resume(self, request, queryset):
        for webhook in queryset:
            services.webhook_resume(webhook=webhook, user=request.user)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "outcome", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "webhook", "kind", "message_id", "reason", "state", "attempts", "created"]
    list_filter = ["state", "reason"]
    search_fields = ["message_id", "kind"]
    list_select_related = ["webhook"]
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Delivery._meta.fields]

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset):
        for delivery in queryset.select_related("webhook__workspace"):
            try:
                services.delivery_redeliver(delivery=delivery, user=request.user)
            except ValidationError as error:
                self.message_user(request, f"Delivery {delivery.pk}: {' '.join(error.messages)}", messages.ERROR)
