"""Protected aliases (docs/lifecycle.md, "Protected aliases and approvals").

An AliasRule of a project guards the aliases whose names match its pattern: who may move them,
what a version must satisfy to receive one, and how many approvals a move needs. A move that
needs approvals becomes a PromotionRequest until enough PromotionApprovals arrive. Every write
goes through promotions/services.py; evaluation.py reads the rules.
"""

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models

from maisie_site.storable import text_error
from promotions.querysets import AliasRuleQuerySet, PromotionRequestQuerySet
from registry.models import MLModel, Project, RegisteredModel

# An alias name (registry.models.ALIAS_PATTERN) in which `*` stands for any run of characters
# and `?` for one: fnmatch's wildcards without its `[...]` sets, which an alias never needs.
PATTERN_RULE = (
    "an alias name (lower-case letters, digits, '-' and '_') in which * stands for any characters and ? for one"
)
validate_pattern = RegexValidator(r"^[a-z0-9_*?-]{1,64}$", f"A pattern is {PATTERN_RULE}, at most 64 characters.")
MAX_APPROVALS = 10


class Movers(models.TextChoices):
    """Who may move an alias a rule guards. The workspace's owners (and staff) always may."""

    OWNERS = "owners", "Owners only"
    MEMBERS = "members", "Owners and members"
    USERS = "users", "Owners and the named users"


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class AliasRule(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alias_rules")
    pattern = models.CharField(max_length=64, validators=[validate_pattern], help_text="production, or prod*")
    movers = models.CharField(max_length=10, choices=Movers.choices, default=Movers.MEMBERS)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    condition = models.TextField(
        blank=True,
        help_text='A query a version must match (docs/search.md): metrics.accuracy >= 0.9 and branch = "main"',
    )
    # "No worse than the version it replaces" on metrics[metric], when a metric is named.
    metric = models.CharField(max_length=200, blank=True, help_text="A key of the versions' metrics: accuracy")
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    tolerance = models.FloatField(default=0, help_text="How much worse than the replaced version is still accepted.")
    approvals = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(MAX_APPROVALS)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = AliasRuleQuerySet.as_manager()

    class Meta:
        ordering = ["pattern", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "pattern"], name="aliasrule_unique_pattern")]

    def __str__(self):
        return f"rule for {self.pattern}"

    def clean(self):
        from promotions.conditions import condition_error

        errors = {field: error for field in ("condition", "metric") if (error := text_error(getattr(self, field)))}
        if "condition" not in errors and (error := condition_error(self.condition)):
            errors["condition"] = error
        if self.metric and not self.direction:
            errors["direction"] = "Say whether a higher or a lower value of the metric is better: higher or lower."
        if self.direction and not self.metric:
            errors["metric"] = "Name the metric the direction is about, or leave the direction empty."
        if self.tolerance is not None and not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            errors["tolerance"] = "The tolerance is a number from 0."
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError:
            raise ValidationError({"pattern": f"This project already has a rule for {self.pattern!r}."}) from None


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class PromotionRequest(models.Model):
    """A move of an alias that waits for approvals. At most one is pending per alias. The version
    is kept by number too: if it is deleted meanwhile, the request says which one it was."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="promotion_requests")
    alias = models.CharField(max_length=64)
    version = models.ForeignKey(MLModel, on_delete=models.SET_NULL, null=True, related_name="promotion_requests")
    version_number = models.PositiveIntegerField()
    replaces_version = models.PositiveIntegerField(null=True, blank=True)  # the holder when it was opened
    rollback = models.BooleanField(default=False)  # opened by a rollback: completing it records alias.rolled_back
    state = models.CharField(max_length=10, choices=RequestState.choices, default=RequestState.PENDING)
    approvals_required = models.PositiveSmallIntegerField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="promotion_requests"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_comment = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    closed = models.DateTimeField(null=True, blank=True)

    objects = PromotionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # Two pending requests for one alias could both complete, the later undoing the earlier.
            models.UniqueConstraint(
                fields=["registered_model", "alias"],
                condition=models.Q(state="pending"),
                name="promotionrequest_one_pending_per_alias",
            ),
        ]
        indexes = [models.Index(fields=["state", "created"], name="promotionrequest_state")]

    def __str__(self):
        return f"{self.registered_model}@{self.alias} -> v{self.version_number} ({self.state})"


class PromotionApproval(models.Model):
    request = models.ForeignKey(PromotionRequest, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    comment = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="promotionapproval_one_per_user")]

    def __str__(self):
        return f"{self.user} approved request {self.request_id}"
