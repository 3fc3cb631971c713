"""References: how a user names one model version (docs/lifecycle.md).

    <workspace>/<project>/<name>            the latest version the caller can see
    <workspace>/<project>/<name>@<alias>    the version the alias points at
    <workspace>/<project>/<name>:<version>  that version number
    <workspace>/<project>/<name>@sha256:<digest>  the newest version holding exactly those files

`/`, `@` and `:` separate the parts; a name holding one of them (or `%`) writes it
percent-encoded (`%2F`, `%40`, `%3A`, `%25`), as in a URL, so every name can be referenced.
`parse` answers a malformed reference with a ValidationError naming the part that is wrong;
`resolve` answers 404 for anything the caller may not see, as everywhere.
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote

from django.core.exceptions import ValidationError

from maisie_site.api_errors import ExplainedHttp404
from maisie_site.storable import text_error
from registry.models import ALIAS_PATTERN, ALIAS_RULE, MLModel, Project, RegisteredModel, Workspace

MAX_LENGTH = 1000  # three names of 200 characters, percent-encoded, and a suffix
MAX_VERSION = 2**31 - 1  # PositiveIntegerField's ceiling on every database
SYNTAX = "<workspace>/<project>/<name>, then @<alias>, :<version>, @sha256:<digest> or nothing for the latest"
DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_ESCAPES = re.compile(r"%(?![0-9A-Fa-f]{2})")
_WRITTEN = str.maketrans({"%": "%25", "/": "%2F", "@": "%40", ":": "%3A"})


@dataclass(frozen=True)
class Reference:
    workspace: str
    project: str
    name: str
    alias: str | None = None
    version: int | None = None
    digest: str | None = None  # a version's digest (docs/storage.md), 64 lowercase hex digits

    def _suffix(self) -> str:
        if self.digest:
            return f"@{DIGEST_PREFIX}{self.digest}"
        return f"@{self.alias}" if self.alias else f":{self.version}" if self.version else ""

    def __str__(self) -> str:
        return f"{self.workspace}/{self.project}/{self.name}{self._suffix()}"

    def written(self) -> str:
        """The reference as a user types it: `/`, `@`, `:` and `%` inside names percent-encoded,
        so `parse(reference.written())` gives it back (the web UI shows these to copy)."""
        return "/".join(part.translate(_WRITTEN) for part in (self.workspace, self.project, self.name)) + self._suffix()


def _wrong(message: str) -> ValidationError:
    return ValidationError({"ref": message})


def _part(text: str, what: str) -> str:
    if not text:
        raise _wrong(f"The {what} is empty; a reference is {SYNTAX}.")
    if _ESCAPES.search(text):
        raise _wrong(f"The {what} has a '%' that is not followed by two hex digits (write '%25' for '%').")
    value = unquote(text, errors="strict") if "%" in text else text
    if error := text_error(value):
        raise _wrong(f"The {what}: {error}")
    return value


def parse(text: str) -> Reference:
    """`vision/imagenet/resnet50@production` -> Reference; ValidationError({"ref": ...}) naming the wrong part."""
    if not text:
        raise _wrong(f"Give a reference: {SYNTAX}.")
    if len(text) > MAX_LENGTH:
        raise _wrong(f"A reference is at most {MAX_LENGTH} characters.")
    parts = text.split("/")
    if len(parts) != 3:
        raise _wrong(
            f"A reference has three parts separated by '/' ({SYNTAX}); this one has {len(parts)}."
            + (" Write a '/' inside a name as %2F." if len(parts) > 3 else "")
        )
    workspace, project, rest = parts
    digest = None
    if "@" + DIGEST_PREFIX in rest:
        # The digest's own ':' is not a version's: split it off before the other suffixes.
        rest, digest = rest.split("@" + DIGEST_PREFIX, 1)
        if not _DIGEST.fullmatch(digest):
            raise _wrong(f"The digest {digest[:70]!r} is not a SHA-256: sha256: takes 64 hexadecimal digits.")
        digest = digest.lower()
        if "@" in rest or ":" in rest:
            raise _wrong(
                "Give one of @<alias>, :<version> or @sha256:<digest> after the name;"
                " write '@' or ':' in a name as %40, %3A."
            )
    if rest.count("@") + rest.count(":") > 1:
        raise _wrong("Give either @<alias> or :<version> after the name, once; write '@' or ':' in a name as %40, %3A.")
    alias = version = None
    if "@" in rest:
        rest, alias = rest.split("@")
        if not re.fullmatch(ALIAS_PATTERN, alias):
            raise _wrong(f"The alias {alias[:70]!r} is not an alias name: an alias is {ALIAS_RULE}.")
    elif ":" in rest:
        rest, number = rest.split(":")
        if not (number.isascii() and number.isdecimal() and len(number) <= 10 and 0 < int(number) <= MAX_VERSION):
            raise _wrong(f"The version {number[:20]!r} is not a version number (a whole number from 1).")
        version = int(number)
    try:
        return Reference(
            workspace=_part(workspace, "workspace"),
            project=_part(project, "project"),
            name=_part(rest, "model name"),
            alias=alias,
            version=version,
            digest=digest,
        )
    except UnicodeDecodeError:
        raise _wrong("A percent-encoded part is not UTF-8.") from None


def resolve(reference: Reference, user) -> MLModel:
    """The version `reference` names, if `user` may see it (with its uploader and project).

    One query when it resolves; on a miss, a few more to say which part was not found (each
    part only among what the user may see, so a 404 tells nothing about hidden things). An
    unknown alias of a registered model the user sees is a 400, as the issue asks.
    """
    versions = (
        MLModel.objects.visible_to(user)
        .with_related()
        .filter(project__workspace__name=reference.workspace, project__name=reference.project, name=reference.name)
    )
    if reference.digest is not None:
        # Several versions may hold the same files (an upload with new_version): the newest.
        found = versions.filter(digest=reference.digest).order_by("-version").first()
    elif reference.alias is not None:
        found = versions.filter(aliases__name=reference.alias).first()
    elif reference.version is not None:
        found = versions.filter(version=reference.version).first()
    else:
        found = versions.order_by("-version").first()
    if found is None:
        _explain_miss(reference, user)
    return found


def _explain_miss(reference: Reference, user) -> None:
    workspace = Workspace.objects.visible_to(user).filter(name=reference.workspace).first()
    if workspace is None:
        raise ExplainedHttp404(f"No workspace {reference.workspace!r} that you can see.")
    project = Project.objects.filter(workspace=workspace, name=reference.project).first()
    if project is None:
        raise ExplainedHttp404(f"No project {reference.project!r} in workspace {reference.workspace!r}.")
    registered = RegisteredModel.objects.visible_to(user).filter(project=project, name=reference.name).first()
    if registered is None:
        raise ExplainedHttp404(f"No model {reference.name!r} in project {reference.project!r} that you can see.")
    if reference.digest is not None:
        raise ExplainedHttp404(
            f"{reference.name} has no version with digest sha256:{reference.digest} that you can see."
        )
    if reference.alias is not None:
        raise ValidationError({"ref": f"{reference.name} has no alias {reference.alias!r}."})
    raise ExplainedHttp404(f"{reference.name} has no version {reference.version} that you can see.")
