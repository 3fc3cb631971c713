"""Project page latency (`/projects/<id>/`) with 100,000 models in one project, through real HTTP.

    .venv/bin/python bench/ui.py                  # builds maisie_ui_100000 once (minutes), reuses it after
    .venv/bin/python bench/ui.py --requests 100 --strict
    .venv/bin/python bench/ui.py --sqlite var/bench-ui/sqlite-100000.sqlite3   # the same views on SQLite
    .venv/bin/python bench/ui.py --explain        # and EXPLAIN ANALYZE of each view's model queries
    .venv/bin/python bench/ui.py --profile range  # and cProfile of one view, in-process

The database (`maisie_ui_<N>` on 127.0.0.1:5432, user postgres) gets `migrate`, `seed_models
--models N --projects 1`, `search_indexes` and VACUUM ANALYZE, with
max_parallel_workers_per_gather = 0 as for bench/search.py. With --sqlite FILE, Maisie runs on that
SQLite file instead, through bench/search.py's own --sqlite switch (its DATABASE_URL and its
reader), built with the same commands and ANALYZEd on every run. Maisie runs as in production
(gunicorn, 2 sync workers, DEBUG off); the bench signs in through `/accounts/login/` (CSRF token
and session cookie, as a browser does), reads the project page's filter form and submits it
with each view's changes, so the query strings are the ones the page itself produces.

Each view is asked --requests times, going round the views so background load falls on all
alike, after --warmup rounds (each worker's first requests fill its caches). Printed per view
and page size: p50/p95 of the server time (the `Server-Timing: app;dur=` header of
maisie_site/timing.py) and of the whole request at the client, and, from Django's test client
in this process on the same database, the number of SQL queries of one request and their time
(which is in the server time). Every page is checked first: as many rows as asked, each one
matching the view's filters, in the view's order.
Targets: server p95 < 300 ms on every view, and the same number of queries at 25 and 100 rows.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import search  # noqa: E402  (sibling modules, found through the lines above)
from search import (  # noqa: E402
    configure_database,
    count_rows,
    database_exists,
    maisie_env,
    percentile,
    recreate_database,
    start_maisie,
    vacuum,
    wait_for_quiet,
)
from transfer import raise_on_signal, warn_if_busy  # noqa: E402

from maisie_site.live_servers import ServerProcess as Server  # noqa: E402

LOGIN, PASSWORD = "seed", "bench-ui-password"  # the seeded owner, in a throw-away database
SERVER_P95_TARGET_MS = 300
PAGE_SIZES = (25, 100)
HTTP_TIMEOUT = 120
WIDE_COLUMNS = [
    "metrics.accuracy",
    "metrics.f1",
    "metrics.loss",
    "metrics.precision",
    "metrics.recall",
    "hyperparameters.lr",
    "hyperparameters.batch_size",
    "hyperparameters.optimizer",
    "hyperparameters.arch",
    "hyperparameters.layers",
    "parameters.n_params",
    "parameters.precision",
]


@dataclass(frozen=True)
class View:
    name: str
    title: str
    changes: dict  # form fields to set before submitting: name -> value or list of values


VIEWS = [
    View("newest", "newest first (the default view)", {}),
    View(
        "query",
        'q: hp.optimizer = "adam", best accuracy first',
        {"q": 'hp.optimizer = "adam"', "ordering": "-metrics.accuracy"},
    ),
    View(
        "range",
        "panel: 0.5 <= f1 <= 0.6, best accuracy first",
        {"min.metrics.f1": "0.5", "max.metrics.f1": "0.6", "ordering": "-metrics.accuracy"},
    ),
    View(
        "broad",
        "panel: accuracy >= 0.1, best f1 first",
        {"min.metrics.accuracy": "0.1", "ordering": "-metrics.f1"},
    ),
    View(
        "wide",
        f"q and panel: adam, loss <= 1, lowest loss first, {len(WIDE_COLUMNS)} key columns",
        {"q": 'hp.optimizer = "adam"', "max.metrics.loss": "1", "ordering": "metrics.loss", "col": ["", *WIDE_COLUMNS]},
    ),
]


# --- Database and server ---------------------------------------------------------------------


def manage(database: str, *command: str) -> None:
    started = time.monotonic()
    python = sys.executable
    subprocess.run(
        [python, "manage.py", *command], cwd=REPO, env=maisie_env(database), check=True, stdout=subprocess.DEVNULL
    )
    print(f"  manage.py {command[0]}: {time.monotonic() - started:.0f} s", flush=True)


def use_sqlite(path: Path) -> None:
    """--sqlite: bench/search.py's switch, which its maisie_env and sqlite_rows read."""
    search.SQLITE = path.resolve()
    search.SQLITE.parent.mkdir(parents=True, exist_ok=True)


