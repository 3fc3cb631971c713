"""Sizes and times: how parts are cut (MAISIE_UPLOAD_PART_BYTES, S3's part limit) and when a session expires."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from registry.models import UploadSessionBlob

MiB = 1024 * 1024
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
S3_PART_PREFIX = "uploads"
# Bytes read at a time when a hash is rebuilt from what was received.
READ_BYTES = 1024 * 1024


# ----------------------------------------------------------------------------- sizes and times


def part_size_for(size: int) -> int:
    """MAISIE_UPLOAD_PART_BYTES, raised (to whole MiB) for a blob that would need more than MAX_PARTS."""
    least = -(-size // MAX_PARTS)
    if least <= settings.MAISIE_UPLOAD_PART_BYTES:
        return settings.MAISIE_UPLOAD_PART_BYTES
    return -(-least // MiB) * MiB


def part_count(blob: UploadSessionBlob) -> int:
    """A blob of 0 bytes is one empty part."""
    return max(1, -(-blob.size // blob.part_size))


def _expires():
    return timezone.now() + timedelta(seconds=settings.MAISIE_UPLOAD_SESSION_TTL)
