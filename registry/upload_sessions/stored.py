"""Where received bytes live: part files under `uploads_root()`, part objects on S3; reading,
writing and deleting them, assembling a verified blob on S3, removing a session's parts."""

import contextlib
import os
import shutil
from pathlib import Path

from registry import blobs
from registry.models import UploadSessionBlob
from registry.upload_sessions.limits import READ_BYTES


def uploads_root() -> Path:
    """`<data dir>/uploads`: beside the media folder, so a verified blob is renamed into place."""
    return Path(blobs.storage().location).parent / "uploads"


def _part_dir(session_id) -> Path:
    return uploads_root() / str(session_id)


def _write_all(fd: int, chunk) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


def _file_chunks(fd: int, end: int):
    offset = 0
    while offset < end:
        chunk = os.pread(fd, min(READ_BYTES, end - offset), offset)
        if not chunk:
            raise OSError(f"part file ended at {offset} of {end} bytes")
        offset += len(chunk)
        yield chunk


def _s3_client():
    store = blobs.storage()
    return store.connection.meta.client, store.bucket_name


def _object_chunks(names):
    for name in names:
        with contextlib.closing(blobs.open_key(name)) as reader:
            while chunk := reader.read(READ_BYTES):
                yield chunk


def _delete_objects(names) -> None:
    if not names:
        return
    client, bucket = _s3_client()
    for start in range(0, len(names), 1000):
        batch = [{"Key": name} for name in names[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def _assemble(blob: UploadSessionBlob, key: str) -> None:
    """S3: the verified part objects copied into the blob's key by one multipart upload,
    server-side; completed only when every part is copied, aborted otherwise."""
    client, bucket = _s3_client()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        done = []
        for index, name in enumerate(blob.parts, start=1):
            copied = client.upload_part_copy(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=index, CopySource={"Bucket": bucket, "Key": name}
            )
            done.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": index})
        if not done:  # an empty blob: one empty part
            part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"")
            done.append({"ETag": part["ETag"], "PartNumber": 1})
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    except BaseException:
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _remove_parts(session_id, rows) -> None:
    """The session's received bytes that are not blobs (the session's rows are gone already)."""
    shutil.rmtree(_part_dir(session_id), ignore_errors=True)
    if blobs.is_s3(blobs.storage()):
        with contextlib.suppress(Exception):
            _delete_objects([name for row in rows for name in row.parts])