def scalar(database: str, sql: str):
    """The first column of the first row, from the PostgreSQL database or the SQLite file."""
    return search.sqlite_rows(sql) if search.SQLITE else count_rows(database, sql)


def where(database: str) -> str:
    return str(search.SQLITE) if search.SQLITE else database


def prepare(database: str, models: int, fresh: bool) -> None:
    """Build the database once. Every run brings it up to this checkout: migrations, the search
    indexes this code creates, fresh statistics, and the static files (collected as the image
    does at build time: with DEBUG off they are served from the manifest)."""
    reuse = not fresh and (search.SQLITE.exists() if search.SQLITE else database_exists(database))
    if reuse:
        found = scalar(database, "SELECT count(*) FROM registry_mlmodel")
        projects = scalar(database, "SELECT count(DISTINCT project_id) FROM registry_mlmodel")
        reuse = found == models and projects == 1
    if reuse:
        print(f"reusing {where(database)} ({models:,} models in one project)")
    else:
        print(f"building {where(database)} with {models:,} models in one project (minutes)...", flush=True)
        if search.SQLITE:
            search.SQLITE.unlink(missing_ok=True)
        else:
            recreate_database(database)
    manage(database, "migrate", "--noinput", "-v0")
    if not reuse:
        seed = ["--models", str(models), "--projects", "1", "--password", PASSWORD, "--batch", "5000"]
        manage(database, "seed_models", *seed)
    manage(database, "search_indexes")
    if search.SQLITE:
        search.sqlite_rows("ANALYZE")
    else:
        vacuum(database)
        configure_database(database, 0)
    manage(database, "collectstatic", "--noinput", "-v0")


class Browser:
    """Cookies, CSRF and one new connection per request (gunicorn's sync workers close it anyway)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, answer

    def sign_in(self, login: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not token:
            raise RuntimeError(f"no sign-in form: {status}")
        form = {"username": login, "password": password, "csrfmiddlewaretoken": token.group(1).decode(), "next": ""}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, answer = self.request("POST", "/accounts/login/", urllib.parse.urlencode(form).encode(), headers)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in failed: {status} {answer[:300]!r}")


class FormFields(HTMLParser):
    """The (name, value) pairs a browser submits for the form with id `form_id`, as rendered."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: dict | None = None

    def _ours(self, attrs: dict) -> bool:
        owner = attrs.get("form")
        return (owner == self.form_id if owner else self.inside) and "disabled" not in attrs

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif tag == "input" and attrs.get("name") and self._ours(attrs):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "reset", "image", "file"):
                self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select" and attrs.get("name") and self._ours(attrs):
            self.select = {"name": attrs["name"], "first": None, "chosen": None}
        elif tag == "option" and self.select is not None:
            value = attrs.get("value") or ""
            self.select["first"] = value if self.select["first"] is None else self.select["first"]
            if "selected" in attrs:
                self.select["chosen"] = value

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            chosen = self.select["chosen"] if self.select["chosen"] is not None else self.select["first"]
            self.fields.append((self.select["name"], chosen or ""))
            self.select = None


def submitted(fields: list[tuple[str, str]], changes: dict) -> str:
    """The query string of the form with some fields changed; every changed field must exist."""
    missing = set(changes) - {name for name, _ in fields}
    if missing:
        raise RuntimeError(f"the page's form has no field {sorted(missing)}")
    pairs, done = [], set()
    for name, value in fields:
        if name not in changes:
            pairs.append((name, value))
        elif name not in done:
            done.add(name)
            wanted = changes[name]
            pairs.extend((name, v) for v in (wanted if isinstance(wanted, list) else [wanted]))
    return urllib.parse.urlencode(pairs)


