"""`/api/v1/registered-models/` with its aliases, and `/api/v1/resolve/` (docs/lifecycle.md).

Registered models are created by uploads (one per model name in a project), so the list has no
POST; writes go to registry.services, reads start from `RegisteredModel.objects.visible_to`.
"""

import re
from urllib.parse import urlencode

import django_filters
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response
from rest_framework.views import APIView

from maisie_site.api import deleted
from maisie_site.api_errors import ExplainedHttp404
from maisie_site.storable import validate_text
from promotions import services as promotions
from promotions.api.serializers import PromotionRequestSerializer
from promotions.models import PromotionRequest
from registry import history, references, services
from registry.api.history import AS_OF, as_of, versions_response
from registry.api.serializers import MLModelSerializer, UserBriefSerializer
from registry.api.views import RegistryViewSet
from registry.filtersets import FilterSet, IdListFilter
from registry.links import links_for
from registry.models import ALIAS_PATTERN, Alias, RegisteredModel
from registry.references import MAX_VERSION

# --------------------------------------------------------------------------- filters


def _name_contains(label: str) -> django_filters.CharFilter:
    # validate_text: a NUL would reach PostgreSQL, which refuses it in a string (a 500).
    return django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label=label, validators=[validate_text]
    )


class RegisteredModelFilterSet(FilterSet):
    """Here rather than in registry/filtersets.py while that file is being reworked (issue 19)."""

    workspace = IdListFilter(field_name="project__workspace_id")
    project = IdListFilter(field_name="project_id")
    q = _name_contains("Name contains")  # the name for it
    search = _name_contains("Search")  # every other list's name for it
    name = django_filters.CharFilter(field_name="name", validators=[validate_text])
    ordering = django_filters.OrderingFilter(
        fields=("name", "created", "updated", "latest_version", "version_count", "id"), label="Ordering"
    )

    class Meta:
        model = RegisteredModel
        fields = []


# --------------------------------------------------------------------------- shapes


class AliasSerializer(serializers.ModelSerializer):
    """An alias: its name, the version it points at (number and model id), who set it and when."""

    version = serializers.IntegerField(source="version_number", read_only=True)
    model_id = serializers.IntegerField(source="version_id", read_only=True)
    set_by = UserBriefSerializer(read_only=True, allow_null=True)
    _links = serializers.SerializerMethodField()

    class Meta:
        model = Alias
        fields = ["name", "version", "model_id", "set_by", "set_at", "_links"]

    def get__links(self, alias) -> dict:
        links = links_for(self.context)
        request = self.context.get("request")
        path = reverse("api:registeredmodel-alias", args=[alias.registered_model_id, alias.name])
        return {
            "self": request.build_absolute_uri(path) if request is not None else path,
            "model": links.url("api:model-detail", alias.version_id),
            "registered_model": links.url("api:registeredmodel-detail", alias.registered_model_id),
        }


class AliasAsOfSerializer(AliasSerializer):
    """An alias as it stood at `as_of` (registry/history.py): who put it there and when, and the
    time its version was deleted since, if it was (null while the version exists)."""

    version_deleted = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta(AliasSerializer.Meta):
        fields = [*AliasSerializer.Meta.fields, "version_deleted"]


class AliasSetResultSerializer(AliasSerializer):
    previous_version = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(AliasSerializer.Meta):
        fields = [*AliasSerializer.Meta.fields, "previous_version"]


class AliasSetSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION, help_text="The version number to point at.")


class RegisteredModelSerializer(serializers.ModelSerializer):
    """A registered model as the caller sees it: counts, latest version and aliases are of the
    versions they may see (RegisteredModel.objects.with_summary)."""

    project_id = serializers.IntegerField(read_only=True)
    workspace_id = serializers.IntegerField(read_only=True)
    description = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    aliases = serializers.SerializerMethodField()
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    version_count = serializers.IntegerField(read_only=True)
    _links = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "project_id",
            "workspace_id",
            "name",
            "description",
            "aliases",
            "latest_version",
            "version_count",
            "created",
            "updated",
            "_links",
        ]
        read_only_fields = ["name", "created", "updated"]

    def get_aliases(self, registered) -> dict[str, int]:
        return {alias.name: alias.version_number for alias in registered.visible_aliases}

    def get__links(self, registered) -> dict:
        links = links_for(self.context)
        request = self.context.get("request")
        query = urlencode({"project": registered.project_id, "name": registered.name})
        versions = f"{reverse('api:model-list')}?{query}"
        return {
            "self": links.url("api:registeredmodel-detail", registered.pk),
            "aliases": links.url("api:registeredmodel-aliases", registered.pk),
            "versions": request.build_absolute_uri(versions) if request is not None else versions,
            "project": links.url("api:project-detail", registered.project_id),
            "workspace": links.url("api:workspace-detail", registered.workspace_id),
        }

    def update(self, instance, validated_data):
        description = validated_data.get("description", instance.description)
        user = self.context["request"].user
        return services.registered_model_update(registered_model=instance, user=user, description=description)


# --------------------------------------------------------------------------- views


