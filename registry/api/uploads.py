"""The upload session endpoints (docs/storage.md, "Upload sessions"): thin views over
registry/upload_sessions/. Their routes accept the paths with or without a trailing slash,
as the protocol writes `…/complete` and `…/parts/<n>` without one."""

from django.urls import re_path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.views import APIView

from maisie_site.api import JSONParser, deleted, enveloped
from maisie_site.api_errors import ExplainedHttp404
from maisie_site.transport import body_chunks, body_left_unread
from registry import upload_sessions
from registry.api.serializers import MLModelSerializer, _MLModelWriteSerializer
from registry.models import Project

_ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "size": {"type": "integer", "format": "int64", "minimum": 0},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
    "required": ["path", "size", "sha256"],
}


@extend_schema_field({"type": "array", "items": _ENTRY_SCHEMA})
class ManifestField(serializers.Field):
    """The manifest as sent; registry/manifests.py checks it (in the service, naming the rule)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class UploadOpenSerializer(_MLModelWriteSerializer):
    # A plain id: an unknown project or one the caller cannot see is a 404 (the view looks it up).
    project_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    files = ManifestField(help_text="The manifest: one {path, size, sha256} per file (docs/storage.md).")
    new_version = serializers.BooleanField(
        required=False, default=False, help_text="Make a new version even when one has the same digest."
    )


class _NeededBlobSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    part_size = serializers.IntegerField()
    received = serializers.IntegerField()


class _SessionLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    complete = serializers.URLField()


class UploadSessionSerializer(serializers.Serializer):
    """The schema's declaration of a session; `_session` writes it."""

    id = serializers.UUIDField()
    state = serializers.CharField()
    expires = serializers.DateTimeField()
    digest = serializers.CharField()
    project_id = serializers.IntegerField()
    name = serializers.CharField()
    files = ManifestField()
    blobs = _NeededBlobSerializer(many=True, help_text="The blobs the server still needs.")
    _links = _SessionLinksSerializer()


class PartStateSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    received = serializers.IntegerField()
    complete = serializers.BooleanField()


# The version with `created` beside `data` (a raw schema: maisie_site/openapi.py leaves a body
# that declares its own `data` unwrapped).
_VERSION_ANSWER = {
    "type": "object",
    "properties": {
        "data": {"$ref": "#/components/schemas/MLModel"},
        "created": {"type": "boolean", "description": "false: a version with the same digest existed."},
    },
    "required": ["data", "created"],
}


def _session(request, session) -> dict:
    url = request.build_absolute_uri(reverse("api:upload-detail", args=[session.pk]))
    needed = session.blobs.filter(needed=True).order_by("sha256")
    return {
        "id": str(session.pk),
        "state": "open",
        "expires": session.expires,
        "digest": session.digest,
        "project_id": session.project_id,
        "name": session.name,
        "files": session.files,
        "blobs": [
            {"sha256": blob.sha256, "size": blob.size, "part_size": blob.part_size, "received": blob.received}
            for blob in needed
        ],
        "_links": {"self": url, "complete": url + "complete"},
    }


def _version(request, model, created: bool, code=status.HTTP_200_OK):
    data = MLModelSerializer(model, context={"request": request}).data
    return enveloped({"data": data, "created": created}, code)


class UploadsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="uploads_create",
        request=UploadOpenSerializer,
        responses={
            201: UploadSessionSerializer,
            200: OpenApiResponse(_VERSION_ANSWER, description="A version with the same digest exists."),
        },
    )
    def post(self, request):
        """Open an upload session: everything but the bytes is checked here (docs/storage.md)."""
        serializer = UploadOpenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        project = Project.objects.visible_to(request.user).filter(pk=fields.pop("project_id")).first()
        if project is None:
            raise ExplainedHttp404("No such project (or you cannot see it).")
        fields.pop("project", None)
        session, existing = upload_sessions.open_session(user=request.user, project=project, **fields)
        if existing is not None:
            return _version(request, existing, created=False)
        return enveloped({"data": _session(request, session)}, status.HTTP_201_CREATED)


class UploadDetailView(APIView):
    @extend_schema(operation_id="uploads_retrieve", responses=UploadSessionSerializer)
    def get(self, request, pk):
        """The session, with the bytes received of each blob it still needs."""
        return enveloped({"data": _session(request, upload_sessions.session_for(request.user, pk))})

    @extend_schema(operation_id="uploads_destroy", responses=None)
    def delete(self, request, pk):
        """Abort the session: it and its parts are gone."""
        upload_sessions.abort(upload_sessions.session_for(request.user, pk))
        return deleted()


class UploadCompleteView(APIView):
    @extend_schema(
        operation_id="uploads_complete",
        request=None,
        responses={
            201: OpenApiResponse(_VERSION_ANSWER, description="The version, created."),
            200: OpenApiResponse(_VERSION_ANSWER, description="A version with the same digest appeared meanwhile."),
        },
    )
    def post(self, request, pk):
        """Create the version once every needed blob is received and verified."""
        session = upload_sessions.session_for(request.user, pk)
        model, created = upload_sessions.complete(session=session, user=request.user)
        return _version(request, model, created, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PartParser(BaseParser):
    """Declares the part's media type; the view reads the body itself, as it streams in."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        raise ValidationError("A part's body is read by its view.")


class _Body:
    """The request body, read only if the service asks (a refused or repeated part is not)."""

    def __init__(self, request, length: int):
        self._request = request
        self._length = length
        self.started = False

    def chunks(self):
        self.started = True
        for chunk, _lease in body_chunks(self._request.META, self._request, self._length):
            yield chunk  # written before the next chunk is asked for, so a leased buffer is still valid


class UploadPartView(APIView):
    parser_classes = [PartParser]

    @extend_schema(
        operation_id="uploads_part",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Content-Digest",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Optional: sha-256=:<base64 of the part's SHA-256>: (RFC 9530).",
            )
        ],
        responses=PartStateSerializer,
    )
    def put(self, request, pk, sha256, number):
        """Send part `number` (from 0) of a blob: exactly its bytes, in order."""
        session = upload_sessions.session_for(request.user, pk)
        raw = request.META.get("CONTENT_LENGTH")
        try:
            length = int(raw) if raw not in (None, "") else None
        except ValueError:
            raise ValidationError({"Content-Length": ["Must be a number of bytes."]}) from None
        body = _Body(request._request, length or 0)
        try:
            blob = upload_sessions.receive_part(
                session=session,
                sha256=sha256,
                number=int(number),
                length=length,
                digest_header=request.META.get("HTTP_CONTENT_DIGEST"),
                body=body,
            )
        finally:
            if not body.started:
                body_left_unread(request.META)
        state = {"sha256": blob.sha256, "size": blob.size, "received": blob.received, "complete": blob.verified}
        return enveloped({"data": state})


_ID = r"(?P<pk>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
urlpatterns = [
    re_path(r"^uploads/$", UploadsView.as_view(), name="upload-list"),
    re_path(rf"^uploads/{_ID}/$", UploadDetailView.as_view(), name="upload-detail"),
    re_path(rf"^uploads/{_ID}/complete/?$", UploadCompleteView.as_view(), name="upload-complete"),
    re_path(
        rf"^uploads/{_ID}/blobs/(?P<sha256>[0-9a-f]{{64}})/parts/(?P<number>[0-9]{{1,9}})/?$",
        UploadPartView.as_view(),
        name="upload-part",
    ),
]
