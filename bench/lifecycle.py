"""Model lifecycle reads at 100,000 models and 100,000 events (issue 14), server time over real HTTP.

    .venv/bin/python bench/lifecycle.py                # builds maisie_lifecycle_100000 once (minutes), reuses it after
    .venv/bin/python bench/lifecycle.py --requests 200 --strict
    .venv/bin/python bench/lifecycle.py --explain      # EXPLAIN ANALYZE of each case's queries, in-process
    .venv/bin/python bench/lifecycle.py --models 2000  # a small database, to try the bench itself

The database (`maisie_lifecycle_<N>` on 127.0.0.1:5432, user postgres) gets `migrate` and
`seed_models --models N` (2 workspaces of 5 projects, ~5,000 registered models), then the history
the registry would have written, at the times it would have been written:
- the upload events of every seeded model (`model.created`, and `registered_model.created` for
  the first version of each name), at its seeded upload time, through `events.services.record`;
- alias moves through `registry.services.alias_set`, with the clock set into the past: for
  --aliased registered models, `staging` set on each public version a minute after its upload
  and `production` following it a minute later; and for the one registered model with the most
  versions (the "hot" one), --hot-moves more moves of `production` back and forth, an hour apart,
  after the seeded uploads end.
Then VACUUM ANALYZE, with max_parallel_workers_per_gather = 0 as for bench/search.py. Each run
brings an existing database to this checkout's migrations and refreshes the statistics.

Maisie runs as in production (gunicorn, 2 sync workers, DEBUG off), asked over HTTP with a JWT of
`seed-a`, a plain member of both workspaces (neither owner nor staff), one case after another,
round after round, after --warmup rounds. Each case's answer is checked first against the
database read directly. Printed per case: p50 (the median) and p95 of the server time (the
`Server-Timing: app;dur=` header, maisie_site/timing.py), p50 at the client, and, from Django's
test client in this process, the case's SQL queries and their time. Target: server p50 < 10 ms
on every case (issue 14: "stay under 10 ms server time").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
from search import (  # noqa: E402  (sibling modules, found through the lines above)
    configure_database,
    count_rows,
    database_exists,
    maisie_env,
    percentile,
    pg_connect,
    recreate_database,
    start_maisie,
    vacuum,
    wait_for_quiet,
)
from transfer import raise_on_signal, warn_if_busy  # noqa: E402
from ui import SERVER_TIMING, Browser, Timings, django_client, explain, in_process, manage  # noqa: E402

from maisie_site.live_servers import ServerProcess as Server  # noqa: E402

OWNER, MEMBER, PASSWORD = "seed", "seed-a", "bench-lifecycle-password"  # in a throw-away database
TARGET_MS = 10
HOT_ALIAS = "production"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    path: str
    expected: object  # what the answer must hold (see check)


# --- The database ----------------------------------------------------------------------------


def prepare(database: str, args) -> None:
    """Build the database once (models, then their history); later runs migrate and analyze."""
    reuse = not args.fresh and database_exists(database)
    if reuse:
        found = count_rows(database, "SELECT count(*) FROM registry_mlmodel")
        events = count_rows(database, "SELECT count(*) FROM events_event")
        reuse = found == args.models and events >= args.models
    if reuse:
        print(f"reusing {database} ({args.models:,} models), brought to this checkout's migrations")
        manage(database, "migrate", "--noinput", "-v0")
    else:
        print(f"building {database} with {args.models:,} models and their history (minutes)...", flush=True)
        recreate_database(database)
        manage(database, "migrate", "--noinput", "-v0")
        manage(database, "seed_models", "--models", str(args.models), "--password", PASSWORD, "--batch", "5000")
        started = time.monotonic()
        written = write_history(database, args.aliased, args.hot_moves)
        print(f"  history: {written:,} events in {time.monotonic() - started:.0f} s", flush=True)
    vacuum(database)


def setup_django(database: str) -> None:
    """This process's Django, on the bench database (as ui.django_client does)."""
    os.environ.update(maisie_env(database))
    import django

    django.setup()


@contextlib.contextmanager
def clock(now: datetime):
    """The registry's clock set to `now`: what services stamp (timezone.now) and events' times."""
    from events.models import Event

    field = Event._meta.get_field("time")
    saved = field.default
    field.default = lambda: now
    field.__dict__.pop("_get_default", None)  # Django caches the callable it first finds
    try:
        with mock.patch("django.utils.timezone.now", lambda: now):
            yield
    finally:
        field.default = saved
        field.__dict__.pop("_get_default", None)


