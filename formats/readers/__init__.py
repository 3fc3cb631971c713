"""Header readers: what a model file is and what it holds, read without loading or running it.

`read(f, size, name)` picks the reader by the file's first bytes (its name only where a format
has no magic: ONNX, old pickles) and always returns Facts: a malformed, hostile or oversized
header gives an unreadable result with a reason, never an exception (docs/formats.md).
"""

import logging

from formats.readers import gguf, onnx, pickled, safetensors
from formats.readers.base import OTHER, Budget, Facts, Unreadable, unreadable

log = logging.getLogger(__name__)

__all__ = ["Facts", "read"]


def sniff(head: bytes, name: str) -> str:
    lower = name.lower()
    if gguf.looks_like(head):
        return "gguf"
    if lower.endswith(".safetensors") or safetensors.looks_like(head):
        return "safetensors"
    if pickled.looks_like_zip(head):
        return "zip"
    if head[:1] == b"\x80":
        return "pickle"  # a PROTO opcode (pickled.looks_like_pickle checks its protocol)
    if lower.endswith(".onnx") or onnx.looks_like(head):
        return "onnx"  # no magic number: a ModelProto's first field (0x08 is no pickle opcode)
    if pickled.looks_like_pickle(head, lower):
        return "pickle"
    return OTHER


def read(f, size: int, name: str = "") -> Facts:
    f.seek(0)
    head = f.read(16)
    kind = sniff(head, name)
    if kind == OTHER:
        return Facts(format=OTHER, reason="not a model format Maisie reads")
    fmt = {"zip": "pytorch"}.get(kind, kind)
    try:
        if kind == "safetensors":
            return safetensors.read(f, size, Budget())
        if kind == "gguf":
            return gguf.read(f, size, Budget())
        if kind == "onnx":
            return onnx.read(f, size, Budget())
        if kind == "zip":
            return pickled.read_zip(f, size) or Facts(format=OTHER, reason="a zip archive with no pickle in it")
        return pickled.read_pickle(f, size, name)
    except Unreadable as e:
        if kind == "onnx" and not name.lower().endswith(".onnx"):
            # Its first bytes only looked like ONNX: a pickle by its name, or nothing Maisie reads.
            if pickled.looks_like_pickle(b"", name.lower()):
                return pickled.read_pickle(f, size, name)
            return Facts(format=OTHER, reason="not a model format Maisie reads")
        return unreadable(fmt, str(e))
    except Exception as e:  # a reader's bug must not crash the worker: record it
        log.exception("formats: reading %r failed", name)
        return unreadable(fmt, f"Maisie's {fmt} reader failed ({type(e).__name__}); the file was not judged")
