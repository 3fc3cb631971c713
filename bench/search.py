"""Search latency of Maisie (HTTP API on gunicorn + PostgreSQL) beside MLflow (REST runs/search).

    .venv/bin/python bench/search.py                       # 100,000 models, both systems
    .venv/bin/python bench/search.py --models 1000000 --questions 1,2,3 --skip-mlflow
    .venv/bin/python bench/search.py --servers machine      # both on the machine's PostgreSQL server

Both systems get the same workload (`manage.py seed_models`: 2 workspaces x 5 projects, 10
hyperparameters, 5 parameters, 5 metrics and 2 tags per model) in PostgreSQL databases of their
own on loopback (`maisie_bench_<N>`, `mlflow_bench_<N>`), built on the first run and reused
after, by default each on a PostgreSQL server of its own (--servers; see private_servers).
The five questions of issue 3, then the paths of issue 21 (6-13: a deep page, sorts across
projects by a number and by a text key, keys no model has, `exists`, an authenticated no-op),
are asked one after the other, alternating between the two
servers so that background load falls on both alike; each reports p50/p95 over --requests
timed requests (after --warmup), bounded by --seconds per question and system.

Maisie runs as in production: gunicorn, 2 sync workers, DEBUG off, a JWT as a normal client
would hold. MLflow runs `mlflow server` from bench/.mlflow-venv with a PostgreSQL backend store
(psycopg2 is added to that venv). Its runs are logged through its REST API for the first
--mlflow-rest-runs and copied into the same tables, row for row as the REST calls wrote them,
for the rest (REST logging runs at tens of runs per second on this machine); a sample of both
kinds is read back through `runs/get` and checked against the workload.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import mlflow_server  # noqa: E402  (sibling modules, found through the lines above)
import psycopg2  # noqa: E402  (from the project's .venv)
from pg_server import PrivatePostgres  # noqa: E402
from transfer import START_TIMEOUT, raise_on_signal, warn_if_busy  # noqa: E402

from maisie_site.live_servers import ServerProcess as Server  # noqa: E402  (the one place servers start)
from maisie_site.live_servers import free_port  # noqa: E402

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# Where the databases live (--servers), and on the bench's own servers the port of each database's.
SERVER_LAYOUTS = ("own", "one", "machine")
DEFAULT_SHARED_BUFFERS = "128MB"  # PostgreSQL's default
PORTS: dict[str, int] = {}
LOGIN, PASSWORD = "seed", "bench-search-password"  # the seeded owner, in a throw-away database
P95_TARGET_MS = 50
RATIO_TARGET = 10
RATIO_QUESTIONS = (1, 2, 5)
DATA_DIR = REPO / "var" / "bench-search"
SQLITE: Path | None = None  # --sqlite: Maisie on this SQLite file instead of PostgreSQL


# --- Questions -----------------------------------------------------------------------------


@dataclass
class Question:
    number: int
    title: str
    maisie: Callable[[Context], tuple[str, str]]  # -> (method, path)
    mlflow: Callable[[Context], Callable[[], object]] | None  # -> a function asking MLflow
    mlflow_note: str = ""  # what MLflow cannot express, said in the output


@dataclass
class Context:
    project_id: int  # Maisie's "project-1"
    model_id: int  # a model in the middle of the table
    experiments: dict[str, str]  # MLflow experiment ids by project name
    run_id: str
    mlflow_port: int = 0


def _api(query: dict) -> str:
    return "/api/v1/models/?" + urllib.parse.urlencode({"per_page": 50, **query})


QUESTIONS = [
    Question(
        1,
        "one project: optimizer = adam and accuracy > 0.9, best accuracy first, 50 rows",
        lambda c: (
            "GET",
            _api(
                {
                    "project": c.project_id,
                    "q": 'hp.optimizer = "adam" and m.accuracy > 0.9',
                    "ordering": "-m.accuracy",
                }
            ),
        ),
        lambda c: (
            lambda: mlflow_search(
                c,
                [c.experiments["project-1"]],
                "params.optimizer = 'adam' and metrics.accuracy > 0.9",
                ["metrics.accuracy DESC"],
            )
        ),
    ),
    Question(
        2,
        "all projects: batch_size = 64 and arch = resnet, newest first, 50 rows",
        lambda c: ("GET", _api({"q": 'hp.batch_size = 64 and hp.arch = "resnet"', "ordering": "-created"})),
        lambda c: (
            lambda: mlflow_search(
                c,
                list(c.experiments.values()),
                "params.batch_size = '64' and params.arch = 'resnet'",
                ["attributes.start_time DESC"],
            )
        ),
        "MLflow compares batch_size as the text '64' (its params are strings)",
    ),
    Question(
        3,
        "the newest 50 models, no filter",
        lambda c: ("GET", _api({})),
        lambda c: lambda: mlflow_search(c, list(c.experiments.values()), "", ["attributes.start_time DESC"]),
    ),
    Question(
        4,
        "one model by id",
        lambda c: ("GET", f"/api/v1/models/{c.model_id}/"),
        lambda c: lambda: mlflow_call(c.mlflow_port, "GET", f"/api/2.0/mlflow/runs/get?run_id={c.run_id}"),
    ),
    Question(
        5,
        "one project: 0.5 <= f1 <= 0.6 and lr < 0.001, lowest loss first, 50 rows",
        lambda c: (
            "GET",
            _api(
                {
                    "project": c.project_id,
                    "q": "m.f1 >= 0.5 and m.f1 <= 0.6 and hp.lr < 0.001",
                    "ordering": "m.loss",
                }
            ),
        ),
        lambda c: lambda: mlflow_q5_workaround(c),
        "MLflow cannot compare a parameter as a number (`params.lr < '0.001'` compares text, so "
        "'1e-05' > '0.001'); timed: the f1 range and loss order in MLflow, lr filtered in the client, "
        "paging until 50 rows",
    ),
    # The paths a user also takes (issue 21): each must be as fast as the five above.
    Question(
        6,
        "deep page: page 1,000 of 50, newest first (offset 49,950)",
        lambda c: ("GET", _api({"page": DEEP_PAGE})),
        lambda c: (
            lambda: mlflow_search(
                c,
                list(c.experiments.values()),
                "",
                ["attributes.start_time DESC"],
                page_token=mlflow_page_token((DEEP_PAGE - 1) * 50),
            )
        ),
    ),
    Question(
        7,
        "all projects: best accuracy first, 50 rows",
        lambda c: ("GET", _api({"ordering": "-m.accuracy"})),
        lambda c: lambda: mlflow_search(c, list(c.experiments.values()), "", ["metrics.accuracy DESC"]),
    ),
    Question(
        8,
        "all projects: by a text key (optimizer), 50 rows",
        lambda c: ("GET", _api({"ordering": "hp.optimizer"})),
        lambda c: lambda: mlflow_search(c, list(c.experiments.values()), "", ["params.optimizer ASC"]),
    ),
    Question(
        9,
        "all projects: a key no model has, `hp.rare_key exists`",
        lambda c: ("GET", _api({"q": "hp.rare_key exists"})),
        None,
        "MLflow's filter cannot ask whether a param exists",
    ),
    Question(
        10,
        "all projects: a range on a key no model has, `hp.rare_key > 0`",
        lambda c: ("GET", _api({"q": "hp.rare_key > 0"})),
        None,
        "MLflow compares params as text, with = != and LIKE only",
    ),
    Question(
        11,
        "all projects: a metric no model has, `m.nokey > 0`",
        lambda c: ("GET", _api({"q": "m.nokey > 0"})),
        lambda c: lambda: mlflow_search(c, list(c.experiments.values()), "metrics.nokey > 0", []),
    ),
    Question(
        12,
        "all projects: a key most models have, `hp.momentum exists`, newest first",
        lambda c: ("GET", _api({"q": "hp.momentum exists"})),
        None,
        "MLflow's filter cannot ask whether a param exists",
    ),
    Question(
        13,
        "authenticated no-op: the tag list, 1 row",
        lambda c: ("GET", "/api/v1/tags/?per_page=1"),
        None,
        "MLflow has no authenticated endpoint to compare",
    ),
]
DEEP_PAGE = 1000
FIRST_PAGE, DEEP = 3, 6  # the questions whose ratio says whether a page's cost depends on its depth


# --- HTTP ------------------------------------------------------------------------------------


def http_call(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> tuple[int, bytes]:
    # A new connection per request: gunicorn's sync workers close it after each answer anyway.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def mlflow_call(port: int, method: str, path: str, body: dict | None = None) -> dict:
    payload = json.dumps(body).encode() if body is not None else None
    status, answer = http_call(port, method, path, {"Content-Type": "application/json"}, payload)
    if status != 200:
        raise RuntimeError(f"MLflow {method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer)


def mlflow_search(
    c: Context, experiments: list[str], filter_string: str, order_by: list[str], max_results=50, page_token=None
):
    body = {"experiment_ids": experiments, "filter": filter_string, "order_by": order_by, "max_results": max_results}
    if page_token:
        body["page_token"] = page_token
    return mlflow_call(c.mlflow_port, "POST", "/api/2.0/mlflow/runs/search", body)


def mlflow_page_token(offset: int) -> str:
    """MLflow's page token is its offset, base64 JSON (mlflow.utils.search_utils.create_page_token)."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def mlflow_q5_workaround(c: Context) -> list:
    """What an MLflow user does for question 5: page through the f1 range, filter lr by hand."""
    found, token = [], None
    while len(found) < 50:
        body = {
            "experiment_ids": [c.experiments["project-1"]],
            "filter": "metrics.f1 >= 0.5 and metrics.f1 <= 0.6",
            "order_by": ["metrics.loss ASC"],
            "max_results": 200,
            **({"page_token": token} if token else {}),
        }
        answer = mlflow_call(c.mlflow_port, "POST", "/api/2.0/mlflow/runs/search", body)
        for run in answer.get("runs", []):
            params = {p["key"]: p["value"] for p in run["data"].get("params", [])}
            try:
                if float(params.get("lr", "nan")) < 0.001:
                    found.append(run)
            except ValueError:
                pass
        token = answer.get("next_page_token")
        if not token:
            break
    return found[:50]


