"""compose.yaml started as docs/deploy.md says, and one model's life through its proxy.

    python3 ci/compose_smoke.py          # needs a Docker engine, docker-compose, port 8000 free

`docker-compose up -d --build` of the unchanged compose.yaml (PostgreSQL with its volume,
Redis, MinIO with the bucket created at start, the migrate step, two app replicas, the background
worker, nginx), then checks: the migrate step ran once and exited 0 before the apps started; two
app replicas and the worker run;
`/healthz` answers 200 through nginx; `ensure_admin` through the migrate service prints the
admin password; a model uploaded through nginx is found, downloaded and deleted, its file
appearing in and leaving the MinIO bucket; both replicas served some of those requests. Then
`down -v`, whatever happened.

Images that no registry can give here are built as stand-ins with the same names
(ci/standins/README.md says what each copies). Ends with `compose smoke: passed` or
`compose smoke: FAILED: ...` (exit 1); exit 2 when no Docker engine answers.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ci.api_walk import http, walk  # noqa: E402
from ci.standins import PYTHON, SmokeFailed, engine_answers, ensure, report, run  # noqa: E402

PROJECT = "maisiesmoke"
PROXY = "http://127.0.0.1:8000"
UP_SECONDS = 240
STANDINS = {"postgres": ("postgres", {}), "redis": ("redis", {}), "nginx": ("nginx", {})}
STANDINS |= {"minio/minio": ("minio", {"ENTRY": "minio"}), "minio/mc": ("minio", {"ENTRY": "mc"})}


def compose(*args: str, env: dict[str, str], check: bool = True):
    return run(
        "docker-compose", "-p", PROJECT, "-f", str(REPO / "compose.yaml"), *args, check=check, env={**os.environ, **env}
    )


def images() -> list[tuple[str, str, dict]]:
    """(tag, stand-in folder, build args) of every image compose.yaml names."""
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    found = []
    for service in services.values():
        tag = service.get("image")
        if tag:
            standin, build_args = STANDINS[tag.partition(":")[0]]
            found.append((tag, standin, build_args))
    return found


def wait_for_health() -> float:
    started = time.monotonic()
    while time.monotonic() - started < UP_SECONDS:
        try:
            if http("GET", f"{PROXY}/healthz")[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(2)
    raise SmokeFailed(f"{PROXY}/healthz did not answer 200 within {UP_SECONDS} s")


def smoke() -> None:
    if not engine_answers():
        print("compose smoke: no Docker engine answers (docker info failed)", file=sys.stderr)
        sys.exit(2)
    if not shutil.which("docker-compose"):
        raise SmokeFailed("docker-compose is not installed")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8000)) == 0:
            raise SmokeFailed("port 8000 is taken; compose.yaml publishes the proxy there")
    print(f"{PYTHON} (the app image's base): {ensure(PYTHON, 'python')}", flush=True)
    for tag, standin, build_args in images():
        print(f"{tag}: {ensure(tag, standin, **build_args)}", flush=True)

    env = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(16),
        "MAISIE_SECRET_KEY": secrets.token_urlsafe(50),
    }
    try:
        started = time.monotonic()
        compose("up", "-d", "--build", env=env)
        print(f"docker-compose up -d --build: {time.monotonic() - started:.0f} s", flush=True)
        print(f"/healthz through nginx: 200 after {wait_for_health():.0f} s more", flush=True)

        states = compose("ps", "-a", env=env).stdout
        migrate_lines = [line for line in states.splitlines() if "_migrate_" in line]
        if len(migrate_lines) != 1 or "Exit 0" not in migrate_lines[0]:
            raise SmokeFailed(f"the migrate step did not run once and exit 0:\n{states}")
        apps = compose("ps", "-q", "app", env=env).stdout.split()
        if len(apps) != 2:
            raise SmokeFailed(f"{len(apps)} app replicas run, not 2:\n{states}")
        workers = compose("ps", "-q", "worker", env=env).stdout.split()
        if len(workers) != 1 or "maisie_worker" not in run("docker", "logs", workers[0]).stdout:
            raise SmokeFailed(f"the background worker does not run:\n{states}")
        print("migrate: ran once, exit 0; app: 2 replicas; worker: running", flush=True)

        admin = compose("run", "--rm", "migrate", "python", "manage.py", "ensure_admin", env=env).stdout
        password = re.search(r"password: (\S+)", admin)
        if not password:
            raise SmokeFailed(f"ensure_admin printed no password: {admin!r}")

        def stored() -> int:
            listing = compose("exec", "-T", "minio", "mc", "ls", "--recursive", "local/maisie-models", env=env)
            return len(listing.stdout.split("\n")) - 1

        api = f"{PROXY}/api/v1"
        print(walk(api, api, password.group(1), stored), flush=True)
        served = [run("docker", "logs", app).stdout.count("/api/v1/") for app in apps]
        if not all(served):
            raise SmokeFailed(f"requests per app replica: {served}; nginx should spread them over both")
        print(f"API requests in each app replica's access log: {served}", flush=True)
    except SmokeFailed:
        print(compose("logs", "--tail", "40", env=env, check=False).stdout[-6000:], file=sys.stderr)
        raise
    finally:
        compose("down", "-v", "--remove-orphans", env=env, check=False)


if __name__ == "__main__":
    report("compose smoke", smoke)
