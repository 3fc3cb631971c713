"""ONNX: a protobuf ModelProto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).

Parsed here from the protobuf wire format, reading only the fields shown (IR version, producer,
opsets, the graph's inputs and outputs, each initializer's dtype and dims) and seeking past the
rest. `onnx.load` would parse the whole message, weights included, into memory, and its wheel
brings protobuf and numpy to the server; a 2 GB model with embedded weights would cost 2 GB of
memory here, where this costs a few reads per initializer.
"""

from formats.readers.base import MAX_META_VALUE, SAFE, Budget, Facts, Stream, Unreadable, clip_metadata

VARINT, I64, LEN, I32 = 0, 1, 2, 5
MAX_IO = 10_000  # graph inputs/outputs kept
MAX_DIMS = 64
# TensorProto.DataType -> (name, bytes per element; None where not a whole byte or variable).
DTYPES = {
    1: ("float32", 4), 2: ("uint8", 1), 3: ("int8", 1), 4: ("uint16", 2), 5: ("int16", 2), 6: ("int32", 4),
    7: ("int64", 8), 8: ("string", None), 9: ("bool", 1), 10: ("float16", 2), 11: ("float64", 8),
    12: ("uint32", 4), 13: ("uint64", 8), 14: ("complex64", 8), 15: ("complex128", 16), 16: ("bfloat16", 2),
    17: ("float8e4m3fn", 1), 18: ("float8e4m3fnuz", 1), 19: ("float8e5m2", 1), 20: ("float8e5m2fnuz", 1),
    21: ("uint4", None), 22: ("int4", None), 23: ("float4e2m1", None),
}  # fmt: skip


def looks_like(head: bytes) -> bool:
    # A ModelProto starts with ir_version (field 1, varint): tag 0x08, then a small version.
    return len(head) >= 2 and head[0] == 0x08 and 0 < head[1] < 64


