"""Mixed API load on two Maisie app servers (gunicorn) sharing one PostgreSQL database.

    .venv/bin/python bench/load.py [--clients 50] [--duration 30] [--models 2000] [--think-ms 0]

Sets up its own PostgreSQL database (dropped and created anew, dropped again at the end),
migrates it, seeds models through the real services, starts two gunicorn servers with the
repository's gunicorn.conf.py and production settings (no debug; plain HTTP on loopback), and
drives list, filter, get and small-upload requests from N client threads, each going round-robin
over both servers, for a fixed time (and at most --max-requests). Prints requests/s, p50/p95/p99
per kind and overall, and the error count; targets: no errors, p95 of reads under 200 ms.

Loopback only; every loop is bounded in time and count; servers are stopped and the database
dropped on any exit. Client and servers share the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from maisie_site.live_servers import ServerError, ServerProcess, app_env, multipart, start_gunicorn  # noqa: E402

READ_P95_TARGET_MS = 200
HTTP_TIMEOUT = 60
KINDS = {"list": 35, "filter": 25, "get": 30, "upload": 10}  # weights, percent
READS = ("list", "filter", "get")
PROJECTS = 8
NAMES = 100
TAGS = 10
UPLOAD_NAMES = 20  # uploads contend for version numbers on a few names
UPLOAD_BYTES = 4096

# Run by the servers' python inside Django; sizes come from BENCH_* variables.
SEED = """
import json, os, random
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts import services as accounts
from registry import services

rng = random.Random(7)
names, tags = int(os.environ["BENCH_NAMES"]), int(os.environ["BENCH_TAGS"])
user = accounts.user_create(
    login="bench", password=os.environ["BENCH_PASSWORD"], email="bench@example.invalid", full_name="Bench"
)
workspace = services.workspace_create(user=user, name="bench")
projects = [
    services.project_create(user=user, workspace=workspace, name=f"project-{i}")
    for i in range(int(os.environ["BENCH_PROJECTS"]))
]
ids = []
for i in range(int(os.environ["BENCH_MODELS"])):
    model = services.model_upload(
        user=user,
        project=projects[i % len(projects)],
        name=f"model-{i % names}",
        file=SimpleUploadedFile(f"model-{i}.pt", os.urandom(1024)),
        hyperparameters={"lr": rng.choice([0.1, 0.01, 0.001]), "batch": rng.choice([32, 64, 128])},
        parameters={"layers": rng.randint(10, 150)},
        metrics={"accuracy": round(rng.random(), 4), "loss": round(rng.random() * 3, 4)},
        tags=[f"tag-{i % tags}", f"tag-{(i * 7) % tags}"],
        dataset_name="imagenet" if i % 2 else "cifar10",
    )
    ids.append(model.pk)
print(json.dumps({"projects": [p.pk for p in projects], "models": ids}))
"""
# With --reuse-db: the seeded ids of an earlier run kept with --keep-db, and a fresh password.
SEEDED = """
import json, os
import django
django.setup()
from accounts.models import User
from registry.models import MLModel, Project

