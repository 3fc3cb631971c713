"""The pure parts of folder uploads and downloads: which files, their manifest and digest, the
hash cache, the part bodies, and the paths a download will write. No server."""

import base64
import dataclasses
import hashlib
import os
import unicodedata

import pytest
from maisie.errors import ValidationError
from maisie.utils.folder_download import local_path
from maisie.utils.folders import (
    STATE_NAME,
    digest,
    hash_files,
    load_hashes,
    manifest,
    matches,
    save_hashes,
    selected,
    walk,
)
from maisie.utils.uploads import PartReader, part_digest


def tree(root, files: dict) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def test_the_digest_is_the_one_docs_storage_md_works_out(tmp_path):
    tree(tmp_path, {"config.json": b"{}", "weights/model 1.bin": b"hello\n"})
    files = hash_files(walk(tmp_path))
    assert manifest(files) == [
        {
            "path": "config.json",
            "size": 2,
            "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        },
        {
            "path": "weights/model 1.bin",
            "size": 6,
            "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        },
    ]
    assert digest(manifest(files)) == "6171f5b20194d8573bb5cc24a1c3e2bf8b7e1d020c4ab23fc673b8012aa1469e"
    one = [{"path": "model.pkl", "size": 6, "sha256": files[1].sha256}]
    assert digest(one) == "26ff5c48bf51f73e3e3976407d0c622aa83f3ac60b5f428e3dc75a415731ef3f"


def test_paths_are_sorted_by_their_utf8_bytes_and_kept_in_nfc(tmp_path):
    decomposed = unicodedata.normalize("NFD", "café.bin")
    tree(tmp_path, {"a/c": b"1", "a-b": b"2", decomposed: b"3", "Z": b"4"})
    paths = [file.path for file in walk(tmp_path)]
    assert paths == ["Z", "a-b", "a/c", "café.bin"]  # "-" (0x2D) before "/" (0x2F), uppercase first
    assert unicodedata.is_normalized("NFC", paths[-1])


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a/b/x.bin", "*.bin", True),  # no slash: a name at any depth
        ("x.bin", "*.bin", True),
        ("x.bin.txt", "*.bin", False),
        ("logs/2026/run.txt", "logs", True),  # a folder's name takes what is below it
        ("sub/logs/run.txt", "logs", True),
        ("sub/logs/run.txt", "logs/", True),  # trailing slash: folders only
        ("logs", "logs/", False),  # a file named logs is not a folder
        ("checkpoints/a/b.pt", "checkpoints/*.pt", True),  # with a slash: from the top, * crosses /
        ("x/checkpoints/b.pt", "checkpoints/*.pt", False),
        ("./config.json", "config.json", True),
        ("config.json", "./config.json", True),
        ("Config.json", "config.json", False),  # case-sensitive
        ("weights/model-00001-of-00002.safetensors", "model-*-of-*.safetensors", True),
    ],
)
def test_globs_match_as_gitignore_reads_them(path, pattern, expected):
    assert matches(path.removeprefix("./"), pattern) is expected


def test_include_and_exclude_choose_the_files_and_exclude_wins(tmp_path):
    tree(
        tmp_path,
        {
            "config.json": b"{}",
            "model.safetensors": b"w",
            "optimizer.pt": b"o",
            "logs/run.txt": b"l",
            "sub/extra.safetensors": b"e",
            "__pycache__/x.pyc": b"c",
        },
    )
    every = [file.path for file in walk(tmp_path)]
    assert len(every) == 6
    chosen = walk(tmp_path, include=["*.safetensors", "config.json"], exclude=["sub/"])
    assert [file.path for file in chosen] == ["config.json", "model.safetensors"]
    assert [file.path for file in walk(tmp_path, exclude=["logs/", "__pycache__", "*.pt"])] == [
        "config.json",
        "model.safetensors",
        "sub/extra.safetensors",
    ]
    with pytest.raises(ValidationError, match=r"No files to upload .* with these --include/--exclude"):
        walk(tmp_path, include=["*.gguf"])


