"""The query box's completion list (static/maisie/complete.js): fields and keys as JSON.

`/projects/<id>/keys.json` (a project's page) and `/models/keys.json` (every project the user
sees) answer the search language's field names and the keys of the key catalogue, read through
`key_catalog(user, project)`: only the (uploader, private) groups the user may see, so a key only
someone else's private model holds is never offered. A project the user cannot see is a 404.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views import View

from registry import keypaths
from registry.models import Project
from registry.search.fields import FIELDS, JSON
from registry.search.lexer import spell_key
from registry.web.keys import key_catalog, split_key

MAX_KEYS = 5000  # the browser filters the list itself; a catalogue this large is truncated


def completion_fields() -> list[dict]:
    """Every field name and alias; a JSON field is offered as its prefix (`m.`), with the section
    its keys are listed under (`metrics`), so `m.acc` finds `metrics.accuracy`."""
    fields = []
    for field in FIELDS:
        for name in (field.name, *field.aliases):
            if field.kind == JSON:
                fields.append({"name": f"{name}.", "kind": field.kind, "section": field.name})
            else:
                fields.append({"name": name, "kind": field.kind})
    return fields


class KeyCompletionView(LoginRequiredMixin, View):
    def get(self, request, pk=None):
        project = None
        if pk is not None:
            project = get_object_or_404(Project.objects.visible_to(request.user), pk=pk)
        catalog = key_catalog(request.user, project)
        keys = []
        for name in catalog.fields()[:MAX_KEYS]:
            section, key = split_key(name)
            # The query language's spelling: a key with a space or a leading - goes in backquotes.
            keys.append({"name": f"{section}.{spell_key(keypaths.split(key))}", "kind": catalog.kind(name)})
        return JsonResponse(
            {"fields": completion_fields(), "keys": keys, "truncated": len(catalog.fields()) > MAX_KEYS},
            headers={"Cache-Control": "private, max-age=60"},
        )
