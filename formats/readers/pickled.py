"""Files whose loading runs pickle opcodes: PyTorch zip checkpoints (`<name>/data.pkl` beside
`<name>/data/<key>` storages), torch's legacy format (pickles one after the other), joblib
dumps (raw or compressed) and plain pickles. Only the zip directory and the pickle opcodes are
read (formats/pickles.py); nothing is unpickled.
"""

import bz2
import gzip
import io
import lzma
import re
import struct
import zipfile
import zlib

from formats import pickles
from formats.readers.base import Facts, Unreadable

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_ZIP_ENTRIES = 100_000
MAX_ZIP_DIRECTORY = 64 * 1024 * 1024
MAX_PICKLES_IN_ZIP = 16
DATA_PKL = re.compile(r"^(?:[^/]+/)?data\.pkl$")
# torch.<X>Storage -> (dtype, bytes per element)
STORAGES = {
    "FloatStorage": ("float32", 4), "DoubleStorage": ("float64", 8), "HalfStorage": ("float16", 2),
    "BFloat16Storage": ("bfloat16", 2), "LongStorage": ("int64", 8), "IntStorage": ("int32", 4),
    "ShortStorage": ("int16", 2), "CharStorage": ("int8", 1), "ByteStorage": ("uint8", 1),
    "BoolStorage": ("bool", 1), "ComplexFloatStorage": ("complex64", 8), "ComplexDoubleStorage": ("complex128", 16),
    "Float8_e4m3fnStorage": ("float8_e4m3fn", 1), "Float8_e5m2Storage": ("float8_e5m2", 1),
}  # fmt: skip
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".sav", ".dill", ".npy")
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
# Compressed joblib dumps, by magic: decompressed as a stream, bounded like any pickle.
COMPRESSIONS = ((b"\x1f\x8b", gzip.GzipFile), (b"BZh", bz2.BZ2File), (b"\xfd7zXZ\x00", lzma.LZMAFile))


def looks_like_zip(head: bytes) -> bool:
    return head[:4] in ZIP_MAGIC


def looks_like_pickle(head: bytes, name: str) -> bool:
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True  # a PROTO opcode: pickle protocol 2 to 5
    return name.lower().endswith(PICKLE_SUFFIXES)


def read_zip(f, size: int) -> Facts | None:
    """A PyTorch checkpoint's facts, or None when the zip holds no pickle (not ours to read)."""
    check_directory(f, size)
    f.seek(0)
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise Unreadable(f"the zip directory is malformed ({str(e)[:100]})") from None
    infos = zf.infolist()
    pkls = [i for i in infos if i.filename.endswith(".pkl")]
    if not pkls:
        return None
    main = next((i for i in pkls if DATA_PKL.match(i.filename)), None)
    facts = Facts(format="pytorch")
    merged, reasons, complete = {}, [], True
    scans = []
    for info in ([main] if main else []) + [i for i in pkls if i is not main][: MAX_PICKLES_IN_ZIP - 1]:
        with zf.open(info) as member:
            scan = pickles.scan(member)
        scans.append(scan)
        merged.update(dict.fromkeys(scan.globals))
        complete = complete and scan.complete
        if scan.reason and scan.verdict != pickles.PICKLE:
            reasons.append(f"{info.filename}: {scan.reason}")
    if len(pkls) > MAX_PICKLES_IN_ZIP:
        complete = False
        reasons.append(f"only the first {MAX_PICKLES_IN_ZIP} of {len(pkls)} pickles were scanned")
    combined = pickles.Scan(globals=list(merged)[: pickles.MAX_GLOBALS_KEPT], complete=complete)
    pickles.judge(combined)
    facts.globals, facts.verdict = combined.globals, combined.verdict
    facts.verdict_reason = "; ".join(reasons) if reasons and combined.verdict != pickles.SUSPICIOUS else combined.reason
    if main is not None and scans:
        tensors_from(scans[0], facts)
    facts.metadata = {"pickles": len(pkls), "entries": len(infos)}
    if any(i.filename.split("/", 2)[1:2] == ["code"] for i in infos):
        facts.metadata["torchscript"] = True
    return facts