# --- Maisie ----------------------------------------------------------------------------------


def maisie_env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{SQLITE}" if SQLITE else pg_url(database, "postgres"),
            "MAISIE_DATA_DIR": str(DATA_DIR / database),
            "DJANGO_SETTINGS_MODULE": "maisie_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "MAISIE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def pg_address(database: str) -> dict:
    """Where `database` lives: the machine's server unless the bench started one for it."""
    return {**PG, "port": PORTS.get(database, PG["port"])}


def pg_url(database: str, scheme: str) -> str:
    address = pg_address(database)
    return f"{scheme}://{address['user']}@{address['host']}:{address['port']}/{database}"


def pg_connect(database: str = "postgres", server_of: str | None = None):
    """A connection to `database`, or to the maintenance database of the server holding `server_of`."""
    connection = psycopg2.connect(dbname=database, **pg_address(server_of or database))
    connection.autocommit = True
    return connection


def database_exists(name: str) -> bool:
    with pg_connect(server_of=name) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def recreate_database(name: str) -> None:
    conn = pg_connect(server_of=name)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def count_rows(database: str, sql: str) -> int:
    conn = pg_connect(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    except psycopg2.Error:
        return -1
    finally:
        conn.close()


def prepare_sqlite(models: int, database: str, fresh: bool) -> None:
    """--sqlite: the same workload in a SQLite file (the embedded default), built once, then
    brought to this checkout's migrations and indexes and analyzed on every run."""
    env = maisie_env(database)
    seeded = not fresh and SQLITE.exists() and sqlite_rows("SELECT count(*) FROM registry_mlmodel") == models
    commands = [["migrate", "--noinput", "-v0"], ["search_indexes"]]
    if seeded:
        print(f"maisie: reusing {SQLITE} ({models} models), brought to this checkout's schema and indexes")
    else:
        print(f"maisie: building {SQLITE} with {models} models (minutes)...", flush=True)
        SQLITE.unlink(missing_ok=True)
        commands.insert(1, ["seed_models", "--models", str(models), "--password", PASSWORD, "--batch", "5000"])
    for command in commands:
        started = time.monotonic()
        run_quietly = {"cwd": REPO, "env": env, "check": True, "stdout": subprocess.DEVNULL}
        subprocess.run([sys.executable, "manage.py", *command], **run_quietly)
        print(f"  manage.py {command[0]}: {time.monotonic() - started:.0f} s", flush=True)
    sqlite_rows("ANALYZE")


def sqlite_rows(sql: str):
    connection = sqlite3.connect(SQLITE)
    try:
        row = connection.execute(sql).fetchone()
        connection.commit()
        return row[0] if row else None
    finally:
        connection.close()


def prepare_maisie(models: int, database: str, fresh: bool) -> None:
    if SQLITE:
        prepare_sqlite(models, database, fresh)
        return
    seeded = not fresh and database_exists(database)
    if seeded and count_rows(database, "SELECT count(*) FROM registry_mlmodel") == models:
        print(f"maisie: reusing {database} ({models} models), brought to this checkout's schema and indexes")
        for command in (["migrate", "--noinput", "-v0"], ["search_indexes"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=REPO,
                env=maisie_env(database),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        vacuum(database)
        return
    print(f"maisie: building {database} with {models} models (minutes)...", flush=True)
    recreate_database(database)
    env = maisie_env(database)
    python = sys.executable
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["seed_models", "--models", str(models), "--password", PASSWORD, "--batch", "5000"],
        ["search_indexes"],
    ):
        started = time.monotonic()
        subprocess.run([python, "manage.py", *command], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  manage.py {command[0]}: {time.monotonic() - started:.0f} s", flush=True)
    vacuum(database)


# What Maisie sets on its own connections (MAISIE_PG_SEQ_PAGE_COST, MAISIE_PG_RANDOM_PAGE_COST).
PAGE_COSTS = {"seq_page_cost": 0.1, "random_page_cost": 0.1}
# MLflow sets none; its database gets the page costs it ran fastest with, measured here on
# questions 1, 2 and 5 (p50 of 30, ms): server defaults (1, 4): 172 / 328 / 408; (1, 1.1):
# 129 / 236 / 423; Maisie's (0.1, 0.1): 321 / 301 / 476.
MLFLOW_PAGE_COSTS = {"seq_page_cost": 1.0, "random_page_cost": 1.1}


def configure_database(database: str, workers: int, page_costs: dict[str, float] = PAGE_COSTS) -> None:
    """Parallel query helps a big machine; on two cores shared with the app server its workers
    compete for them (a count of ~97,000 rows: 65 ms with 2 workers, 20 ms without, measured
    here), so neither database uses it. Page costs: each system's own best (see above)."""
    conn = pg_connect(server_of=database)
    with conn.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{database}" SET max_parallel_workers_per_gather = {int(workers)}')
        for name, value in page_costs.items():
            cursor.execute(f'ALTER DATABASE "{database}" SET {name} = {value}')
    conn.close()


def _described(page_costs: dict[str, float]) -> str:
    return ", ".join(f"{name} {value}" for name, value in page_costs.items())


def server_memory_settings(database: str) -> str:
    """What the PostgreSQL server caches with, printed with the figures: a count that visits
    thousands of heap pages is fast or slow by whether they stayed in `shared_buffers` while
    the other system ran (docs/performance.md)."""
    conn = pg_connect(server_of=database)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'effective_cache_size')"
        )
        settings = {name: (int(value), unit) for name, value, unit in cursor.fetchall()}
    conn.close()
    described = []
    for name in ("shared_buffers", "effective_cache_size"):
        value, unit = settings[name]
        mib = value * 8 // 1024 if unit == "8kB" else value // 1024 if unit == "kB" else value
        described.append(f"{name} {mib} MiB")
    return ", ".join(described)


def vacuum(database: str) -> None:
    conn = pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    conn.close()


def start_maisie(database: str, workers: int, servers: list[Server]) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "maisie_site.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
    ]
    server = Server("maisie", command, port, maisie_env(database), DATA_DIR / f"{database}.log", ready_path=None)
    servers.append(server)
    server.start()
    server.require_ready(START_TIMEOUT)
    return server


