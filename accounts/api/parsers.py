"""A form parser for the sign-in endpoints that also reads a JSON object sent as a form.

The published docs sign in with `curl … -d '{"login": …, "password": …}'`: curl's `-d` labels
the body `application/x-www-form-urlencoded`, so the JSON arrived as one form field named after
the whole text and the sign-in answered 400. A form body that parses as a JSON object is read
as JSON; any other form body is read as a form, as before. Only the sign-in and token endpoints
use it: elsewhere a form is a form.
"""

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, parsers

from maisie_site import storable


class JSONObjectOrFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = stream.read()
        if body.lstrip().startswith(b"{"):
            try:
                data = storable.loads(body.decode(encoding))
            except ValueError:  # not JSON after all: a form field whose name starts with "{"
                data = None
            if isinstance(data, dict):
                if error := storable.json_error(data):
                    raise exceptions.ParseError(f"JSON parse error - {error}")
                return data
        return QueryDict(body, encoding=encoding)
