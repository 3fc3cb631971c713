"""Workspace quotas and usage (docs/storage.md, "Quotas").

Usage is counted per workspace: a blob shared with another workspace counts in full in each, so
nobody learns from their own figures that someone else holds a file. The quota applies to the
stored bytes plus what open upload sessions have announced, so two sessions cannot each fit in
what is left and together overrun it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from rest_framework import exceptions, status

from registry.models import Blob, ManifestEntry, Role, UploadSession, Workspace


class QuotaExceeded(exceptions.APIException, ValidationError):
    """413 before a byte is stored, saying what is used, what the upload needs and what is allowed.

    Also a Django ValidationError, so the web upload form shows it above the form as it shows
    the service's other refusals (maisie_site/api_errors.py answers it as the 413 it is)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "quota_exceeded"

    def __init__(self, *, used: int, needed: int, allowed: int):
        message = (
            f"This upload needs {needed} bytes, and the workspace's quota is {allowed} bytes,"
            f" of which {used} are used (stored, or announced by open uploads)."
        )
        exceptions.APIException.__init__(self, message)
        ValidationError.__init__(self, message, code="quota_exceeded")
        self.error_fields = {"code": "quota_exceeded", "used": used, "needed": needed, "allowed": allowed}


@dataclass(frozen=True)
class Usage:
    logical: int  # what the workspace's versions add up to (each version's manifest total)
    stored: int  # the distinct blobs its versions reference, each once
    announced: int  # what its open upload sessions will add
    quota: int | None  # None: no quota


def quota_of(workspace: Workspace) -> int | None:
    """The workspace's quota in bytes: its own, else MAISIE_WORKSPACE_QUOTA_BYTES (0: none)."""
    if workspace.quota_bytes is not None:
        return workspace.quota_bytes
    return settings.MAISIE_WORKSPACE_QUOTA_BYTES or None


def _entries(workspace_id: int):
    return ManifestEntry.objects.filter(model__project__workspace_id=workspace_id)


def stored_shas(workspace_id: int, shas) -> set[str]:
    """Those of `shas` whose blobs the workspace's versions already reference (they cost it nothing)."""
    return set(_entries(workspace_id).filter(blob_id__in=list(shas)).values_list("blob_id", flat=True))


def _announced(workspace_id: int, exclude=None) -> int:
    sessions = UploadSession.objects.filter(project__workspace_id=workspace_id, expires__gt=timezone.now())
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude)
    return sessions.aggregate(total=Sum("announced_bytes"))["total"] or 0


def usage(workspace: Workspace) -> Usage:
    logical = _entries(workspace.pk).aggregate(total=Sum("blob__size"))["total"] or 0
    referenced = _entries(workspace.pk).values("blob_id")
    stored = Blob.objects.filter(sha256__in=referenced).aggregate(total=Sum("size"))["total"] or 0
    return Usage(logical=logical, stored=stored, announced=_announced(workspace.pk), quota=quota_of(workspace))


def new_bytes(workspace_id: int, sizes: dict[str, int]) -> int:
    """What blobs of these SHA-256s (and sizes) would add to the workspace's stored bytes."""
    known = stored_shas(workspace_id, sizes)
    return sum(size for sha, size in sizes.items() if sha not in known)


def check(workspace: Workspace, needed: int, *, exclude_session=None) -> None:
    """QuotaExceeded unless stored + open sessions (but `exclude_session`) + `needed` fit the quota.
    At a session's completion the caller holds the workspace's row lock, so two completions
    are counted one after the other."""
    allowed = quota_of(workspace)
    if allowed is None or needed == 0:
        return
    now = usage(workspace)
    used = now.stored + _announced(workspace.pk, exclude=exclude_session)
    if used + needed > allowed:
        raise QuotaExceeded(used=used, needed=needed, allowed=allowed)


def refuse_body_over_quota(user, content_length: int | None, overhead: int) -> None:
    """Before a single-request upload's body is read: QuotaExceeded when it announces more bytes
    (less `overhead`, the multipart framing and fields) than any workspace the caller may upload
    to has left. The body names the project, so this is the most that can be known before it."""
    if not content_length or content_length <= overhead:
        return
    left = left_in_any(user)
    if left is not None and content_length - overhead > left:
        error = QuotaExceeded(used=0, needed=content_length - overhead, allowed=max(left, 0))
        error.detail = exceptions.ErrorDetail(
            f"This upload is {content_length - overhead} bytes or more; no workspace you can upload to"
            f" has more than {max(left, 0)} bytes left of its quota. Nothing was stored.",
            code="quota_exceeded",
        )
        error.error_fields = {"code": "quota_exceeded", "needed": content_length - overhead, "left": max(left, 0)}
        raise error


def left_in_any(user) -> int | None:
    """The most bytes one upload could add in any workspace `user` may upload to (None: one of
    them has no quota, or the user is staff and may upload anywhere). The single-request upload
    knows only this before it reads the body, which names the project."""
    if user.is_staff:
        return None
    roles = [Role.OWNER, Role.MEMBER]
    best = 0
    for workspace in Workspace.objects.filter(memberships__user=user, memberships__role__in=roles).distinct():
        allowed = quota_of(workspace)
        if allowed is None:
            return None
        current = usage(workspace)
        best = max(best, allowed - current.stored - current.announced)
    return best