class Wire:
    """Reads protobuf fields from a bounded range of the stream."""

    def __init__(self, s: Stream, budget: Budget):
        self.s, self.budget = s, budget

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.s.read(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise Unreadable("a protobuf varint is longer than ten bytes")

    def fields(self, end: int):
        """Yield (field number, wire type) until `end`; the caller reads or skips the value."""
        while self.s.tell() < end:
            self.budget.tick()
            key = self.varint()
            yield key >> 3, key & 7
            if self.s.tell() > end:
                raise Unreadable("a protobuf field runs past its message")

    def length(self, end: int) -> int:
        n = self.varint()
        if self.s.tell() + n > end:
            raise Unreadable("a protobuf length points past its message")
        return n

    def string(self, end: int) -> str:
        n = self.length(end)
        if n > 64 * 1024:
            self.s.skip(n)
            return ""
        return self.s.read(n).decode("utf-8", "replace")

    def skip(self, wire: int, end: int) -> None:
        if wire == VARINT:
            self.varint()
        elif wire == I64:
            self.s.skip(8)
        elif wire == I32:
            self.s.skip(4)
        elif wire == LEN:
            self.s.skip(self.length(end))
        else:
            raise Unreadable(f"protobuf wire type {wire} is not one ONNX uses")

    def message(self, end: int) -> int:
        """Enter a length-delimited submessage; returns where it ends."""
        n = self.length(end)
        return self.s.tell() + n


def read(f, size: int, budget: Budget) -> Facts:
    w = Wire(Stream(f, size), budget)
    facts = Facts(format="onnx", verdict=SAFE, tensors=0, params=0)
    meta, opsets, props, graph_seen = {}, {}, {}, False
    for num, wire in w.fields(size):
        if num == 1 and wire == VARINT:
            meta["ir_version"] = w.varint()
        elif num in (2, 3, 4) and wire == LEN:
            meta[{2: "producer", 3: "producer_version", 4: "domain"}[num]] = w.string(size)
        elif num == 5 and wire == VARINT:
            meta["model_version"] = w.varint()
        elif num == 7 and wire == LEN:
            graph(w, w.message(size), facts, meta)
            graph_seen = True
        elif num == 8 and wire == LEN:
            domain, version = opset(w, w.message(size))
            opsets[domain or "ai.onnx"] = version
        elif num == 14 and wire == LEN and len(props) < 32:
            key, value = string_pair(w, w.message(size))
            props[key] = value
        else:
            w.skip(wire, size)
    if not graph_seen or "ir_version" not in meta:
        raise Unreadable("no ONNX graph found (not an ONNX model, or not one Maisie reads)")
    if "ai.onnx" in opsets:
        meta["opset"] = opsets["ai.onnx"]
    meta["opsets"] = ", ".join(f"{d} {v}" for d, v in sorted(opsets.items()))[:MAX_META_VALUE]
    facts.metadata = clip_metadata({**meta, **{f"meta.{k}": v for k, v in props.items()}})
    return facts


def graph(w: Wire, end: int, facts: Facts, meta: dict) -> None:
    inputs, outputs, initializers, nodes = [], [], set(), 0
    for num, wire in w.fields(end):
        if num == 1 and wire == LEN:
            nodes += 1
            w.skip(wire, end)
        elif num == 2 and wire == LEN:
            meta["graph"] = w.string(end)
        elif num == 5 and wire == LEN:
            name, dtype, numel, nbytes = initializer(w, w.message(end))
            initializers.add(name)
            facts.tensors += 1
            facts.params += numel
            facts.bytes_by_dtype[dtype] = facts.bytes_by_dtype.get(dtype, 0) + nbytes
        elif num in (11, 12) and wire == LEN:
            target = inputs if num == 11 else outputs
            item = value_info(w, w.message(end))
            if len(target) < MAX_IO:
                target.append(item)
        else:
            w.skip(wire, end)
    meta["nodes"] = nodes
    # Before IR 4 initializers were listed among the inputs too: the inputs shown are the others.
    meta["inputs"] = ", ".join(i for i in inputs if i.split(":")[0] not in initializers)[:MAX_META_VALUE]
    meta["outputs"] = ", ".join(outputs)[:MAX_META_VALUE]


def initializer(w: Wire, end: int) -> tuple[str, str, int, int]:
    dims, dtype, name = [], 0, ""
    for num, wire in w.fields(end):
        if num == 1 and wire == VARINT:
            dims.append(w.varint())
        elif num == 1 and wire == LEN:  # packed dims
            stop = w.message(end)
            while w.s.tell() < stop:
                dims.append(w.varint())
        elif num == 2 and wire == VARINT:
            dtype = w.varint()
        elif num == 8 and wire == LEN:
            name = w.string(end)
        else:
            w.skip(wire, end)  # raw_data, the typed data fields, external_data: never read
        if len(dims) > MAX_DIMS:
            raise Unreadable(f"an initializer has more than {MAX_DIMS} dimensions")
    label, itemsize = DTYPES.get(dtype, (f"type{dtype}", None))
    numel = 1
    for d in dims:
        numel *= d
    return name, label, numel, numel * itemsize if itemsize else 0


def value_info(w: Wire, end: int) -> str:
    """'name: dtype[d0, d1]' of a graph input or output (symbolic dims by their names)."""
    name, text = "", ""
    for num, wire in w.fields(end):
        if num == 1 and wire == LEN:
            name = w.string(end)
        elif num == 2 and wire == LEN:
            text = type_proto(w, w.message(end))
        else:
            w.skip(wire, end)
    return f"{name}: {text}" if text else name


def type_proto(w: Wire, end: int) -> str:
    out = ""
    for num, wire in w.fields(end):
        if num == 1 and wire == LEN:  # tensor_type
            stop = w.message(end)
            dtype, dims = 0, []
            for n2, w2 in w.fields(stop):
                if n2 == 1 and w2 == VARINT:
                    dtype = w.varint()
                elif n2 == 2 and w2 == LEN:
                    dims = shape(w, w.message(stop))
                else:
                    w.skip(w2, stop)
            out = f"{DTYPES.get(dtype, (f'type{dtype}',))[0]}[{', '.join(dims)}]"
        else:
            w.skip(wire, end)
    return out


def shape(w: Wire, end: int) -> list[str]:
    dims = []
    for num, wire in w.fields(end):
        if num == 1 and wire == LEN and len(dims) < MAX_DIMS:
            stop, dim = w.message(end), "?"
            for n2, w2 in w.fields(stop):
                if n2 == 1 and w2 == VARINT:
                    dim = str(w.varint())
                elif n2 == 2 and w2 == LEN:
                    dim = w.string(stop)[:40]
                else:
                    w.skip(w2, stop)
            dims.append(dim)
        else:
            w.skip(wire, end)
    return dims


def opset(w: Wire, end: int) -> tuple[str, int]:
    domain, version = "", 0
    for num, wire in w.fields(end):
        if num == 1 and wire == LEN:
            domain = w.string(end)
        elif num == 2 and wire == VARINT:
            version = w.varint()
        else:
            w.skip(wire, end)
    return domain, version


def string_pair(w: Wire, end: int) -> tuple[str, str]:
    key = value = ""
    for num, wire in w.fields(end):
        if num in (1, 2) and wire == LEN:
            text = w.string(end)[:MAX_META_VALUE]
            key, value = (text, value) if num == 1 else (key, text)
        else:
            w.skip(wire, end)
    return key[:100], value