def project_id(database: str) -> int:
    return scalar(database, "SELECT id FROM registry_project WHERE name = 'project-1'")


# --- Measurement -----------------------------------------------------------------------------


@dataclass
class Timings:
    server: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)


SERVER_TIMING = re.compile(r"\bapp;dur=([0-9.]+)")


def timed_get(browser: Browser, path: str) -> tuple[float, float]:
    started = time.perf_counter()
    status, headers, body = browser.request("GET", path)
    client_ms = (time.perf_counter() - started) * 1000
    match = SERVER_TIMING.search(headers.get("Server-Timing", ""))
    if status != 200 or b'class="table table--models"' not in body or not match:
        raise RuntimeError(f"{path}: {status}, Server-Timing {headers.get('Server-Timing')!r}: {body[:300]!r}")
    return float(match.group(1)), client_ms


def measure(browser: Browser, paths: dict, requests: int, warmup: int) -> dict[tuple[str, int], Timings]:
    results = {key: Timings() for key in paths}
    for round_ in range(warmup + requests):
        for key, path in paths.items():
            server_ms, client_ms = timed_get(browser, path)
            if round_ >= warmup:
                results[key].server.append(server_ms)
                results[key].client.append(client_ms)
        if round_ == warmup - 1:
            print(f"measuring: {requests} rounds of {len(paths)} views...", flush=True)
    return results


# --- In-process: query counts, EXPLAIN, profile ----------------------------------------------


def django_client(database: str):
    """Django's test client in this process, signed in as the seeded owner, on the bench database."""
    os.environ.update(maisie_env(database))
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User

    setup_test_environment()  # response.context, and "testserver" in ALLOWED_HOSTS
    client = Client()
    client.force_login(User.objects.get(login=LOGIN))
    return client


def in_process(client, path: str, runs: int = 3):
    """The response, the queries of the last of `runs` requests, and the median of their SQL time (ms)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # a first visit may fill caches
    sql_ms = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        sql_ms.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
    return response, queries.captured_queries, statistics.median(sql_ms)


def check_rows(view: View, response, per_page: int) -> int:
    """The page really answers the view: as many rows as asked, filtered and sorted. Returns the matches."""
    models = [row.model for row in response.context["rows"]]
    assert len(models) == per_page, f"{view.name}: {len(models)} rows"
    changes = view.changes
    if "q" in changes:
        assert all(m.hyperparameters.get("optimizer") == "adam" for m in models), view.name
    for name, bound in changes.items():
        if name.startswith(("min.metrics.", "max.metrics.")):
            key, low = name.split(".", 2)[2], name.startswith("min.")
            assert all(m.metrics[key] >= float(bound) if low else m.metrics[key] <= float(bound) for m in models)
    ordering = changes.get("ordering", "-created")
    key = ordering.lstrip("-").removeprefix("metrics.")
    values = [m.created if key == "created" else m.metrics[key] for m in models]
    assert values == sorted(values, reverse=ordering.startswith("-")), view.name
    return response.context["paginator"].count


def explain(queries: list[dict], tables: str | None = '"registry_mlmodel"') -> None:
    """EXPLAIN ANALYZE of the queries naming `tables` (all of them with None); on SQLite, which
    cannot run a query under EXPLAIN, its EXPLAIN QUERY PLAN. The captured SQL has its values
    written in; SQLite may plan the app's query, which binds them, otherwise."""
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    for query in queries:
        sql = query["sql"]
        if tables is not None and tables not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) ") + sql)
            plan = "\n".join(f"    {row[-1]}" for row in cursor.fetchall())
        print(f"  {float(query['time']) * 1000:.1f} ms: {sql[:300]}{'…' if len(sql) > 300 else ''}\n{plan}\n")


