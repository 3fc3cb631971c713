"""A blob as the seekable file the readers need, on the file system and on S3 alike.

registry.blobs.open_blob gives a seekable file from the file system, but from S3 the body of
one GET, read forward only. Readers seek (a zip's directory is at its end; ONNX and GGUF skip
what they do not read), so on S3 each read is a ranged GET of at least WINDOW bytes: a header
read costs a few requests and never the whole object.
"""

import io

from registry import blobs

WINDOW = 1024 * 1024


class RangedBlob(io.RawIOBase):
    def __init__(self, blob):
        self.blob, self.size, self.pos = blob, blob.size, 0
        self.window_start, self.window = 0, b""

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, b):
        if self.pos >= self.size:
            return 0
        offset = self.pos - self.window_start
        if not 0 <= offset < len(self.window):
            end = min(self.size, self.pos + max(len(b), WINDOW)) - 1
            with blobs.open_blob(self.blob, (self.pos, end)) as body:
                self.window_start, self.window = self.pos, body.read()
            offset = 0
        n = min(len(b), len(self.window) - offset)
        b[:n] = self.window[offset : offset + n]
        self.pos += n
        return n


def open_seekable(blob):
    """The blob's bytes as a seekable binary file object; the caller closes it."""
    if blobs.is_s3(blobs.storage()):
        return RangedBlob(blob)  # not a whole-object GET first
    f = blobs.open_blob(blob)
    if getattr(f, "seekable", lambda: False)():
        return f
    f.close()
    return RangedBlob(blob)
