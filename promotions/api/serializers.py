"""Alias rules and promotion requests as the API shows and takes them (docs/lifecycle.md)."""

from django.urls import reverse
from rest_framework import serializers

from accounts.models import User
from maisie_site.storable import validate_text
from promotions import services
from promotions.models import MAX_APPROVALS, AliasRule, Direction, Movers, PromotionApproval, PromotionRequest
from registry.api.serializers import UserBriefSerializer
from registry.links import links_for
from registry.search.lexer import MAX_QUERY_LENGTH


def _absolute(context: dict, name: str, *args) -> str:
    request = context.get("request")
    path = reverse(name, args=args)
    return request.build_absolute_uri(path) if request is not None else path


class AliasRuleSerializer(serializers.ModelSerializer):
    """A rule. Writes go to promotions.services, which validates the whole rule (the condition
    parsed as the models list parses `q=`, the named users against the workspace)."""

    project_id = serializers.IntegerField(read_only=True)
    movers = serializers.ChoiceField(choices=Movers.choices, required=False)
    users = UserBriefSerializer(many=True, read_only=True)
    user_ids = serializers.PrimaryKeyRelatedField(
        source="users",
        queryset=User.objects.filter(is_active=True),
        many=True,
        write_only=True,
        required=False,
        help_text='The named users, for movers "users".',
    )
    condition = serializers.CharField(
        allow_blank=True, required=False, trim_whitespace=False, max_length=MAX_QUERY_LENGTH, validators=[validate_text]
    )
    metric = serializers.CharField(allow_blank=True, required=False, max_length=200, validators=[validate_text])
    direction = serializers.ChoiceField(choices=Direction.choices, allow_blank=True, required=False)
    tolerance = serializers.FloatField(min_value=0, required=False)
    approvals = serializers.IntegerField(min_value=0, max_value=MAX_APPROVALS, required=False)
    _links = serializers.SerializerMethodField()

    class Meta:
        model = AliasRule
        fields = [
            "id",
            "project_id",
            "pattern",
            "movers",
            "users",
            "user_ids",
            "condition",
            "metric",
            "direction",
            "tolerance",
            "approvals",
            "created",
            "updated",
            "_links",
        ]
        read_only_fields = ["created", "updated"]

    def get__links(self, rule) -> dict:
        return {
            "self": _absolute(self.context, "api:aliasrule-detail", rule.project_id, rule.pk),
            "project": links_for(self.context).url("api:project-detail", rule.project_id),
        }

    def create(self, validated_data):
        user, project = self.context["request"].user, self.context["project"]
        return services.alias_rule_create(project=project, user=user, **validated_data)

    def update(self, instance, validated_data):
        return services.alias_rule_update(rule=instance, user=self.context["request"].user, **validated_data)


class ApprovalSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)

    class Meta:
        model = PromotionApproval
        fields = ["user", "comment", "created"]


class PromotionRequestSerializer(serializers.ModelSerializer):
    """A request to move an alias, waiting for (or done with) its approvals."""

    registered_model_id = serializers.IntegerField(read_only=True)
    registered_model = serializers.CharField(source="registered_model.name", read_only=True)
    project_id = serializers.IntegerField(source="registered_model.project_id", read_only=True)
    workspace_id = serializers.IntegerField(source="registered_model.project.workspace_id", read_only=True)
    version = serializers.IntegerField(source="version_number", read_only=True)
    model_id = serializers.IntegerField(source="version_id", read_only=True, allow_null=True)
    requested_by = UserBriefSerializer(read_only=True, allow_null=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    closed_by = UserBriefSerializer(read_only=True, allow_null=True)
    _links = serializers.SerializerMethodField()

    class Meta:
        model = PromotionRequest
        fields = [
            "id",
            "registered_model_id",
            "registered_model",
            "project_id",
            "workspace_id",
            "alias",
            "version",
            "model_id",
            "replaces_version",
            "rollback",
            "state",
            "approvals_required",
            "approvals",
            "requested_by",
            "created",
            "closed_by",
            "closed",
            "closed_comment",
            "_links",
        ]
        read_only_fields = fields

    def get__links(self, request) -> dict:
        links = links_for(self.context)
        own = links.url("api:promotionrequest-detail", request.pk)
        answer = {
            "self": own,
            "registered_model": links.url("api:registeredmodel-detail", request.registered_model_id),
            "model": links.url("api:model-detail", request.version_id) if request.version_id else None,
        }
        if request.state == "pending":
            answer.update(approve=f"{own}approve/", reject=f"{own}reject/", cancel=f"{own}cancel/")
        return answer


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=2000, trim_whitespace=False, validators=[validate_text]
    )
