"""Folder versions through the client and the CLI against the live server: upload sessions
(dedupe, include/exclude, resume after a kill), and folder downloads (verified, resumed, files
already present skipped)."""

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from maisie import Models
from maisie.errors import ChecksumMismatch, TargetExists
from maisie.utils.folders import STATE_NAME, digest, hash_files, manifest, walk
from maisie.utils.transfer import partial_path

from tests.conftest import Relay, maisie_script, make_account, run_cli

MiB = 1024 * 1024


def data(seed: str, size: int) -> bytes:
    """`size` bytes that do not repeat (so each test's blobs are its own)."""
    block = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(2048))
    return (block * (size // len(block) + 1))[:size]


def make_folder(root: Path, seed: str) -> dict[str, bytes]:
    """A checkpoint-like folder with nested paths, a non-ASCII name, an empty file and two paths
    holding the same bytes; {path: bytes}."""
    files = {
        "config.json": f'{{"seed": "{seed}"}}'.encode(),
        "weights/model-00001-of-00002.safetensors": data(seed + "a", 6 * MiB + 17),
        "weights/model-00002-of-00002.safetensors": data(seed + "b", 300_000),
        "tokenizer/vocab café.txt": data(seed + "c", 1000),
        "tokenizer/copy.txt": data(seed + "c", 1000),  # the same blob as the vocabulary
        "empty.txt": b"",
        "logs/train.log": f"step 1 of {seed}\n".encode(),
    }
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return files


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def requests_seen(models: Models) -> list:
    """(method, URL path, status, Range) of every request the client makes."""
    seen = []

    def hook(response, **_):
        request = response.request
        path = request.path_url.split("?")[0]
        seen.append((request.method, path, response.status_code, request.headers.get("Range")))

    models.config.session.hooks["response"].append(hook)
    return seen


def test_a_folder_goes_up_and_comes_back_the_same(shared_account, isolated):
    files = make_folder(isolated / "ckpt", "round")
    models = Models(shared_account.settings)

    model = models.upload("round-trip", path=isolated / "ckpt", git=False, progress=False)

    assert model.created is True
    expected = manifest(hash_files(walk(isolated / "ckpt")))
    assert model["digest"] == digest(expected)
    assert [{k: f[k] for k in ("path", "size", "sha256")} for f in models.files(model["id"])] == expected
    assert model.stats.sent_bytes == sum(len(b) for p, b in files.items() if p != "tokenizer/copy.txt")
    assert not (isolated / "ckpt" / STATE_NAME).exists()  # forgotten once the version exists

    out = models.download(model["id"], isolated / "out", progress=False)

    assert out == isolated / "out"
    assert tree(out) == files
    assert models.download_stats.skipped_files == 0


def test_the_cli_uploads_a_folder_with_include_and_exclude(signed_in, isolated):
    make_folder(isolated / "ckpt", "globs")

    done = run_cli(
        "--json", "models", "upload", str(isolated / "ckpt"), "-n", "globbed", "--no-git",
        "--include", "*.safetensors", "--include", "tokenizer/", "--include", "*.log", "--exclude", "logs",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    paths = [entry["path"] for entry in Models(signed_in.settings).files(model["id"])]
    assert paths == [
        "tokenizer/copy.txt",
        "tokenizer/vocab café.txt",
        "weights/model-00001-of-00002.safetensors",
        "weights/model-00002-of-00002.safetensors",
    ]
    assert model["file"] is None or not model["file"].get("sha256")


def test_the_same_files_again_send_no_bytes_and_the_same_name_returns_the_version(shared_account, isolated):
    make_folder(isolated / "ckpt", "dedupe")
    models = Models(shared_account.settings)
    first = models.upload("dedupe-a", path=isolated / "ckpt", git=False, progress=False)
    seen = requests_seen(models)

    other_name = models.upload("dedupe-b", path=isolated / "ckpt", git=False, progress=False)

    assert other_name.created is True and other_name["id"] != first["id"]
    assert other_name["digest"] == first["digest"]
    assert other_name.stats.sent_bytes == 0
    assert not [request for request in seen if request[0] == "PUT"]  # not one part

    again = models.upload("dedupe-a", path=isolated / "ckpt", git=False, progress=False)
    assert again.created is False and again["id"] == first["id"]

    forced = models.upload("dedupe-a", path=isolated / "ckpt", git=False, progress=False, new_version=True)
    assert forced.created is True and forced["version"] == first["version"] + 1
    assert forced.stats.sent_bytes == 0


def test_the_cli_says_when_the_files_are_already_a_version(signed_in, isolated):
    (isolated / "model.pt").write_bytes(data("cli-same", 5000))
    first = run_cli("models", "upload", str(isolated / "model.pt"), "-n", "cli-same", "--no-git")
    assert first.returncode == 0, first.stderr
    assert "Uploaded cli-same v1 (1 file, 4.9 KiB; sent 4.9 KiB)" in first.stderr

    again = run_cli("models", "upload", str(isolated / "model.pt"), "-n", "cli-same", "--no-git")

    assert again.returncode == 0, again.stderr
    assert "Already uploaded: cli-same v1 has exactly these files" in again.stderr
    as_json = run_cli("--json", "models", "upload", str(isolated / "model.pt"), "-n", "cli-same", "--no-git")
    assert json.loads(as_json.stdout)["created"] is False
    newer = run_cli("models", "upload", str(isolated / "model.pt"), "-n", "cli-same", "--no-git", "--new-version")
    assert "Uploaded cli-same v2" in newer.stderr


def test_a_single_file_is_still_a_one_file_version(shared_account, isolated):
    (isolated / "weights.bin").write_bytes(data("one", 7 * MiB))
    models = Models(shared_account.settings)

    model = models.upload("one-file", isolated / "weights.bin", git=False, progress=False)

    assert model["file"]["name"] == "weights.bin"
    assert model["file"]["sha256"] == hashlib.sha256(data("one", 7 * MiB)).hexdigest()
    (isolated / "out").mkdir()
    assert models.download(model["id"], isolated / "out", progress=False) == isolated / "out" / "weights.bin"


def test_a_name_the_path_rules_refuse_still_uploads_as_one_file(shared_account, isolated):
    (isolated / "model:v1.pt").write_bytes(b"weights")  # ':' is refused in a manifest path

    model = Models(shared_account.settings).upload("odd-name", isolated / "model:v1.pt", git=False, progress=False)

    assert model["file"]["name"] in ("model_v1.pt", "model:v1.pt")  # mapped by the single request
    assert sorted(path.name for path in isolated.iterdir()) == ["model:v1.pt"]  # no state file left


def test_a_path_the_server_refuses_is_a_clear_error_and_stores_nothing(signed_in, isolated):
    make_folder(isolated / "ckpt", "refused")
    (isolated / "ckpt" / "weights" / "aux.bin").write_bytes(b"x")  # a Windows device name

    done = run_cli("models", "upload", str(isolated / "ckpt"), "-n", "refused-path", "--no-git")

    assert done.returncode == 6
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        "The path 'weights/aux.bin' uses the name 'aux.bin', reserved for a device on Windows."
    )
    assert Models(signed_in.settings).get_all(search="refused-path", project=signed_in.project_id) == []
    assert not (isolated / "ckpt" / STATE_NAME).exists()


def test_a_folder_download_skips_files_already_there_and_refuses_to_replace_others(shared_account, isolated):
    files = make_folder(isolated / "ckpt", "skip")
    models = Models(shared_account.settings)
    model = models.upload("skipper", path=isolated / "ckpt", git=False, progress=False)
    out = models.download(model["id"], isolated / "out", progress=False)
    (out / "config.json").unlink()
    seen = requests_seen(models)

    models.download(model["id"], out, progress=False)

    fetched = [path for method, path, *_ in seen if "/files/" in path and not path.endswith("/files/")]
    assert fetched == [f"/api/v1/models/{model['id']}/files/config.json"]
    assert models.download_stats.skipped_files == len(files) - 1
    assert tree(out) == files

    (out / "logs" / "train.log").write_bytes(b"changed")
    with pytest.raises(TargetExists):
        models.download(model["id"], out, progress=False)
    assert (out / "logs" / "train.log").read_bytes() == b"changed"
    models.download(model["id"], out, progress=False, overwrite=True)
    assert tree(out) == files


def test_the_cli_downloads_a_folder_by_reference(signed_in, isolated):
    files = make_folder(isolated / "ckpt", "cli-down")
    Models(signed_in.settings).upload("cli-folder", path=isolated / "ckpt", git=False, progress=False)

    done = run_cli("models", "download", signed_in.ref("cli-folder"), "-o", str(isolated / "got"))

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(isolated / "got")
    assert tree(isolated / "got") == files
    again = run_cli("models", "download", signed_in.ref("cli-folder"), "-o", str(isolated / "got"))
    assert f"{len(files)} already there" in again.stderr


def test_a_partial_file_of_a_folder_is_resumed_with_range(shared_account, isolated):
    files = make_folder(isolated / "ckpt", "resume-down")
    models = Models(shared_account.settings)
    model = models.upload("resume-down", path=isolated / "ckpt", git=False, progress=False)
    big = "weights/model-00001-of-00002.safetensors"
    target = isolated / "out" / big
    target.parent.mkdir(parents=True)
    partial_path(target, hashlib.sha256(files[big]).hexdigest()).write_bytes(files[big][: 4 * MiB])
    seen = requests_seen(models)

    models.download(model["id"], isolated / "out", progress=False)

    assert (f"/api/v1/models/{model['id']}/files/{big}", 206, f"bytes={4 * MiB}-") in [s[1:] for s in seen]
    assert tree(isolated / "out") == files


def test_a_corrupted_blob_is_caught_by_the_download(server, shared_account, isolated):
    files = make_folder(isolated / "ckpt", "corrupt")
    models = Models(shared_account.settings)
    model = models.upload("corrupt", path=isolated / "ckpt", git=False, progress=False)
    sha = hashlib.sha256(files["config.json"]).hexdigest()
    stored = next(server.log.parent.rglob(sha))  # the blob's file under the server's data folder
    stored.write_bytes(b"X" * len(files["config.json"]))

    with pytest.raises(ChecksumMismatch, match=r"config\.json"):
        models.download(model["id"], isolated / "out", progress=False)
    assert not (isolated / "out" / "config.json").exists()


def test_an_upload_killed_mid_blob_resumes_from_what_the_server_acknowledged(server, account, isolated):
    folder = isolated / "ckpt"
    folder.mkdir()
    big = data("killed", 24 * MiB)
    (folder / "big.bin").write_bytes(big)
    (folder / "config.json").write_bytes(b"{}")
    command = [maisie_script(), "models", "upload", str(folder), "-n", "killed", "--no-git", "--project"]
    command.append(str(account.project_id))

    with Relay(server.url, rate=4 * MiB) as slow:  # ~6 s for the blob: time to kill it halfway
        process = subprocess.Popen(
            command,
            env={**os.environ, **account.env, "MAISIE_API_URL": f"{slow.url}/api/v1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            received = wait_for_received(server, account, folder, at_least=10 * MiB, process=process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
    session_id = json.loads((folder / STATE_NAME).read_text())["session"]
    blob = blob_state(server, account, session_id, hashlib.sha256(big).hexdigest())
    received = blob["received"]
    assert 10 * MiB <= received < len(big) and received % (5 * MiB) == 0

    with Relay(server.url) as counting:
        done = run_cli(*command[1:], env={**account.env, "MAISIE_API_URL": f"{counting.url}/api/v1"})

    assert done.returncode == 0, done.stderr
    # Only the blob's remaining parts crossed the wire again (plus the requests' own bytes).
    assert len(big) - received <= counting.uploaded < len(big) - received + 256 * 1024
    assert "already on the server" in done.stderr
    model = Models(account.settings).get(account.ref("killed"))
    files = Models(account.settings).files(model["id"])
    assert {(f["path"], f["sha256"]) for f in files} == {
        ("big.bin", hashlib.sha256(big).hexdigest()),
        ("config.json", hashlib.sha256(b"{}").hexdigest()),
    }
    assert not (folder / STATE_NAME).exists()


def blob_state(server, account, session_id: str, sha256: str) -> dict:
    session = server.call("GET", f"uploads/{session_id}/", session=account.session)
    return next(blob for blob in session["blobs"] if blob["sha256"] == sha256)


def wait_for_received(server, account, folder: Path, at_least: int, process, timeout: float = 90) -> int:
    """Poll the server until the session the CLI keeps in its state file has `at_least` bytes of a blob."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        state = folder / STATE_NAME
        if state.exists():
            session_id = json.loads(state.read_text()).get("session")
            if session_id:
                session = server.call("GET", f"uploads/{session_id}/", session=account.session)
                best = max((blob["received"] for blob in session["blobs"]), default=0)
                if best >= at_least:
                    return best
        time.sleep(0.2)
    raise AssertionError("the upload did not get far enough")


def test_a_session_the_server_no_longer_has_is_replaced_by_a_new_one(server, account, isolated):
    folder = isolated / "ckpt"
    folder.mkdir()
    big = data("aborted", 12 * MiB)
    (folder / "big.bin").write_bytes(big)
    command = [maisie_script(), "models", "upload", str(folder), "-n", "aborted", "--no-git", "--project"]
    command.append(str(account.project_id))
    with Relay(server.url, rate=2 * MiB) as slow:
        process = subprocess.Popen(
            command,
            env={**os.environ, **account.env, "MAISIE_API_URL": f"{slow.url}/api/v1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_received(server, account, folder, at_least=5 * MiB, process=process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
    session_id = json.loads((folder / STATE_NAME).read_text())["session"]
    server.call("DELETE", f"uploads/{session_id}/", session=account.session)  # as if it had expired

    with Relay(server.url) as counting:
        done = run_cli(*command[1:], env={**account.env, "MAISIE_API_URL": f"{counting.url}/api/v1"})

    assert done.returncode == 0, done.stderr
    assert counting.uploaded >= len(big)  # all of it again, into a new session
    assert Models(account.settings).get(account.ref("aborted"))["digest"]


def test_a_viewer_is_refused_before_any_byte_with_a_clear_error(server, account, isolated):
    viewer = make_account(server, "viewer")
    server.call(
        "POST",
        f"workspaces/{account.workspace_id}/members/",
        session=account.session,
        json={"user_id": viewer.id, "role": "viewer"},
    )
    make_folder(isolated / "ckpt", "viewer")

    with Relay(server.url) as counting:
        done = run_cli(
            "models", "upload", str(isolated / "ckpt"), "-n", "not-mine", "--no-git",
            "--project", str(account.project_id),
            env={**viewer.env, "MAISIE_API_URL": f"{counting.url}/api/v1"},
        )  # fmt: skip

    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    assert counting.uploaded < 64 * 1024  # the metadata and the manifest, no file's bytes
    assert Models(account.settings).get_all(search="not-mine", project=account.project_id) == []
