"""The per-request floor: what an authenticated no-op and a get by id cost the app server.

    .venv/bin/python bench/floor.py                                   # this checkout, SQLite and PostgreSQL
    .venv/bin/python bench/floor.py --before /tmp/floor-before        # side by side with another checkout
    .venv/bin/python bench/floor.py --after /tmp/a --before /tmp/b --instructions   # two worktrees (git worktree add)

Each checkout runs in a process of its own, as a production worker would (DEBUG off, the
settings' own middleware and REST_FRAMEWORK), on a fresh database it migrates and seeds (one
user, a workspace, a project, a tag and one model): SQLite in a temp folder, and PostgreSQL at
127.0.0.1:5432 in `maisie_floor_bench_<n>` (dropped after). The requests go straight into the
WSGI application (`maisie_site.wsgi.application`): no socket, no HTTP parser, so the figure is
the app server's time alone, from the WSGI call to the end of the response's body and its
`close()` (which is where Django ends the request: signals, closing the SQLite connection).

Cases (the issue's "authenticated no-op" is `GET /api/v1/tags/?per_page=1`):
  noop-jwt, noop-token, noop-session   the no-op with a JWT, an API token, a browser session
  noop-staff                           the no-op with a staff user's API token: staff see every
                                       tag, so its list has no visibility query
  get-jwt, get-token                   `GET /api/v1/models/<id>/` (search.py's q4)
  --mlflow                             MLflow's `GET runs/get` of one run, its Flask app called
                                       the same way, on a SQLite store (after the checkouts' turns)

The cases take turns request by request, and the checkouts (this one, and --before's) take turns
a block of --block rounds at a time, each worker process on its own database, so background
load falls on all alike. It prints the median wall time and the median CPU time of the thread
(`time.thread_time`, which a busy machine's scheduling does not inflate; on PostgreSQL it leaves
out the database server's own work), and with --instructions the instructions per request that
callgrind counts in the worker between its warm-up and its end (--instruction-requests requests
of each of --instruction-cases): the figure that stays put on a loaded machine, a few minutes
per case under valgrind. Figures and their dates go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
CASES = ("noop-jwt", "noop-token", "noop-session", "noop-staff", "get-jwt", "get-token")
NOOP_PATH, NOOP_QUERY = "/api/v1/tags/", "per_page=1"


# --- The worker: runs inside one checkout, on one database.


def worker_env(tree: Path, database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_"))}
    env.update(
        {
            "PYTHONPATH": str(tree),
            "DATABASE_URL": database_url,
            "MAISIE_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "maisie_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "floor-bench-" + "x" * 40,
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP, as behind a TLS proxy on loopback
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_BEHIND_TLS_PROXY": "false",
            "MAISIE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def seed(credentials: Path) -> None:
    """Migrate, then one user with each kind of credential and one model to get."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    call_command("migrate", verbosity=0)
    from accounts.models import ApiToken, User
    from registry import services

    user = User.objects.create_user("floor", "floor-bench-password", full_name="Floor", email="floor@example.com")
    workspace = services.workspace_create(user=user, name="Bench", description="")
    project = services.project_create(user=user, workspace=workspace, name="floor", git_url="")
    model = services.model_upload(
        user=user,
        project=project,
        name="resnet",
        file=SimpleUploadedFile("resnet.pt", b"weights"),
        hyperparameters={"lr": 0.01, "optimizer": "adam"},
        parameters={"layers": 50},
        metrics={"accuracy": 0.9},
        tags=["baseline"],
    )
    prefix, secret = ApiToken.generate()
    ApiToken.objects.create(user=user, name="bench", prefix=prefix, hashed_secret=ApiToken.hash(secret))
    staff = User.objects.create_user("root", "floor-bench-password", email="root@example.com", is_staff=True)
    staff_prefix, staff_secret = ApiToken.generate()
    ApiToken.objects.create(user=staff, name="bench", prefix=staff_prefix, hashed_secret=ApiToken.hash(staff_secret))
    jwt = AccessToken.for_user(user)
    jwt["auth_time"] = int(time.time())
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    credentials.write_text(
        json.dumps(
            {
                "token": secret,
                "staff_token": staff_secret,
                "jwt": str(jwt),
                "session": session.session_key,
                "model": model.pk,
            }
        )
    )


