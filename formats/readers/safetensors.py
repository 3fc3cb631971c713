"""safetensors: an 8-byte little-endian header length, then a JSON header naming every tensor's
dtype, shape and byte range (https://github.com/huggingface/safetensors#format).

Parsed here rather than with the `safetensors` package: its `safe_open` maps a local file into
memory, and blobs may live on S3. The header is read once, its nesting checked before json
parses it (a valid header is three levels deep), and every tensor checked against the file.
"""

import json
import re
import struct

from formats.readers.base import MAX_HEADER_BYTES, SAFE, Budget, Facts, Stream, Unreadable, clip_metadata

DTYPES = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "F8_E5M2": ("float8_e5m2", 1),
    "F8_E4M3": ("float8_e4m3", 1),
    "F8_E8M0": ("float8_e8m0", 1),
    "F6_E2M3": ("float6_e2m3", None),
    "F6_E3M2": ("float6_e3m2", None),
    "F4": ("float4", None),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U64": ("uint64", 8),
    "U32": ("uint32", 4),
    "U16": ("uint16", 2),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
    "C64": ("complex64", 8),
}
MAX_DEPTH = 3  # {name: {"shape": [..], "data_offsets": [..]}}
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKETS = bytes.maketrans(b"{}", b"[]")
NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def looks_like(head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


def read(f, size: int, budget: Budget) -> Facts:
    stream = Stream(f, size)
    (length,) = struct.unpack("<Q", stream.read(8))
    if length > MAX_HEADER_BYTES:
        raise Unreadable(f"the header says it is {length:,} bytes long; Maisie reads at most {MAX_HEADER_BYTES:,}")
    if length > size - 8:
        raise Unreadable(f"the header says it is {length:,} bytes long, past the end of the file")
    raw = stream.read(length)
    check_depth(raw)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise Unreadable(f"the header is not JSON ({str(e)[:100]})") from None
    if not isinstance(header, dict):
        raise Unreadable("the header is not a JSON object")
    data_size = size - 8 - length
    facts = Facts(format="safetensors", verdict=SAFE, tensors=0, params=0)
    for name, entry in header.items():
        budget.tick()
        if name == "__metadata__":
            if not isinstance(entry, dict):
                raise Unreadable("__metadata__ is not an object")
            facts.metadata = clip_metadata(entry)
            continue
        dtype, numel, nbytes = tensor(name, entry, data_size)
        facts.tensors += 1
        facts.params += numel
        facts.bytes_by_dtype[dtype] = facts.bytes_by_dtype.get(dtype, 0) + nbytes
    return facts


def check_depth(raw: bytes) -> None:
    """Refuse nesting deeper than a safetensors header has, before json recurses into it: with
    strings removed and brackets made one kind, each pass removes the innermost pairs, so after
    MAX_DEPTH passes a header that nests no deeper is empty (C-speed; no loop per byte)."""
    brackets = JSON_STRING.sub(b"", raw).translate(BRACKETS, delete=NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        brackets = brackets.replace(b"[]", b"")
    if brackets:
        raise Unreadable(f"the header nests deeper than a safetensors header ({MAX_DEPTH} levels), or is unbalanced")


def tensor(name: str, entry, data_size: int) -> tuple[str, int, int]:
    if not isinstance(entry, dict):
        raise Unreadable(f"tensor {name[:80]!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPES:
        raise Unreadable(f"tensor {name[:80]!r} has an unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise Unreadable(f"tensor {name[:80]!r} has a malformed shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        raise Unreadable(f"tensor {name[:80]!r} has malformed data_offsets")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise Unreadable(f"tensor {name[:80]!r} lies outside the file")
    numel = 1
    for d in shape:
        numel *= d
    label, itemsize = DTYPES[dtype]
    if itemsize is not None and numel * itemsize != end - begin:
        raise Unreadable(f"tensor {name[:80]!r}: its shape and dtype do not match its byte range")
    return label, numel, end - begin
