"""Upload/download throughput and server memory of Maisie (gunicorn), beside cp and MLflow.

    python3 bench/transfer.py [--size-mib 1024] [--runs 3] [--skip-mlflow]
    python3 bench/transfer.py --folder [--folder-gib 4] [--folder-small-mib 512] [--runs 3]

Starts the Maisie server as in production (gunicorn, sync workers) from this checkout and,
unless skipped, an MLflow 3.x server with proxied artifacts from its own venv; pushes a file
through each over loopback with a streaming stdlib client (the file is never held in memory)
and prints the median MB/s each way, the ratios to `cp` on the same disk, and the peak RSS of
each server's whole process tree, sampled from /proc while it transfers.

Two `cp` references: `cp` then fsync of the copy and its folder, timed together (durable, as
Maisie's stored file is when the upload is answered; the upload target is checked against
it), and plain `cp`, which returns while the copy may sit only in the page cache (not durable,
printed for comparison with earlier figures).

`--folder` (issue 16) moves a folder (a config and four shards) with each server's own client
instead, beside `cp -r`+fsync, then uploads it again under another name (bytes counted by a
relay) and resumes an upload killed at 50 %; see "Folders (issue 16)" below and bench/README.md.

Only the standard library is used here, so any python3 (3.11+) runs it; the folder mode's clients
run in their own venvs (`maisie` from the checkout's .venv, MLflow's). MB means 10^6 bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import mlflow_server  # noqa: E402  (sibling module, found through the lines above)

from maisie_site.live_servers import ServerProcess as Server  # noqa: E402  (the one place servers start)
from maisie_site.live_servers import free_port  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
MB = 1_000_000
CHUNK = MiB  # large socket writes/reads keep the client's own CPU cost negligible
RSS_TARGET_MB = 200
UPLOAD_VS_CP_TARGET = 0.5
HTTP_TIMEOUT = 900  # seconds per socket operation; a 1 GiB transfer takes a few seconds
START_TIMEOUT = 120
Part = bytes | Path  # a request body is a sequence of literal bytes and whole files


# --- Processes -------------------------------------------------------------------------------


def read_proc(path: str) -> str | None:
    """A /proc file's text, or None if the process vanished meanwhile."""
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def memory_bytes(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process. PSS splits pages shared between forked workers among them,
    so unlike the RSS sum it does not count the same page twice."""
    rollup = read_proc(f"/proc/{pid}/smaps_rollup") or ""
    values = {"Rss:": 0, "Pss:": 0}
    for line in rollup.splitlines():
        key = line.split(":", 1)[0] + ":"
        if key in values:
            values[key] = int(line.split()[1]) * 1024
    return values["Rss:"], values["Pss:"]


class RssSampler:
    """Samples the summed RSS (and PSS) of a server's process tree in a background thread."""

    def __init__(self, server: Server, interval: float = 0.1) -> None:
        self.server = server
        self.interval = interval
        self.peak = 0
        self.peak_pss = 0
        self.peak_by_pid: dict[int, int] = {}  # RSS of each process at the peak: who to blame
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        readings = {pid: memory_bytes(pid) for pid in self.server.pids()}
        total = sum(rss for rss, _ in readings.values())
        if total > self.peak:
            self.peak = total
            self.peak_by_pid = {pid: rss for pid, (rss, _) in readings.items()}
        self.peak_pss = max(self.peak_pss, sum(pss for _, pss in readings.values()))

    def breakdown(self) -> str:
        """Per-process RSS at the peak, largest first, e.g. '95+62+25 MB'."""
        sizes = sorted(self.peak_by_pid.values(), reverse=True)
        return "+".join(f"{size / MB:.0f}" for size in sizes) + " MB"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# --- Streaming HTTP over loopback ------------------------------------------------------------


def part_length(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else part.stat().st_size


def send_parts(conn: http.client.HTTPConnection, parts: list[Part]) -> None:
    """Write the body; files go through sendfile(2): no copy through Python, so the client
    takes as little as possible of the two cores it shares with the server."""
    for part in parts:
        if isinstance(part, bytes):
            conn.send(part)
            continue
        assert conn.sock is not None  # endheaders() connected it
        with part.open("rb") as source:
            conn.sock.sendfile(source)


def send_request(port: int, method: str, path: str, headers: dict[str, str], parts: list[Part]) -> tuple[int, bytes]:
    """Send a body made of parts (files streamed in chunks); return status and response body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(sum(part_length(p) for p in parts)))
        conn.endheaders()
        try:
            send_parts(conn, parts)
        except OSError as exc:
            # A server that refuses early (413, 401) may close while we still send: its answer
            # is more useful than our broken pipe.
            with suppress(Exception):
                response = conn.getresponse()
                return response.status, response.read()
            raise RuntimeError(f"{method} {path}: connection failed while sending: {exc}") from exc
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Fetched:
    status: int
    size: int
    sha256: str | None
    error_body: bytes = b""


def fetch(port: int, path: str, headers: dict[str, str], digest: bool) -> Fetched:
    """GET into a reused buffer (nothing accumulates in memory); optionally hash the bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            return Fetched(response.status, 0, None, response.read()[:2000])
        hasher = hashlib.sha256() if digest else None
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        size = 0
        while count := response.readinto(buffer):
            size += count
            if hasher:
                hasher.update(view[:count])
        return Fetched(200, size, hasher.hexdigest() if hasher else None)
    finally:
        conn.close()


def expect_ok(what: str, status: int, body: bytes, ok: tuple[int, ...] = (200, 201)) -> None:
    if status not in ok:
        raise RuntimeError(f"{what} -> HTTP {status}: {body[:2000].decode('utf-8', 'replace')}")


# --- Test files ------------------------------------------------------------------------------


@dataclass
class TestFile:
    path: Path
    size: int
    sha256: str


def make_file(path: Path, size: int) -> TestFile:
    """Random bytes (incompressible, undeduplicable), hashed while written."""
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(8 * MiB, left))
            hasher.update(block)
            out.write(block)
            left -= len(block)
    return TestFile(path, size, hasher.hexdigest())


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def time_cp(source: TestFile, target: Path, durable: bool) -> float:
    """Seconds for one `cp` on the same disk; when durable, until the copy and its directory
    entry are fsynced too, which is what Maisie's file-system storage waits for before it
    answers an upload. Only the copy is synced, not the whole file system (`sync`), so other
    programs' dirty data does not count."""
    start = time.perf_counter()
    subprocess.run(["cp", str(source.path), str(target)], check=True)
    if durable:
        fsync_path(target)
        fsync_path(target.parent)
    seconds = time.perf_counter() - start
    target.unlink()
    return seconds


@dataclass
class CpRates:
    """Median MB/s of the two physical references for one file size."""

    durable: float  # cp, then fsync of the copy and its folder: on disk when it returns
    page_cache: float  # cp alone: may still be only in RAM when it returns


# --- Maisie ----------------------------------------------------------------------------------


@dataclass
class MaisieApi:
    port: int
    token: str = ""
    project_id: int = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, payload: dict[str, object] | None = None) -> dict:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {**self.headers(), "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        status, answer = send_request(self.port, method, path, headers, [body])
        expect_ok(f"{method} {path}", status, answer)
        return json.loads(answer)["data"] if answer else {}

    def set_up(self, login: str, password: str) -> None:
        self.token = self.call("POST", "/api/v1/auth/login/", {"login": login, "password": password})["access_token"]
        workspace = self.call("POST", "/api/v1/workspaces/", {"name": "bench", "description": ""})
        self.project_id = self.call(
            "POST",
            "/api/v1/projects/",
            {"name": "bench", "description": "", "workspace_id": workspace["id"], "git_url": ""},
        )["id"]

    def upload(self, test_file: TestFile, name: str) -> dict:
        boundary = uuid.uuid4().hex
        fields = {
            "name": name,
            "project_id": str(self.project_id),
            "hyperparameters": "{}",
            "parameters": "{}",
            "metrics": "{}",
            "tags": "bench",
            "private": "false",
            "sha256": test_file.sha256,
        }
        head = (
            b"".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
                for key, value in fields.items()
            )
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{test_file.path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
        )
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = {**self.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        status, answer = send_request(self.port, "POST", "/api/v1/models/", headers, [head, test_file.path, tail])
        expect_ok("POST /api/v1/models/ (upload)", status, answer)
        return json.loads(answer)["data"]


class Transport:
    """One server's upload/download primitives, as the benchmark loop sees them."""

    def upload(self, test_file: TestFile, run: int) -> str:  # returns a handle for download
        raise NotImplementedError

    def download(self, handle: str, digest: bool) -> Fetched:
        raise NotImplementedError

    def discard(self, handle: str) -> None:
        """Best-effort delete so repeated 1 GiB runs don't pile up on disk."""


@dataclass
class MaisieTransport(Transport):
    api: MaisieApi
    ids: dict[str, int] = field(default_factory=dict)

    def upload(self, test_file: TestFile, run: int) -> str:
        model = self.api.upload(test_file, f"bench-{test_file.size // MiB}mib-{run}")
        stored = model.get("file") or {}
        if stored.get("size") != test_file.size or stored.get("sha256") != test_file.sha256:
            raise RuntimeError(f"upload stored {stored!r}, sent {test_file.size} bytes")
        link = urlsplit(model["_links"]["download"])
        path = link.path + (f"?{link.query}" if link.query else "")
        self.ids[path] = model["id"]
        return path

    def download(self, handle: str, digest: bool) -> Fetched:
        return fetch(self.api.port, handle, self.api.headers(), digest)

    def discard(self, handle: str) -> None:
        with suppress(Exception):
            self.api.call("DELETE", f"/api/v1/models/{self.ids.pop(handle)}/")


def maisie_env(data_dir: Path, max_upload: int) -> dict[str, str]:
    """Production-like settings, isolated from whatever the caller's environment holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "MAISIE_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "maisie_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "MAISIE_MAX_UPLOAD_BYTES": str(max_upload),
            "MAISIE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def start_maisie(
    args: argparse.Namespace, workdir: Path, max_upload: int, servers: list[Server]
) -> tuple[Server, MaisieTransport]:
    python = str(args.maisie_python)
    env = maisie_env(workdir / "maisie-data", max_upload)
    login, password = "bench", uuid.uuid4().hex

    def manage(*command: str) -> None:
        result = subprocess.run(
            [python, "-m", "django", *command],
            cwd=REPO,
            env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"django {command[0]} failed:\n{result.stdout}{result.stderr}")

    manage("migrate", "--noinput")
    manage("createsuperuser", "--noinput", "--login", login, "--email", "bench@example.invalid")
    port = free_port()
    server = Server(
        name="maisie",
        command=[
            python,
            "-m",
            "gunicorn",
            "maisie_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "900",
        ],
        port=port,
        env=env,
        log_path=workdir / "maisie.log",
        ready_path=None,
    )
    servers.append(server)  # registered before it starts, so any failure below still stops it
    server.start()
    server.require_ready(START_TIMEOUT)
    api = MaisieApi(port)
    api.set_up(login, password)
    return server, MaisieTransport(api)


# --- MLflow ----------------------------------------------------------------------------------


@dataclass
class MlflowTransport(Transport):
    port: int

    def upload(self, test_file: TestFile, run: int) -> str:
        path = mlflow_server.artifact_path(f"bench/{test_file.size // MiB}mib/run-{run}.bin")
        headers = {"Content-Type": "application/octet-stream"}
        status, answer = send_request(self.port, "PUT", path, headers, [test_file.path])
        expect_ok(f"PUT {path}", status, answer)
        return path

    def download(self, handle: str, digest: bool) -> Fetched:
        return fetch(self.port, handle, {}, digest)

    def discard(self, handle: str) -> None:
        with suppress(Exception):
            send_request(self.port, "DELETE", handle, {}, [])


def start_mlflow(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> tuple[Server, MlflowTransport]:
    mlflow = mlflow_server.ensure_venv()
    mlflow_dir = workdir / "mlflow"
    mlflow_dir.mkdir()
    port = free_port()
    env = mlflow_server.server_env(dict(os.environ))
    server = Server(
        name="mlflow",
        command=mlflow_server.server_command(mlflow, port, mlflow_dir, args.workers),
        port=port,
        env=env,
        log_path=workdir / "mlflow.log",
        ready_path=None,  # uvicorn listens before its workers are up: /health is waited for below
        cwd=mlflow_dir,
    )
    servers.append(server)
    server.start()
    server.require_ready(START_TIMEOUT)
    # uvicorn listens before its workers are up: wait for an answer, not just a socket.
    deadline = time.monotonic() + START_TIMEOUT
    while fetch(port, "/health", {}, False).status != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"mlflow /health never answered 200:\n{server.log_tail()}")
        time.sleep(0.5)
    return server, MlflowTransport(port)


# --- Measurement -----------------------------------------------------------------------------


@dataclass
class Row:
    server: str
    size: int
    upload_s: list[float] = field(default_factory=list)
    download_s: list[float] = field(default_factory=list)
    idle_rss: int = 0
    peak_rss: int = 0
    peak_pss: int = 0

    def rate(self, times: list[float]) -> float | None:
        return self.size / statistics.median(times) / MB if times else None

    @property
    def upload_mbps(self) -> float | None:
        return self.rate(self.upload_s)

    @property
    def download_mbps(self) -> float | None:
        return self.rate(self.download_s)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure(server: Server, transport: Transport, test_file: TestFile, runs: int) -> Row:
    """N timed upload+download rounds, then one untimed hashed download to check the bytes."""
    row = Row(server.name, test_file.size)
    server.wait_idle()
    with RssSampler(server) as sampler:
        row.idle_rss = sampler.peak
        handle = ""
        for run in range(1, runs + 1):
            if handle:
                transport.discard(handle)
            seconds, handle = timed(lambda run=run: transport.upload(test_file, run))
            row.upload_s.append(seconds)
            seconds, fetched = timed(lambda path=handle: transport.download(path, digest=False))
            check_fetched(server.name, fetched, test_file.size, None)
            row.download_s.append(seconds)
            print(
                f"  {server.name} {test_file.size // MiB} MiB run {run}: "
                f"up {test_file.size / row.upload_s[-1] / MB:.0f} MB/s, "
                f"down {test_file.size / seconds / MB:.0f} MB/s, "
                f"peak RSS so far {sampler.peak / MB:.0f} MB",
                flush=True,
            )
        check_fetched(server.name, transport.download(handle, digest=True), test_file.size, test_file.sha256)
        transport.discard(handle)
    row.peak_rss = sampler.peak
    row.peak_pss = sampler.peak_pss
    print(f"  {server.name} {test_file.size // MiB} MiB: peak RSS per process {sampler.breakdown()}", flush=True)
    return row


def check_fetched(name: str, fetched: Fetched, size: int, sha256: str | None) -> None:
    if fetched.status != 200:
        body = fetched.error_body.decode("utf-8", "replace")
        raise RuntimeError(f"{name} download -> HTTP {fetched.status}: {body}")
    if fetched.size != size:
        raise RuntimeError(f"{name} download returned {fetched.size} bytes, expected {size}")
    if sha256 and fetched.sha256 != sha256:
        raise RuntimeError(f"{name} download's sha256 differs from the uploaded file's")


def measure_server(
    start: Callable[[], tuple[Server, Transport]],
    files: list[TestFile],
    runs: int,
) -> list[Row]:
    """Start one server, measure every size on it, stop it: one server at a time, so the two
    never compete for the machine's two cores."""
    server, transport = start()
    try:
        return [measure(server, transport, test_file, runs) for test_file in files]
    finally:
        server.stop()


# --- Report ----------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


COLUMNS = ["size", "what", "upload MB/s", "download MB/s", "idle RSS MB", "peak RSS MB", "peak PSS MB"]


def table_line(cells: list[str]) -> str:
    widths = [max(len(c), 9) for c in COLUMNS]
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))


