"""Downloads of files whose pickle scan found names outside those that rebuild data.

Every download answers with the verdict it was served under (`X-Maisie-Verdict`), and a
suspicious one also with `X-Maisie-Unsafe: suspicious`: the CLI refuses it without
`--allow-unsafe`, and the web page asks before it sends it (docs/formats.md, "Downloads").
The bytes are served either way: the verdict is advice, and the API stays a plain file server.
"""

from django.template.response import TemplateResponse

from formats import presentation, verdicts
from formats.models import BlobFacts, VersionFacts

HEADER = "X-Maisie-Unsafe"
VERDICT_HEADER = "X-Maisie-Verdict"
CONFIRM_PARAM, CONFIRM_VALUE = "unsafe", "confirmed"


def _mark(response, verdict: str | None):
    if verdict:
        response[VERDICT_HEADER] = verdict
        if verdict == verdicts.SUSPICIOUS:
            response[HEADER] = verdicts.SUSPICIOUS
    return response


def marked_for_blob(response, sha256: str):
    """`response` (one stored file) with the verdict of the blob it serves, where it was read."""
    return _mark(response, BlobFacts.objects.filter(pk=sha256).values_list("verdict", flat=True).first())


def marked_for_version(response, model):
    """`response` (a version's files as one zip) with the version's worst verdict."""
    return _mark(response, version_verdict(model))


def version_verdict(model) -> str | None:
    return VersionFacts.objects.filter(model=model).values_list("verdict", flat=True).first()


def confirmation(request, model):
    """The web page's question before a suspicious version is sent; None when there is none to ask."""
    if request.GET.get(CONFIRM_PARAM) == CONFIRM_VALUE:
        return None
    facts = VersionFacts.objects.filter(model=model).first()
    if facts is None or facts.verdict != verdicts.SUSPICIOUS:
        return None
    context = {
        "model": model,
        "facts": facts,
        "sentence": presentation.sentence(facts.verdict),
        "confirm_query": f"{CONFIRM_PARAM}={CONFIRM_VALUE}",
    }
    return TemplateResponse(request, "formats/download_confirm.html", context)