user = User.objects.get(login="bench")
user.set_password(os.environ["BENCH_PASSWORD"])
user.save(update_fields=["password"])
projects = list(Project.objects.filter(created_by=user).order_by("pk").values_list("pk", flat=True))
models = list(MLModel.objects.filter(name__startswith="model-").order_by("pk").values_list("pk", flat=True))
print(json.dumps({"projects": projects, "models": models}))
"""


# --- Setup ------------------------------------------------------------------------------------


def psql(admin_url: str, statement: str) -> None:
    import psycopg2  # the project's venv has it

    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


def django(python: str, env: dict[str, str], *args: str, stdin: str | None = None, timeout: int = 900) -> str:
    done = subprocess.run(
        [python, *args], cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def postgres_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL backends serving `database` on this machine (by their titles)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Seeded:
    projects: list[int]
    models: list[int]
    token: str


def login(port: int, password: str) -> str:
    credentials = json.dumps({"login": "bench", "password": password})
    status, body = request(port, "POST", "/api/v1/auth/login/", {}, credentials)
    if status != 200:
        raise RuntimeError(f"login -> {status}: {body[:500]!r}")
    return json.loads(body)["data"]["access_token"]


# --- HTTP -------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, headers: dict[str, str], body: bytes | str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        headers = {**headers, "Accept": "application/json"}
        if isinstance(body, str):
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- Load -------------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    seconds: float
    ok: bool
    started: float


@dataclass
class Load:
    ports: list[int]
    seeded: Seeded
    think_s: float
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def choose(self, rng: random.Random) -> tuple[str, str, str, bytes | None, dict[str, str], int]:
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        headers = {"Authorization": f"Bearer {self.seeded.token}"}
        pages = max(1, len(self.seeded.models) // 20)
        if kind == "list":
            return kind, "GET", f"/api/v1/models/?page={rng.randint(1, pages)}", None, headers, 200
        if kind == "filter":
            query = rng.choice(
                [
                    f"project={rng.choice(self.seeded.projects)}",
                    f"tag=tag-{rng.randrange(TAGS)}",
                    f"name=model-{rng.randrange(NAMES)}",
                    f"search=model-{rng.randrange(NAMES)}",
                    f"project={rng.choice(self.seeded.projects)}&tag=tag-{rng.randrange(TAGS)}",
                    "hyperparam=lr",
                ]
            )
            return kind, "GET", f"/api/v1/models/?{query}", None, headers, 200
        if kind == "get":
            return kind, "GET", f"/api/v1/models/{rng.choice(self.seeded.models)}/", None, headers, 200
        fields = {"name": f"upload-{rng.randrange(UPLOAD_NAMES)}", "project_id": str(rng.choice(self.seeded.projects))}
        content_type, body = multipart(fields, "load.pt", rng.randbytes(UPLOAD_BYTES))
        return kind, "POST", "/api/v1/models/", body, {**headers, "Content-Type": content_type}, 201

    def client(self, number: int, start_at: float, record_from: float, stop_at: float, max_requests: int) -> None:
        rng = random.Random(number)
        turn = number  # round-robin over the servers, the clients staggered
        time.sleep(max(0.0, start_at - time.monotonic()))
        while time.monotonic() < stop_at:
            with self.lock:
                if self.sent >= max_requests:
                    return
                self.sent += 1
            kind, method, path, body, headers, expected = self.choose(rng)
            port = self.ports[turn % len(self.ports)]
            turn += 1
            began = time.monotonic()
            try:
                status, answer = request(port, method, path, headers, body)
                ok = status == expected
                problem = f"{kind} {status}: {answer[:200]!r}" if not ok else ""
            except OSError as exc:
                ok, problem = False, f"{kind} {type(exc).__name__}: {exc}"
            took = time.monotonic() - began
            if began >= record_from:
                with self.lock:
                    self.samples.append(Sample(kind, took, ok, began))
                    if not ok:
                        self.errors[problem[:300]] += 1
            if self.think_s:
                time.sleep(rng.expovariate(1 / self.think_s))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[index]


def report(load: Load, seconds: float) -> bool:
    print(f"\n{len(load.samples)} requests in {seconds:.1f} s (after warm-up); latencies in ms")
    header = f"{'kind':>8} {'count':>7} {'errors':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    print(header)
    print("-" * len(header))
    groups = {kind: [s for s in load.samples if s.kind == kind] for kind in KINDS}
    groups["reads"] = [s for s in load.samples if s.kind in READS]
    groups["all"] = load.samples
    for kind, samples in groups.items():
        times = [s.seconds * 1000 for s in samples]
        errors = sum(not s.ok for s in samples)
        print(
            f"{kind:>8} {len(samples):>7} {errors:>6} {len(samples) / seconds:>7.1f} "
            f"{percentile(times, 0.50):>7.1f} {percentile(times, 0.95):>7.1f} {percentile(times, 0.99):>7.1f} "
            f"{max(times, default=float('nan')):>7.1f}"
        )
    for problem, count in sorted(load.errors.items(), key=lambda item: -item[1])[:10]:
        print(f"  error x{count}: {problem}")
    errors = sum(not s.ok for s in load.samples)
    read_p95 = percentile([s.seconds * 1000 for s in groups["reads"]], 0.95)
    ok_errors = errors == 0
    ok_p95 = read_p95 < READ_P95_TARGET_MS
    print(f"\nerrors: {errors} (target 0) {'OK' if ok_errors else 'MISSED'}")
    print(f"reads p95: {read_p95:.1f} ms (target < {READ_P95_TARGET_MS} ms) {'OK' if ok_p95 else 'MISSED'}")
    return ok_errors and ok_p95


# --- Main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent client threads (50)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of measured load (30)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of unrecorded load first (5)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--think-ms", type=float, default=0, help="mean pause between a client's requests (0)")
    parser.add_argument("--models", type=int, default=2000, help="models seeded before the load (2000)")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers per server (0: gunicorn.conf.py's)")
    parser.add_argument("--database", default="maisie_load", help="PostgreSQL database to drop and create")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"), help="the servers' python")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and data folder afterwards")
    parser.add_argument("--reuse-db", action="store_true", help="skip migrate and seed: use a --keep-db run's")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if not (1 <= args.clients <= 500 and 0 < args.duration <= 600 and 0 <= args.warmup <= 120):
        parser.error("--clients 1..500, --duration 0..600 s, --warmup 0..120 s")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and underscores only")
    return args


def warn_if_busy(when: str) -> None:
    """Client and servers share the machine's cores: other work skews every figure."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average ({when}): {load:.1f} on {cores} cores")
    if when == "start" and load > 0.5 * cores:
        print("warning: other work competes for the cores; latencies will be high and noisy")