def print_table(cp_rates: dict[int, CpRates], rows: list[Row], runs: int) -> None:
    print(f"\nMedian of {runs} run(s); MB = 10^6 bytes; RSS/PSS summed over each server's process tree")
    print(table_line(COLUMNS))
    print("-" * len(table_line(COLUMNS)))
    for size, cp_rate in cp_rates.items():
        label = f"{size // MiB} MiB"
        print(table_line([label, "cp+fsync", fmt(cp_rate.durable), "-", "-", "-", "-"]))
        print(table_line([label, "cp", fmt(cp_rate.page_cache), "-", "-", "-", "-"]))
        for row in (r for r in rows if r.size == size):
            memory = [fmt(row.idle_rss / MB), fmt(row.peak_rss / MB), fmt(row.peak_pss / MB)]
            print(table_line([label, row.server, fmt(row.upload_mbps), fmt(row.download_mbps), *memory]))
    print(
        "\ncp+fsync: cp, then fsync of the copy and its folder, timed together: the copy is on disk,\n"
        "  as a Maisie upload's file is when it is answered 201. The upload target uses this one.\n"
        "cp: cp alone, which returns while the copy may still be only in RAM (page cache): not\n"
        "  durable, so not what a durable server can be held to; shown for comparison."
    )
    print()


