"""API viewsets: each declares its queryset, serializer, filterset; writes go to services."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts import invitations as invitation_services
from accounts.models import User
from maisie_site.api import EnvelopePagination, JSONParser, deleted, enveloped
from registry import cursors, rules, services
from registry.api.members import (
    FoundUserSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberAddSerializer,
    NewInvitationSerializer,
)
from registry.api.parsers import StreamingMultiPartParser
from registry.api.serializers import (
    MembershipSerializer,
    MLModelSerializer,
    MLModelUpdateSerializer,
    MLModelUploadSerializer,
    ModelFileSerializer,
    ProjectSerializer,
    TagSerializer,
    WorkspaceSerializer,
)
from registry.downloads import entry_file, file_response, manifest_entry, model_file_response
from registry.filtersets import MLModelFilterSet, ProjectFilterSet, TagFilterSet, WorkspaceFilterSet
from registry.listing import model_list
from registry.models import MLModel, Project, Tag, Workspace
from registry.querysets import visible_model, visible_tags


class DownloadNegotiation(DefaultContentNegotiation):
    """A download asked for with `Accept: application/octet-stream` (or `application/zip`) is
    served, not refused with a 406: the bytes do not go through a renderer, and an error is JSON
    as everywhere (RFC 9110 lets a server answer outside the Accept list)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class RegistryViewSet(viewsets.ModelViewSet):
    # PUT takes only the fields being changed, like PATCH (the old docs' "data to override with");
    # DELETE answers 200 `{"status": "success"}` as the published client expects.

    def filter_queryset(self, queryset):
        # The FilterSets narrow lists; an object addressed by id is found by its id alone, so a
        # detail request does not build and validate a whole filter form (a quarter of its CPU).
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        self.perform_destroy(self.get_object())
        return deleted()


class WorkspaceViewSet(RegistryViewSet):
    serializer_class = WorkspaceSerializer
    filterset_class = WorkspaceFilterSet

    def get_queryset(self):
        return Workspace.objects.visible_to(self.request.user)

    def perform_destroy(self, instance):
        services.workspace_delete(workspace=instance, user=self.request.user)

    @extend_schema(request=MemberAddSerializer, responses=MembershipSerializer(many=True))
    @action(detail=True, methods=["get", "post"], serializer_class=MembershipSerializer, filterset_class=None)
    def members(self, request, pk=None):
        workspace = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(workspace.memberships.select_related("user"))
            return self.get_paginated_response(MembershipSerializer(page, many=True).data)
        serializer = MemberAddSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        membership, created = services.membership_set(
            workspace=workspace, actor=request.user, **serializer.validated_data
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(MembershipSerializer(membership).data, status=code)

    @extend_schema(request=None, responses=None)
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<user_id>\d+)", filterset_class=None)
    def remove_member(self, request, pk=None, user_id=None):
        workspace = self.get_object()
        user = get_object_or_404(User, pk=user_id)
        services.membership_remove(workspace=workspace, actor=request.user, user=user)
        return deleted()

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Part of a login or full name (2 characters or more).")
        ],
        responses=FoundUserSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="find-users", filterset_class=None, pagination_class=None)
    def find_users(self, request, pk=None):
        """Owners adding members look people up: active users outside the workspace, by login or
        name, at most 10, each as login and full name only."""
        found = invitation_services.find_users(
            workspace=self.get_object(), actor=request.user, text=request.query_params.get("q")
        )
        return Response(FoundUserSerializer(found, many=True).data)

    @extend_schema(request=InvitationCreateSerializer, responses=InvitationSerializer(many=True))
    @action(detail=True, methods=["get", "post"], serializer_class=InvitationSerializer, filterset_class=None)
    def invitations(self, request, pk=None):
        """Owners only: the pending invitations, or a new one (its link in this answer only)."""
        workspace = self.get_object()
        if request.method == "GET":
            if not rules.can_manage_workspace(request.user, workspace):
                raise PermissionDenied("Only the workspace's owners can see its invitations.")
            page = self.paginate_queryset(invitation_services.pending_invitations(workspace))
            return self.get_paginated_response(InvitationSerializer(page, many=True).data)
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, secret = invitation_services.invitation_create(
            workspace=workspace, actor=request.user, **serializer.validated_data
        )
        link = request.build_absolute_uri(invitation_services.invitation_link(secret))
        body = NewInvitationSerializer(invitation, context={"link": link}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=None)
    @action(detail=True, methods=["delete"], url_path=r"invitations/(?P<invitation_id>\d+)", filterset_class=None)
    def revoke_invitation(self, request, pk=None, invitation_id=None):
        workspace = self.get_object()
        invitation = get_object_or_404(workspace.invitations, pk=invitation_id)
        invitation_services.invitation_revoke(invitation=invitation, actor=request.user)
        return deleted()