class RegisteredModelViewSet(RegistryViewSet):
    """GET (list, one), PUT/PATCH (the description), DELETE (every version; owners)."""

    serializer_class = RegisteredModelSerializer
    filterset_class = RegisteredModelFilterSet
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]  # POST: a rollback

    def get_queryset(self):
        registered = RegisteredModel.objects.visible_to(self.request.user)
        if self.request.method == "GET" and self.action in ("aliases", "alias", "versions"):
            return registered  # their answers read no counts (bench/lifecycle.py)
        return registered.with_summary(self.request.user)

    @extend_schema(exclude=True)  # POST is allowed for the rollback action only
    def create(self, request, *args, **kwargs):
        raise MethodNotAllowed(request.method, "Uploads create registered models (POST /api/v1/models/).")

    def perform_destroy(self, instance):
        services.registered_model_delete(registered_model=instance, user=self.request.user)

    def _aliases(self, registered):
        rows = Alias.objects.visible_to(self.request.user).filter(registered_model_id=registered.pk)
        return rows.select_related("set_by").order_by("name")

    @extend_schema(parameters=[AS_OF], responses=AliasSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, serializer_class=AliasSerializer)
    def aliases(self, request, pk=None):
        registered, when = self.get_object(), as_of(request)
        if when is not None:
            page = self.paginate_queryset(history.aliases_as_of(registered, request.user, when))
            data = AliasAsOfSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        page = self.paginate_queryset(self._aliases(registered))
        return self.get_paginated_response(AliasSerializer(page, many=True, context=self.get_serializer_context()).data)

    @extend_schema(parameters=[AS_OF], responses=MLModelSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, serializer_class=MLModelSerializer)
    def versions(self, request, pk=None):
        """Its versions the caller may see, newest first, as `/api/v1/models/` answers them."""
        return versions_response(self, self.get_object())

    @extend_schema(methods=["GET"], request=None, parameters=[AS_OF], responses=AliasSerializer)
    @extend_schema(
        methods=["PUT"],
        request=AliasSetSerializer,
        responses={200: AliasSetResultSerializer, 202: PromotionRequestSerializer},
    )
    @extend_schema(methods=["DELETE"], request=None, responses=None)
    @action(
        detail=True,
        methods=["get", "put", "delete"],
        url_path=r"aliases/(?P<alias>[^/]+)",
        filterset_class=None,
        serializer_class=AliasSetSerializer,
    )
    def alias(self, request, pk=None, alias=None):
        registered = self.get_object()
        context = self.get_serializer_context()
        # Moves go through promotions.services, which checks the project's alias rules; never
        # through registry.services.alias_set/alias_remove, the raw moves that do not know them.
        if request.method == "PUT":
            body = AliasSetSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            result = promotions.alias_put(
                registered_model=registered, name=alias, user=request.user, **body.validated_data
            )
            return _moved_or_requested(result, context)
        if request.method == "DELETE":
            promotions.alias_remove(registered_model=registered, name=alias, user=request.user)
            return deleted()
        when = as_of(request)
        if when is not None:
            found = history.alias_as_of(registered, alias, request.user, when)
            if found is None:
                raise ExplainedHttp404(f"No alias {alias[:70]!r} on this registered model as of {history.shown(when)}.")
            return Response(AliasAsOfSerializer(found, context=context).data)
        # A name no alias can have is none of them (and a NUL would reach PostgreSQL: a 500).
        found = self._aliases(registered).filter(name=alias).first() if re.fullmatch(ALIAS_PATTERN, alias) else None
        if found is None:
            raise ExplainedHttp404(f"No alias {alias[:70]!r} on this registered model.")
        return Response(AliasSerializer(found, context=context).data)

    @extend_schema(request=None, responses={200: AliasSetResultSerializer, 202: PromotionRequestSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"aliases/(?P<alias>[^/]+)/rollback",
        filterset_class=None,
        serializer_class=AliasSetResultSerializer,
    )
    def rollback(self, request, pk=None, alias=None):
        """Point the alias back at the version it named before its current one (the rules apply)."""
        result = promotions.alias_rollback(registered_model=self.get_object(), name=alias, user=request.user)
        return _moved_or_requested(result, self.get_serializer_context())


def _moved_or_requested(result, context) -> Response:
    """200 with the alias when it moved (or already named the version), 202 with the promotion
    request when the rules want approvals first."""
    if isinstance(result, PromotionRequest):
        return Response(PromotionRequestSerializer(result, context=context).data, status=status.HTTP_202_ACCEPTED)
    result.alias.previous_version = result.previous_version
    return Response(AliasSetResultSerializer(result.alias, context=context).data)


class ResolveView(APIView):
    """`GET /api/v1/resolve/?ref=vision/imagenet/resnet50@production`: the model version a
    reference names, as `/api/v1/models/<id>/` answers it (registry/references.py)."""

    @extend_schema(
        parameters=[OpenApiParameter("ref", OpenApiTypes.STR, required=True, description=references.SYNTAX), AS_OF],
        responses=MLModelSerializer,
    )
    def get(self, request):
        reference, when = references.parse(request.query_params.get("ref", "")), as_of(request)
        if when is None or reference.digest is not None:  # a digest names the same files at any time
            model = references.resolve(reference, request.user)
        else:
            model = history.resolve(reference, request.user, when)
        return Response(MLModelSerializer(model, context={"request": request, "view": self}).data)
