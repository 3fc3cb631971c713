"""The container image, built from the repository's Dockerfile and run as production runs it.

    python3 ci/image_smoke.py            # needs a Docker engine, PostgreSQL, Redis and .venv (moto)

It builds the image, runs the migrations once in a throw-away container, then starts two app
containers (gunicorn as the image's CMD, as user 10001) on this machine's PostgreSQL and Redis
with their model files in S3 (moto's server, over real HTTP), and checks through real HTTP:
Docker's own HEALTHCHECK turns healthy; a model uploaded through one container is listed,
downloaded (a presigned S3 redirect, the bytes and SHA-256 compared) and deleted through the
other; the object is in the bucket and gone after the delete; the process runs as 10001.

Where no image registry is reachable (this project's development machines), the base image
`python:3.11-slim-bookworm` cannot be pulled. Then a stand-in with that name is built: Debian
bookworm by debootstrap (from Debian's package mirror), its own Python 3.11, and this
machine's CA certificates so pip can reach PyPI through the egress proxy. The Dockerfile is
built unchanged on top of it; the output says which base was used.

Ends with `image smoke: passed` or `image smoke: FAILED: ...` (exit 1); exit 2 when there is no
Docker engine to talk to.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maisie_site.tests.servers import free_port, start_moto  # noqa: E402

BASE = "python:3.11-slim-bookworm"
IMAGE = "maisie:smoke"
PG = os.environ.get("MAISIE_SMOKE_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("MAISIE_SMOKE_REDIS", "redis://127.0.0.1:6379/3")
HEALTHY_SECONDS = 90


class SmokeFailed(Exception):
    pass


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise SmokeFailed(f"{' '.join(args[:4])} failed ({done.returncode}):\n{output}")
    return done


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    # The classic builder: BuildKit would fetch its Dockerfile frontend from a registry.
    return run("docker", *args, check=check, env={**os.environ, "DOCKER_BUILDKIT": "0"})


def ensure_base_image(work: Path) -> str:
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return "already present"
    if docker("pull", BASE, check=False).returncode == 0:
        return "pulled from its registry"
    if not shutil.which("debootstrap"):
        raise SmokeFailed(f"{BASE} cannot be pulled and debootstrap is not installed to build a stand-in")
    rootfs = work / "rootfs"
    run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run("docker", "import", "-", "maisie-smoke/debian:bookworm", stdin=tar.stdout)
    tar.wait()
    context = work / "base"
    context.mkdir()
    for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(cert, context / cert.name)
    (context / "Dockerfile").write_text(
        "FROM maisie-smoke/debian:bookworm\n"
        "COPY . /usr/local/share/ca-certificates/\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates"
        " && rm -rf /var/lib/apt/lists/* /usr/local/share/ca-certificates/Dockerfile && update-ca-certificates"
        " && ln -s /usr/bin/python3 /usr/local/bin/python\n"
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
    )
    docker("build", "-t", BASE, str(context))
    return "a stand-in: Debian bookworm (debootstrap) with its Python 3.11, no registry reachable"


def create_database(name: str) -> str:
    import psycopg2

    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"{PG}/{name}"


def drop_database(name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def http(method: str, url: str, token: str | None = None, body: bytes | None = None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), url


def post_json(url: str, data: dict, token: str | None = None):
    return http("POST", url, token, json.dumps(data).encode(), {"Content-Type": "application/json"})


def multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


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

    if docker("info", check=False).returncode != 0:
        print("image smoke: no Docker engine answers (docker info failed)", file=sys.stderr)
        sys.exit(2)
    print(f"base image {BASE}: {ensure_base_image(work)}", flush=True)
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
        status, body, _ = post_json(f"{a}/auth/login/", {"login": "admin", "password": admin_password})
        if status != 200:
            raise SmokeFailed(f"login through A: {status} {body[:300]!r}")
        token = json.loads(body)["data"]["access_token"]
        status, body, _ = post_json(f"{a}/workspaces/", {"name": "smoke"}, token)
        workspace = json.loads(body)["data"]["id"]
        status, body, _ = post_json(f"{a}/projects/", {"name": "smoke", "workspace_id": workspace}, token)
        if status != 201:
            raise SmokeFailed(f"project through A: {status} {body[:300]!r}")
        project = json.loads(body)["data"]["id"]
        content = os.urandom(3 * 1024 * 1024 + 17)
        digest = hashlib.sha256(content).hexdigest()
        fields = {"name": "smoke-model", "project_id": str(project), "sha256": digest}
        kind, payload = multipart(fields, "m.pt", content)
        status, body, _ = http("POST", f"{a}/models/", token, payload, {"Content-Type": kind})
        if status != 201:
            raise SmokeFailed(f"upload through A: {status} {body[:300]!r}")
        model = json.loads(body)["data"]
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if len(keys) != 1:
            raise SmokeFailed(f"the bucket holds {keys} after one upload")

        status, body, _ = http("GET", f"{b}/models/?q=name%20%3D%20%22smoke-model%22", token)
        listed = [item["id"] for item in json.loads(body)["data"]]
        if status != 200 or listed != [model["id"]]:
            raise SmokeFailed(f"list through B: {status} {listed}")
        status, body, final_url = http("GET", f"{b}/models/{model['id']}/download/", token)
        if status != 200 or not final_url.startswith(s3_url) or hashlib.sha256(body).hexdigest() != digest:
            raise SmokeFailed(f"download through B: {status}, from {final_url[:80]}, {len(body)} bytes")
        status, body, _ = http("DELETE", f"{b}/models/{model['id']}/", token)
        if status != 200:
            raise SmokeFailed(f"delete through B: {status} {body[:300]!r}")
        if s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) != 0:
            raise SmokeFailed("the object is still in the bucket after the delete")
        print(
            "through A: login, workspace, project, a 3 MiB upload into S3; through B: list, download "
            "(presigned redirect, SHA-256 equal), delete (object gone)",
            flush=True,
        )
    finally:
        for name in containers:
            docker("rm", "-f", name, check=False)
        moto.stop()
        drop_database(database)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maisie-image-smoke-") as work:
        try:
            smoke(Path(work))
        except SmokeFailed as failure:
            print(f"image smoke: FAILED: {failure}", file=sys.stderr)
            sys.exit(1)
    print("image smoke: passed")


if __name__ == "__main__":
    main()