def tensors_from(scan: pickles.Scan, facts: Facts) -> None:
    facts.tensors = scan.tensors
    if not scan.storages:
        return
    facts.params = 0
    for type_name, numel in scan.storages.values():
        dtype, itemsize = STORAGES.get(type_name.rpartition(".")[2], (type_name.rpartition(".")[2], 0))
        facts.params += numel
        facts.bytes_by_dtype[dtype] = facts.bytes_by_dtype.get(dtype, 0) + numel * itemsize


def check_directory(f, size: int) -> None:
    """Refuse a zip whose central directory is too large to list, before zipfile lists it."""
    tail_size = min(size, 65536 + 22)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise Unreadable("no zip directory at the end of the file (truncated?)")
    entries, dir_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if (entries == 0xFFFF or dir_size == 0xFFFFFFFF) and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[at - 12 : at - 4])
        if offset + 56 > size:
            raise Unreadable("the zip64 directory points past the end of the file")
        f.seek(offset)
        record = f.read(56)
        if record[:4] != b"PK\x06\x06":
            raise Unreadable("the zip64 directory is malformed")
        entries, dir_size = struct.unpack("<QQ", record[32:48])
    if entries > MAX_ZIP_ENTRIES or dir_size > MAX_ZIP_DIRECTORY:
        raise Unreadable(f"the zip lists {entries:,} entries in {dir_size:,} bytes, more than Maisie reads")


def read_pickle(f, size: int, name: str) -> Facts:
    lower = name.lower()
    f.seek(0)
    head = f.read(8)
    f.seek(0)
    stream, compression = f, None
    for magic, opener in COMPRESSIONS:
        if head.startswith(magic):
            stream, compression = opener(fileobj=f, mode="rb") if opener is not lzma.LZMAFile else opener(f), magic
            break
    else:
        if head[:1] == b"x" and len(head) > 1 and (head[0] * 256 + head[1]) % 31 == 0:
            stream, compression = ZlibStream(f), b"zlib"
    scan = pickles.scan(stream, pickles=5)
    fmt = "joblib" if lower.endswith(".joblib") or any(g.startswith("joblib.") for g in scan.globals) else "pickle"
    if lower.endswith(TORCH_SUFFIXES) and fmt == "pickle":
        fmt = "pytorch"
    facts = Facts(format=fmt, globals=scan.globals, verdict=scan.verdict, verdict_reason=scan.reason)
    if scan.storages or scan.tensors:
        tensors_from(scan, facts)
    if compression:
        facts.metadata["compressed"] = {b"zlib": "zlib", b"\x1f\x8b": "gzip", b"BZh": "bz2"}.get(compression, "xz")
    return facts


class ZlibStream(io.RawIOBase):
    """joblib's zlib-compressed dumps as a stream; pickles.scan bounds how much is read."""

    def __init__(self, f):
        self.f, self.d, self.pending = f, zlib.decompressobj(), b""

    def readable(self):
        return True

    def readinto(self, b):
        while not self.pending:
            chunk = self.f.read(64 * 1024)
            if not chunk:
                self.pending = self.d.flush()
                if not self.pending:
                    return 0
                break
            self.pending = self.d.decompress(chunk, 1024 * 1024)
            if self.d.unconsumed_tail:
                # Keep the rest for the next call without inflating past what was asked.
                self.f = _Prefixed(self.d.unconsumed_tail, self.f)
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


class _Prefixed:
    def __init__(self, prefix: bytes, f):
        self.prefix, self.f = prefix, f

    def read(self, n: int) -> bytes:
        if self.prefix:
            out, self.prefix = self.prefix[:n], self.prefix[n:]
            return out
        return self.f.read(n)
