"""Drive the published Maisie 0.1.6 client, unchanged, against a running Maisie server.

Run by ci/compat.sh with the python of a venv holding `Maisie==0.1.6`. The set-up calls
(workspace, project) use only the standard library; everything under test goes through the
old client's own Python API, exactly as an existing user's script would call it.

The old client swallows server errors (it logs and returns an empty list), so this script
records every HTTP exchange the client makes and prints the last one when a check fails:
that shows exactly which request the server refused and what it answered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Exchanges seen by the old client's `requests` calls, newest last.
EXCHANGES: list[str] = []


class CheckFailed(Exception):
    """A compatibility expectation did not hold."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --- Observation of the old client's traffic (recording only, behaviour untouched) -----------


def record_requests_traffic() -> None:
    """Wrap requests.Session.send to keep a one-line summary of each exchange.

    Both the client's Session and its module-level requests.post/get go through Session.send,
    so this sees every request it makes without changing what is sent.
    """
    import requests

    original_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        response = original_send(self, request, **kwargs)
        body = response.content[:600] if not kwargs.get("stream") else b"<streamed>"
        auth = request.headers.get("Authorization", "")
        auth_note = f" [Authorization: {auth.split(' ')[0]} ...]" if auth else ""
        EXCHANGES.append(
            f"{request.method} {request.url}{auth_note} -> {response.status_code} {body.decode('utf-8', 'replace')}"
        )
        return response

    requests.Session.send = send  # type: ignore[method-assign]


def last_exchange() -> str:
    return EXCHANGES[-1] if EXCHANGES else "(no HTTP request was made)"


# --- Set-up through the plain API (not under test) ---------------------------------------------


