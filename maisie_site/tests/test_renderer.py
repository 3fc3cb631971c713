"""The API's JSON renderer (orjson) writes what DRF's own JSONRenderer writes."""

import datetime
import decimal
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from maisie_site.api import EnvelopeJSONRenderer

UTC = datetime.UTC
SAME_BYTES = {
    "text": {"name": 'résumé 模型 "quoted" \\ back\nslash', "empty": "", "control": "\x01\x1f"},
    "javascript line breaks": {"note": "one\u2028two\u2029three"},
    "numbers": {
        "ints": [0, -1, 2**63 - 1, -(2**63)],
        "floats": [0.1, -0.0, 123456789.123, 1e16],
        "bools": [True, False],
    },
    "nesting": {"a": [{"b": [None, {"c": []}]}, ()], "tuple": (1, "two")},
    "aware datetime": {"at": datetime.datetime(2026, 12, 1, 20, 0, 0, 123456, tzinfo=UTC)},
    "whole-second datetime": {"at": datetime.datetime(2026, 12, 1, 20, 0, tzinfo=UTC)},
    "other offset": {
        "at": datetime.datetime(2026, 12, 1, 20, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    },
    "naive datetime, date, time": {
        "at": datetime.datetime(2026, 12, 1, 20, 0),
        "d": datetime.date(2026, 12, 1),
        "t": datetime.time(8, 30),
    },
    "decimal and uuid": {"d": decimal.Decimal("1.25"), "u": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    "lazy and error strings": {
        "lazy": gettext_lazy("This field is required."),
        "error": ErrorDetail("bad", code="invalid"),
    },
    "serializer containers": ReturnDict({"data": ReturnList([{"id": 1}], serializer=None)}, serializer=None),
    "integers past 64 bits": {"big": 2**70, "negative": -(2**64)},
    "non-string keys": {1: "one", None: "none", 2.5: "float"},
    "a list": [1, "two", {"three": 3}],
}


@pytest.mark.parametrize("data", SAME_BYTES.values(), ids=SAME_BYTES.keys())
def test_the_bytes_are_drf_s(data):
    assert EnvelopeJSONRenderer().render(data) == JSONRenderer().render(data)


def test_floats_keep_their_value_when_orjson_spells_them_differently():
    data = {"floats": [1e-05, 2.5e-08, 1e300, 1 / 3]}
    rendered = EnvelopeJSONRenderer().render(data)
    assert json.loads(rendered) == data
    assert rendered == b'{"floats":[0.00001,2.5e-8,1e+300,0.3333333333333333]}'


def test_an_indent_asked_for_is_drf_s_pretty_print():
    data = {"a": [1, 2]}
    media_type = "application/json; indent=2"
    assert EnvelopeJSONRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)
    assert b"\n  " in EnvelopeJSONRenderer().render(data, media_type)


def test_nothing_renders_as_nothing():
    assert EnvelopeJSONRenderer().render(None) == b""


def test_what_json_cannot_write_is_still_an_error():
    with pytest.raises(TypeError):
        EnvelopeJSONRenderer().render({"unwritable": object()})


def test_an_api_answer_is_enveloped_and_parses(client, django_user_model):
    user = django_user_model.objects.create_user(login="rita", password="a-long-password-1", email="r@example.invalid")
    client.force_login(user)
    response = client.get("/api/v1/users/me/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["data"]["login"] == "rita"
