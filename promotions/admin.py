"""Alias rules in the admin, saved through promotions.services (so each change records
`rules.changed`); promotion requests read-only (they change through their API actions)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from maisie_site.readonly_admin import ReadOnlyAdmin
from promotions import services
from promotions.models import AliasRule, PromotionRequest


class AliasRuleForm(forms.ModelForm):
    class Meta:
        model = AliasRule
        fields = ["project", *services.RULE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        # The project is read-only once the rule exists (AliasRuleAdmin.get_readonly_fields).
        project = cleaned.get("project") or (self.instance.project if self.instance.pk else None)
        movers = cleaned.get("movers")
        if project is not None and movers:
            try:
                services.check_named_users(project, movers, cleaned.get("users") or [])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(AliasRule)
class AliasRuleAdmin(admin.ModelAdmin):
    form = AliasRuleForm
    list_display = ["pattern", "project", "movers", "condition", "metric", "approvals", "updated"]
    list_select_related = ["project"]
    search_fields = ["pattern", "project__name", "condition"]
    autocomplete_fields = ["users"]
    raw_id_fields = ["project"]

    def get_readonly_fields(self, request, obj=None):
        return ["project"] if obj is not None else []  # a rule stays in its project

    def save_model(self, request, obj, form, change):
        # Saved with its named users in save_related, through the service, in one transaction.
        pass

    def save_related(self, request, form, formsets, change):
        fields = {name: form.cleaned_data[name] for name in services.RULE_FIELDS}
        if change:
            services.alias_rule_update(rule=form.instance, user=request.user, **fields)
        else:
            rule = services.alias_rule_create(project=form.cleaned_data["project"], user=request.user, **fields)
            form.instance.pk = rule.pk

    def delete_model(self, request, obj):
        services.alias_rule_delete(rule=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset.select_related("project"):
            services.alias_rule_delete(rule=rule, user=request.user)


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "registered_model", "alias", "version_number", "state", "requested_by", "created"]
    list_filter = ["state"]
    list_select_related = ["registered_model", "requested_by"]
    search_fields = ["alias", "registered_model__name"]