def raise_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: servers stopped


def run(args: argparse.Namespace, workdir: Path, servers: list[ServerProcess]) -> bool:
    admin_url = f"{args.pg}/postgres"
    database_url = f"{args.pg}/{args.database}"
    password = secrets.token_urlsafe(16)
    env = app_env(
        data_dir=workdir / "data",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(50),
        BENCH_PASSWORD=password,
        BENCH_MODELS=str(args.models),
        BENCH_PROJECTS=str(PROJECTS),
        BENCH_NAMES=str(NAMES),
        BENCH_TAGS=str(TAGS),
    )
    if args.reuse_db:
        print(f"database {args.database}: reusing what an earlier --keep-db run seeded", flush=True)
        seeded = json.loads(django(args.python, env, "-", stdin=SEEDED).strip().splitlines()[-1])
    else:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        psql(admin_url, f'CREATE DATABASE "{args.database}"')
        print(f"database {args.database}: migrating...", flush=True)
        django(args.python, env, "manage.py", "migrate", "--noinput", "-v", "0")
        print(f"seeding {args.models} models through registry.services...", flush=True)
        began = time.monotonic()
        seeded = json.loads(django(args.python, env, "-", stdin=SEED).strip().splitlines()[-1])
        print(f"  seeded in {time.monotonic() - began:.0f} s", flush=True)
    # Planner statistics, as autovacuum would gather them some time after a bulk load: without
    # them PostgreSQL guesses "a few rows" and sorts every model for a page of the newest.
    psql(database_url, "VACUUM ANALYZE")

    for name in ("load-a", "load-b"):
        servers.append(start_gunicorn(name, env, workdir, workers=args.workers or None, python=args.python))
    ports = [server.port for server in servers]
    print(f"servers on ports {ports}; {args.clients} clients, think {args.think_ms:.0f} ms", flush=True)
    load = Load(ports, Seeded(seeded["projects"], seeded["models"], login(ports[0], password)), args.think_ms / 1000)

    warn_if_busy("start")
    start_at = time.monotonic() + 0.5
    record_from = start_at + args.warmup
    stop_at = record_from + args.duration
    threads = [
        threading.Thread(target=load.client, args=(n, start_at, record_from, stop_at, args.max_requests), daemon=True)
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    # CPU used during the measured window, by the servers' process trees and by this client.
    time.sleep(max(0.0, record_from - time.monotonic()))

    def cpu() -> tuple[float, float, float]:
        servers_cpu = sum(server.cpu_seconds() for server in servers)
        return servers_cpu, postgres_cpu_seconds(args.database), time.process_time()

    cpu_before = cpu()
    time.sleep(max(0.0, stop_at - time.monotonic()))
    cpu_after = cpu()
    for thread in threads:
        thread.join(timeout=max(0.0, stop_at - time.monotonic()) + HTTP_TIMEOUT + 5)
    if any(thread.is_alive() for thread in threads):
        print("warning: some clients were still waiting for an answer at the end", file=sys.stderr)
    if not load.samples:
        raise RuntimeError("no request finished during the measured time")
    measured = min(args.duration, max(s.started + s.seconds for s in load.samples) - record_from)
    met = report(load, measured)
    server_cpu, db_cpu, client_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    finished = sum(1 for sample in load.samples if sample.started + sample.seconds <= stop_at) or 1
    print(
        f"CPU in the measured window, of {args.duration * (os.cpu_count() or 1):.0f} core-seconds: "
        f"app servers {server_cpu:.1f} s ({1000 * server_cpu / finished:.1f} ms per request), "
        f"PostgreSQL {db_cpu:.1f} s ({1000 * db_cpu / finished:.1f} ms per request), this client {client_cpu:.1f} s"
    )
    warn_if_busy("end")
    return met


def main() -> int:
    args = parse_args()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_on_signal)
    servers: list[ServerProcess] = []
    # The data folder lives beside the database it belongs to, so --keep-db keeps both.
    workdir = Path(tempfile.gettempdir()) / f"maisie-load-{args.database}"
    if not args.reuse_db:
        shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(exist_ok=True)
    try:
        met = run(args, workdir, servers)
    except (RuntimeError, ServerError) as exc:
        print(f"load bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers:
            server.stop()
        if not args.keep_db:
            try:
                psql(f"{args.pg}/postgres", f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            except Exception as exc:
                print(f"warning: could not drop {args.database}: {exc}", file=sys.stderr)
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