def write_history(database: str, aliased: int, hot_moves: int) -> int:
    """The events of the seeded models' uploads and of alias moves, at their times (see above)."""
    setup_django(database)
    from django.db import transaction

    from events.models import Event
    from events.services import record, snapshot
    from registry.models import MLModel, RegisteredModel
    from registry.services import MODEL_FIELDS

    models = MLModel.objects.select_related("project", "uploader", "registered_model").prefetch_related("tags")
    ids = list(MLModel.objects.order_by("created", "id").values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        with transaction.atomic():
            for model in models.filter(pk__in=ids[start : start + 2000]).order_by("created", "id"):
                with clock(model.created):
                    if model.version == 1:  # as registry.services._record_if_first
                        registered = model.registered_model
                        after = {"name": registered.name, "project_id": registered.project_id}
                        scope = {"registered_model_id": registered.pk, "project_id": registered.project_id}
                        record(
                            kind="registered_model.created", actor=model.uploader, subject=registered, model=model,
                            after=after, **scope,
                        )  # fmt: skip
                    after = {**snapshot(model, MODEL_FIELDS), "tags": sorted(tag.name for tag in model.tags.all())}
                    record(kind="model.created", actor=model.uploader, subject=model, after=after)
        print(f"  upload events: {min(start + 2000, len(ids)):,}/{len(ids):,}", end="\r", flush=True)
    print()
    by_size = RegisteredModel.objects.order_by("-last_version", "id")
    hot = by_size.first()
    chosen = [hot, *by_size.exclude(pk=hot.pk)[: max(aliased - 1, 0)]]
    moves = []  # (time, registered model, alias, version number)
    for registered in chosen:
        public = list(registered.versions.filter(private=False).order_by("version").values_list("version", "created"))
        for number, created in public:
            moves.append((created + timedelta(minutes=1), registered, "staging", number))
            moves.append((created + timedelta(minutes=2), registered, "production", number))
    end = MLModel.objects.order_by("-created").values_list("created", flat=True).first()
    hot_public = list(hot.versions.filter(private=False).order_by("version").values_list("version", flat=True))
    for n in range(hot_moves):
        # Back and forth between its last two public versions, an hour apart.
        moves.append((end + timedelta(hours=n + 1), hot, HOT_ALIAS, hot_public[-1 - (n % 2 == 0)]))
    moves.sort(key=lambda move: move[0])
    _alias_moves(moves)
    return Event.objects.count()


def _alias_moves(moves) -> None:
    from accounts.models import User
    from registry import services

    owner = User.objects.get(login=OWNER)
    for done, (when, registered, alias, number) in enumerate(moves, 1):
        with clock(when):
            services.alias_set(registered_model=registered, name=alias, version=number, user=owner)
        if done % 1000 == 0 or done == len(moves):
            print(f"  alias moves: {done:,}/{len(moves):,}", end="\r", flush=True)
    print()


# --- The cases -------------------------------------------------------------------------------


def build_cases(database: str) -> list[Case]:
    """The questions, about the hot registered model, with what the database says they answer."""
    conn = pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.name, p.name, w.name FROM registry_registeredmodel r"
            " JOIN registry_project p ON p.id = r.project_id JOIN registry_workspace w ON w.id = p.workspace_id"
            " ORDER BY r.last_version DESC, r.id LIMIT 1"
        )
        registered, name, project, workspace = cursor.fetchone()
        ref = "/".join(urllib.parse.quote(part, safe="") for part in (workspace, project, name))
        cursor.execute(
            "SELECT a.version_id FROM registry_alias a WHERE a.registered_model_id = %s AND a.name = %s",
            [registered, HOT_ALIAS],
        )
        (production,) = cursor.fetchone()
        cursor.execute(  # the middle of production's history: a time between two of its moves
            "SELECT time FROM events_event WHERE registered_model_id = %s AND subject_type = 'alias'"
            " AND subject_name = %s ORDER BY time, id OFFSET (SELECT count(*) / 2 FROM events_event"
            " WHERE registered_model_id = %s AND subject_type = 'alias' AND subject_name = %s) LIMIT 1",
            [registered, f"{name}@{HOT_ALIAS}"] * 2,
        )
        (middle,) = cursor.fetchone()
        as_of = (middle - timedelta(seconds=1)).isoformat()
        cursor.execute(  # what production named then, read straight from the log
            "SELECT (after ->> 'model_id')::bigint FROM events_event WHERE registered_model_id = %s"
            " AND subject_type = 'alias' AND subject_name = %s AND time <= %s ORDER BY time DESC, id DESC LIMIT 1",
            [registered, f"{name}@{HOT_ALIAS}", middle - timedelta(seconds=1)],
        )
        (production_then,) = cursor.fetchone()
        cursor.execute(
            "SELECT id, version FROM registry_mlmodel WHERE registered_model_id = %s AND NOT private"
            " ORDER BY version LIMIT 1 OFFSET 2",
            [registered],
        )
        third, third_number = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM events_event WHERE registered_model_id = %s AND kind LIKE 'alias.%%'", [registered]
        )
        (alias_events,) = cursor.fetchone()
    conn.close()
    when = urllib.parse.quote(as_of)

    def resolve(suffix: str, when: str = "") -> str:
        query = f"ref={ref}{urllib.parse.quote(suffix, safe='')}" + (f"&as_of={when}" if when else "")
        return f"/api/v1/resolve/?{query}"

    return [
        # For scale: the same version by id, as bench/search.py's question 4 asks (no reference).
        Case("by-id", "(a model by id, for comparison)", f"/api/v1/models/{production}/", ("id", production)),
        Case("alias", "resolve @production", resolve(f"@{HOT_ALIAS}"), ("id", production)),
        Case("number", f"resolve :{third_number}", resolve(f":{third_number}"), ("id", third)),
        Case("latest", "resolve the latest", resolve(""), ("latest", registered)),
        Case("alias-as-of", "resolve @production as_of", resolve(f"@{HOT_ALIAS}", when), ("id", production_then)),
        Case("number-as-of", f"resolve :{third_number} as_of", resolve(f":{third_number}", when), ("id", third)),
        Case(
            "history",
            f"an alias's history (events, registered_model & kind=alias.*; {alias_events:,} events)",
            f"/api/v1/events/?registered_model={registered}&kind=alias.*",
            ("total", alias_events),
        ),
        Case(
            "aliases",
            "(the alias list now, for comparison)",
            f"/api/v1/registered-models/{registered}/aliases/",
            ("aliases", production),
        ),
        Case(
            "aliases-as-of",
            "the alias list as_of",
            f"/api/v1/registered-models/{registered}/aliases/?as_of={when}",
            ("aliases", production_then),
        ),
        Case(
            "versions-as-of",
            "the versions as_of",
            f"/api/v1/registered-models/{registered}/versions/?as_of={when}",
            ("versions", None),
        ),
        Case(
            "versions",
            "(the versions now, for comparison)",
            f"/api/v1/registered-models/{registered}/versions/",
            ("versions", None),
        ),
        Case("events", "the event log, a plain member (the visibility query)", "/api/v1/events/", ("events", None)),
    ]