def maisie_token(port: int) -> str:
    body = json.dumps({"login": LOGIN, "password": PASSWORD}).encode()
    status, answer = http_call(port, "POST", "/api/v1/auth/login/", {"Content-Type": "application/json"}, body)
    if status != 200:
        raise RuntimeError(f"login failed: {status} {answer[:300]!r}")
    return json.loads(answer)["data"]["access_token"]


def maisie_ids(database: str) -> tuple[int, int]:
    if SQLITE:
        project = sqlite_rows("SELECT id FROM registry_project WHERE name = 'project-1'")
        model = sqlite_rows(
            "SELECT id FROM registry_mlmodel WHERE NOT private ORDER BY id "
            "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM registry_mlmodel)"
        )
        return project, model
    conn = pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM registry_project WHERE name = 'project-1'")
        project = cursor.fetchone()[0]
        cursor.execute(
            "SELECT id FROM registry_mlmodel WHERE NOT private ORDER BY id "
            "OFFSET (SELECT count(*) / 2 FROM registry_mlmodel) LIMIT 1"
        )
        model = cursor.fetchone()[0]
    conn.close()
    return project, model


# --- MLflow ----------------------------------------------------------------------------------


def mlflow_python() -> Path:
    mlflow = mlflow_server.ensure_venv()
    python = mlflow.parent / "python"
    probe = subprocess.run([str(python), "-c", "import psycopg2"], capture_output=True)
    if probe.returncode:
        print("mlflow: installing psycopg2-binary into its venv...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "psycopg2-binary"], check=True)
    return mlflow


def start_mlflow(database: str, workers: int, servers: list[Server]) -> Server:
    mlflow = mlflow_python()
    port = free_port()
    workdir = DATA_DIR / database
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        str(mlflow),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backend-store-uri",
        pg_url(database, "postgresql+psycopg2"),
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    env = mlflow_server.server_env(dict(os.environ))
    server = Server("mlflow", command, port, env, workdir / "log", ready_path=None, cwd=workdir)
    servers.append(server)
    server.start()
    server.require_ready(START_TIMEOUT)
    deadline = time.monotonic() + 300  # the first start migrates the schema
    while True:
        try:
            if http_call(port, "GET", "/health", {})[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"mlflow /health never answered:\n{server.log_tail()}")
        time.sleep(0.5)


def mlflow_run(row: dict, users: list[str]) -> dict:
    """A workload row as an MLflow user logs it: params as text, metrics, tags, the run name."""
    params = {**row["hyperparameters"], **row["parameters"]}
    tags = {name: "true" for name in row["tags"]}
    tags.update({"mlflow.runName": row["name"], "dataset": row["dataset_name"]})
    tags.update({"mlflow.source.git.branch": row["git_branch"], "mlflow.source.git.commit": row["git_commit"]})
    return {
        "experiment": f"project-{row['project'] + 1}",
        "name": row["name"],
        "user": users[row["uploader"]],
        "time": int(row["created"].timestamp() * 1000),
        "params": {key: str(value) for key, value in params.items()},
        "metrics": {key: float(value) for key, value in row["metrics"].items()},
        "tags": tags,
    }


def prepare_mlflow(port: int, database: str, models: int, rest_runs: int, fresh: bool) -> dict[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maisie_site.settings")
    import django

    django.setup()
    from registry.management.commands.seed_models import workload

    users = [LOGIN, f"{LOGIN}-a", f"{LOGIN}-b"]
    experiments = mlflow_experiments(port)
    loaded = count_rows(database, "SELECT count(*) FROM runs WHERE lifecycle_stage = 'active'")
    if loaded == models and len(experiments) == 10 and not fresh:
        print(f"mlflow: reusing {database} ({models} runs)")
        return experiments
    if loaded > 0:
        raise RuntimeError(f"{database} holds {loaded} runs, not {models}: drop it (or pass --fresh) and run again")
    for n in range(1, 11):
        name = f"project-{n}"
        if name not in experiments:
            answer = mlflow_call(port, "POST", "/api/2.0/mlflow/experiments/create", {"name": name})
            experiments[name] = answer["experiment_id"]
    rows = (mlflow_run(row, users) for row in workload(models, 1, projects=10, uploaders=3))
    started = time.monotonic()
    first = [next(rows) for _ in range(min(rest_runs, models))]
    rest_ids = [log_through_rest(port, experiments, run) for run in first]
    print(f"mlflow: {len(first)} runs through REST in {time.monotonic() - started:.0f} s", flush=True)
    copied = copy_runs(database, experiments, rows, template=rest_ids[0] if rest_ids else None)
    print(f"mlflow: {copied} more runs copied into its tables in {time.monotonic() - started:.0f} s", flush=True)
    vacuum(database)
    check_runs(port, database, experiments, users, models, rest_ids)
    return experiments


def mlflow_experiments(port: int) -> dict[str, str]:
    answer = mlflow_call(port, "POST", "/api/2.0/mlflow/experiments/search", {"max_results": 1000})
    return {e["name"]: e["experiment_id"] for e in answer.get("experiments", []) if e["name"].startswith("project-")}


def log_through_rest(port: int, experiments: dict[str, str], run: dict) -> str:
    created = mlflow_call(
        port,
        "POST",
        "/api/2.0/mlflow/runs/create",
        {
            "experiment_id": experiments[run["experiment"]],
            "user_id": run["user"],
            "start_time": run["time"],
            "run_name": run["name"],
        },
    )
    run_id = created["run"]["info"]["run_id"]
    batch = {
        "run_id": run_id,
        "params": [{"key": k, "value": v} for k, v in run["params"].items()],
        "metrics": [{"key": k, "value": v, "timestamp": run["time"], "step": 0} for k, v in run["metrics"].items()],
        "tags": [{"key": k, "value": v} for k, v in run["tags"].items() if k != "mlflow.runName"],
    }
    mlflow_call(port, "POST", "/api/2.0/mlflow/runs/log-batch", batch)
    finished = {"run_id": run_id, "status": "FINISHED", "end_time": run["time"]}
    mlflow_call(port, "POST", "/api/2.0/mlflow/runs/update", finished)
    return run_id


def copy_runs(database: str, experiments: dict[str, str], runs, template: str | None, batch: int = 20000) -> int:
    """COPY runs into MLflow's tables, shaped like the rows its REST calls wrote for `template`."""
    conn = pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT source_type, source_name, entry_point_name, source_version, lifecycle_stage FROM runs "
            "WHERE run_uuid = %s",
            [template],
        )
        source_type, source_name, entry_point, source_version, stage = cursor.fetchone()
    total = 0
    while True:
        chunk = [run for _, run in zip(range(batch), runs, strict=False)]
        if not chunk:
            break
        tables = {name: io.StringIO() for name in ("runs", "params", "metrics", "latest_metrics", "tags")}
        for run in chunk:
            run_id = uuid.uuid4().hex
            experiment = experiments[run["experiment"]]
            artifacts = f"mlflow-artifacts:/{experiment}/{run_id}/artifacts"
            fields = [run_id, run["name"], source_type, source_name, entry_point, run["user"], "FINISHED"]
            fields += [run["time"], run["time"], source_version, stage, artifacts, experiment, None]
            _write(tables["runs"], fields)
            for key, value in run["params"].items():
                _write(tables["params"], [key, value, run_id])
            for key, value in run["metrics"].items():
                _write(tables["metrics"], [key, value, run["time"], run_id, 0, False])
                _write(tables["latest_metrics"], [key, value, run["time"], 0, False, run_id])
            for key, value in run["tags"].items():
                _write(tables["tags"], [key, value, run_id])
        columns = {
            "runs": "run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, "
            "end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time",
            "params": "key, value, run_uuid",
            "metrics": "key, value, timestamp, run_uuid, step, is_nan",
            "latest_metrics": "key, value, timestamp, step, is_nan, run_uuid",
            "tags": "key, value, run_uuid",
        }
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            for table, buffer in tables.items():
                buffer.seek(0)
                cursor.copy_expert(f"COPY {table} ({columns[table]}) FROM STDIN", buffer)
            cursor.execute("COMMIT")
        total += len(chunk)
        print(f"  {total} runs copied", end="\r", flush=True)
    conn.close()
    return total


def _write(buffer: io.StringIO, fields: list) -> None:
    def text(value) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    buffer.write("\t".join(text(v) for v in fields) + "\n")


def check_runs(port, database, experiments, users, models, rest_ids) -> None:
    """Read a REST-logged and a copied run back through runs/get: they hold what the workload says."""
    from registry.management.commands.seed_models import workload

    expected = [mlflow_run(row, users) for row in workload(min(models, len(rest_ids) + 1), 1, 10, 3)]
    conn = pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT run_uuid FROM runs ORDER BY start_time LIMIT 1 OFFSET %s", [len(rest_ids)])
        copied = cursor.fetchone()
    conn.close()
    samples = [(rest_ids[0], expected[0])] if rest_ids else []
    if copied and len(expected) > len(rest_ids):
        samples.append((copied[0], expected[len(rest_ids)]))
    for run_id, want in samples:
        run = mlflow_call(port, "GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        wrong = params != want["params"] or metrics != want["metrics"] or run["info"]["run_name"] != want["name"]
        wrong |= any(tags.get(k) != v for k, v in want["tags"].items())
        if wrong:
            raise RuntimeError(f"MLflow run {run_id} does not hold the workload's row:\n{run}\n{want}")
    print(f"mlflow: {len(samples)} sample runs read back through REST match the workload")


def mlflow_ids(port: int, experiments: dict[str, str]) -> str:
    answer = mlflow_call(
        port,
        "POST",
        "/api/2.0/mlflow/runs/search",
        {"experiment_ids": [experiments["project-5"]], "max_results": 1, "order_by": ["attributes.start_time ASC"]},
    )
    return answer["runs"][0]["info"]["run_id"]


# --- Measurement -----------------------------------------------------------------------------


def check_maisie_answer(question: int, body: dict) -> int:
    """Sanity of the first answer: the rows really answer the question. Returns the row count."""
    if question == 4:
        assert "hyperparameters" in body["data"], body
        return 1
    rows = body["data"]
    if question in (9, 10, 11):  # a key no model has
        assert rows == [] and body["pagination"]["total_items"] == 0, body
        return 0
    if question == 13:
        assert len(rows) == 1, body
        return body["pagination"]["total_items"]
    assert len(rows) == 50, f"question {question}: {len(rows)} rows"
    if question == 1:
        accuracy = [r["metrics"]["accuracy"] for r in rows]
        assert accuracy == sorted(accuracy, reverse=True) and min(accuracy) > 0.9
        assert all(r["hyperparameters"]["optimizer"] == "adam" for r in rows)
    if question == 2:
        assert all(r["hyperparameters"]["batch_size"] == 64 and r["hyperparameters"]["arch"] == "resnet" for r in rows)
    if question == 5:
        loss = [r["metrics"]["loss"] for r in rows]
        assert loss == sorted(loss)
        assert all(0.5 <= r["metrics"]["f1"] <= 0.6 and r["hyperparameters"]["lr"] < 0.001 for r in rows)
    if question == 7:
        accuracy = [r["metrics"]["accuracy"] for r in rows]
        assert accuracy == sorted(accuracy, reverse=True)
    if question == 8:
        optimizers = [r["hyperparameters"]["optimizer"] for r in rows]
        assert optimizers == sorted(optimizers)
    if question == 12:
        assert all("momentum" in r["hyperparameters"] for r in rows)
    return body["pagination"]["total_items"]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(args, questions, maisie_call, mlflow_calls) -> dict:
    """Alternate systems every --block requests, so that any background load hits both alike.

    With --block 1 (the default) each request follows one of the other system's, whose work
    (hundreds of ms of MLflow's, a few of Maisie's) has filled the CPU caches and the database's
    working memory in between; a larger block measures each server the way a dedicated one runs,
    warm from its own previous request, and still interleaves the two."""
    results = {}
    for question in questions:
        maisie = maisie_call(question)
        mlflow = mlflow_calls.get(question.number)
        for _ in range(args.warmup):
            maisie()
            if mlflow:
                mlflow()
        times = {"maisie": [], "mlflow": []}
        deadline = {name: time.monotonic() + args.seconds for name in times}
        for _ in range(0, args.requests, args.block):
            for name, call in (("maisie", maisie), ("mlflow", mlflow)):
                for _ in range(min(args.block, args.requests - len(times[name]))):
                    if call and time.monotonic() < deadline[name]:
                        times[name].append(timed(call))
        results[question.number] = times
        times["load"] = os.getloadavg()[0]
        line = f"  question {question.number}: maisie n={len(times['maisie'])}"
        line += f" p50={statistics.median(times['maisie']):.1f} ms"
        if times["mlflow"]:
            line += f", mlflow n={len(times['mlflow'])} p50={statistics.median(times['mlflow']):.1f} ms"
        print(line, flush=True)
    return results


def report(args, questions, results, totals) -> bool:
    where = {
        "own": f"each system on a PostgreSQL server of its own, shared_buffers {args.shared_buffers}",
        "one": f"both systems on one PostgreSQL server, shared_buffers {args.shared_buffers}",
        "machine": "both systems on the machine's PostgreSQL server",
    }[args.servers]
    if SQLITE:
        where = f"Maisie on SQLite ({SQLITE.name})" + ("" if args.skip_mlflow else f", MLflow: {where}")
    print()
    print(
        f"Search latency, {args.models:,} models, {where}, on loopback (max_parallel_workers_per_gather = "
        f"{args.pg_parallel}; Maisie {_described(PAGE_COSTS)}, MLflow {_described(MLFLOW_PAGE_COSTS)}), ms; "
        f"the systems take turns every {args.block} request{'s' if args.block > 1 else ''}"
    )
    print()
    header = "| question | Maisie p50 | Maisie p95 | MLflow p50 | MLflow p95 | MLflow / Maisie (p50) |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|")
    ok = True
    notes = []
    for question in questions:
        times = results[question.number]
        m50, m95 = statistics.median(times["maisie"]), percentile(times["maisie"], 0.95)
        ok &= m95 < P95_TARGET_MS
        cells = [f"{question.number}. {question.title} ({totals.get(question.number, '?')} match)"]
        cells += [f"{m50:.1f}", f"{m95:.1f}"]
        if times["mlflow"]:
            f50, f95 = statistics.median(times["mlflow"]), percentile(times["mlflow"], 0.95)
            ratio = f50 / m50
            if question.number in RATIO_QUESTIONS:
                ok &= ratio >= RATIO_TARGET
            mark = "*" if question.mlflow_note else ""
            cells += [f"{f50:.1f}{mark}", f"{f95:.1f}{mark}", f"{ratio:.1f}x"]  # 9.9x is not 10x
        else:
            cells += ["-", "-", "-"]
        if question.mlflow_note:
            notes.append(f"{question.number}: {question.mlflow_note}")
        print("| " + " | ".join(cells) + " |")
    print()
    for note in notes:
        print(f"* MLflow, question {note}.")
    if FIRST_PAGE in results and DEEP in results:
        first, deep = (statistics.median(results[n]["maisie"]) for n in (FIRST_PAGE, DEEP))
        print(f"Page {DEEP_PAGE:,} / page 1 (questions {DEEP} / {FIRST_PAGE}), Maisie p50: {deep / first:.2f}x")
    counts = {n: len(t["maisie"]) for n, t in results.items()}
    loads = {n: round(t["load"], 1) for n, t in results.items()}
    print(f"requests timed per question (Maisie): {counts}; load average after each question: {loads}")
    targets = f"targets: Maisie p95 < {P95_TARGET_MS} ms on every question"
    if not args.skip_mlflow:
        targets += f", MLflow/Maisie >= {RATIO_TARGET}x on questions {', '.join(map(str, RATIO_QUESTIONS))}"
    print(f"{targets}: {'met' if ok else 'NOT met'}")
    return ok


def wait_for_quiet(seconds: float, threshold: float = 1.0) -> None:
    """Other work on the machine skews every figure: give it a bounded chance to finish."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        time.sleep(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--questions", default=",".join(str(q.number) for q in QUESTIONS))
    parser.add_argument("--requests", type=int, default=200, help="timed requests per question and system")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--block", type=int, default=1, help="requests to one system before switching to the other (1)")
    parser.add_argument("--seconds", type=float, default=120, help="at most this long per question and system")
    parser.add_argument("--workers", type=int, default=2, help="server workers for each system")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--pg-parallel", type=int, default=0, help="max_parallel_workers_per_gather for both databases")
    parser.add_argument("--mlflow-rest-runs", type=int, default=200, help="runs logged through REST (at least 1)")
    parser.add_argument("--fresh", action="store_true", help="rebuild both databases")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to this many seconds for a load average below 1"
    )
    parser.add_argument(
        "--servers",
        choices=SERVER_LAYOUTS,
        default="own",
        help="own: each system on a PostgreSQL server of the bench's own (bench/pg_server.py; built once, "
        "in var/); one: both on one such server; machine: both on the machine's server (127.0.0.1:5432)",
    )
    parser.add_argument(
        "--shared-buffers",
        default=DEFAULT_SHARED_BUFFERS,
        help="shared_buffers of the bench's own servers (default: PostgreSQL's, 128MB)",
    )
    parser.add_argument(
        "--sqlite", type=Path, help="run Maisie on this SQLite file (built on first use) instead of PostgreSQL"
    )
    args = parser.parse_args()
    global SQLITE
    SQLITE = args.sqlite.resolve() if args.sqlite else None
    if args.servers == "machine" and args.shared_buffers != DEFAULT_SHARED_BUFFERS:
        parser.error("--shared-buffers sets the bench's own servers; the machine's keeps its own setting")
    if args.mlflow_rest_runs < 1:
        parser.error("--mlflow-rest-runs must be at least 1: the copied runs take their shape from those")
    if args.block < 1:
        parser.error("--block must be at least 1")
    wanted = {int(n) for n in args.questions.split(",")}
    questions = [q for q in QUESTIONS if q.number in wanted]
    signal.signal(signal.SIGTERM, raise_on_signal)
    private = private_servers(args)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    started: list[PrivatePostgres] = []
    try:
        for server in private:
            server.start()
            started.append(server)
        return run(args, questions)
    finally:
        for server in started:
            server.stop()


def database_names(models: int) -> tuple[str, str]:
    return f"maisie_bench_{models}", f"mlflow_bench_{models}"


def private_servers(args) -> list[PrivatePostgres]:
    """The PostgreSQL servers of the bench's own (bench/pg_server.py), not yet started.

    By default each system gets one, both with the same settings (PostgreSQL's defaults), as
    each registry is deployed. Sharing one server's cache (`--servers one` or `machine`), the
    system that reads more pages evicts the other's between their alternating requests: MLflow's
    question 2 reads ~130,000 buffers, and Maisie's count then reads its 3,300 back from the
    operating system (docs/performance.md)."""
    global DATA_DIR  # the databases' uploaded files live beside the server that holds them
    if args.servers == "machine":
        return []
    shared_buffers = args.shared_buffers
    maisie_db, mlflow_db = database_names(args.models)
    if args.servers == "own":
        DATA_DIR = DATA_DIR / f"own-servers-{shared_buffers}"
        layout = {"maisie": [maisie_db], "mlflow": [mlflow_db]}
    else:
        DATA_DIR = DATA_DIR / f"postgres-{shared_buffers}"
        layout = {"server": [maisie_db, mlflow_db]}
    servers, ports = [], set()
    for folder, databases in layout.items():
        port = free_port()
        while port in ports:  # not yet listening, so free_port could hand it out twice
            port = free_port()
        ports.add(port)
        servers.append(PrivatePostgres(DATA_DIR / folder, port, {"shared_buffers": shared_buffers}))
        PORTS.update(dict.fromkeys(databases, port))
    return servers


def run(args, questions: list[Question]) -> int:
    maisie_db, mlflow_db = database_names(args.models)
    prepare_maisie(args.models, maisie_db, args.fresh)
    if not SQLITE:
        configure_database(maisie_db, args.pg_parallel)
    servers: list[Server] = []
    try:
        maisie = start_maisie(maisie_db, args.workers, servers)
        token = maisie_token(maisie.port)
        project_id, model_id = maisie_ids(maisie_db)
        context = Context(project_id, model_id, {}, "")
        if not args.skip_mlflow:
            if args.fresh and database_exists(mlflow_db):
                recreate_database(mlflow_db)
            if not database_exists(mlflow_db):
                recreate_database(mlflow_db)
            configure_database(mlflow_db, args.pg_parallel, MLFLOW_PAGE_COSTS)
            server = start_mlflow(mlflow_db, args.workers, servers)
            context.mlflow_port = server.port
            context.experiments = prepare_mlflow(server.port, mlflow_db, args.models, args.mlflow_rest_runs, args.fresh)
            context.run_id = mlflow_ids(server.port, context.experiments)
        headers = {"Authorization": f"Bearer {token}"}

        def maisie_call(question: Question) -> Callable[[], object]:
            method, path = question.maisie(context)

            def call():
                status, answer = http_call(maisie.port, method, path, headers)
                if status != 200:
                    raise RuntimeError(f"Maisie {path}: {status} {answer[:300]!r}")
                return answer

            return call

        totals = {q.number: check_maisie_answer(q.number, json.loads(maisie_call(q)())) for q in questions}
        mlflow_calls = {} if args.skip_mlflow else {q.number: q.mlflow(context) for q in questions if q.mlflow}
        wait_for_quiet(args.wait_quiet)
        if SQLITE:
            print(f"Maisie on SQLite: {SQLITE}", flush=True)
        elif args.servers == "own":
            print(f"PostgreSQL server (Maisie's own): {server_memory_settings(maisie_db)}", flush=True)
            if not args.skip_mlflow:
                print(f"PostgreSQL server (MLflow's own): {server_memory_settings(mlflow_db)}", flush=True)
        else:
            print(f"PostgreSQL server (both systems): {server_memory_settings(maisie_db)}", flush=True)
        warn_if_busy("before measuring")
        print(
            f"measuring: {args.requests} requests per question and system, alternating every {args.block}...",
            flush=True,
        )
        results = measure(args, questions, maisie_call, mlflow_calls)
        warn_if_busy("after measuring")
        ok = report(args, questions, results, totals)
    finally:
        for server in servers:
            server.stop()
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
