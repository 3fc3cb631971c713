"""Listing every model through the client, end to end: `Models.iter_all()` against a live server.

    .venv/bin/python bench/iterate.py --database maisie_bench_100000          # PostgreSQL
    .venv/bin/python bench/iterate.py --sqlite var/bench-pages/maisie.sqlite3  # SQLite

The database is one `manage.py seed_models --password bench-search-password` built (bench/search.py
builds its PostgreSQL ones so); it is only read. Maisie runs as bench/search.py runs it (gunicorn,
2 sync workers, production settings), signed in as the seeded owner, who sees every model.

Timed, as the client's user would see it:
- `Models.iter_all(per_page=N)` to the end (by cursor since issue 21), checked to yield every
  model the seeded owner may see exactly once (all but others' private ones);
- numbered pages as `iter_all` read them before (`get_all(page=n)`), from this server (run the
  bench on an older checkout for an older server's): --numbered pages from the first and as
  many at the end of the list, each timed, and the whole walk estimated from them
  (a numbered page costs more the deeper it is, so the estimate is the mean of the first and
  last pages times the number of pages: exact for a cost growing linearly with depth).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import search  # noqa: E402  (sibling modules, found through the lines above)
from maisie import Models  # noqa: E402  (the client, installed in the project's .venv)
from transfer import START_TIMEOUT, warn_if_busy  # noqa: E402

from maisie_site.live_servers import ServerProcess, free_port  # noqa: E402


def start(args, servers: list[ServerProcess]) -> ServerProcess:
    """gunicorn on the database, as search.start_maisie starts it (SQLite: the same with its file)."""
    if not args.sqlite:
        return search.start_maisie(args.database, args.workers, servers)
    env = search.maisie_env("sqlite")
    env["DATABASE_URL"] = f"sqlite:///{Path(args.sqlite).resolve()}"
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "maisie_site.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(args.workers), "--worker-class", "sync"]
    server = ServerProcess("maisie", command, port, env, search.DATA_DIR / "iterate-sqlite.log", ready_path=None)
    servers.append(server)
    server.start()
    server.require_ready(START_TIMEOUT)
    return server


def model_count(args) -> int:
    if args.sqlite:
        with sqlite3.connect(args.sqlite) as connection:
            return connection.execute("SELECT count(*) FROM registry_mlmodel").fetchone()[0]
    return search.count_rows(args.database, "SELECT count(*) FROM registry_mlmodel")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database", help="a PostgreSQL database on 127.0.0.1:5432")
    where.add_argument("--sqlite", help="a SQLite database file")
    parser.add_argument("--per-page", type=int, default=1000)
    parser.add_argument("--numbered", type=int, default=5, help="numbered pages timed at each end of the list")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    expected = model_count(args)
    servers: list[ServerProcess] = []
    try:
        server = start(args, servers)
        server.wait_idle()
        models = Models(
            {
                "api_url": f"http://127.0.0.1:{server.port}/api/v1",
                "auth_user_login": search.LOGIN,
                "auth_user_password": search.PASSWORD,
            }
        )
        models.get_all(per_page=1)  # sign in, and warm the workers
        visible = models.pagination["total_items"]  # the owner's: not others' private models
        warn_if_busy("before measuring")

        started = time.perf_counter()
        ids = [model["id"] for model in models.iter_all(per_page=args.per_page)]
        cursor_seconds = time.perf_counter() - started
        if len(ids) != visible or len(set(ids)) != visible or not 0 < visible <= expected:
            raise RuntimeError(f"iter_all gave {len(ids)} models ({len(set(ids))} distinct), not {visible}")

        pages = -(-visible // args.per_page)
        numbered = sorted({*range(1, args.numbered + 1), *range(pages - args.numbered + 1, pages + 1)})
        times = {}
        for page in numbered:
            started = time.perf_counter()
            models.get_all(page=page, per_page=args.per_page)
            times[page] = (time.perf_counter() - started) * 1000
        warn_if_busy("after measuring")
    finally:
        for server in servers:
            server.stop()

    first = statistics.median(times[p] for p in numbered[: args.numbered])
    last = statistics.median(times[p] for p in numbered[-args.numbered :])
    system = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{system}, {expected:,} models, {visible:,} visible, {args.per_page} per page ({pages} pages)")
    print(f"iter_all by cursor, end to end: {cursor_seconds:.1f} s ({cursor_seconds / pages * 1000:.0f} ms a page)")
    print(f"numbered pages: the first {args.numbered} {first:.0f} ms each (median), the last {last:.0f} ms each")
    print(f"numbered pages, whole list (estimated): {(first + last) / 2 * pages / 1000:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
