"""Issue 18's smaller items, through the installed commands against the live server: completion
for both names, `login` with host:port, the web URL after an upload, `members`, `models update`,
the dirty flag and remote kept, and one meaning of `--private`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from maisie import Models
from maisie.core import user_config_path

from tests.conftest import git, maisie_script, make_account, run_cli


def model_file(folder: Path, name: str = "model.pt") -> Path:
    path = folder / name
    path.write_bytes(os.urandom(2048))
    return path


# --- completion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shell, registers", [("bash", "complete -o nosort -F _{0}_completion {0}"), ("zsh", "compdef _{0}_completion {0}")]
)
def test_the_completion_script_registers_both_names(shell, registers):
    done = run_cli("completion", shell)

    assert done.returncode == 0, done.stderr
    for name in ("maisie", "mai"):
        assert registers.format(name) in done.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_mai_after_eval(tmp_path):
    bin_dir = str(Path(maisie_script()).parent)
    script = (
        'eval "$(maisie completion bash)"\n'
        "COMP_WORDS=(mai mod); COMP_CWORD=1; _mai_completion mai\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["models"]


# --- login ---------------------------------------------------------------------------------------


def test_login_takes_host_and_port_and_says_it_chose_http_on_loopback(account):
    address = account.server.url.removeprefix("http://")  # 127.0.0.1:<port>

    done = run_cli(
        "login", "--server", address, "--login", account.login, "--password-stdin", input=account.password + "\n"
    )

    assert done.returncode == 0, done.stderr
    assert f"using http://{address}" in done.stderr
    assert f"url = {account.server.api_url}" in user_config_path().read_text()


def test_login_chooses_https_for_another_host(account):
    done = run_cli("login", "--server", "maisie.invalid:8443", "--login", "x", "--password-stdin", input="pw\n")

    assert "using https://maisie.invalid:8443" in done.stderr
    assert done.returncode == 7  # unreachable: it tried https, and nothing was saved
    assert not user_config_path().exists()


# --- upload: the web URL, and git provenance ---------------------------------------------------------


def test_an_upload_prints_and_returns_the_model_s_web_url(shared_account, isolated):
    path = model_file(isolated)

    done = run_cli(
        "models",
        "upload",
        str(path),
        "-n",
        "web-url",
        "--no-git",
        "--json",
        env=shared_account.env | {"MAISIE_SELECTED_PROJECT": str(shared_account.project_id)},
    )

    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    expected = f"{shared_account.server.url}/models/{model['id']}/"
    assert model["_links"]["web"] == expected
    assert expected in done.stderr

    uploaded = Models(shared_account.settings).upload("web-url", path, git=False, progress=False)
    assert uploaded.web_url == f"{shared_account.server.url}/models/{uploaded['id']}/"
    page = shared_account.session.get(uploaded.web_url, allow_redirects=False, timeout=30)
    assert page.status_code in (200, 302)  # the page exists (a browser session is needed to see it)


def test_an_upload_from_a_dirty_tree_keeps_the_flag_and_a_stripped_remote(shared_account, git_repo):
    (git_repo / "train.py").write_text("print('changed, not committed')\n")
    path = model_file(git_repo.parent, "dirty.pt")

    model = Models(shared_account.settings).upload("dirty", path, git=git_repo, progress=False)

    stored = shared_account.server.call("GET", f"models/{model['id']}/", session=shared_account.session)
    assert stored["git"]["dirty"] is True
    assert stored["git"]["remote_url"] == "https://git.example.com/acme/resnets.git"
    assert stored["git"]["commit_hash"] == git(git_repo, "rev-parse", "HEAD")


# --- members -------------------------------------------------------------------------------------


def test_members_are_added_by_login_listed_and_removed(account, server):
    other = make_account(server, "joiner")

    added = run_cli("members", "add", str(account.workspace_id), other.login, "--role", "viewer", env=account.env)
    assert added.returncode == 0, added.stderr
    assert f"{other.login} is viewer" in added.stdout
    members = server.call("GET", f"workspaces/{account.workspace_id}/members/", session=account.session)
    assert {(m["user"]["login"], m["role"]) for m in members} == {(account.login, "owner"), (other.login, "viewer")}

    listed = run_cli("members", "ls", str(account.workspace_id), env=account.env)
    assert listed.returncode == 0, listed.stderr
    assert other.login in listed.stdout and "viewer" in listed.stdout

    promoted = run_cli("members", "add", str(account.workspace_id), str(other.id), "-r", "member", env=account.env)
    assert promoted.returncode == 0, promoted.stderr
    members = server.call("GET", f"workspaces/{account.workspace_id}/members/", session=account.session)
    assert (other.login, "member") in {(m["user"]["login"], m["role"]) for m in members}

    removed = run_cli("members", "rm", str(account.workspace_id), other.login, env=account.env)
    assert removed.returncode == 0, removed.stderr
    members = server.call("GET", f"workspaces/{account.workspace_id}/members/", session=account.session)
    assert [m["user"]["login"] for m in members] == [account.login]


def test_members_add_of_an_unknown_login_fails_in_one_line(account):
    done = run_cli("members", "add", str(account.workspace_id), "nobody-such", env=account.env)

    assert done.returncode == 6, done.stderr  # invalid input
    assert "no active user" in done.stderr.lower() and "Traceback" not in done.stderr


def test_members_rm_of_someone_not_there_is_not_found(account):
    done = run_cli("members", "rm", str(account.workspace_id), "nobody-such", env=account.env)

    assert done.returncode == 4, done.stderr
    assert "not a member" in done.stderr


# --- models update -------------------------------------------------------------------------------


def test_models_update_merges_keys_and_changes_the_rest(account, isolated):
    path = model_file(isolated)
    model = Models(account.settings).upload(
        "to-update", path, {"lr": 0.1, "seed": 7}, None, {"accuracy": 0.9}, git=False, progress=False
    )

    done = run_cli(
        "models", "update", str(model["id"]),
        "--hp", "lr=0.01", "--hp", "optimizer=adam", "--unset", "hp.seed",
        "--metric", "accuracy=0.94", "--param", "layers=[64, 32]",
        "--tag", "a,b", "--dataset-name", "imagenet", "--private",
        env=account.env,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    stored = account.server.call("GET", f"models/{model['id']}/", session=account.session)
    assert stored["hyperparameters"] == {"lr": 0.01, "optimizer": "adam"}
    assert stored["metrics"] == {"accuracy": 0.94}
    assert stored["parameters"] == {"layers": [64, 32]}
    assert sorted(t["name"] for t in stored["tags"]) == ["a", "b"]
    assert stored["dataset"]["name"] == "imagenet" and stored["visibility"] == "private"
    assert f"/models/{model['id']}/" in done.stderr

    public = run_cli("models", "update", str(model["id"]), "--public", "--name", "renamed", env=account.env)
    assert public.returncode == 0, public.stderr
    stored = account.server.call("GET", f"models/{model['id']}/", session=account.session)
    assert (stored["visibility"], stored["name"], stored["metrics"]) == ("public", "renamed", {"accuracy": 0.94})


def test_models_update_with_nothing_to_change_is_a_usage_error(account):
    done = run_cli("models", "update", "1", env=account.env)

    assert done.returncode == 2 and "Nothing to change" in done.stderr


def test_models_update_refuses_a_bad_pair(account):
    done = run_cli("models", "update", "1", "--hp", "lr", env=account.env)

    assert done.returncode == 2 and "KEY=VALUE" in done.stderr


# --- one meaning of --private ----------------------------------------------------------------------


def test_the_private_help_says_what_the_server_does():
    done = run_cli("models", "upload", "--help")

    assert "Only you (and the site's staff)" in " ".join(done.stdout.split())
    assert "workspace's owners" not in done.stdout.replace("owners included", "")
