"""registry/api/shape.py: the model's JSON is declared once; the serializers' declared fields
(the OpenAPI schema) must name the same fields, at every level (NetBox's test_missing_filters)."""

import pytest
from django.db import connection
from rest_framework import serializers

from formats import services as formats_services
from formats.tests import builders
from registry.api import shape
from registry.api.serializers import (
    MLModelSerializer,
    TagBriefSerializer,
    UserBriefSerializer,
    VersionFactsBriefSerializer,
)
from registry.tests.factories import upload


def _declared(serializer) -> list[str]:
    return list(serializer.Meta.fields)


@pytest.mark.parametrize(
    "serializer, table",
    [
        (MLModelSerializer, shape.MODEL),
        (UserBriefSerializer, shape.USER),
        (TagBriefSerializer, shape.TAG),
        (VersionFactsBriefSerializer, shape.FORMAT),
    ],
)
def test_the_serializer_declares_the_shape_s_fields_in_its_order(serializer, table):
    assert _declared(serializer) == table.keys()


def test_nested_fields_are_the_nested_shapes():
    fields = MLModelSerializer().fields
    assert isinstance(fields["user"], UserBriefSerializer)
    assert isinstance(fields["tags"].child, TagBriefSerializer)
    assert shape.MODEL.parts["user"].shape is shape.USER and shape.MODEL.parts["tags"].shape is shape.TAG
    assert isinstance(fields["format"], VersionFactsBriefSerializer) and fields["format"].allow_null
    assert shape.MODEL.parts["format"].shape is shape.FORMAT


def test_a_field_missing_from_the_shape_is_caught(monkeypatch):
    """The guard itself: a field declared for the schema but not in the table fails the test above."""
    monkeypatch.setattr(MLModelSerializer.Meta, "fields", [*MLModelSerializer.Meta.fields, "aliases"])
    assert _declared(MLModelSerializer) != shape.MODEL.keys()


@pytest.mark.parametrize("read", [False, True], ids=["not read", "read"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_the_shape_writes_what_the_declared_fields_render(project, bob, rf, zone, read):
    """DRF's field-by-field rendering of the declared fields is the reference, in any time zone,
    nested objects included: the values, their keys and the keys' order; the format facts as
    null before the files are read and as an object after."""
    from django.utils import timezone
    from rest_framework.request import Request

    model = upload(
        bob,
        project,
        content=builders.safetensors_bytes(),
        tags=["cnn", "best"],
        metrics={"acc": 0.9},
        dataset_name="d",
        private=True,
    )
    if read:
        formats_services.version_introspect(model=model)
    model = type(model).objects.with_related().get(pk=model.pk)
    request = Request(rf.get("/api/v1/models/", HTTP_HOST="testserver:8443"))
    with timezone.override(zone):
        serializer = MLModelSerializer(model, context={"request": request})
        reference = serializers.ModelSerializer.to_representation(serializer, model)
        mine = serializer.data

    def keys(value):
        if isinstance(value, dict):
            return [(key, keys(item)) for key, item in value.items()]
        if isinstance(value, list):
            return [keys(item) for item in value]
        return None

    assert mine == reference and keys(mine) == keys(reference)
    assert mine["format"] == ({"name": "safetensors", "params": 21, "verdict": "safe"} if read else None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL is PostgreSQL's")
def test_the_sql_binds_every_link_and_names_only_columns():
    text, links = shape.model_sql(connection.alias)
    assert links == [
        "api:model-detail",
        "api:user-detail",
        "api:project-detail",
        "api:model-download",
        "api:model-files",
        "registry:model_detail",
    ]
    assert text.count("%s") == 2 * len(links)