def verdict(what: str, ok: bool) -> bool:
    print(f"{what} {'OK' if ok else 'MISSED'}")
    return ok


def print_targets(cp_rates: dict[int, CpRates], rows: list[Row]) -> bool:
    """Print the ratios and Maisie's targets; return whether every target was met."""
    met = True
    for size, cp_rate in cp_rates.items():
        by_server = {r.server: r for r in rows if r.size == size}
        maisie, mlflow = by_server.get("maisie"), by_server.get("mlflow")
        if maisie and maisie.upload_mbps:
            ratio = maisie.upload_mbps / cp_rate.durable
            target = f"{size // MiB} MiB: Maisie upload / (cp+fsync) = {ratio:.2f} (target >= {UPLOAD_VS_CP_TARGET})"
            met &= verdict(target, ratio >= UPLOAD_VS_CP_TARGET)
            print(
                f"{size // MiB} MiB: Maisie upload / cp (page cache, not durable) = "
                f"{maisie.upload_mbps / cp_rate.page_cache:.2f} (no target)"
            )
        if maisie and mlflow and maisie.upload_mbps and mlflow.upload_mbps:
            down = (
                maisie.download_mbps / mlflow.download_mbps if maisie.download_mbps and mlflow.download_mbps else None
            )
            print(
                f"{size // MiB} MiB: Maisie / MLflow = {maisie.upload_mbps / mlflow.upload_mbps:.2f}x upload, "
                f"{fmt(down, '.2f')}x download"
            )
    maisie_rows = [r for r in rows if r.server == "maisie"]
    if maisie_rows:
        peak = max(r.peak_rss for r in maisie_rows) / MB
        met &= verdict(f"Maisie peak RSS = {peak:.0f} MB (target < {RSS_TARGET_MB} MB)", peak < RSS_TARGET_MB)
    return met


