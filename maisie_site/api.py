"""The wire format shared by every endpoint: the `{"data": ...}` envelope and pages.

Views return plain serializer data; the renderer adds the envelope so no view repeats it.
Errors are shaped in maisie_site/api_errors.py.
"""

import json

import orjson
from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from maisie_site import storable
from maisie_site.paginator import PageFirstPaginator

# Types orjson would write its own way are handed to DRF's encoder, so the bytes are DRF's.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATORS = (b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # U+2028, U+2029 in UTF-8


class EnvelopeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code < 400 and not getattr(response, "enveloped", False):
            data = {"data": data}
        return self._dumps(data, accepted_media_type, renderer_context or {})

    def _dumps(self, data, accepted_media_type, renderer_context) -> bytes:
        """DRF's compact JSON, written by orjson: a page of 50 models rendered in a seventh of the
        time (stdlib json was 7 % of a list request's CPU). What orjson cannot write as DRF does
        (an indent asked for, integers past 64 bits, non-string keys) goes to DRF's renderer."""
        if data is None or self.get_indent(accepted_media_type, renderer_context) is not None:
            return self._drf_render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=self.encoder_class().default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return self._drf_render(data, accepted_media_type, renderer_context)
        if any(separator in rendered for separator in _LINE_SEPARATORS):
            # As DRF does, so the JSON is also valid JavaScript.
            rendered = rendered.replace(_LINE_SEPARATORS[0], b"\\u2028").replace(_LINE_SEPARATORS[1], b"\\u2029")
        return rendered

    def _drf_render(self, data, accepted_media_type, renderer_context) -> bytes:
        data = _decoded(data)
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate that UTF-8 cannot hold, in a row stored before input was checked
            # (maisie_site/storable.py): written back as the JSON escape it came in as, so one
            # such row cannot turn every list that shows it into a 500.
            return json.dumps(data, cls=self.encoder_class, ensure_ascii=True, separators=(",", ":")).encode()


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, nesting at most storable.MAX_JSON_DEPTH levels and holding no NUL, lone
    surrogate, NaN or infinity anywhere (400): DRF's own recursed until the interpreter gave up.
    DRF hands it `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE (a 413, see
    api_errors.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = storable.loads(stream.read().decode(encoding))
        except ValueError as exc:  # UnicodeDecodeError and json's errors are ValueErrors
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if error := storable.json_error(data):
            raise exceptions.ParseError(f"JSON parse error - {error}")
        return data


def _decoded(data):
    """`data` with JSON already written by the database (`orjson.Fragment`s, see
    registry/api/rendered.py) read back, for DRF's encoder, which cannot embed them."""
    if isinstance(data, orjson.Fragment):
        return json.loads(orjson.dumps(data))  # a Fragment is written as the text it holds
    if isinstance(data, dict):
        return {key: _decoded(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_decoded(item) for item in data]
    return data


def enveloped(body: dict, status_code: int = status.HTTP_200_OK) -> Response:
    """A response whose body is already in its final shape (pages, `{"status": "success"}`)."""
    response = Response(body, status=status_code)
    response.enveloped = True
    return response


def deleted() -> Response:
    return enveloped({"status": "success"})


class EnvelopePagination(PageNumberPagination):
    django_paginator_class = PageFirstPaginator  # a list may count its total while the page is read
    page_size = 20
    page_size_query_param = "per_page"
    max_page_size = 1000

    def get_paginated_response(self, data):
        page = self.page
        return enveloped(
            {
                "data": data,
                "pagination": {
                    "has_next": page.has_next(),
                    "has_prev": page.has_previous(),
                    "page": page.number,
                    "per_page": page.paginator.per_page,
                    "total_pages": page.paginator.num_pages,
                    "total_items": page.paginator.count,
                },
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "data": schema,
                "pagination": {
                    "type": "object",
                    "properties": {
                        "has_next": {"type": "boolean"},
                        "has_prev": {"type": "boolean"},
                        "page": {"type": "integer"},
                        "per_page": {"type": "integer"},
                        "total_pages": {"type": "integer"},
                        "total_items": {"type": "integer"},
                    },
                },
            },
        }
