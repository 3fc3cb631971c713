"""The manifest and its digest (issue 16): the rules and the bytes docs/storage.md documents."""

import hashlib
import json
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import manifests
from registry.manifests import Manifest, ManifestEntry, ManifestError

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
BRACES = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256 of b"{}"
HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # sha256 of b"hello\n"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "storage.md"


def refused(path: str) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        manifests.normalise_path(path)
    return caught.value


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("../x", "dot_part"),
        ("..", "dot_part"),
        ("a/../../b", "dot_part"),
        ("a/..", "dot_part"),
        ("./a", "dot_part"),
        ("a/./b", "dot_part"),
        (".", "dot_part"),
        ("/etc/passwd", "absolute"),
        ("/", "absolute"),
        ("a\\b", "character"),
        ("..\\..\\windows\\system32", "character"),
        ("C:x", "character"),
        ("c:/windows", "character"),
        ("a/D:b", "character"),
        ("model.bin:hidden", "character"),
        ("a//b", "empty_part"),
        ("a/", "trailing_slash"),
        ("", "empty"),
        ("a\x00b", "character"),
        ("a\nb", "character"),
        ("a\rb", "character"),
        ("a\tb", "character"),
        ("a\x1b[31mb", "character"),
        ("a\x7fb", "character"),
        ("a\x85b", "character"),  # C1 next line
        ("a\u2028b", "character"),  # line separator
        ("invoice\u202egnp.exe", "character"),  # right-to-left override
        ("a\ud800b", "character"),  # a lone surrogate has no UTF-8
        ("a<b", "character"),
        ("a>b", "character"),
        ('a"b', "character"),
        ("a|b", "character"),
        ("a?b", "character"),
        ("a*b", "character"),
        ("a.", "trailing_dot_or_space"),
        ("a/b /c", "trailing_dot_or_space"),
        ("...", "trailing_dot_or_space"),
        ("NUL", "reserved_name"),
        ("nul.txt", "reserved_name"),
        ("weights/Com1.bin", "reserved_name"),
        ("lpt9", "reserved_name"),
        ("x" * 256, "part_too_long"),
        ("é" * 128, "part_too_long"),  # 128 characters, 256 bytes
        ("/".join(["x" * 200] * 6), "too_long"),
    ],
)
def test_it_refuses_a_path_that_breaks_a_rule_naming_the_path_and_the_rule(path, rule):
    error = refused(path)
    assert error.rule == rule
    assert isinstance(error, ValueError)
    if path:
        assert repr(path[:20])[1:-1] in str(error)


def test_it_refuses_a_very_long_path_before_looking_at_its_characters():
    assert refused("\x00" * (4 * manifests.MAX_PATH_BYTES + 1)).rule == "too_long"
    assert refused("\x00" * (4 * manifests.MAX_PATH_BYTES)).rule == "character"


def test_it_refuses_a_path_that_is_not_a_string():
    for path in (None, 3, b"a", ["a"]):
        assert refused(path).rule == "type"


@pytest.mark.parametrize(
    "path",
    [
        "model.pkl",
        "config.json",
        "weights/model-00001-of-00002.safetensors",
        "a b/c d.txt",
        ".gitattributes",
        "tokenizer/vocab.txt",
        "données/modèle.bin",
        "模型/权重.bin",
        "emoji 🧠.onnx",
        "a..b",
        "console.log",  # starts with "con" but is not the device
        "nul_stats.csv",
        "com10",
        "x" * 255,
        "/".join(["x" * 203] * 5),  # 1019 bytes
    ],
)
def test_it_keeps_a_path_that_follows_the_rules(path):
    assert manifests.normalise_path(path) == path


def test_the_limits_are_inclusive():
    part = "é" * 127 + "x"  # 255 bytes
    assert manifests.normalise_path(part) == part
    path = "/".join(["y" * 255] * 3 + ["w" * 250, "z" * 5])  # 1020 + 4 slashes = 1024 bytes
    assert len(path.encode()) == manifests.MAX_PATH_BYTES
    assert manifests.normalise_path(path) == path
    assert refused(path + "z").rule == "too_long"


