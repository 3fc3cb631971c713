"""The container image, built from the repository's Dockerfile and run as production runs it.

    python3 ci/image_smoke.py            # needs a Docker engine, PostgreSQL, Redis and .venv (moto)

It builds the image, runs the migrations once in a throw-away container, then starts two app
containers (gunicorn as the image's CMD, as user 10001) on this machine's PostgreSQL and Redis
with their model files in S3 (moto's server, over real HTTP), and checks through real HTTP:
Docker's own HEALTHCHECK turns healthy; a model uploaded through one container is listed,
downloaded (a presigned S3 redirect, the bytes and SHA-256 compared) and deleted through the
other; the object is in the bucket and gone after the delete; the process runs as 10001.

Where no image registry is reachable (this project's development machines), the base image
`python:3.11-slim-bookworm` cannot be pulled; then a stand-in with that name is built
(ci/standins/README.md) and the Dockerfile is built unchanged on top of it. The output says
which base was used.

Ends with `image smoke: passed` or `image smoke: FAILED: ...` (exit 1); exit 2 when there is no
Docker engine to talk to.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ci.api_walk import walk  # noqa: E402
from ci.standins import PYTHON, SmokeFailed, docker, engine_answers, ensure, report  # noqa: E402
from maisie_site.live_servers import free_port, start_moto  # noqa: E402

IMAGE = "maisie:smoke"
PG = os.environ.get("MAISIE_SMOKE_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("MAISIE_SMOKE_REDIS", "redis://127.0.0.1:6379/3")
HEALTHY_SECONDS = 90


def _on_server(*statements: str) -> None:
    import psycopg2

    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True  # CREATE and DROP DATABASE run outside a transaction
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    connection.close()


def create_database(name: str) -> str:
    _on_server(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def drop_database(name: str) -> None:
    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_healthy(container: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < HEALTHY_SECONDS:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
        if not state.get("Running"):
            raise SmokeFailed(f"{container} stopped:\n{docker('logs', container, check=False).stderr[-3000:]}")
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - started
        time.sleep(1)
    raise SmokeFailed(f"{container} not healthy after {HEALTHY_SECONDS} s: {state.get('Health')}")


def smoke(work: Path) -> None:
    import boto3

    if not engine_answers():
        print("image smoke: no Docker engine answers (docker info failed)", file=sys.stderr)
        sys.exit(2)
    print(f"base image {PYTHON}: {ensure(PYTHON, 'python')}", flush=True)
    started = time.monotonic()
    docker("build", "-t", IMAGE, str(REPO))
    print(f"built {IMAGE} from the Dockerfile in {time.monotonic() - started:.0f} s", flush=True)

    moto = start_moto(work)
    database = f"maisie_image_smoke_{uuid.uuid4().hex[:8]}"
    containers: list[str] = []
    try:
        s3_url = f"http://127.0.0.1:{moto.port}"
        s3 = boto3.client(
            "s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="smoke", aws_secret_access_key="smoke"
        )
        bucket = f"maisie-smoke-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        admin_password = secrets.token_urlsafe(16)
        env = {
            "DATABASE_URL": create_database(database),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "DJANGO_BEHIND_TLS_PROXY": "false",
            "MAISIE_REDIS_URL": REDIS,
            "MAISIE_S3_BUCKET": bucket,
            "MAISIE_S3_ENDPOINT_URL": s3_url,
            "MAISIE_S3_REGION": "us-east-1",
            "MAISIE_S3_ACCESS_KEY_ID": "smoke",
            "MAISIE_S3_SECRET_ACCESS_KEY": "smoke",
            "MAISIE_S3_PRESIGNED_DOWNLOADS": "true",
            "MAISIE_ADMIN_PASSWORD": admin_password,
            "GUNICORN_WORKERS": "2",
        }
        # Host networking: this machine's PostgreSQL and Redis listen on loopback only.
        flags = ["--network", "host", *[arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]]
        once = "python manage.py migrate --noinput && python manage.py ensure_admin"
        migrate = docker("run", "--rm", *flags, IMAGE, "sh", "-c", once)
        print(f"migrate step: {migrate.stdout.strip().splitlines()[-1]}", flush=True)

        ports = [free_port(), free_port()]
        for port in ports:
            name = f"maisie-smoke-{port}"
            docker("run", "-d", "--name", name, *flags, "-e", f"GUNICORN_BIND=127.0.0.1:{port}", IMAGE)
            containers.append(name)
        for name in containers:
            print(f"{name}: healthy (Docker HEALTHCHECK) after {wait_healthy(name):.0f} s", flush=True)
        uid = docker("exec", containers[0], "id", "-u").stdout.strip()
        if uid != "10001":
            raise SmokeFailed(f"the app runs as uid {uid}, not 10001")

        a, b = (f"http://127.0.0.1:{port}/api/v1" for port in ports)
        stored = lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)  # noqa: E731
        print(walk(a, b, admin_password, stored, download_from=s3_url), flush=True)
    finally:
        for name in containers:
            docker("rm", "-f", name, check=False)
        moto.stop()
        drop_database(database)


def smoke_in_a_scratch_folder() -> None:
    with tempfile.TemporaryDirectory(prefix="maisie-image-smoke-") as work:
        smoke(Path(work))


if __name__ == "__main__":
    report("image smoke", smoke_in_a_scratch_folder)