def check(case: Case, body: dict) -> str:
    """The answer holds what the database says; returns a note for the report."""
    what, value = case.expected
    data = body["data"]
    if what == "id":
        assert data["id"] == value, f"{case.name}: model {data['id']}, not {value}"
        return f"model {value}"
    if what == "latest":
        assert data["registered_model_id"] == value, case.name
        return f"version {data['version']}"
    pagination = body["pagination"]
    if what == "total":
        assert all(e["kind"].startswith("alias.") for e in data), case.name
        if pagination.get("total_capped"):  # counted up to the event list's cap (events/pagination.py)
            assert pagination["total_items"] < value, case.name
            return f"{value:,} events ({pagination['total_items']:,}+ counted)"
        assert pagination["total_items"] == value, case.name
        return f"{value:,} events"
    if what == "aliases":
        production = next(alias for alias in data if alias["name"] == HOT_ALIAS)
        assert production["model_id"] == value, f"{case.name}: {production}"
        return f"{len(data)} aliases"
    total = pagination["total_items"]
    assert data and total > 0, case.name
    return f"{total:,}{'+' if pagination.get('total_capped') else ''} listed"


def token(port: int, login: str) -> str:
    status, _, answer = Browser(port).request(
        "POST",
        "/api/v1/auth/login/",
        json.dumps({"login": login, "password": PASSWORD}).encode(),
        {"Content-Type": "application/json"},
    )
    if status != 200:
        raise RuntimeError(f"login as {login}: {status} {answer[:300]!r}")
    return json.loads(answer)["data"]["access_token"]