def test_it_keeps_paths_in_nfc():
    decomposed = "mode\u0300le/cafe\u0301.bin"
    assert manifests.normalise_path(decomposed) == "modèle/café.bin"
    assert ManifestEntry(decomposed, 1, EMPTY).path == unicodedata.normalize("NFC", decomposed)


# --- the manifest ------------------------------------------------------------------------------


def test_it_sorts_entries_by_the_utf8_bytes_of_their_paths_whatever_the_input_order():
    triples = [
        ("b.txt", 1, HELLO),
        ("a/z.bin", 2, BRACES),
        ("a-b", 3, EMPTY),
        ("A.txt", 4, EMPTY),
        ("é.txt", 5, EMPTY),
        ("z.txt", 6, EMPTY),
        ("a/b/c", 7, EMPTY),
    ]
    expected = ["A.txt", "a-b", "a/b/c", "a/z.bin", "b.txt", "z.txt", "é.txt"]
    for seed in range(20):
        shuffled = triples[:]
        random.Random(seed).shuffle(shuffled)
        manifest = manifests.manifest_of(shuffled)
        assert [entry.path for entry in manifest] == expected
        assert manifests.canonical_bytes(manifest) == manifests.canonical_bytes(manifests.manifest_of(triples))
    # "a-b" (0x2D) sorts before "a/" (0x2F): the whole path's bytes, not folder by folder.
    assert sorted(p.encode() for p in expected) == [p.encode() for p in expected]


def test_it_refuses_an_empty_manifest():
    with pytest.raises(ManifestError) as caught:
        Manifest(())
    assert caught.value.rule == "empty_manifest"


def test_it_refuses_more_than_the_maximum_number_of_files():
    triples = [(f"f{i}", 0, EMPTY) for i in range(manifests.MAX_ENTRIES)]
    assert len(manifests.manifest_of(triples)) == manifests.MAX_ENTRIES
    with pytest.raises(ManifestError) as caught:
        manifests.manifest_of([*triples, ("one-more", 0, EMPTY)])
    assert caught.value.rule == "too_many_files"


@pytest.mark.parametrize(
    ("paths", "rule"),
    [
        (["a.bin", "a.bin"], "duplicate"),
        (["café.bin", "cafe\u0301.bin"], "duplicate"),  # the same name after NFC
        (["Model.bin", "model.bin"], "case_duplicate"),
        (["Weights/a.bin", "weights/b.bin"], "case_duplicate"),
        (["STRASSE", "straße"], "case_duplicate"),  # casefold, the conservative side
        (["a", "a/b"], "file_and_folder"),
        (["A", "a/b"], "file_and_folder"),
        (["a/b", "a/b/c/d"], "file_and_folder"),
    ],
)
def test_it_refuses_paths_that_would_be_one_file_or_folder_on_some_system(paths, rule):
    with pytest.raises(ManifestError) as caught:
        manifests.manifest_of([(path, 0, EMPTY) for path in paths])
    assert caught.value.rule == rule
    assert caught.value.path is not None
    assert repr(caught.value.path) in str(caught.value)


def test_it_accepts_paths_that_only_share_a_prefix():
    manifest = manifests.manifest_of([("a", 0, EMPTY), ("ab/c", 0, EMPTY), ("a.b/c", 0, EMPTY)])
    assert [entry.path for entry in manifest] == ["a", "a.b/c", "ab/c"]


@pytest.mark.parametrize("size", [-1, 2**63, 1.0, 1.5, "1", True, False, None])
def test_it_refuses_a_size_that_is_not_an_integer_from_0_to_2_63_minus_1(size):
    with pytest.raises(ManifestError) as caught:
        ManifestEntry("a.bin", size, EMPTY)
    assert caught.value.rule == "size"
    assert "'a.bin'" in str(caught.value)


def test_it_accepts_the_extreme_sizes_and_refuses_a_total_over_2_63():
    assert ManifestEntry("a", 0, EMPTY).size == 0
    assert ManifestEntry("a", 2**63 - 1, EMPTY).size == 2**63 - 1
    with pytest.raises(ManifestError) as caught:
        manifests.manifest_of([("a", 2**62, EMPTY), ("b", 2**62, EMPTY)])
    assert caught.value.rule == "size"


