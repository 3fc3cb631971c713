"""`GET /api/v1/models/<id>/formats/`: what Maisie read from a version's files (docs/formats.md).

A version the caller may not see is a 404, as everywhere; one not read yet answers
`"read": false` with its files' facts as far as they are known (a blob read for another version
already has them)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from formats import presentation, services
from formats.models import VersionFacts
from registry.querysets import visible_model


class FileFactsSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    read = serializers.BooleanField(help_text="False until the file's header has been read.")
    format = serializers.CharField(allow_null=True)
    readable = serializers.BooleanField(allow_null=True, help_text="False: the header is malformed; see reason.")
    reason = serializers.CharField(allow_null=True)
    tensors = serializers.IntegerField(allow_null=True)
    params = serializers.IntegerField(allow_null=True)
    bytes_by_dtype = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    metadata = serializers.DictField(allow_null=True, help_text="The format's own: architecture, opset, ...")
    globals = serializers.ListField(child=serializers.CharField(), allow_null=True)
    verdict = serializers.CharField(allow_null=True, help_text="safe, pickle, unknown or suspicious")
    verdict_reason = serializers.CharField(allow_null=True)


class VersionFormatsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    read = serializers.BooleanField(help_text="False until the version's files have been read.")
    format = serializers.CharField(allow_null=True)
    params = serializers.IntegerField(allow_null=True)
    tensors = serializers.IntegerField(allow_null=True)
    verdict = serializers.CharField(allow_null=True)
    verdict_sentence = serializers.CharField(allow_null=True, help_text="What the verdict means, for people.")
    verdict_path = serializers.CharField(allow_null=True, help_text="The file the verdict comes from.")
    files = FileFactsSerializer(many=True)


FILE_FIELDS = [name for name in FileFactsSerializer().fields if name not in ("path", "size", "read")]


def answer(model) -> dict:
    facts = VersionFacts.objects.filter(model=model).first()
    files = []
    for path, size, f in services.files_of(model):
        row = {"path": path, "size": size, "read": f is not None}
        row.update({name: getattr(f, name) if f is not None else None for name in FILE_FIELDS})
        files.append(row)
    return {
        "id": model.pk,
        "read": facts is not None,
        "format": facts.format if facts else None,
        "params": facts.params if facts else None,
        "tensors": facts.tensors if facts else None,
        "verdict": facts.verdict if facts else None,
        "verdict_sentence": presentation.sentence(facts.verdict, facts.format) if facts else None,
        "verdict_path": facts.verdict_path if facts else None,
        "files": files,
    }


class VersionFormatsView(APIView):
    @extend_schema(
        operation_id="models_formats_retrieve",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version's id.")],
        responses=VersionFormatsSerializer,
    )
    def get(self, request, pk):
        model = visible_model(request.user, pk)
        if model is None:
            raise Http404
        return Response(VersionFormatsSerializer(answer(model)).data)
