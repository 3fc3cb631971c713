"""The pickle scan: globals recorded, an allow-list verdict, and nothing ever unpickled."""

import io
import pickle
import struct

import pytest

from formats import pickles
from formats.readers import read
from formats.tests import builders


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_pickle_whose_reduce_would_run_a_command_is_suspicious_and_never_runs(tmp_path, protocol):
    sentinel = tmp_path / "sentinel"
    data = builders.malicious_pickle(sentinel, protocol=protocol)
    facts = read(io.BytesIO(data), len(data), "model.pkl")
    assert facts.verdict == "suspicious"
    assert "posix.system" in facts.globals
    assert "posix.system" in facts.verdict_reason and "known to run code" in facts.verdict_reason
    assert not sentinel.exists()


def test_a_pytorch_zip_with_a_malicious_data_pkl_is_suspicious(tmp_path):
    sentinel = tmp_path / "sentinel"
    data = builders.torch_zip(builders.malicious_pickle(sentinel))
    facts = read(io.BytesIO(data), len(data), "pytorch_model.bin")
    assert (facts.format, facts.verdict) == ("pytorch", "suspicious")
    assert "posix.system" in facts.globals
    assert not sentinel.exists()


def test_a_name_no_list_knows_is_suspicious_too():
    # A gadget a deny-list missed is still named: the verdict is the allow-list's.
    data = builders.Ops().glob("somelib.helpers", "run").raw(b")R.").out
    scan = pickles.scan(io.BytesIO(bytes(data)))
    assert scan.verdict == "suspicious"
    assert scan.globals == ["somelib.helpers.run"]
    assert "outside Maisie's list" in scan.reason


def test_a_global_whose_name_is_built_at_load_time_is_unknown():
    # STACK_GLOBAL's module is the result of a call (builtins.str('os')): nothing static can name it.
    data = b"\x80\x04cbuiltins\nstr\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x93)R."
    scan = pickles.scan(io.BytesIO(data))
    assert scan.verdict == "unknown"
    assert "built at load time" in scan.reason


def test_plain_data_pickles_are_pickle_not_suspicious():
    data = pickle.dumps({"weights": [1.0, 2.0], "classes": {"cat", "dog"}, "name": "m"}, protocol=2)
    facts = read(io.BytesIO(data), len(data), "model.pkl")
    assert (facts.format, facts.verdict) == ("pickle", "pickle")
    assert facts.globals == ["__builtin__.set"]


def test_a_truncated_pickle_is_unknown_with_a_reason():
    data = pickle.dumps(list(range(1000)), protocol=4)[:-50]
    facts = read(io.BytesIO(data), len(data), "model.pkl")
    assert facts.verdict == "unknown"
    assert "malformed" in facts.verdict_reason


def test_a_compressed_joblib_dump_is_scanned_after_bounded_decompression(tmp_path):
    import gzip

    sentinel = tmp_path / "sentinel"
    data = gzip.compress(builders.malicious_pickle(sentinel))
    facts = read(io.BytesIO(data), len(data), "model.joblib")
    assert (facts.format, facts.verdict, facts.metadata["compressed"]) == ("joblib", "suspicious", "gzip")
    assert not sentinel.exists()


def test_a_zlib_bomb_is_bounded():
    import zlib

    # 64 MiB of one string (a compressed few KiB): reading stops at the bound.
    data = zlib.compress(b"\x80\x04\x8d" + struct.pack("<Q", 64 * 1024 * 1024) + b"a" * (64 * 1024 * 1024), 9)
    scan = pickles.scan(_zlib(data), limit=8 * 1024 * 1024)
    assert scan.verdict == "unknown"
    assert "larger than" in scan.reason


def _zlib(data):
    from formats.readers.pickled import ZlibStream

    return ZlibStream(io.BytesIO(data))


def test_a_hostile_length_is_refused_before_a_buffer_of_that_size_is_made():
    data = b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"abc"
    scan = pickles.scan(io.BytesIO(data))
    assert scan.verdict == "unknown" and "larger than" in scan.reason


def test_operators_can_trust_their_own_names(settings):
    settings.MAISIE_PICKLE_SAFE_GLOBALS = ["somelib.models"]
    data = builders.Ops().glob("somelib.models", "Classifier").raw(b")R.").out
    assert pickles.scan(io.BytesIO(bytes(data))).verdict == "pickle"


def legacy_torch(data_pkl: bytes) -> bytes:
    """torch.save's format before zips: magic number, protocol, system info, the data, the
    storage keys (five pickles in a row), then the raw storages."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    return head + data_pkl + pickle.dumps(["0", "1", "2"], protocol=2) + b"\x00" * 90


def test_a_legacy_torch_file_is_scanned_pickle_by_pickle():
    data = legacy_torch(builders.Ops().state_dict(builders.TORCH_TENSORS))
    facts = read(io.BytesIO(data), len(data), "old.pt")
    assert (facts.format, facts.verdict, facts.tensors, facts.params) == ("pytorch", "pickle", 3, builders.PARAMS)


def test_a_payload_in_the_fourth_pickle_of_a_legacy_file_is_found(tmp_path):
    data = legacy_torch(builders.malicious_pickle(tmp_path / "sentinel"))
    facts = read(io.BytesIO(data), len(data), "old.pt")
    assert facts.verdict == "suspicious" and "posix.system" in facts.globals
    assert not (tmp_path / "sentinel").exists()