@pytest.mark.parametrize("sha256", [EMPTY.upper(), EMPTY[:-1], EMPTY + "0", "g" * 64, " " + EMPTY[1:], None, 0])
def test_it_refuses_a_sha256_that_is_not_64_lowercase_hex_digits(sha256):
    with pytest.raises(ManifestError) as caught:
        ManifestEntry("a.bin", 0, sha256)
    assert caught.value.rule == "sha256"


def test_entries_and_manifests_cannot_be_changed_once_made():
    manifest = manifests.for_one_file("a.bin", 0, EMPTY)
    with pytest.raises(AttributeError):
        manifest.entries[0].path = "../x"
    with pytest.raises(AttributeError):
        manifest.entries = ()


# --- canonical bytes and digest ----------------------------------------------------------------


def test_the_canonical_bytes_and_digest_of_the_documented_example_are_pinned():
    manifest = manifests.manifest_of([("weights/model 1.bin", 6, HELLO), ("config.json", 2, BRACES)])
    written_out = (
        b"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a 2 config.json\n"
        b"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 6 weights/model 1.bin\n"
    )
    assert manifests.canonical_bytes(manifest) == written_out
    # Computed with `printf ... | sha256sum`, as docs/storage.md shows.
    pinned = "6171f5b20194d8573bb5cc24a1c3e2bf8b7e1d020c4ab23fc673b8012aa1469e"
    assert hashlib.sha256(written_out).hexdigest() == pinned
    assert manifests.digest(manifest) == pinned


def test_the_docs_show_the_pinned_example():
    text = DOCS.read_text()
    assert "6171f5b20194d8573bb5cc24a1c3e2bf8b7e1d020c4ab23fc673b8012aa1469e" in text
    assert "26ff5c48bf51f73e3e3976407d0c622aa83f3ac60b5f428e3dc75a415731ef3f" in text
    assert f"{manifests.MAX_ENTRIES:,}" in text
    assert f"{manifests.MAX_PATH_BYTES:,}" in text
    assert f"{manifests.MAX_PART_BYTES}" in text


def test_the_canonical_bytes_are_utf8_with_the_path_in_nfc():
    manifest = manifests.manifest_of([("mode\u0300le.bin", 10, HELLO)])
    assert manifests.canonical_bytes(manifest) == f"{HELLO} 10 modèle.bin\n".encode()
    assert manifests.canonical_bytes(manifest).endswith(b"mod\xc3\xa8le.bin\n")


def test_the_digest_changes_with_any_path_size_or_hash():
    base = manifests.digest(manifests.for_one_file("a.bin", 6, HELLO))
    assert manifests.digest(manifests.for_one_file("b.bin", 6, HELLO)) != base
    assert manifests.digest(manifests.for_one_file("a.bin", 7, HELLO)) != base
    assert manifests.digest(manifests.for_one_file("a.bin", 6, BRACES)) != base
    two = manifests.manifest_of([("a.bin", 6, HELLO), ("b.bin", 0, EMPTY)])
    assert manifests.digest(two) != base


# --- one-file versions -------------------------------------------------------------------------


def test_a_one_file_version_is_a_one_entry_manifest_at_its_file_name():
    manifest = manifests.for_one_file("model.pkl", 6, HELLO)
    assert manifest.entries == (ManifestEntry("model.pkl", 6, HELLO),)
    assert manifest.total_size == 6
    assert manifests.canonical_bytes(manifest) == f"{HELLO} 6 model.pkl\n".encode()
    assert manifests.digest(manifest) == "26ff5c48bf51f73e3e3976407d0c622aa83f3ac60b5f428e3dc75a415731ef3f"


@pytest.mark.parametrize(
    ("file_name", "path"),
    [
        ("model.pkl", "model.pkl"),
        ("mode\u0300le.pkl", "modèle.pkl"),
        ("C:\\Users\\me\\model.pkl", "model.pkl"),
        ("dir/model.pkl", "model.pkl"),
        ("run:12:00.pt", "run_12_00.pt"),
        ("a\x00b\tc.bin", "a_b_c.bin"),
        ("what?.bin", "what_.bin"),
        ("model.", "model"),
        ("model. . ", "model"),
        ("..", "model"),
        (".", "model"),
        ("", "model"),
        (None, "model"),
        ("NUL", "_NUL"),
        ("con.txt", "_con.txt"),
        ("x" * 255, "x" * 255),
    ],
)
def test_a_one_file_name_that_breaks_a_rule_is_mapped_never_refused(file_name, path):
    assert manifests.one_file_path(file_name) == path


