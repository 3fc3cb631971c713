"""A version the server marks suspicious (its pickle data imports more than tensor and array
rebuilders; docs/formats.md) is refused by `Models().download` and `mai models download`
unless allowed; a safe one downloads as before."""

import os
import pickle
import subprocess

import pytest
from maisie import Models
from maisie.errors import UnsafeModel

from tests.conftest import run_cli
from tests.liveserver import SERVER_ROOT, server_env, server_python


class Sentinel:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def introspect(server, model_id: int) -> None:
    """What the server's worker does after an upload, run at once: `manage.py maisie_introspect`."""
    env = server_env(server.log.parent)
    done = subprocess.run(
        [server_python(), "manage.py", "maisie_introspect", str(model_id)],
        cwd=SERVER_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def evil(server, account, tmp_path):
    sentinel = tmp_path / "sentinel"
    path = tmp_path / "upload" / "model.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"weights": [1.0], "payload": Sentinel(sentinel)}, protocol=2))
    model = Models(account.settings).upload("evil", path, git=False, progress=False)
    introspect(server, model["id"])
    return model, path.read_bytes(), sentinel


def test_the_client_refuses_a_suspicious_version_and_writes_nothing(account, evil, isolated):
    model, _, sentinel = evil
    with pytest.raises(UnsafeModel) as raised:
        Models(account.settings).download(model["id"], isolated, progress=False)
    assert raised.value.verdict == "suspicious" and "allow_unsafe=True" in str(raised.value)
    assert list(isolated.iterdir()) == []
    assert not sentinel.exists()


def test_allow_unsafe_downloads_it_verified(account, evil, isolated):
    model, data, sentinel = evil
    path = Models(account.settings).download(model["id"], isolated, progress=False, allow_unsafe=True)
    assert path.read_bytes() == data
    assert not sentinel.exists()


def test_the_cli_needs_allow_unsafe(account, evil, isolated):
    model, data, _ = evil
    refused = run_cli("models", "download", str(model["id"]), "-o", str(isolated), env=account.env)
    assert refused.returncode != 0
    assert "--allow-unsafe" in refused.stderr and "suspicious" in refused.stderr
    assert list(isolated.iterdir()) == []
    allowed = run_cli("models", "download", str(model["id"]), "-o", str(isolated), "--allow-unsafe", env=account.env)
    assert allowed.returncode == 0, allowed.stderr
    assert (isolated / "model.pkl").read_bytes() == data


def test_a_version_not_marked_suspicious_downloads_without_asking(server, account, tmp_path, isolated):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00" * 64)  # not pickle data: no verdict that refuses
    model = Models(account.settings).upload("plain", path, git=False, progress=False)
    introspect(server, model["id"])
    assert Models(account.settings).download(model["id"], isolated, progress=False).read_bytes() == b"\x00" * 64


def test_the_client_and_cli_show_what_the_server_read(account, evil):
    model, _, _ = evil
    facts = Models(account.settings).formats(account.ref("evil"))
    assert (facts["id"], facts["read"], facts["format"], facts["verdict"]) == (
        model["id"],
        True,
        "pickle",
        "suspicious",
    )
    assert "posix.system" in facts["files"][0]["globals"]
    shown = run_cli("models", "formats", str(model["id"]), env=account.env)
    assert shown.returncode == 0, shown.stderr
    assert f"Model {model['id']}: pickle, ? parameters, suspicious" in shown.stdout
    assert "model.pkl: pickle, suspicious (imports posix.system)" in shown.stdout