def ask(browser: Browser, headers: dict, path: str) -> tuple[float, float, dict]:
    started = time.perf_counter()
    status, answer_headers, body = browser.request("GET", path, headers=headers)
    client_ms = (time.perf_counter() - started) * 1000
    match = SERVER_TIMING.search(answer_headers.get("Server-Timing", ""))
    if status != 200 or not match:
        raise RuntimeError(f"{path}: {status}, Server-Timing {answer_headers.get('Server-Timing')!r}: {body[:300]!r}")
    return float(match.group(1)), client_ms, json.loads(body)


def measure(browser: Browser, headers: dict, cases: list[Case], requests: int, warmup: int) -> dict[str, Timings]:
    results = {case.name: Timings() for case in cases}
    for round_ in range(warmup + requests):
        for case in cases:
            server_ms, client_ms, _ = ask(browser, headers, case.path)
            if round_ >= warmup:
                results[case.name].server.append(server_ms)
                results[case.name].client.append(client_ms)
        if round_ == warmup - 1:
            print(f"measuring: {requests} rounds of {len(cases)} cases...", flush=True)
    return results


def report(cases, results, notes, queries, sql, load, models: int, events: int) -> bool:
    print()
    print(f"Lifecycle reads, {models:,} models, {events:,} events, as a plain member; ms")
    print()
    print("| case | answer | queries | SQL | server p50 | server p95 | client p50 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    ok = True
    for case in cases:
        timings = results[case.name]
        s50, s95 = statistics.median(timings.server), percentile(timings.server, 0.95)
        ok &= s50 < TARGET_MS or case.title.startswith("(")  # the comparisons have no target
        cells = [case.title, notes[case.name], queries[case.name], f"{sql[case.name]:.1f}"]
        cells += [f"{s50:.1f}", f"{s95:.1f}", f"{statistics.median(timings.client):.1f}"]
        print("| " + " | ".join(map(str, cells)) + " |")
    requests = len(next(iter(results.values())).server)
    print(
        f"\n{requests} requests per case; SQL: the case's queries in-process (median of 3); "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after"
    )
    print(f"target: server p50 < {TARGET_MS} ms on every case: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--aliased", type=int, default=500, help="registered models whose aliases follow their uploads")
    parser.add_argument(
        "--hot-moves", type=int, default=1000, help="more moves of the hot registered model's production"
    )
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--cases", default="", help="which cases, by name, comma-separated (default: all)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each case's queries, in-process")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many seconds for load < 1")
    args = parser.parse_args()
    if args.models < 10 or args.aliased < 1 or args.hot_moves < 0:
        parser.error("--models 10 or more, --aliased 1 or more, --hot-moves 0 or more")
    if not 1 <= args.requests <= 1000 or not 0 <= args.warmup <= 50:
        parser.error("--requests 1..1000, --warmup 0..50")
    signal.signal(signal.SIGTERM, raise_on_signal)

    database = f"maisie_lifecycle_{args.models}"
    prepare(database, args)
    configure_database(database, 0)
    events = count_rows(database, "SELECT count(*) FROM events_event")
    cases = build_cases(database)
    if args.cases:
        wanted = args.cases.split(",")
        cases = [case for case in cases if case.name in wanted]
        if not cases:
            parser.error("--cases: none of those names")
    servers: list[Server] = []
    try:
        server = start_maisie(database, args.workers, servers)
        browser, headers = Browser(server.port), {"Authorization": f"Bearer {token(server.port, MEMBER)}"}
        notes = {case.name: check(case, ask(browser, headers, case.path)[2]) for case in cases}
        client = django_client(database)
        from accounts.models import User

        client.force_login(User.objects.get(login=MEMBER))
        queries, sql = {}, {}
        for case in cases:
            _, captured, sql[case.name] = in_process(client, case.path)
            queries[case.name] = len(captured)
            if args.explain:
                print(f"{case.name} ({case.title}): {case.path}")
                explain(captured, tables=None)
        wait_for_quiet(args.wait_quiet)
        warn_if_busy("before measuring")
        before = os.getloadavg()[0]
        results = measure(browser, headers, cases, args.requests, args.warmup)
        warn_if_busy("after measuring")
        ok = report(cases, results, notes, queries, sql, (before, os.getloadavg()[0]), args.models, events)
    finally:
        for server in servers:
            server.stop()
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
