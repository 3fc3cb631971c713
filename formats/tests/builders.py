"""Model files the tests make themselves, with each format's own writer where one exists.

PyTorch is not installed here: its checkpoints are assembled opcode by opcode exactly as
torch.save lays them out (a zip of `<name>/data.pkl` and `<name>/data/<key>`), which is also
what lets a test plant a malicious opcode in one.
"""

import io
import os
import pickle
import struct
import zipfile

import numpy as np

# The tensors of the safetensors, GGUF and PyTorch fixtures: 12 + 5 + 4 = 21 parameters.
TENSORS = {
    "layer.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
    "layer.bias": np.ones(5, dtype=np.float16),
    "steps": np.zeros((2, 2), dtype=np.int64),
}
PARAMS = 21


def safetensors_bytes(tensors=TENSORS, metadata=None) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata=metadata)


def gguf_file(path) -> None:
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_context_length(2048)
    w.add_embedding_length(4)
    w.add_block_count(1)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_token_list([f"tok{i}" for i in range(1000)])  # an array: summarised, never kept
    w.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float16))
    w.add_tensor("output_norm.weight", np.ones(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def onnx_bytes() -> bytes:
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [3, 2], [0.5] * 6)
    bias = helper.make_tensor("B", TensorProto.FLOAT, [2], [0.0, 1.0])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]), helper.make_node("Add", ["XW", "B"], ["Y"])],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 2])],
        initializer=[weight, bias],
    )
    model = helper.make_model(graph, producer_name="maisie-tests", opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


class Ops:
    """A pickle written opcode by opcode (protocol 2), for torch's layout without torch."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")

    def raw(self, b: bytes):
        self.out += b
        return self

    def glob(self, module: str, name: str):
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def text(self, s: str):
        data = s.encode()
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def int(self, n: int):
        return self.raw(b"J" + struct.pack("<i", n))

    def tensor(self, name: str, key: str, storage: str, shape: tuple[int, ...]):
        numel = int(np.prod(shape))
        self.text(name).glob("torch._utils", "_rebuild_tensor_v2").raw(b"(")
        self.raw(b"(").text("storage").glob("torch", storage).text(key).text("cpu").int(numel).raw(b"tQ")
        self.int(0).raw(b"(")
        for d in shape:
            self.int(d)
        self.raw(b"t(")
        stride = [int(np.prod(shape[i + 1 :])) for i in range(len(shape))]
        for s in stride:
            self.int(s)
        self.raw(b"t\x89").glob("collections", "OrderedDict").raw(b")R")  # requires_grad, hooks
        return self.raw(b"tR")

    def state_dict(self, tensors) -> bytes:
        self.glob("collections", "OrderedDict").raw(b")R(")
        for name, key, storage, shape in tensors:
            self.tensor(name, key, storage, shape)
        return bytes(self.raw(b"u.").out)


TORCH_TENSORS = [("layer.weight", "0", "FloatStorage", (3, 4)), ("layer.bias", "1", "HalfStorage", (5,)),
                 ("steps", "2", "LongStorage", (2, 2))]  # fmt: skip


def torch_zip(data_pkl: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("tiny/data.pkl", data_pkl if data_pkl is not None else Ops().state_dict(TORCH_TENSORS))
        z.writestr("tiny/byteorder", "little")
        for _name, key, storage, shape in TORCH_TENSORS:
            size = {"FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8}[storage] * int(np.prod(shape))
            z.writestr(f"tiny/data/{key}", b"\0" * size)
        z.writestr("tiny/version", "3\n")
    return buf.getvalue()


class Sentinel:
    """Unpickling this would create the sentinel file (os.system via __reduce__)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def malicious_pickle(sentinel_path, protocol: int = 2) -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "payload": Sentinel(sentinel_path)}, protocol=protocol)