def test_the_upload_state_and_settings_files_are_never_uploaded(tmp_path):
    tree(tmp_path, {"model.bin": b"w", STATE_NAME: b"{}", ".maisie": b"[auth]\napp_token = mai_x\n"})
    tree(tmp_path, {"sub/.other.maisie-upload": b"{}", ".gitattributes": b"*.bin lfs"})
    assert [file.path for file in walk(tmp_path)] == [".gitattributes", "model.bin"]
    assert not selected(".maisie", include=[".*"])


def test_links_are_followed_and_a_folder_reached_twice_is_walked_once(tmp_path):
    store = tmp_path / "store"
    tree(store, {"blob1": b"weights"})
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "model.bin").symlink_to(store / "blob1")  # a Hugging Face cache's layout
    (snapshot / "loop").symlink_to(snapshot)
    files = hash_files(walk(snapshot))
    assert [(file.path, file.size) for file in files] == [("model.bin", 7)]
    assert files[0].sha256 == hashlib.sha256(b"weights").hexdigest()


def test_a_broken_link_is_refused_unless_excluded(tmp_path):
    tree(tmp_path, {"model.bin": b"w"})
    (tmp_path / "gone.bin").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValidationError, match=r"gone.bin is a broken symbolic link; --exclude it"):
        walk(tmp_path)
    assert [file.path for file in walk(tmp_path, exclude=["gone.bin"])] == ["model.bin"]


def test_a_name_that_is_not_utf8_is_refused_with_its_name(tmp_path):
    if os.uname().sysname == "Darwin":
        pytest.skip("macOS refuses such names itself")
    (tmp_path / os.fsdecode(b"bad\xffname")).write_bytes(b"x")
    with pytest.raises(ValidationError, match=r"bad\\xffname.* is not valid UTF-8"):
        walk(tmp_path)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"Folder .*nope not found"):
        walk(tmp_path / "nope")


def test_remembered_hashes_are_reused_only_for_unchanged_files(tmp_path):
    folder = tmp_path / "model"  # beside the test's HOME, where the cache goes
    tree(folder, {"a.bin": b"aaaa", "b.bin": b"bbbb"})
    first = {file.path: file for file in hash_files(walk(folder))}
    save_hashes(folder, [dataclasses.replace(f, sha256="0" * 64) for f in first.values()])  # to see reuse
    b = folder / "b.bin"
    times = b.stat().st_atime_ns, b.stat().st_mtime_ns
    b.write_bytes(b"cccc")  # the same size, and the same modification time set back below
    os.utime(b, ns=times)
    again = {file.path: file.sha256 for file in hash_files(walk(folder), load_hashes(folder))}
    assert again == {"a.bin": "0" * 64, "b.bin": hashlib.sha256(b"cccc").hexdigest()}
    assert load_hashes(tmp_path / "elsewhere") == {}


def test_a_part_is_its_bytes_of_the_file_with_their_content_digest(tmp_path):
    data = bytes(range(256)) * 100
    (tmp_path / "blob").write_bytes(data)
    seen = []
    reader = PartReader(tmp_path / "blob", 1000, 9000, seen.append)
    assert len(reader) == 8000
    body = b"".join(iter(lambda: reader.read(3000), b""))
    assert body == data[1000:9000] and sum(seen) == 8000
    expected = base64.b64encode(hashlib.sha256(data[1000:9000]).digest()).decode()
    assert part_digest(tmp_path / "blob", 1000, 9000) == f"sha-256=:{expected}:"


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:/x", "a//b", "./a", "", 3])
def test_a_download_never_writes_outside_its_folder(tmp_path, path):
    with pytest.raises(ValidationError, match="will not write"):
        local_path(tmp_path, path)


def test_a_download_writes_each_path_below_its_folder(tmp_path):
    assert local_path(tmp_path, "weights/model 1.bin") == tmp_path / "weights" / "model 1.bin"
