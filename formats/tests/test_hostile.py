"""Hostile and broken headers: a recorded "unreadable" result within the time and memory bounds."""

import io
import struct
import time
import tracemalloc

import pytest

from formats.readers import read
from formats.tests import builders

SECONDS = 5.0
PEAK_BYTES = 64 * 1024 * 1024


def bounded_read(data: bytes, name: str):
    tracemalloc.start()
    started = time.monotonic()
    try:
        facts = read(io.BytesIO(data), len(data), name)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - started < SECONDS
    assert peak < PEAK_BYTES
    return facts


def test_a_ten_gigabyte_header_length_is_unreadable():
    data = struct.pack("<Q", 10 * 1024**3) + b'{"a": 1}'
    facts = bounded_read(data, "model.safetensors")
    assert (facts.format, facts.readable) == ("safetensors", False)
    assert "10,737,418,240" in facts.reason


def test_a_header_length_past_the_end_of_the_file_is_unreadable():
    data = struct.pack("<Q", 1000) + b'{"a": 1}'
    facts = bounded_read(data, "model.safetensors")
    assert not facts.readable and "past the end" in facts.reason


def test_deeply_nested_json_is_refused_before_it_is_parsed():
    header = b"[" * 5_000_000 + b"]" * 5_000_000
    facts = bounded_read(struct.pack("<Q", len(header)) + header, "model.safetensors")
    assert not facts.readable and "nests deeper" in facts.reason


@pytest.mark.parametrize("cut", [4, 20, -10])
def test_a_truncated_safetensors_file_is_unreadable(cut):
    data = builders.safetensors_bytes()[:cut]
    facts = bounded_read(data, "model.safetensors")
    assert (facts.format, facts.readable) == ("safetensors", False)
    assert facts.verdict == "safe"  # a broken safetensors header still runs nothing


def test_a_gguf_claiming_two_to_the_sixty_tensors_is_unreadable():
    data = b"GGUF" + struct.pack("<IQQ", 3, 2**60, 0)
    facts = bounded_read(data, "model.gguf")
    assert not facts.readable and "tensor count" in facts.reason


def test_a_gguf_string_length_past_the_file_is_unreadable():
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40) + b"key"
    facts = bounded_read(data, "model.gguf")
    assert not facts.readable


def test_a_truncated_gguf_is_unreadable(tmp_path):
    path = tmp_path / "m.gguf"
    builders.gguf_file(path)
    facts = bounded_read(path.read_bytes()[:200], "m.gguf")
    assert (facts.format, facts.readable) == ("gguf", False)


def test_a_truncated_onnx_is_unreadable():
    data = builders.onnx_bytes()[:100]
    facts = bounded_read(data, "model.onnx")
    assert (facts.format, facts.readable) == ("onnx", False)


def test_a_truncated_zip_is_unreadable():
    data = builders.torch_zip()[:-30]
    facts = bounded_read(data, "model.pt")
    assert (facts.format, facts.readable) == ("pytorch", False)


def test_a_zip_claiming_millions_of_entries_is_refused_before_listing():
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFE, 0xFFFE, 0xFFFFFFF, 0, 0)
    facts = bounded_read(b"PK\x03\x04" + b"\0" * 100 + eocd, "model.pt")
    assert not facts.readable and "more than Maisie reads" in facts.reason


def test_random_bytes_with_a_model_name_never_raise():
    import random

    rng = random.Random(17)
    for name in ("a.safetensors", "a.gguf", "a.onnx", "a.pt", "a.pkl", "a.joblib", "a.bin"):
        for _ in range(30):
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
            read(io.BytesIO(data), len(data), name)  # a result, never an exception
