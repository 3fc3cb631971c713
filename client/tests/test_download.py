"""Downloads: streamed to a partial file, resumed with Range, verified, then moved into place."""

import hashlib

import pytest
from maisie import Config, Models
from maisie.errors import ChecksumMismatch
from maisie.utils.transfer import partial_path

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
        if response.request.url.endswith("/download/"):
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


def test_an_existing_file_is_replaced_atomically(shared_account, uploaded, isolated):
    model, data = uploaded
    (isolated / "weights.bin").write_bytes(b"old")
    assert Models(shared_account.settings).download(model["id"], progress=False).read_bytes() == data
