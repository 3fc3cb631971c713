"""GGUF (llama.cpp): magic, version, tensor and key/value counts, the key/values, then one info
per tensor (name, dims, ggml type, offset); the weights follow
(https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).

Parsed here rather than with `gguf.GGUFReader`, which memory-maps a local file (blobs may live
on S3) and materialises every array. Counts and string lengths are checked against caps and the
file's size before anything is read; arrays (a tokenizer's vocabulary) are skipped, not kept.
"""

import struct

from formats.readers.base import MAX_STRING, SAFE, Budget, Facts, Stream, Unreadable, clip_metadata

MAGIC = b"GGUF"
MAX_TENSORS = 1_000_000
MAX_KEYS = 100_000
MAX_DIMS = 8
# GGUFValueType: struct format of the scalars; 8 string, 9 array.
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
# GGMLQuantizationType -> (name, elements per block, bytes per block), as gguf.constants has them.
GGML_TYPES = {
    0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20), 6: ("q5_0", 32, 22),
    7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 40), 10: ("q2_k", 256, 84), 11: ("q3_k", 256, 110),
    12: ("q4_k", 256, 144), 13: ("q5_k", 256, 176), 14: ("q6_k", 256, 210), 15: ("q8_k", 256, 292),
    16: ("iq2_xxs", 256, 66), 17: ("iq2_xs", 256, 74), 18: ("iq3_xxs", 256, 98), 19: ("iq1_s", 256, 50),
    20: ("iq4_nl", 32, 18), 21: ("iq3_s", 256, 110), 22: ("iq2_s", 256, 82), 23: ("iq4_xs", 256, 136),
    24: ("i8", 1, 1), 25: ("i16", 1, 2), 26: ("i32", 1, 4), 27: ("i64", 1, 8), 28: ("f64", 1, 8),
    29: ("iq1_m", 256, 56), 30: ("bf16", 1, 2), 34: ("tq1_0", 256, 54), 35: ("tq2_0", 256, 66),
    39: ("mxfp4", 32, 17), 40: ("nvfp4", 64, 36), 41: ("q1_0", 128, 18),
}  # fmt: skip
# general.file_type (LlamaFileType): the quantization the whole file was made with.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip
# Keys lifted into the facts under plain names (the architecture's own keys are prefixed by it).
ARCH_KEYS = ("context_length", "embedding_length", "block_count", "expert_count")


def looks_like(head: bytes) -> bool:
    return head[:4] == MAGIC


class Reader:
    def __init__(self, stream: Stream, budget: Budget, version: int):
        self.s, self.budget = stream, budget
        self.count = "<I" if version == 1 else "<Q"  # version 1 had 32-bit counts and lengths

    def scalar(self, fmt: str):
        return struct.unpack(fmt, self.s.read(struct.calcsize(fmt)))[0]

    def length(self, cap: int, what: str) -> int:
        n = self.scalar(self.count)
        if n > cap or n > self.s.size - self.s.tell():
            raise Unreadable(f"{what} says {n:,}, more than Maisie reads or the file holds")
        return n

    def string(self, cap: int = MAX_STRING) -> str:
        return self.s.read(self.length(cap, "a string's length")).decode("utf-8", "replace")

    def value(self, vtype: int, depth: int = 0):
        """One value; arrays are skipped and summarised (a vocabulary is not metadata to keep)."""
        self.budget.tick()
        if vtype in SCALARS:
            return self.scalar(SCALARS[vtype])
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            if depth > 2:
                raise Unreadable("arrays nest deeper than Maisie reads")
            itype = self.scalar("<I")
            n = self.length(self.s.size, "an array's length")
            if itype in SCALARS:
                self.s.skip(n * struct.calcsize(SCALARS[itype]))
                self.budget.tick()
            else:
                for _ in range(n):
                    self.value(itype, depth + 1)
            return f"[{n} values]"
        raise Unreadable(f"a key/value has an unknown type {vtype}")


def read(f, size: int, budget: Budget) -> Facts:
    s = Stream(f, size)
    if s.read(4) != MAGIC:
        raise Unreadable("not a GGUF file (no GGUF magic)")
    (version,) = struct.unpack("<I", s.read(4))
    if version not in (1, 2, 3):
        raise Unreadable(f"GGUF version {version} is not one Maisie reads")
    r = Reader(s, budget, version)
    n_tensors = r.length(MAX_TENSORS, "the tensor count")
    n_keys = r.length(MAX_KEYS, "the key/value count")
    meta = {}
    for _ in range(n_keys):
        key = r.string(64 * 1024)
        meta[key] = r.value(r.scalar("<I"))
    facts = Facts(format="gguf", verdict=SAFE, tensors=n_tensors, params=0)
    for _ in range(n_tensors):
        budget.tick()
        r.string(64 * 1024)  # the tensor's name
        n_dims = r.scalar("<I")
        if n_dims > MAX_DIMS:
            raise Unreadable(f"a tensor has {n_dims} dimensions; GGUF allows {MAX_DIMS}")
        numel = 1
        for _ in range(n_dims):
            numel *= r.scalar("<Q")
        gtype = r.scalar("<I")
        r.scalar("<Q")  # its offset in the data section
        if gtype not in GGML_TYPES:
            raise Unreadable(f"a tensor has an unknown ggml type {gtype}")
        name, block, block_bytes = GGML_TYPES[gtype]
        facts.params += numel
        facts.bytes_by_dtype[name] = facts.bytes_by_dtype.get(name, 0) + numel // block * block_bytes
    facts.metadata = summary(meta, version)
    return facts


def summary(meta: dict, version: int) -> dict:
    arch = meta.get("general.architecture")
    out = {"gguf_version": version}
    if isinstance(arch, str):
        out["architecture"] = arch
        for key in ARCH_KEYS:
            if isinstance(meta.get(f"{arch}.{key}"), int):
                out[key] = meta[f"{arch}.{key}"]
    if isinstance(meta.get("general.file_type"), int):
        out["quantization"] = FILE_TYPES.get(meta["general.file_type"], str(meta["general.file_type"]))
    for key in ("general.name", "general.quantization_version", "general.size_label", "general.license"):
        if key in meta:
            out[key.removeprefix("general.")] = meta[key]
    # The rest of the scalar keys, for people to read (arrays were summarised as "[n values]").
    rest = {k: v for k, v in meta.items() if k not in out and not str(v).startswith("[")}
    return clip_metadata({**out, **rest})
