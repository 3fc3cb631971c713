"""Upload sessions: a version's files sent in numbered parts, resumable, checked before any byte
(docs/storage.md, "Upload sessions"). Every write to sessions goes through here; the version
itself is created by `services.model_register`, the same write path as the single-request upload.

Where parts go: on the file system they are appended to `<data dir>/uploads/<session>/<sha256>`
and fsynced before they are acknowledged; on S3 each is spooled to one temporary file and stored
as its own object, `uploads/<session>/<sha256>/<n>-<random>`, and the blob is assembled into its
final key by UploadPartCopy once it is verified (S3 cannot read back an unfinished multipart
upload's parts, which rebuilding the hash needs). Blob keys only ever receive verified bytes.

The package, in the order its parts import each other (no cycles): errors.py holds the three
exceptions; limits.py the part sizes, the part count and the expiry time; stored.py where
received bytes live (part files, S3 part objects, assembling a blob on S3, removing a session's
parts); parts.py receiving a part (the running-hash cache, Content-Digest, the file and S3
receivers, acknowledging); sessions.py finding, opening, completing, aborting and expiring sessions.
"""

from registry.upload_sessions.errors import LengthRequired, PartRefused, SessionConflict
from registry.upload_sessions.limits import part_count, part_size_for
from registry.upload_sessions.parts import _HASHES, parse_content_digest, receive_part
from registry.upload_sessions.sessions import abort, complete, expire, open_session, session_for
from registry.upload_sessions.stored import uploads_root

__all__ = [
    "_HASHES",
    "LengthRequired",
    "PartRefused",
    "SessionConflict",
    "abort",
    "complete",
    "expire",
    "open_session",
    "parse_content_digest",
    "part_count",
    "part_size_for",
    "receive_part",
    "session_for",
    "uploads_root",
]
