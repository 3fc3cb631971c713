"""`mai models ls` and `mai models get` show what the server read from a version's files (its
`format` object: docs/formats.md), against the live server."""

import json
import os
import struct

import pytest
from maisie import Models

from tests.conftest import run_cli
from tests.test_unsafe_downloads import introspect

WIDE = {"COLUMNS": "200"}


def safetensors_bytes() -> bytes:
    """A safetensors file of two float32 tensors, 2x3 and 4: ten parameters (the documented layout:
    the header's length in 8 bytes, little-endian, then the JSON header, then the data)."""
    header = {
        "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "F32", "shape": [4], "data_offsets": [24, 40]},
    }
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"\0" * 40


@pytest.fixture
def versions(server, signed_in, tmp_path):
    """Two versions named for this test run: one read by the server, one not read yet."""
    stem = f"facts{os.getpid()}"
    models = Models(signed_in.settings)
    made = {}
    for name in ("read", "unread"):
        path = tmp_path / name / "model.safetensors"
        path.parent.mkdir()
        path.write_bytes(safetensors_bytes())
        made[name] = models.upload(f"{stem}-{name}", path, git=False, progress=False)
    introspect(server, made["read"]["id"])
    return stem, made


def test_ls_shows_format_parameters_and_verdict_columns(versions):
    stem, made = versions
    table = run_cli("models", "ls", "--search", stem, "--columns", "format,format.params,format.verdict", env=WIDE)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split()[-3:] == ["FORMAT", "PARAMS", "VERDICT"]
    rows = {line.split()[0]: line for line in lines}
    assert rows[str(made["read"]["id"])].split()[-3:] == ["safetensors", "10", "safe"]
    assert "safetensors" not in rows[str(made["unread"]["id"])]  # not read yet: blank cells


def test_ls_json_carries_the_format_object_and_sorts_by_parameters(versions):
    stem, made = versions
    listed = run_cli("models", "ls", "--search", stem, "--ordering", "-format.params", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["id"] for row in rows] == [made["read"]["id"], made["unread"]["id"]]  # unread: nulls last
    assert rows[0]["format"] == {"name": "safetensors", "params": 10, "verdict": "safe"}
    assert rows[1]["format"] is None


def test_get_says_the_format_in_a_line(versions):
    _, made = versions
    shown = run_cli("models", "get", str(made["read"]["id"]), env=WIDE)
    assert shown.returncode == 0, shown.stderr
    lines = [line.split() for line in shown.stdout.splitlines()]
    assert ["format:", "safetensors,", "10", "parameters,", "safe"] in lines
    unread = run_cli("models", "get", str(made["unread"]["id"]), env=WIDE)
    assert any(line.split() == ["format:", "not", "read", "yet"] for line in unread.stdout.splitlines())


def test_the_server_s_large_counts_are_shown_as_people_say_them():
    from maisie.cli.models import column_getter

    label, cell = column_getter("format.params")
    assert label == "PARAMS"
    assert cell({"format": {"name": "gguf", "params": 7_241_732_096, "verdict": "safe"}}) == "7.24 B"
    assert cell({"format": None}) == "" and cell({}) == ""  # not read yet; an older server
    assert column_getter("hp.format")[1]({"hyperparameters": {"format": "nchw"}}) == "nchw"