class ProjectViewSet(RegistryViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet

    def get_queryset(self):
        return Project.objects.visible_to(self.request.user).with_model_summary(self.request.user)

    def perform_destroy(self, instance):
        services.project_delete(project=instance, user=self.request.user)


class TagViewSet(RegistryViewSet):
    serializer_class = TagSerializer
    filterset_class = TagFilterSet

    def get_queryset(self):
        return Tag.objects.visible_to(self.request.user)

    def list(self, request, *args, **kwargs):
        if any(name in request.query_params for name in TagFilterSet.base_filters):
            return super().list(request, *args, **kwargs)
        # Unfiltered, the same rows through statements compiled once (bench/floor.py's no-op).
        page = self.paginate_queryset(visible_tags(request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def perform_destroy(self, instance):
        services.tag_delete(tag=instance, user=self.request.user)


class ModelListPagination(EnvelopePagination):
    """The usual envelope; its schema also names the `warnings` an empty list may carry."""

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["warnings"] = {
            "type": "array",
            "description": "Only on an empty list: keys of the query that no model you can see holds"
            " (`metrics.acuracy`), each with the nearest keys that exist (docs/search.md).",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "message": {"type": "string"},
                    "suggestions": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
        return answer


def _with_key_warnings(response, listing, empty: bool):
    """An empty list gains `warnings` for the keys of its query that no visible model holds
    (`metrics.acuracy`), with the nearest that exist: additive, present only when there is one."""
    warnings = listing.key_warnings() if empty else []
    if warnings:
        response.data["warnings"] = warnings
    return response


class MLModelViewSet(RegistryViewSet):
    serializer_class = MLModelSerializer
    filterset_class = MLModelFilterSet  # the list's filters, for the OpenAPI schema: list() applies them
    pagination_class = ModelListPagination
    parser_classes = [StreamingMultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return MLModel.objects.visible_to(self.request.user).with_related()

    def get_object(self):
        # A get by id (search.py's q4) reads the same rows in one prepared statement (registry/querysets.py).
        if self.action != "retrieve":
            return super().get_object()
        model = visible_model(self.request.user, self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        if model is None:
            raise Http404
        self.check_object_permissions(self.request, model)
        return model

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description="Read the list by cursor instead of by page number: empty for the first rows, then"
                " `pagination.next_cursor` of the previous answer (`pagination.next` is that request's URL)."
                " Stable while models are added or deleted; the same ordering and filters each time; no totals.",
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        # registry/listing.py: scope, filters, total and the page's JSON rows, as the web table's.
        listing = model_list(user=request.user, params=request.query_params)
        if not listing.is_valid():
            raise translate_validation(listing.errors)
        if "cursor" in request.query_params:
            return self._cursor_page(request, listing)
        response = self.get_paginated_response(self.paginate_queryset(listing.json_rows(request)))
        return _with_key_warnings(response, listing, empty=response.data["pagination"]["total_items"] == 0)

    def _cursor_page(self, request, listing):
        """`?cursor=`: the rows after a cursor (blank: the first), with the next one (see
        registry/cursors.py and docs/client.md)."""
        size = self.paginator.get_page_size(request)
        try:
            rows, next_cursor = listing.cursor_page(request, request.query_params["cursor"], size)
        except cursors.CursorError as error:
            raise ValidationError({"cursor": [str(error)]}) from None
        following = None
        if next_cursor is not None:
            following = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
            following = remove_query_param(following, "page")
        pagination = {"has_next": following is not None, "per_page": size}
        pagination |= {"next_cursor": next_cursor, "next": following}
        response = enveloped({"data": rows, "pagination": pagination})
        return _with_key_warnings(response, listing, empty=not rows and not request.query_params["cursor"])

    def perform_destroy(self, instance):
        services.model_delete(model=instance, user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return MLModelUploadSerializer
        if self.action in ("update", "partial_update"):
            return MLModelUpdateSerializer
        return MLModelSerializer

    @extend_schema(responses={(200, "application/octet-stream"): bytes, (200, "application/zip"): bytes})
    @action(detail=True, methods=["get"], filterset_class=None, content_negotiation_class=DownloadNegotiation)
    def download(self, request, pk=None):
        """The file of a one-file version; a folder version's files as one zip (docs/storage.md)."""
        return model_file_response(request, self.get_object())

    @extend_schema(responses=ModelFileSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def files(self, request, pk=None):
        """The version's manifest in its canonical order (paths' UTF-8 bytes), every file with its download URL."""
        entries = sorted(self.get_object().entries.select_related("blob"), key=lambda entry: entry.path.encode())
        return Response(ModelFileSerializer(entries, many=True, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=MLModelSerializer)
    @action(detail=True, methods=["post", "delete"], url_path=r"tags/(?P<tag_id>\d+)", filterset_class=None)
    def tag(self, request, pk=None, tag_id=None):
        model = self.get_object()
        tag = get_object_or_404(Tag.objects.visible_to(request.user), pk=tag_id)
        if request.method == "POST":
            services.model_tag_add(model=model, tag=tag, user=request.user)
        else:
            services.model_tag_remove(model=model, tag=tag, user=request.user)
        return Response(MLModelSerializer(self.get_object(), context=self.get_serializer_context()).data)


class ModelFileView(APIView):
    """`GET models/<id>/files/<path>`: one file of a version, as `download/` serves a one-file
    version's (Range, ETag, digests, a presigned redirect on S3). A path outside the manifest is
    a 404, whatever it holds (`..`, `%00`): only blobs the version references are ever served."""

    content_negotiation_class = DownloadNegotiation

    @extend_schema(
        operation_id="models_files_path_retrieve",
        parameters=[
            # drf-spectacular names the route's `pk` `id`, as for the viewsets' routes.
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version's id."),
            OpenApiParameter("path", OpenApiTypes.STR, OpenApiParameter.PATH, description="A path of its manifest."),
        ],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request, pk, path):
        model = visible_model(request.user, pk)
        if model is None:
            raise Http404
        return file_response(request, entry_file(manifest_entry(model, path)))
