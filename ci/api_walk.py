"""One model's life through the HTTP API of two servers (or one proxy twice), checked at each
step: shared by the container smoke runs. Standard library only."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable

from ci.standins import SmokeFailed
from maisie_site.live_servers import multipart


def http(method: str, url: str, token: str | None = None, body: bytes | None = None, headers=None):
    """(status, body, the URL finally answered, after redirects)."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), url


def post_json(url: str, data: dict, token: str | None = None):
    return http("POST", url, token, json.dumps(data).encode(), {"Content-Type": "application/json"})


def _expect(what: str, status: int, body: bytes, wanted: int) -> dict:
    if status != wanted:
        raise SmokeFailed(f"{what}: {status}, not {wanted}: {body[:300]!r}")
    return json.loads(body).get("data")  # a delete answers {"status": "success"} alone


def walk(a: str, b: str, admin_password: str, objects: Callable[[], int], download_from: str = "") -> str:
    """Through `a` (an API root URL): sign in as admin, make a workspace and project, upload a
    3 MiB model; through `b`: find it with `q`, download it (from a URL starting `download_from`,
    if given: a presigned redirect), delete it. `objects()` counts the stored files."""
    data = _expect(
        "sign-in through A", *post_json(f"{a}/auth/login/", {"login": "admin", "password": admin_password})[:2], 200
    )
    token = data["access_token"]
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    workspace = _expect("workspace through A", *post_json(f"{a}/workspaces/", {"name": name}, token)[:2], 201)
    project = _expect(
        "project through A",
        *post_json(f"{a}/projects/", {"name": name, "workspace_id": workspace["id"]}, token)[:2],
        201,
    )
    before = objects()
    content = os.urandom(3 * 1024 * 1024 + 17)
    digest = hashlib.sha256(content).hexdigest()
    kind, payload = multipart({"name": name, "project_id": str(project["id"]), "sha256": digest}, "m.pt", content)
    model = _expect("upload through A", *http("POST", f"{a}/models/", token, payload, {"Content-Type": kind})[:2], 201)
    if objects() != before + 1:
        raise SmokeFailed(f"the storage holds {objects()} files after one upload, {before} before")

    query = urllib.parse.urlencode({"q": f'name = "{name}"'})
    listed = _expect("list through B", *http("GET", f"{b}/models/?{query}", token)[:2], 200)
    if [item["id"] for item in listed] != [model["id"]]:
        raise SmokeFailed(f"list through B found {listed}")
    status, body, final_url = http("GET", f"{b}/models/{model['id']}/download/", token)
    if status != 200 or not final_url.startswith(download_from) or hashlib.sha256(body).hexdigest() != digest:
        raise SmokeFailed(f"download through B: {status}, from {final_url[:80]}, {len(body)} bytes")
    _expect("delete through B", *http("DELETE", f"{b}/models/{model['id']}/", token)[:2], 200)
    if objects() != before:
        raise SmokeFailed("the file is still stored after the delete")
    via = "a presigned S3 redirect" if download_from else "the app"
    return (
        "through A: sign-in, workspace, project, a 3 MiB upload; through B: found by q, downloaded "
        f"through {via} (SHA-256 equal), deleted; the storage gained and then lost one file"
    )
