"""Who sees which rules and promotion requests: the members of the project's workspace (any
role; staff see all). A request about another user's private version is hidden like the version."""

from django.db import models
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When

from registry.registered_models import version_seen


def _member_of(user, workspace_ref: str):
    from registry.models import Membership

    return Exists(Membership.objects.filter(workspace_id=OuterRef(workspace_ref), user_id=user.pk))


class AliasRuleQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(_member_of(user, "project__workspace_id"))

    def matching(self, project_id: int, alias: str) -> list:
        """The project's rules whose pattern matches `alias`, all of which apply to it."""
        from promotions.evaluation import pattern_matches

        rules = self.filter(project_id=project_id).prefetch_related("users")
        return [rule for rule in rules if pattern_matches(rule.pattern, alias)]


class PromotionRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        # A deleted version hides nothing more; its request stays readable to the members.
        seen = Q(version__isnull=True) | version_seen(user, "version__")
        requests = self.filter(seen)
        if user.is_staff:
            return requests
        return requests.filter(_member_of(user, "registered_model__project__workspace_id"))

    def pending_first(self):
        pending = Case(When(state="pending", then=Value(0)), default=Value(1), output_field=IntegerField())
        return self.order_by(pending, "-created", "-id")

    def with_related(self):
        return self.select_related(
            "registered_model__project", "version", "requested_by", "closed_by"
        ).prefetch_related("approvals__user")
