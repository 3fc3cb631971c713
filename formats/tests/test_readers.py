"""The header readers on files the formats' own writers made: exact counts, dtypes, metadata."""

import io

from formats.readers import read
from formats.tests import builders


def test_safetensors_counts_every_parameter_and_byte():
    data = builders.safetensors_bytes(metadata={"format": "pt", "base_model": "tiny"})
    facts = read(io.BytesIO(data), len(data), "model.safetensors")
    assert facts.readable, facts.reason
    assert (facts.format, facts.tensors, facts.params) == ("safetensors", 3, builders.PARAMS)
    assert facts.bytes_by_dtype == {"float32": 48, "float16": 10, "int64": 32}
    assert facts.metadata == {"format": "pt", "base_model": "tiny"}
    assert facts.verdict == "safe"


def test_gguf_reads_architecture_context_and_quantization(tmp_path):
    path = tmp_path / "tiny.gguf"
    builders.gguf_file(path)
    with open(path, "rb") as f:
        facts = read(f, path.stat().st_size, "tiny.gguf")
    assert facts.readable, facts.reason
    assert (facts.format, facts.tensors, facts.params) == ("gguf", 2, 8 * 4 + 4)
    assert facts.bytes_by_dtype == {"f16": 64, "f32": 16}
    meta = facts.metadata
    assert (meta["architecture"], meta["context_length"], meta["quantization"]) == ("llama", 2048, "F16")
    assert meta["name"] == "tiny-llama"
    assert "tokenizer.ggml.tokens" not in meta  # a vocabulary is skipped, not kept
    assert facts.verdict == "safe"


def test_onnx_reads_inputs_outputs_opset_producer_and_initializers():
    data = builders.onnx_bytes()
    facts = read(io.BytesIO(data), len(data), "model.onnx")
    assert facts.readable, facts.reason
    assert (facts.format, facts.tensors, facts.params) == ("onnx", 2, 3 * 2 + 2)
    assert facts.bytes_by_dtype == {"float32": 32}
    meta = facts.metadata
    assert (meta["opset"], meta["producer"], meta["nodes"]) == (17, "maisie-tests", 2)
    assert meta["inputs"] == "X: float32[batch, 3]"
    assert meta["outputs"] == "Y: float32[batch, 2]"


def test_onnx_is_found_by_its_bytes_without_its_extension():
    data = builders.onnx_bytes()
    assert read(io.BytesIO(data), len(data), "exported").format == "onnx"


def test_pytorch_zip_lists_tensors_from_its_pickle_without_loading_it():
    data = builders.torch_zip()
    facts = read(io.BytesIO(data), len(data), "pytorch_model.bin")
    assert facts.readable, facts.reason
    assert (facts.format, facts.tensors, facts.params) == ("pytorch", 3, builders.PARAMS)
    assert facts.bytes_by_dtype == {"float32": 48, "float16": 10, "int64": 32}
    assert facts.verdict == "pickle", facts.verdict_reason
    assert "torch._utils._rebuild_tensor_v2" in facts.globals


def test_a_file_of_no_model_format_is_other():
    data = b'{"hidden_size": 4}'
    facts = read(io.BytesIO(data), len(data), "config.json")
    assert facts.format == "other" and facts.readable


def test_onnx_initializer_data_is_skipped_not_read(tmp_path):
    import tracemalloc

    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [2048, 4096], b"\0" * (2048 * 4096 * 4), raw=True)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "big",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2048])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4096])],
        initializer=[weight],
    )
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph), path)
    tracemalloc.start()
    with open(path, "rb") as f:
        facts = read(f, path.stat().st_size, "big.onnx")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (facts.params, facts.bytes_by_dtype) == (2048 * 4096, {"float32": 2048 * 4096 * 4})
    assert peak < 4 * 1024 * 1024 < path.stat().st_size  # 32 MiB of weights, a few reads of header