def api_call(url: str, payload: dict[str, Any] | None, token: str | None = None) -> Any:
    """POST (or GET when payload is None) JSON and return the envelope's `data`."""
    headers = {"Accept": "application/json"}
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:600].decode("utf-8", "replace")
        method = "POST" if payload is not None else "GET"
        raise CheckFailed(f"{method} {url} -> {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CheckFailed(f"{url}: {exc}") from None
    if "data" not in body:
        raise CheckFailed(f"set-up: {url} answered without `data`: {body}")
    return body["data"]


def create_project(api_url: str, login: str, password: str) -> int:
    """Make a workspace and a project owned by the test user; return the project id."""
    auth = api_call(f"{api_url}/auth/login/", {"login": login, "password": password})
    token = auth["access_token"]
    workspace = api_call(
        f"{api_url}/workspaces/",
        {"name": "compat-ws", "description": "0.1.6 client check"},
        token,
    )
    project = api_call(
        f"{api_url}/projects/",
        {
            "name": "compat-project",
            "description": "models uploaded by the old client",
            "workspace_id": workspace["id"],
            "git_url": "https://example.invalid/compat.git",
        },
        token,
    )
    return int(project["id"])


# --- Files the old client uploads ------------------------------------------------------------


@dataclass
class Fixtures:
    """Files on disk handed to the old client, and what the server should echo back."""

    model_path: Path
    model_bytes: bytes
    json_files: dict[str, Path]
    json_values: dict[str, dict[str, Any]]
    repo: Path
    commit: str
    branch: str = "main"


def git(repo: Path, *args: str) -> str:
    # Identity given inline: a CI machine may have no global git config.
    command = ["git", "-c", "user.name=compat", "-c", "user.email=compat@example.invalid"]
    result = subprocess.run([*command, "-C", str(repo), *args], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def make_fixtures(workdir: Path) -> Fixtures:
    """Write a model file, three JSON files and a git repo (the client reads branch and commit)."""
    repo = workdir / "project-repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    model_bytes = os.urandom(48 * 1024) + b"compat model\n"
    model_path = repo / "model.bin"
    model_path.write_bytes(model_bytes)
    git(repo, "add", "model.bin")
    git(repo, "commit", "-q", "-m", "model")
    values = {
        "hyperparameters": {"learning_rate": 0.001, "batch_size": 32, "optimizer": "adam"},
        "parameters": {"layers": 4, "dropout": 0.1},
        "metrics": {"accuracy": 0.93, "loss": 0.21},
    }
    files = {}
    for kind, value in values.items():
        files[kind] = workdir / f"{kind}.json"
        files[kind].write_text(json.dumps(value))
    return Fixtures(model_path, model_bytes, files, values, repo, git(repo, "rev-parse", "HEAD"))


# --- The checks ------------------------------------------------------------------------------


@dataclass
class Context:
    """State shared by the checks, filled in as they pass."""

    api_url: str
    login: str
    password: str
    project_id: int
    fixtures: Fixtures
    config: Any = None
    uploaded: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_login(ctx: Context) -> None:
    """Config(dictionary=...) logs in at construction with form fields login/password."""
    import maisie

    ctx.config = maisie.Config(
        dictionary={
            "api_url": ctx.api_url,
            "auth_user_login": ctx.login,
            "auth_user_password": ctx.password,
            "selected_project": ctx.project_id,
            "git_local_repo": str(ctx.fixtures.repo),
        }
    )
    token = ctx.config.auth.token
    expect(bool(token) and token.count(".") == 2, f"no JWT after login: {last_exchange()}")


def check_token_refresh(ctx: Context) -> None:
    """The client's refresh sends `Authorization: Bearer: <token>` (with a colon)."""
    old = ctx.config.auth.token
    try:
        ctx.config.auth.refresh_token(old)
    except (KeyError, ValueError) as exc:
        raise CheckFailed(f"refresh failed ({exc!r}): {last_exchange()}") from None
    new = ctx.config.auth.token
    expect(bool(new) and new.count(".") == 2, f"refresh gave no JWT: {last_exchange()}")
    # The refreshed token must itself be accepted.
    api_call(f"{ctx.api_url}/models/", None, new)


def upload_one(ctx: Context, name: str, private: bool) -> dict[str, Any]:
    from maisie import Models

    files = ctx.fixtures.json_files
    results = Models(ctx.config).upload(
        name=name,
        filename=str(ctx.fixtures.model_path),
        hyperparameters=str(files["hyperparameters"]),
        parameters=str(files["parameters"]),
        metrics=str(files["metrics"]),
        private=private,
    )
    expect(len(results) == 1, f"upload of {name!r} returned {results!r}: {last_exchange()}")
    return results[0]


def check_upload(ctx: Context) -> None:
    """Upload with JSON files, `private` as text and a stray user_id=1 the server must ignore."""
    fx = ctx.fixtures
    public = upload_one(ctx, "compat-public", private=False)
    for kind, value in fx.json_values.items():
        expect(public.get(kind) == value, f"{kind}: sent {value}, got {public.get(kind)!r}")
    expect(public.get("name") == "compat-public", f"name: {public.get('name')!r}")
    expect(public.get("project_id") == ctx.project_id, f"project_id: {public.get('project_id')!r}")
    expect(public.get("visibility") == "public", f"private=False gave {public.get('visibility')!r}")
    user = public.get("user") or {}
    expect(user.get("login") == ctx.login, f"uploader should be {ctx.login!r}, got {user!r}")
    git_info = public.get("git") or {}
    expect(git_info.get("commit_hash") == fx.commit, f"git.commit_hash: {git_info!r}")
    expect(git_info.get("active_branch") == fx.branch, f"git.active_branch: {git_info!r}")
    file_info = public.get("file") or {}
    expect(file_info.get("size") == len(fx.model_bytes), f"file.size: {file_info!r}")
    digest = hashlib.sha256(fx.model_bytes).hexdigest()
    expect(file_info.get("sha256") == digest, f"file.sha256: {file_info!r}")
    expect("download" in (public.get("_links") or {}), f"_links: {public.get('_links')!r}")
    ctx.uploaded["public"] = public

    private = upload_one(ctx, "compat-private", private=True)
    expect(private.get("visibility") == "private", f"private=True gave {private.get('visibility')!r}")
    ctx.uploaded["private"] = private


def check_get(ctx: Context) -> None:
    from maisie import Models

    expected = ctx.uploaded["public"]
    results = Models(ctx.config).get(expected["id"])
    expect(len(results) == 1, f"get returned {results!r}: {last_exchange()}")
    model = results[0]
    for key in ("id", "name", "hyperparameters", "parameters", "metrics", "visibility"):
        expect(model.get(key) == expected[key], f"{key}: upload said {expected[key]!r}, get {model.get(key)!r}")


def check_list(ctx: Context) -> None:
    from maisie import Models

    models = Models(ctx.config).get_all()
    expect(isinstance(models, list), f"list returned {models!r}: {last_exchange()}")
    ids = {model.get("id") for model in models}
    wanted = {ctx.uploaded[kind]["id"] for kind in ("public", "private")}
    expect(wanted <= ids, f"list lacks the uploaded models {wanted - ids}: {last_exchange()}")
    # The client's paging parameters (page, per_page) must be honoured.
    first_page = Models(ctx.config).get_all(page=1, per_page=1)
    expect(len(first_page) == 1, f"per_page=1 gave {len(first_page)} items: {last_exchange()}")


def check_download(ctx: Context) -> None:
    """Fetch `_links.download` with the client's session, as Models.download does.

    (Models.download itself cannot be called: in 0.1.6 it raises NameError on `path`.)
    """
    link = ctx.uploaded["public"]["_links"]["download"]
    response = ctx.config.session.get(link)
    expect(response.status_code == 200, f"download: {last_exchange()}")
    expect(response.content == ctx.fixtures.model_bytes, "downloaded bytes differ from the upload")


CHECKS: list[tuple[str, Callable[[Context], None]]] = [
    ("login", check_login),
    ("token refresh (Bearer:)", check_token_refresh),
    ("upload", check_upload),
    ("get", check_get),
    ("list", check_list),
    ("download", check_download),
]


def run_checks(ctx: Context) -> tuple[int, int, int]:
    """Run every check in order; after the first failure the rest are skipped (they depend on it)."""
    passed = failed = skipped = 0
    for name, check in CHECKS:
        if failed:
            print(f"SKIP {name}")
            skipped += 1
            continue
        try:
            check(ctx)
        except CheckFailed as exc:
            print(f"FAIL {name}: {exc}")
            failed += 1
        except Exception:
            print(f"FAIL {name}: the old client raised\n{traceback.format_exc()}")
            print(f"     last exchange: {last_exchange()}")
            failed += 1
        else:
            print(f"PASS {name}")
            passed += 1
    return passed, failed, skipped


def clear_client_env() -> None:
    """The old client lets MAISIE_<SETTING> variables override its dictionary: drop them."""
    from maisie import APP_ENV_PREFIX, PERMITTED_SETTINGS

    for setting in PERMITTED_SETTINGS:
        os.environ.pop(f"{APP_ENV_PREFIX}_{setting}".upper(), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", required=True, help="e.g. http://127.0.0.1:8000/api/v1")
    parser.add_argument("--login", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args()

    clear_client_env()
    record_requests_traffic()
    try:
        project_id = create_project(args.api_url, args.login, args.password)
    except CheckFailed as exc:
        print(f"FAIL set-up: {exc}")
        print("compat: 0 passed, 1 failed")
        return 1
    ctx = Context(args.api_url, args.login, args.password, project_id, make_fixtures(args.workdir))
    passed, failed, skipped = run_checks(ctx)
    summary = f"compat: {passed} passed, {failed} failed"
    print(summary + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