# --- Folders (issue 16) ----------------------------------------------------------------------
#
# A model as a folder (a config and four shards) goes through each server with its own client,
# run as a subprocess so that its memory is sampled like a server's: Maisie's `maisie` package
# (upload sessions, parts, parallel files) and MLflow's `log_artifacts`/`download_artifacts`
# from MLflow's venv. Each client times its own call, so neither pays for its imports.

SHARDS = 4
DEDUPE_TARGET_S = 1.0
RESUME_AT = 0.5  # the upload is killed once the server acknowledged this share of the bytes

MAISIE_CLIENT = """
import dataclasses, json, sys, time
from maisie import Models
op, arg = sys.argv[1], json.loads(sys.argv[2])
models = Models()
start = time.perf_counter()
if op == "upload":
    model = models.upload(arg["name"], path=arg["path"], project_id=arg["project_id"], git=False, progress=False)
    out = {"id": model["id"], "created": model.created, "stats": dataclasses.asdict(model.stats)}
else:
    models.download(arg["id"], arg["path"], progress=False)
    out = {"stats": dataclasses.asdict(models.download_stats)}
out["seconds"] = time.perf_counter() - start
print(json.dumps(out))
"""

MLFLOW_CLIENT = """
import json, sys, time
import mlflow
from mlflow import MlflowClient
op, arg = sys.argv[1], json.loads(sys.argv[2])
if op == "upload":
    client = MlflowClient(arg["url"])
    run_id = client.create_run("0").info.run_id
    start = time.perf_counter()
    client.log_artifacts(run_id, arg["path"], artifact_path="model")
    out = {"id": run_id}
else:
    start = time.perf_counter()
    mlflow.artifacts.download_artifacts(
        run_id=arg["id"], artifact_path="model", dst_path=arg["path"], tracking_uri=arg["url"]
    )
    out = {}
out["seconds"] = time.perf_counter() - start
print(json.dumps(out))
"""


@dataclass
class TestFolder:
    path: Path
    files: dict[str, TestFile]  # by relative path

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files.values())

    @property
    def label(self) -> str:
        return f"{self.size / MiB:.0f} MiB"


def make_folder(path: Path, size: int) -> TestFolder:
    """config.json and four random shards (a Hugging Face checkpoint's shape), `size` bytes in all."""
    path.mkdir()
    config = path / "config.json"
    config.write_text(json.dumps({"architectures": ["BenchForCausalLM"], "shards": SHARDS}, indent=2) + "\n")
    files = {config.name: TestFile(config, config.stat().st_size, hashlib.sha256(config.read_bytes()).hexdigest())}
    shard, extra = divmod(size - config.stat().st_size, SHARDS)
    for n in range(1, SHARDS + 1):
        name = f"model-{n:05d}-of-{SHARDS:05d}.safetensors"
        files[name] = make_file(path / name, shard + (extra if n == SHARDS else 0))
    return TestFolder(path, files)


def time_cp_folder(source: TestFolder, target: Path) -> float:
    """Seconds for `cp -r` and an fsync of every copied file and folder: durable, as the file
    mode's cp+fsync reference."""
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(source.path), str(target)], check=True)
    for name in source.files:
        fsync_path(target / name)
    fsync_path(target)
    fsync_path(target.parent)
    seconds = time.perf_counter() - start
    shutil.rmtree(target)
    return seconds


