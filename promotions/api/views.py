"""`/api/v1/projects/<id>/alias-rules/` and `/api/v1/promotion-requests/` (docs/lifecycle.md).

Reads start from `visible_to` (members of the project's workspace; 404 for anyone else); writes
go to promotions.services.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from promotions import services
from promotions.api.serializers import AliasRuleSerializer, CommentSerializer, PromotionRequestSerializer
from promotions.filtersets import PromotionRequestFilterSet
from promotions.models import AliasRule, PromotionRequest
from registry.api.views import RegistryViewSet
from registry.models import Project


class AliasRuleViewSet(RegistryViewSet):
    """A project's alias rules: its workspace's members read them, its owners change them."""

    serializer_class = AliasRuleSerializer
    filterset_class = None

    def project(self) -> Project:
        if not hasattr(self, "_project"):
            visible = Project.objects.visible_to(self.request.user).select_related("workspace")
            self._project = get_object_or_404(visible, pk=self.kwargs["project_pk"])
        return self._project

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema, built without a project
            return AliasRule.objects.none()
        rules = AliasRule.objects.filter(project=self.project()).select_related("project")
        return rules.prefetch_related("users")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["project"] = self.project()
        return context

    def perform_destroy(self, instance):
        services.alias_rule_delete(rule=instance, user=self.request.user)


class PromotionRequestViewSet(viewsets.ReadOnlyModelViewSet):
    """Requests the caller can see, pending first; approve, reject and cancel them."""

    serializer_class = PromotionRequestSerializer
    filterset_class = PromotionRequestFilterSet

    def get_queryset(self):
        requests = PromotionRequest.objects.visible_to(self.request.user)
        return requests.with_related().pending_first()

    def _decide(self, request, decide):
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = decide(request=self.get_object(), user=request.user, **body.validated_data)
        fresh = self.get_queryset().filter(pk=decided.pk).first() or decided
        return Response(PromotionRequestSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=CommentSerializer, responses=PromotionRequestSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request, pk=None):
        return self._decide(request, services.promotion_approve)

    @extend_schema(request=CommentSerializer, responses=PromotionRequestSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        return self._decide(request, services.promotion_reject)

    @extend_schema(request=CommentSerializer, responses=PromotionRequestSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        return self._decide(request, services.promotion_cancel)
