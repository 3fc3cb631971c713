"""What every header reader returns and the bounds they all read within (docs/formats.md).

A reader gets a seekable binary file object and its size, reads only the header its format
documents, and never loads weights or runs anything. Hostile input (a 10 GB length, deep JSON,
a truncated file) raises Unreadable, which `readers.read` turns into a recorded result; so does
running past the time bound, checked between records of the header.
"""

import time
from dataclasses import asdict, dataclass, field

from formats.verdicts import OTHER, PICKLE, PICKLE_FORMATS, SAFE, SAFE_FORMATS, SUSPICIOUS, UNKNOWN  # noqa: F401

# What a header read may cost: bytes read from the file, wall time, and the number of records
# (tensors, key/values, protobuf fields, pickle opcodes) one header may hold.
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit for its JSON header
MAX_SECONDS = 20.0
MAX_RECORDS = 2_000_000
MAX_STRING = 1024 * 1024
# What is kept of a format's own metadata: enough to show and search, never a tokenizer's
# vocabulary or a model card pasted into a header.
MAX_META_KEYS = 64
MAX_META_VALUE = 500


class Unreadable(Exception):
    """The header is malformed, hostile or past a bound; the message says which, for people."""


@dataclass
class Facts:
    """What was read from one file. `params` is None where the format does not say (a pickle)."""

    format: str
    readable: bool = True
    reason: str = ""
    tensors: int | None = None
    params: int | None = None
    bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    # Pickle formats only: the globals the pickle imports ("module.name") and the scan's verdict.
    globals: list[str] = field(default_factory=list)
    verdict: str = UNKNOWN
    verdict_reason: str = ""

    @property
    def dtypes(self) -> list[str]:
        return sorted(self.bytes_by_dtype)

    def as_dict(self) -> dict:
        return asdict(self)


def unreadable(fmt: str, reason: str, *, verdict: str | None = None) -> Facts:
    # A safe format stays safe to load when its header is broken (its loader refuses the file,
    # it runs nothing); a pickle that cannot be scanned is unknown.
    if verdict is None:
        verdict = SAFE if fmt in SAFE_FORMATS else UNKNOWN
    return Facts(format=fmt, readable=False, reason=reason[:MAX_META_VALUE], verdict=verdict)


class Budget:
    """The time and record bound of one read; `tick` is called once per record of the header."""

    def __init__(self, seconds: float = MAX_SECONDS, records: int = MAX_RECORDS):
        self.deadline = time.monotonic() + seconds
        self.records_left = records

    def tick(self, n: int = 1) -> None:
        self.records_left -= n
        if self.records_left < 0:
            raise Unreadable("the header has more records than Maisie reads")
        if self.records_left % 4096 == 0 and time.monotonic() > self.deadline:
            raise Unreadable("reading the header took longer than Maisie allows")


class Stream:
    """Buffered, position-tracked reads of a seekable file object (S3 streams too), with
    exact-length reads that raise Unreadable on a truncated file instead of returning short."""

    CHUNK = 1024 * 1024

    def __init__(self, f, size: int):
        self.f, self.size = f, size
        self.f.seek(0)
        self.pos = 0  # the file position of buf[0]
        self.buf = b""
        self.off = 0

    def tell(self) -> int:
        return self.pos + self.off

    def read(self, n: int) -> bytes:
        if n < 0 or self.tell() + n > self.size:
            raise Unreadable("the file ends inside its header (truncated, or a length past its end)")
        avail = len(self.buf) - self.off
        if n <= avail:
            self.off += n
            return self.buf[self.off - n : self.off]
        head, need = self.buf[self.off :], n - avail
        base = self.pos + len(self.buf)  # where the file object stands
        data = bytearray()
        while len(data) < need:
            chunk = self.f.read(max(need - len(data), self.CHUNK))
            if not chunk:
                raise Unreadable("the file ends inside its header (truncated)")
            data += chunk
        self.pos, self.buf, self.off = base, bytes(data), need
        return head + self.buf[:need]

    def skip(self, n: int) -> None:
        target = self.tell() + n
        if n < 0 or target > self.size:
            raise Unreadable("a length in the header points past the end of the file")
        if self.off + n <= len(self.buf):
            self.off += n
            return
        self.f.seek(target)
        self.pos, self.buf, self.off = target, b"", 0


def clip_metadata(meta: dict) -> dict:
    """A format's own metadata as kept: at most MAX_META_KEYS scalar entries, long text cut."""
    kept = {}
    for key, value in meta.items():
        if len(kept) >= MAX_META_KEYS:
            break
        if isinstance(value, str):
            value = value[:MAX_META_VALUE]
        elif not isinstance(value, (int, float, bool)) or value is None:
            value = str(value)[:MAX_META_VALUE]
        kept[str(key)[:200]] = value
    return kept