def profile(client, path: str, runs: int = 10) -> None:
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(path)
    profiler.disable()
    print(f"cProfile of {runs} requests (in-process, test client), by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


# --- Main ------------------------------------------------------------------------------------


def report(views, results, counts, sql, matches, load) -> bool:
    print()
    print("| view | rows | matches | queries | SQL | server p50 | server p95 | client p50 | client p95 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for view in views:
        fixed = len({counts[view.name, n] for n in PAGE_SIZES}) == 1
        ok &= fixed
        for per_page in PAGE_SIZES:
            timings = results[view.name, per_page]
            s50, s95 = statistics.median(timings.server), percentile(timings.server, 0.95)
            c50, c95 = statistics.median(timings.client), percentile(timings.client, 0.95)
            ok &= s95 < SERVER_P95_TARGET_MS
            cells = [view.title, per_page, f"{matches[view.name]:,}", counts[view.name, per_page]]
            cells.append(f"{sql[view.name, per_page]:.0f}")
            cells += [f"{s50:.0f}", f"{s95:.0f}", f"{c50:.0f}", f"{c95:.0f}"]
            print("| " + " | ".join(map(str, cells)) + " |")
    requests = len(next(iter(results.values())).server)
    print(
        f"\nms; {requests} requests per row; SQL: the page's queries in-process (median of 3); "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after"
    )
    print(
        f"targets: server p95 < {SERVER_P95_TARGET_MS} ms on every view, the same query count at "
        f"{' and '.join(map(str, PAGE_SIZES))} rows: {'met' if ok else 'NOT met'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per view and page size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--views", default=",".join(v.name for v in VIEWS), help="which views, by name")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each view's queries of the models")
    parser.add_argument("--profile", metavar="VIEW", help="cProfile one view (100 rows) in-process, then stop")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many seconds for load < 1")
    parser.add_argument(
        "--sqlite", type=Path, metavar="FILE", help="run Maisie on this SQLite file (built on first use)"
    )
    args = parser.parse_args()
    wanted = args.views.split(",")
    views = [view for view in VIEWS if view.name in wanted]
    names = [view.name for view in views]
    if not views or (args.profile and args.profile not in names):
        parser.error(f"--views and --profile name views of {[v.name for v in VIEWS]}")
    if not 1 <= args.requests <= 1000 or not 0 <= args.warmup <= 20:
        parser.error("--requests 1..1000, --warmup 0..20")
    signal.signal(signal.SIGTERM, raise_on_signal)
    if args.sqlite:
        use_sqlite(args.sqlite)

    database = f"maisie_ui_{args.models}"
    prepare(database, args.models, args.fresh)
    print(f"database: {'SQLite ' + str(search.SQLITE) if search.SQLITE else 'PostgreSQL ' + database}")
    project = project_id(database)
    servers: list[Server] = []
    try:
        server = start_maisie(database, args.workers, servers)
        browser = Browser(server.port)
        browser.sign_in(LOGIN, PASSWORD)
        base = f"/projects/{project}/"
        # The first visit builds the key list. `view=default`: a bare link would redirect to the
        # user's last view (saved_views), remembered from an earlier run; older checkouts ignore it.
        status, _, page = browser.request("GET", f"{base}?view=default")
        if status != 200:
            raise RuntimeError(f"{base}: {status}")
        parser_ = FormFields("table-form")
        parser_.feed(page.decode())
        paths = {
            (view.name, n): f"{base}?{submitted(parser_.fields, {**view.changes, 'per_page': str(n)})}"
            for view in views
            for n in PAGE_SIZES
        }
        client = django_client(database)
        if args.profile:
            profile(client, paths[args.profile, PAGE_SIZES[-1]])
            return 0
        counts, sql, matches = {}, {}, {}
        for view in views:
            for n in PAGE_SIZES:
                response, queries, sql[view.name, n] = in_process(client, paths[view.name, n])
                matches[view.name] = check_rows(view, response, n)
                counts[view.name, n] = len(queries)
                if args.explain and n == PAGE_SIZES[0]:
                    print(f"{view.name} ({view.title}), {n} rows:")
                    explain(queries)
        for view in views:
            print(f"{view.name}: {base}?{paths[view.name, PAGE_SIZES[0]].split('?', 1)[1][:400]}")
        wait_for_quiet(args.wait_quiet)
        warn_if_busy("before measuring")
        before = os.getloadavg()[0]
        results = measure(browser, paths, args.requests, args.warmup)
        warn_if_busy("after measuring")
        ok = report(views, results, counts, sql, matches, (before, os.getloadavg()[0]))
    finally:
        for server in servers:
            server.stop()
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