def environs(credentials: dict) -> dict[str, dict]:
    base = {
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    noop = {**base, "PATH_INFO": NOOP_PATH, "QUERY_STRING": NOOP_QUERY}
    get = {**base, "PATH_INFO": f"/api/v1/models/{credentials['model']}/", "QUERY_STRING": ""}
    jwt = {"HTTP_AUTHORIZATION": f"Bearer {credentials['jwt']}"}
    token = {"HTTP_AUTHORIZATION": f"Bearer {credentials['token']}"}
    session = {"HTTP_COOKIE": f"sessionid={credentials['session']}"}
    return {
        "noop-jwt": {**noop, **jwt},
        "noop-token": {**noop, **token},
        "noop-session": {**noop, **session},
        "noop-staff": {**noop, "HTTP_AUTHORIZATION": f"Bearer {credentials['staff_token']}"},
        "get-jwt": {**get, **jwt},
        "get-token": {**get, **token},
    }


def call(application, environ: dict) -> tuple[str, bytes]:
    environ = {**environ, "wsgi.input": io.BytesIO(b"")}
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    body = application(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        body.close()
    return answer["status"], content


def serve(credentials: dict, cases: list[str], warmup: int) -> None:
    """Warm up, then for each line `N` on stdin make N rounds of the cases and print their times."""
    from maisie_site.wsgi import application

    calls = environs(credentials)
    for case in cases:
        for _ in range(warmup):
            status, content = call(application, calls[case])
        if not status.startswith("200"):
            raise SystemExit(f"{case}: {status} {content[:300]!r}")
    print("ready", flush=True)
    for line in sys.stdin:
        times = {case: {"wall": [], "cpu": []} for case in cases}
        for _ in range(int(line)):
            for case in cases:
                started, started_cpu = time.perf_counter(), time.thread_time()
                call(application, calls[case])
                times[case]["cpu"].append(time.thread_time() - started_cpu)
                times[case]["wall"].append(time.perf_counter() - started)
        print(json.dumps(times), flush=True)


def worker(args) -> None:
    # Python put this folder first on the path, where bench/webhooks.py would shadow the app.
    here = Path(__file__).resolve().parent
    sys.path[:] = [args.tree] + [p for p in sys.path if Path(p or ".").resolve() != here]
    import django

    django.setup()
    if args.seed:
        seed(Path(args.credentials))
        return
    credentials = json.loads(Path(args.credentials).read_text())
    if args.handshake:
        counted(credentials, args.cases, args.requests, args.warmup, Path(args.handshake))
        return
    serve(credentials, args.cases.split(","), args.warmup)


def counted(credentials: dict, case: str, requests: int, warmup: int, folder: Path) -> None:
    """Under callgrind with instrumentation off: warm up, say so, wait for the driver to switch
    it on, make the requests, say so, wait for it to switch it off."""
    from maisie_site.wsgi import application

    environ = environs(credentials)[case]
    for _ in range(warmup):
        call(application, environ)
    for step, wait_for in (("ready", "go"), (None, None)):
        if step is None:
            for _ in range(requests):
                call(application, environ)
            step, wait_for = "done", "exit"
        (folder / step).write_text("")
        while not (folder / wait_for).exists():
            time.sleep(0.005)


# --- MLflow's get of a run, the same way: its Flask app called in-process on a SQLite store.

MLFLOW_GET = """
import io, json, os, statistics, sys, time
folder, requests, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.environ["_MLFLOW_SERVER_FILE_STORE"] = f"sqlite:///{folder}/mlflow.db"
os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = f"{folder}/artifacts"
os.environ["_MLFLOW_SERVER_SERVE_ARTIFACTS"] = "false"
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=os.environ["_MLFLOW_SERVER_FILE_STORE"])
run = client.create_run(client.create_experiment("floor"), run_name="resnet")
params = [Param("lr", "0.01"), Param("optimizer", "adam"), Param("layers", "50")]
client.log_batch(run.info.run_id, metrics=[Metric("accuracy", 0.9, 0, 0)], params=params, tags=[RunTag("baseline", "")])
from mlflow.server import app
from werkzeug.test import EnvironBuilder
environ = EnvironBuilder(path="/api/2.0/mlflow/runs/get", query_string=f"run_id={run.info.run_id}").get_environ()
answer = {}
def start_response(status, headers, exc_info=None):
    answer["status"] = status
def call():
    body = app.wsgi_app({**environ, "wsgi.input": io.BytesIO(b"")}, start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()
for _ in range(warmup):
    call()
assert answer["status"].startswith("200"), answer
wall, cpu = [], []
for _ in range(requests):
    started, started_cpu = time.perf_counter(), time.thread_time()
    call()
    cpu.append(time.thread_time() - started_cpu)
    wall.append(time.perf_counter() - started)
print(json.dumps({"wall_ms": statistics.median(wall) * 1000, "cpu_ms": statistics.median(cpu) * 1000}))
"""


def mlflow_get(args, scratch: Path) -> dict:
    """MLflow's `runs/get` of one run (its params, metric and tag like the seeded model's), timed
    as the get by id is: its WSGI app called in-process, SQLite store, from bench/.mlflow-venv."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mlflow_server

    python = mlflow_server.ensure_venv().parent / "python"
    folder = scratch / "mlflow"
    folder.mkdir()
    out = subprocess.run(
        [str(python), "-c", MLFLOW_GET, str(folder), str(args.requests), str(args.warmup)],
        env=mlflow_server.server_env(dict(os.environ)),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The driver: databases, checkouts, processes, the table.


def pg_connect():
    import psycopg2

    connection = psycopg2.connect(dbname="postgres", **PG)
    connection.autocommit = True
    return connection


def recreate(name: str, drop_only: bool = False) -> None:
    connection = pg_connect()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def worker_command(tree: Path, credentials: Path, *extra: str) -> list[str]:
    script = str(Path(__file__).resolve())
    return [str(PYTHON), script, "--worker", "--tree", str(tree), "--credentials", str(credentials), *extra]


def instructions(env: dict, command: list[str], requests: int, folder: Path) -> float:
    """Instructions per request of the worker `command`, counted by callgrind between its
    "ready" and its "done" only (instrumentation off for Django's start and the warm-up)."""
    folder.mkdir()
    out = folder / "callgrind.out"
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *command,
         "--handshake", str(folder)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for step, switch, then in (("ready", "on", "go"), ("done", "off", "exit")):
            while not (folder / step).exists():
                if process.poll() is not None:
                    raise RuntimeError(f"the counted worker ended early: {command}")
                time.sleep(0.05)
            subprocess.run(["callgrind_control", "-i", switch, str(process.pid)], check=True, capture_output=True)
            (folder / then).write_text("")
        process.wait(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):  # the file's "summary:" line stays 0 when counting starts late
            return int(line.split()[1]) / requests
    raise RuntimeError(f"no totals in {out}")


class Checkout:
    """One checkout's worker on a fresh database of its own, seeded, answering blocks of rounds."""

    def __init__(self, label: str, tree: Path, database: str, args, scratch: Path):
        self.label, self.tree, self.args = label, tree, args
        self.data_dir = scratch / f"{label}-{database}"
        self.data_dir.mkdir()
        self.pg_name = None
        if database == "sqlite":
            url = f"sqlite:///{self.data_dir / 'floor.sqlite3'}"
        else:
            self.pg_name = f"maisie_floor_bench_{uuid.uuid4().hex[:8]}"
            recreate(self.pg_name)
            url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{self.pg_name}"
        self.env = worker_env(tree, url, self.data_dir)
        self.credentials = self.data_dir / "credentials.json"
        subprocess.run(worker_command(tree, self.credentials, "--seed"), env=self.env, check=True, cwd=tree)
        command = worker_command(tree, self.credentials, "--cases", args.cases, "--warmup", str(args.warmup))
        self.process = subprocess.Popen(
            command, env=self.env, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{label}: the worker did not start")
        self.times = {case: {"wall": [], "cpu": []} for case in args.cases.split(",")}

    def block(self, rounds: int) -> None:
        self.process.stdin.write(f"{rounds}\n")
        self.process.stdin.flush()
        for case, times in json.loads(self.process.stdout.readline()).items():
            for kind, values in times.items():
                self.times[case][kind] += values

    def result(self) -> dict:
        result = {}
        for case, times in self.times.items():
            result[case] = {f"{kind}_ms": statistics.median(values) * 1000 for kind, values in times.items()}
            if self.args.instructions and case in self.args.instruction_cases.split(","):
                n = self.args.instruction_requests
                command = worker_command(self.tree, self.credentials, "--cases", case, "--warmup", "20")
                folder = self.data_dir / f"callgrind-{case}"
                result[case]["instructions"] = instructions(self.env, [*command, "--requests", str(n)], n, folder)
        return result

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)
        if self.pg_name:
            recreate(self.pg_name, drop_only=True)


def measure(trees: list[tuple[str, Path]], database: str, args, scratch: Path) -> dict:
    """The checkouts take turns, a block of --block rounds each, so that load on the machine
    falls on all alike; one process at a time makes requests."""
    checkouts = []
    try:
        for label, tree in trees:
            checkouts.append(Checkout(label, tree, database, args, scratch))
        done = 0
        while done < args.requests:
            rounds = min(args.block, args.requests - done)
            for checkout in checkouts:
                checkout.block(rounds)
            done += rounds
        return {checkout.label: checkout.result() for checkout in checkouts}
    finally:
        for checkout in checkouts:
            checkout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--after", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    parser.add_argument("--before", type=Path, help="another checkout (e.g. a git worktree) to measure beside this one")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--requests", type=int, default=2000, help="timed rounds (one request per case each)")
    parser.add_argument("--block", type=int, default=50, help="rounds a checkout makes before the other's turn")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--instructions", action="store_true", help="also count instructions per request (callgrind)")
    parser.add_argument("--instruction-requests", type=int, default=20)
    parser.add_argument("--instruction-cases", default=",".join(CASES))
    parser.add_argument("--mlflow", action="store_true", help="also time MLflow's runs/get (bench/.mlflow-venv)")
    # The worker's own arguments.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--credentials", help=argparse.SUPPRESS)
    parser.add_argument("--handshake", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    trees = [("after", args.after.resolve())] + ([("before", args.before.resolve())] if args.before else [])
    print(f"floor: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="floor-") as scratch:
        for database in args.databases.split(","):
            for label, result in measure(trees, database, args, Path(scratch)).items():
                results[(label, database)] = result
        mlflow = mlflow_get(args, Path(scratch)) if args.mlflow else None
    print(f"load average at the end {os.getloadavg()[0]:.2f}; medians over {args.requests} requests per case")
    header = f"{'case':<14}{'db':<10}" + "".join(f"{label + ' wall':>13}{label + ' cpu':>12}" for label, _ in trees)
    if args.instructions:
        header += "".join(f"{label + ' instr':>14}" for label, _ in trees)
    if len(trees) == 2:
        header += f"{'wall x':>9}{'cpu x':>8}"
    print(header)
    for database in args.databases.split(","):
        for case in args.cases.split(","):
            cells = [results[(label, database)][case] for label, _ in trees]
            line = f"{case:<14}{database:<10}"
            line += "".join(f"{c['wall_ms']:>10.2f} ms{c['cpu_ms']:>9.2f} ms" for c in cells)
            if args.instructions:
                line += "".join(
                    f"{c['instructions'] / 1e6:>12.2f} M" if "instructions" in c else f"{'':>14}" for c in cells
                )
            if len(trees) == 2:
                before, after = cells[1], cells[0]
                line += f"{before['wall_ms'] / after['wall_ms']:>8.1f}x{before['cpu_ms'] / after['cpu_ms']:>7.1f}x"
            print(line)
    if mlflow is not None:
        print(f"{'mlflow get':<14}{'sqlite':<10}{mlflow['wall_ms']:>10.2f} ms{mlflow['cpu_ms']:>9.2f} ms", end="")
        if "sqlite" in args.databases.split(",") and "get-token" in args.cases.split(","):
            ours = results[(trees[0][0], "sqlite")]["get-token"]
            print(f"   MLflow / {trees[0][0]} get-token: wall {mlflow['wall_ms'] / ours['wall_ms']:.1f}x", end="")
            print(f", cpu {mlflow['cpu_ms'] / ours['cpu_ms']:.1f}x", end="")
        print()


if __name__ == "__main__":
    main()