def test_a_long_one_file_name_is_cut_to_the_part_limit_on_a_character_keeping_its_extension():
    path = manifests.one_file_path("é" * 200 + ".safetensors")
    assert len(path.encode()) <= manifests.MAX_PART_BYTES
    assert path.endswith("é.safetensors")
    assert manifests.normalise_path(path) == path


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_file_name_maps_to_a_valid_path(file_name):
    path = manifests.one_file_path(file_name)
    assert manifests.normalise_path(path) == path
    assert "/" not in path
    if file_name and unicodedata.normalize("NFC", file_name) == file_name:
        try:
            manifests.normalise_path(file_name)
        except ManifestError:
            return
        if "/" not in file_name:
            assert path == file_name  # a name that follows the rules is its own path


# --- JSON --------------------------------------------------------------------------------------


def test_the_json_shape_round_trips_in_canonical_order():
    sent = [
        {"sha256": HELLO, "size": 6, "path": "weights/model 1.bin"},
        {"path": "config.json", "size": 2, "sha256": BRACES},
    ]
    manifest = manifests.from_json(json.loads(json.dumps(sent)))
    assert manifests.to_json(manifest) == [
        {"path": "config.json", "size": 2, "sha256": BRACES},
        {"path": "weights/model 1.bin", "size": 6, "sha256": HELLO},
    ]
    assert manifests.from_json(manifests.to_json(manifest)) == manifest
    assert manifests.digest(manifest) == "6171f5b20194d8573bb5cc24a1c3e2bf8b7e1d020c4ab23fc673b8012aa1469e"


def test_a_large_size_survives_the_json_round_trip():
    size = 2**63 - 1  # past what a double holds exactly
    manifest = manifests.from_json(json.loads(json.dumps([{"path": "a", "size": size, "sha256": EMPTY}])))
    assert manifest.entries[0].size == size
    assert f" {size} a\n".encode() in manifests.canonical_bytes(manifest)


@pytest.mark.parametrize(
    ("obj", "rule", "words"),
    [
        ({"path": "a", "size": 0, "sha256": EMPTY}, "type", "list"),
        ("a", "type", "list"),
        (None, "type", "list"),
        ([], "empty_manifest", "at least one"),
        (["a"], "type", "files[0]"),
        ([{"path": "a", "size": 0}], "missing_field", "files[0] has no sha256"),
        ([{"path": "a", "size": 0, "sha256": EMPTY, "mode": 755}], "unknown_field", "mode"),
        ([{"path": "a", "size": "0", "sha256": EMPTY}], "size", "'a'"),
        ([{"path": "a", "size": 1.0, "sha256": EMPTY}], "size", "'a'"),
        ([{"path": "a", "size": 0, "sha256": EMPTY.upper()}], "sha256", "lowercase"),
        ([{"path": "../a", "size": 0, "sha256": EMPTY}], "dot_part", "'../a'"),
        ([{"path": 5, "size": 0, "sha256": EMPTY}], "type", "files[0]: A path must be a string"),
        (
            [{"path": "a", "size": 0, "sha256": EMPTY}, {"path": "b/", "size": 0, "sha256": EMPTY}],
            "trailing_slash",
            "files[1]: ",
        ),
    ],
)
def test_bad_json_is_refused_with_a_message_naming_the_field(obj, rule, words):
    with pytest.raises(ManifestError) as caught:
        manifests.from_json(obj)
    assert caught.value.rule == rule
    assert words in str(caught.value)


def test_over_many_json_entries_are_refused_before_any_is_checked():
    obj = [{"path": "../x"}] * (manifests.MAX_ENTRIES + 1)
    with pytest.raises(ManifestError) as caught:
        manifests.from_json(obj)
    assert caught.value.rule == "too_many_files"
