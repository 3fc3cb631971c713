"""`/api/v1/webhooks/`: subscriptions and their delivery logs (docs/webhooks.md).

Reads start from `visible_to` (the workspace's owners and staff; 404 for anyone else); writes go
to webhooks.services.
"""

from django.shortcuts import get_object_or_404
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from registry.api.views import RegistryViewSet
from webhooks import services
from webhooks.api.serializers import (
    DeliverySerializer,
    ReplayedSerializer,
    ReplaySerializer,
    RotateSecretSerializer,
    WebhookSerializer,
)
from webhooks.filtersets import DeliveryFilterSet, WebhookFilterSet
from webhooks.models import Delivery, Webhook


class WebhookViewSet(RegistryViewSet):
    serializer_class = WebhookSerializer
    filterset_class = WebhookFilterSet

    def get_queryset(self):
        return Webhook.objects.visible_to(self.request.user).select_related("owner")

    def perform_destroy(self, instance):
        services.webhook_delete(webhook=instance, user=self.request.user)

    def _deliveries(self, webhook):
        return Delivery.objects.filter(webhook=webhook).prefetch_related("attempt_log").order_by("-id")

    def _delivery(self, webhook, delivery_id) -> Delivery:
        return get_object_or_404(self._deliveries(webhook).select_related("webhook__workspace"), pk=delivery_id)

    def _accepted(self, delivery: Delivery) -> Response:
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=RotateSecretSerializer, responses=WebhookSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret", filterset_class=None)
    def rotate_secret(self, request, pk=None):
        body = RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook, secret = services.webhook_rotate_secret(
            webhook=self.get_object(), user=request.user, **body.validated_data
        )
        webhook.shown_secret = secret
        return Response(self.get_serializer(webhook).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def test(self, request, pk=None):
        return self._accepted(services.webhook_test(webhook=self.get_object(), user=request.user))

    @extend_schema(request=ReplaySerializer, responses={202: ReplayedSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def replay(self, request, pk=None):
        webhook = self.get_object()
        body = ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        queued = services.deliveries_replay(webhook=webhook, user=request.user, **body.validated_data)
        return Response({"queued": len(queued)}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=DeliverySerializer(many=True),
        parameters=[
            OpenApiParameter("state", str, many=True, enum=Delivery.State.values),
            OpenApiParameter("reason", str, many=True, enum=Delivery.Reason.values),
            OpenApiParameter("event", int, many=True, description="event ids"),
        ],
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def deliveries(self, request, pk=None):
        """The delivery log, newest first: each delivery with its attempts."""
        filters = DeliveryFilterSet(request.query_params, queryset=self._deliveries(self.get_object()))
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        page = self.paginate_queryset(filters.qs)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["get"], url_path=r"deliveries/(?P<delivery_id>\d+)", filterset_class=None)
    def delivery(self, request, pk=None, delivery_id=None):
        return Response(DeliverySerializer(self._delivery(self.get_object(), delivery_id)).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d+)/redeliver", filterset_class=None)
    def redeliver(self, request, pk=None, delivery_id=None):
        delivery = self._delivery(self.get_object(), delivery_id)
        return self._accepted(services.delivery_redeliver(delivery=delivery, user=request.user))
