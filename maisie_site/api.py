"""The wire format shared by every endpoint: the `{"data": ...}` envelope and pages.

Views return plain serializer data; the renderer adds the envelope so no view repeats it.
Errors are shaped in maisie_site/api_errors.py.
"""

from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class EnvelopeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code < 400 and not getattr(response, "enveloped", False):
            data = {"data": data}
        return super().render(data, accepted_media_type, renderer_context)


def enveloped(body: dict, status_code: int = status.HTTP_200_OK) -> Response:
    """A response whose body is already in its final shape (pages, `{"status": "success"}`)."""
    response = Response(body, status=status_code)
    response.enveloped = True
    return response


def deleted() -> Response:
    return enveloped({"status": "success"})


class EnvelopePagination(PageNumberPagination):
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