def check_folder(name: str, source: TestFolder, copy: Path) -> None:
    """Every file of the source is in the copy with the same bytes, and nothing else is."""
    found = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    if found != sorted(source.files):
        raise RuntimeError(f"{name} download holds {found}, expected {sorted(source.files)}")
    for relative, original in source.files.items():
        with (copy / relative).open("rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != original.sha256:
                raise RuntimeError(f"{name} download: {relative} differs from the uploaded file")


class ProcessGroup:
    """A client subprocess and its children (its own process group), for RssSampler."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def pids(self) -> list[int]:
        found = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = (read_proc(f"/proc/{entry.name}/stat") or ")").rsplit(")", 1)[1].split()
                if len(stat) > 2 and stat[0] != "Z" and int(stat[2]) == self.pid:
                    found.append(int(entry.name))
        return found


@dataclass
class ClientRun:
    answer: dict
    peak_rss: int
    peak_pss: int


def run_client(command: list[str], env: dict[str, str], cwd: Path) -> ClientRun:
    """Run one client call to its end, sampling its memory; its last line of output is JSON."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        with RssSampler(ProcessGroup(process.pid)) as sampler:  # type: ignore[arg-type]
            out, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
    if process.returncode:
        raise RuntimeError(f"client {command[-2]} failed ({process.returncode}):\n{err[-3000:]}")
    return ClientRun(json.loads(out.strip().splitlines()[-1]), sampler.peak, sampler.peak_pss)


class CountingRelay:
    """A TCP relay in front of a server that counts the bytes the client sends through it (the
    request lines, headers and bodies), and times the upload session from its `POST uploads/`
    to the last byte either way: the client checks the project, then hashes the folder (unless
    it remembers the hashes; seconds for GiBs otherwise, no byte on the wire), then opens it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.reset()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.sent = 0
            self.first: float | None = None
            self.last: float | None = None

    @property
    def wire_seconds(self) -> float:
        return (self.last - self.first) if self.first is not None and self.last is not None else 0.0

    def _accept(self) -> None:
        with suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
                threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        with suppress(OSError):
            while data := source.recv(CHUNK):
                now = time.perf_counter()
                with self.lock:
                    self.sent += len(data) if upstream else 0
                    if self.first is None and upstream and data.startswith(b"POST ") and b"/uploads/ " in data[:300]:
                        self.first = now
                    self.last = now
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()


@dataclass
class FolderRow:
    server: str
    size: int
    upload_s: list[float] = field(default_factory=list)
    download_s: list[float] = field(default_factory=list)
    server_idle_rss: int = 0
    server_rss: int = 0
    server_pss: int = 0
    client_rss: int = 0
    client_pss: int = 0
    handle: object = None  # the last version uploaded, kept for the dedupe step

    def rate(self, times: list[float]) -> float | None:
        return self.size / statistics.median(times) / MB if times else None

    def client_ran(self, run: ClientRun) -> None:
        self.client_rss = max(self.client_rss, run.peak_rss)
        self.client_pss = max(self.client_pss, run.peak_pss)


class FolderClient:
    """One server's folder client: upload a folder, download a version into a new folder."""

    name = ""

    def __init__(self, python: Path, env: dict[str, str], workdir: Path, code: str) -> None:
        self.python, self.env, self.workdir, self.code = python, env, workdir, code

    def call(self, op: str, **arg: object) -> ClientRun:
        return run_client([str(self.python), "-c", self.code, op, json.dumps(arg)], self.env, self.workdir)

    def upload(self, folder: TestFolder, name: str) -> ClientRun:
        raise NotImplementedError

    def download(self, handle: object, target: Path) -> ClientRun:
        raise NotImplementedError

    def discard(self, handle: object) -> None:
        """Best-effort delete, so that every timed upload sends every byte again."""


def client_env(workdir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The caller's environment without MAISIE_/MLFLOW_ settings, a HOME without config files."""
    home = workdir / "client-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "MLFLOW_", "DJANGO_"))}
    return {**env, "HOME": str(home), **settings}


class MaisieFolderClient(FolderClient):
    name = "maisie"

    def __init__(self, args: argparse.Namespace, workdir: Path, api: MaisieApi, port: int | None = None) -> None:
        self.api = api
        token = api.call("POST", "/api/v1/auth/tokens/", {"name": f"bench-{uuid.uuid4().hex[:8]}"})["token"]
        self.settings = {"MAISIE_AUTH_APP_TOKEN": token}
        super().__init__(args.client_python, self.env_for(workdir, port or api.port), workdir, MAISIE_CLIENT)

    def env_for(self, workdir: Path, port: int) -> dict[str, str]:
        return client_env(workdir, {**self.settings, "MAISIE_API_URL": f"http://127.0.0.1:{port}/api/v1"})

    def upload(self, folder: TestFolder, name: str) -> ClientRun:
        return self.call("upload", name=name, path=str(folder.path), project_id=self.api.project_id)

    def download(self, handle: object, target: Path) -> ClientRun:
        return self.call("download", id=handle, path=str(target))

    def discard(self, handle: object) -> None:
        with suppress(Exception):
            self.api.call("DELETE", f"/api/v1/models/{handle}/")


class MlflowFolderClient(FolderClient):
    name = "mlflow"

    def __init__(self, workdir: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        python = mlflow_server.venv_bin(mlflow_server.DEFAULT_VENV, "python")
        super().__init__(python, client_env(workdir, {}), workdir, MLFLOW_CLIENT)

    def upload(self, folder: TestFolder, name: str) -> ClientRun:
        return self.call("upload", url=self.url, path=str(folder.path))

    def download(self, handle: object, target: Path) -> ClientRun:
        return self.call("download", url=self.url, id=handle, path=str(target))

    def discard(self, handle: object) -> None:
        path = mlflow_server.artifact_path(f"0/{handle}/artifacts/model")
        with suppress(Exception):
            send_request(int(self.url.rsplit(":", 1)[1]), "DELETE", path, {}, [])


def measure_folder(server: Server, client: FolderClient, folder: TestFolder, runs: int, workdir: Path) -> FolderRow:
    """N timed upload+download rounds of the folder; the last download is checked byte for byte."""
    row = FolderRow(server.name, folder.size)
    server.wait_idle()
    handle: object = None
    with RssSampler(server) as sampler:
        row.server_idle_rss = sampler.peak
        for run in range(1, runs + 1):
            if handle is not None:
                client.discard(handle)
            up = client.upload(folder, f"bench-folder-{folder.size // MiB}mib-{run}")
            handle = up.answer["id"]
            stats = up.answer.get("stats")
            if stats and stats["sent_bytes"] < folder.size:  # a timed upload must move every byte
                raise RuntimeError(f"{client.name} upload sent {stats['sent_bytes']} of {folder.size} bytes")
            target = workdir / f"download-{client.name}"
            target.mkdir()
            down = client.download(handle, target)
            for done in (up, down):
                row.client_ran(done)
            row.upload_s.append(up.answer["seconds"])
            row.download_s.append(down.answer["seconds"])
            if run == runs:
                check_folder(client.name, folder, target if client.name == "maisie" else target / "model")
            shutil.rmtree(target)
            print(
                f"  {server.name} folder {folder.label} run {run}: "
                f"up {folder.size / row.upload_s[-1] / MB:.0f} MB/s, "
                f"down {folder.size / row.download_s[-1] / MB:.0f} MB/s, "
                f"server peak RSS so far {sampler.peak / MB:.0f} MB, client {row.client_rss / MB:.0f} MB",
                flush=True,
            )
    row.server_rss, row.server_pss = sampler.peak, sampler.peak_pss
    print(f"  {server.name} folder {folder.label}: server peak RSS per process {sampler.breakdown()}", flush=True)
    row.handle = handle
    return row


def measure_dedupe(client: MaisieFolderClient, relay: CountingRelay, folder: TestFolder, workdir: Path) -> dict:
    """The same folder under another name: the server holds every blob, so no file byte goes."""
    counted = MaisieFolderClient.__new__(MaisieFolderClient)
    counted.__dict__.update(client.__dict__)
    counted.env = client.env_for(workdir, relay.port)
    relay.reset()
    up = counted.upload(folder, f"bench-folder-again-{uuid.uuid4().hex[:6]}")
    stats = up.answer["stats"]
    result = {
        "file_bytes_sent": stats["sent_bytes"],
        "skipped_bytes": stats["skipped_bytes"],
        "wire_bytes_sent": relay.sent,
        "wire_seconds": relay.wire_seconds,
        "seconds": up.answer["seconds"],
        "client_rss": up.peak_rss,
    }
    client.discard(up.answer["id"])
    return result


def upload_state(folder: TestFolder) -> dict:
    text = read_proc(str(folder.path / ".maisie-upload")) or "{}"
    with suppress(ValueError):
        return json.loads(text)
    return {}


def measure_resume(client: MaisieFolderClient, relay: CountingRelay, folder: TestFolder, workdir: Path) -> dict:
    """`mai models upload` killed (SIGKILL) once the server acknowledged half the bytes, then run
    again: what the second run sends, and what both sent beyond the folder's size (re-sent)."""
    mai = client.python.parent / "mai"
    name = f"bench-resume-{uuid.uuid4().hex[:6]}"
    command = [str(mai), "models", "upload", str(folder.path), "-n", name, "--project", str(client.api.project_id)]
    env = client.env_for(workdir, relay.port)
    relay.reset()
    process = subprocess.Popen(
        [*command, "--no-git"], env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    acknowledged = 0
    try:
        while process.poll() is None:
            session = upload_state(folder).get("session")
            if session:
                with suppress(RuntimeError):
                    blobs = client.api.call("GET", f"/api/v1/uploads/{session}/")["blobs"]
                    acknowledged = sum(int(b.get("received") or 0) for b in blobs)
                    if acknowledged >= RESUME_AT * folder.size:
                        process.kill()
                        break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        first_out = process.communicate()[0]
    killed = process.returncode == -signal.SIGKILL
    before_kill = relay.sent
    relay.reset()
    second = subprocess.run([*command, "--no-git"], env=env, cwd=workdir, capture_output=True, text=True)
    if second.returncode:
        raise RuntimeError(f"resumed upload failed:\n{first_out[-2000:]}\n{second.stdout}{second.stderr}")
    after = relay.sent
    return {
        "killed": killed,
        "acknowledged_at_kill": acknowledged,
        "sent_before_kill": before_kill,
        "sent_after_restart": after,
        "resent": before_kill + after - folder.size,
        "message": (second.stderr or second.stdout).strip().splitlines()[-1:] or [""],
    }


def folder_server(
    start: Callable[[], tuple[Server, FolderClient]],
    folders: list[TestFolder],
    runs: int,
    workdir: Path,
    extra: Callable[[FolderClient, TestFolder, FolderRow], None] | None = None,
) -> list[FolderRow]:
    server, client = start()
    try:
        rows = []
        for folder in folders:
            rows.append(measure_folder(server, client, folder, runs, workdir))
            if extra and folder is folders[-1]:
                extra(client, folder, rows[-1])
            client.discard(rows[-1].handle)
        return rows
    finally:
        server.stop()


def print_folder_report(cp: dict[int, float], rows: list[FolderRow], runs: int, extras: dict) -> bool:
    columns = ["size", "what", "up MB/s", "down MB/s", "server idle", "server RSS", "server PSS", "client RSS"]
    columns.append("client PSS")
    widths = [max(len(c), 9) for c in columns]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    print(f"\nFolders ({SHARDS + 1} files): median of {runs} run(s); MB = 10^6 bytes; peak memory in MB")
    print(line(columns))
    print("-" * len(line(columns)))
    for size, rate in cp.items():
        label = f"{size / MiB:.0f} MiB"
        print(line([label, "cp -r+fsync", fmt(rate), *["-"] * 6]))
        for row in (r for r in rows if r.size == size):
            memory = [row.server_idle_rss, row.server_rss, row.server_pss, row.client_rss, row.client_pss]
            memory = [fmt(value / MB) for value in memory]
            print(line([label, row.server, fmt(row.rate(row.upload_s)), fmt(row.rate(row.download_s)), *memory]))
    met = True
    for size, rate in cp.items():
        by_server = {r.server: r for r in rows if r.size == size}
        maisie, mlflow = by_server.get("maisie"), by_server.get("mlflow")
        if maisie:
            print(f"{size / MiB:.0f} MiB: Maisie upload / (cp -r+fsync) = {maisie.rate(maisie.upload_s) / rate:.2f}")
        if maisie and mlflow:
            up = maisie.rate(maisie.upload_s) / mlflow.rate(mlflow.upload_s)
            down = maisie.rate(maisie.download_s) / mlflow.rate(mlflow.download_s)
            print(f"{size / MiB:.0f} MiB: Maisie / MLflow = {up:.2f}x upload, {down:.2f}x download")
    if dedupe := extras.get("dedupe"):
        print(
            f"same folder under another name: {dedupe['file_bytes_sent']} file bytes sent "
            f"({dedupe['skipped_bytes'] / MB:.0f} MB already there), {dedupe['wire_bytes_sent']} bytes on the wire "
            f"in {dedupe['wire_seconds']:.2f} s from POST uploads/ to the answer; "
            f"{dedupe['seconds']:.2f} s for the whole client call (its hashes remembered from the "
            "first upload: the folder is not read again)"
        )
        met &= verdict(
            f"dedupe: {dedupe['file_bytes_sent']} file bytes, session {dedupe['wire_seconds']:.2f} s "
            f"(target 0 bytes, < {DEDUPE_TARGET_S:.0f} s)",
            dedupe["file_bytes_sent"] == 0 and dedupe["wire_seconds"] < DEDUPE_TARGET_S,
        )
    if resume := extras.get("resume"):
        print(
            f"resume: `mai models upload` {'killed' if resume['killed'] else 'ended before the kill'} with "
            f"{resume['acknowledged_at_kill'] / MB:.0f} MB acknowledged "
            f"({resume['sent_before_kill'] / MB:.0f} MB sent); "
            f"run again: {resume['sent_after_restart'] / MB:.0f} MB sent; re-sent {resume['resent'] / MB:.1f} MB "
            f"(bytes on the wire beyond the folder's size, headers included)"
        )
        print(f"  the second run said: {resume['message'][0]}")
    maisie_rows = [r for r in rows if r.server == "maisie"]
    if maisie_rows:
        server = max(r.server_rss for r in maisie_rows) / MB
        client = max(r.client_rss for r in maisie_rows) / MB
        met &= verdict(
            f"Maisie server peak RSS = {server:.0f} MB (target < {RSS_TARGET_MB} MB)", server < RSS_TARGET_MB
        )
        met &= verdict(
            f"Maisie client peak RSS = {client:.0f} MB (target < {RSS_TARGET_MB} MB)", client < RSS_TARGET_MB
        )
    return met


def run_folders(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> bool:
    if not args.skip_mlflow:
        mlflow_server.ensure_venv()
    sizes = sorted({int(args.folder_gib * GiB), args.folder_small_mib * MiB} - {0})
    folders = []
    for size in sizes:
        print(f"writing a {size / MiB:.0f} MiB folder of {SHARDS + 1} random files...", flush=True)
        folders.append(make_folder(workdir / f"folder-{size // MiB}mib", size))
    warn_if_busy("start")
    cp = {}
    for folder in folders:
        cp[folder.size] = (
            folder.size
            / statistics.median([time_cp_folder(folder, workdir / "cp-target") for _ in range(args.runs)])
            / MB
        )
        print(f"  cp -r {folder.label}: {cp[folder.size]:.0f} MB/s with fsync", flush=True)
    rows: list[FolderRow] = []
    extras: dict = {}
    if not args.skip_maisie:

        def start() -> tuple[Server, FolderClient]:
            server, transport = start_maisie(args, workdir, 2 * max(sizes), servers)
            return server, MaisieFolderClient(args, workdir, transport.api)

        def dedupe_and_resume(client: FolderClient, folder: TestFolder, row: FolderRow) -> None:
            assert isinstance(client, MaisieFolderClient)
            relay = CountingRelay(client.api.port)
            try:
                extras["dedupe"] = measure_dedupe(client, relay, folder, workdir)
                print(f"  dedupe: {extras['dedupe']}", flush=True)
                client.discard(row.handle)  # else the server would skip every blob of the resumed upload
                extras["resume"] = measure_resume(client, relay, folder, workdir)
                print(f"  resume: {extras['resume']}", flush=True)
            finally:
                relay.close()

        rows += folder_server(start, folders, args.runs, workdir, dedupe_and_resume)
    if not args.skip_mlflow:

        def start_ml() -> tuple[Server, FolderClient]:
            server, transport = start_mlflow(args, workdir, servers)
            return server, MlflowFolderClient(workdir, transport.port)

        rows += folder_server(start_ml, folders, args.runs, workdir)
    met = print_folder_report(cp, rows, args.runs, extras)
    warn_if_busy("end, a 1-minute average that includes this benchmark's own work")
    return met


# --- Main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="main file size (1024)")
    parser.add_argument(
        "--small-mib", type=int, default=256, help="second, smaller file, measured on both servers (256; 0 = none)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed rounds per size (3)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-maisie", action="store_true")
    parser.add_argument(
        "--maisie-python",
        type=Path,
        default=None,
        help="python to run the server with (default: a venv of requirements.txt alone, as in the image)",
    )
    parser.add_argument("--folder", action="store_true", help="folder mode (issue 16): a config and 4 shards")
    parser.add_argument("--folder-gib", type=float, default=4.0, help="folder mode: the folder's size (4)")
    parser.add_argument(
        "--folder-small-mib", type=int, default=512, help="folder mode: a second, smaller folder (512; 0 = none)"
    )
    parser.add_argument(
        "--client-python",
        type=Path,
        default=REPO / ".venv" / "bin" / "python",
        help="folder mode: python with the `maisie` client package (default: the checkout's .venv)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when Maisie misses a target (RSS, upload vs cp+fsync)"
    )
    args = parser.parse_args()
    # Bounded on purpose: every run moves the file twice through the loopback and the disk.
    if not 1 <= args.runs <= 50 or args.size_mib < 1 or args.small_mib < 0 or not 1 <= args.workers <= 16:
        parser.error("--runs must be 1..50, --workers 1..16, --size-mib > 0, --small-mib >= 0")
    if args.folder and (not 1 / 1024 <= args.folder_gib <= 64 or args.folder_small_mib < 0):
        parser.error("--folder-gib must be 1/1024..64, --folder-small-mib >= 0")
    if args.folder and not args.skip_maisie and not args.client_python.exists():
        parser.error(f"{args.client_python} not found (--client-python)")
    if not args.skip_maisie and args.maisie_python is None:
        args.maisie_python = production_python()
    if not args.skip_maisie and not args.maisie_python.exists():
        parser.error(f"{args.maisie_python} not found")
    return args


PRODUCTION_VENV = BENCH_DIR / ".maisie-venv"


def production_python() -> Path:
    """A venv with requirements.txt only, as the container image has: the dev venv's test tools
    (pytest, moto, playwright, requests...) get imported by optional-dependency probes and would
    add about 10 MB to every worker. Rebuilt when requirements.txt changes."""
    requirements = REPO / "requirements.txt"
    stamp = PRODUCTION_VENV / ".requirements-sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    python = PRODUCTION_VENV / "bin" / "python"
    if not python.exists() or not stamp.exists() or stamp.read_text() != digest:
        print(f"creating {PRODUCTION_VENV.name} from requirements.txt...", flush=True)
        shutil.rmtree(PRODUCTION_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(PRODUCTION_VENV)], check=True)
        (PRODUCTION_VENV / ".gitignore").write_text("*\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
        stamp.write_text(digest)
    return python


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temp folder beside the repo (same disk as the cp reference), git-ignored, removed
    however we leave."""
    path = Path(tempfile.mkdtemp(prefix=".transfer-", dir=BENCH_DIR))
    try:
        (path / ".gitignore").write_text("*\n")  # a 1 GiB leftover must never get committed
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def raise_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers stopped


def warn_if_busy(when: str) -> None:
    """Client and server share the machine's cores: any other load skews every figure."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        print(f"warning ({when}): load average {load:.1f} on {cores} cores; other work competes, figures are low/noisy")
    else:
        print(f"load average ({when}): {load:.1f} on {cores} cores")


def make_files(sizes: list[int], workdir: Path) -> list[TestFile]:
    files = []
    for size in sizes:
        print(f"writing a {size // MiB} MiB random file...", flush=True)
        files.append(make_file(workdir / f"payload-{size // MiB}mib.bin", size))
    return files


def measure_cp(files: list[TestFile], workdir: Path, runs: int) -> dict[int, CpRates]:
    """Median rates of both cp references per file size, their runs interleaved so that both
    see the same machine."""
    rates = {}
    target = workdir / "cp-target.bin"
    for test_file in files:
        durable, page_cache = [], []
        for _ in range(runs):
            durable.append(time_cp(test_file, target, durable=True))
            page_cache.append(time_cp(test_file, target, durable=False))
        rate = CpRates(
            durable=test_file.size / statistics.median(durable) / MB,
            page_cache=test_file.size / statistics.median(page_cache) / MB,
        )
        rates[test_file.size] = rate
        print(
            f"  cp {test_file.size // MiB} MiB: {rate.durable:.0f} MB/s with fsync, "
            f"{rate.page_cache:.0f} MB/s without (page cache)",
            flush=True,
        )
    return rates


def run(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> bool:
    if args.folder:
        return run_folders(args, workdir, servers)
    if not args.skip_mlflow:
        mlflow_server.ensure_venv()  # first: it can take minutes, before any big file exists
    sizes = sorted({args.size_mib * MiB, args.small_mib * MiB} - {0})
    files = make_files(sizes, workdir)
    warn_if_busy("start")
    cp_rates = measure_cp(files, workdir, args.runs)
    rows: list[Row] = []
    if not args.skip_maisie:
        rows += measure_server(lambda: start_maisie(args, workdir, 2 * max(sizes), servers), files, args.runs)
    if not args.skip_mlflow:
        rows += measure_server(lambda: start_mlflow(args, workdir, servers), files, args.runs)
    print_table(cp_rates, rows, args.runs)
    warn_if_busy("end, a 1-minute average that includes this benchmark's own work")
    return print_targets(cp_rates, rows)


def main() -> int:
    args = parse_args()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_on_signal)
    servers: list[Server] = []
    with scratch_dir() as workdir:
        try:
            met = run(args, workdir, servers)
        except RuntimeError as exc:
            print(f"transfer bench failed: {exc}", file=sys.stderr)
            return 2
        finally:
            for server in servers:
                server.stop()
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
