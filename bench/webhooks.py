"""Webhook deliveries from change to receiver: events per second and the delay, with 1 and 4 workers.

    .venv/bin/python bench/webhooks.py                      # 1 and 4 workers, PostgreSQL on loopback
    .venv/bin/python bench/webhooks.py --workers 4 --rate 100 --seconds 30 --backlog 2000

For each worker count, on a fresh database (`maisie_bench_webhooks` on the machine's PostgreSQL,
migrated here; --database-url for another): --producers workspaces, each with a webhook of
`workspace.updated` pointing at one idle receiver on loopback (a threaded http.server that
answers 200 at once and notes when each change first arrives, and how often each `webhook-id`
does), and that many `manage.py maisie_worker` processes with their default threads (8) and
polling interval (0.2 s), as `make run` and compose.yaml start them. A change is a `workspace_update`
through registry.services (its own transaction, as an API request makes it), which records the
event and, in the same transaction, its delivery and task (the outbox).

1. cost: --cost changes with the webhooks paused, then as many with them active (no worker
   runs yet): the time one change takes to commit without and with its delivery written.
2. backlog: --backlog changes committed before any worker starts (those of step 1 among them);
   then the workers start, and the rate at which they empty the queue is deliveries per second
   from the first arrival to the last: what the workers sustain, whatever one writer commits.
3. paced: --rate changes a second in all for --seconds, from --producers threads (each its own
   workspace and database connection); the delay of each is from just after its commit to its
   arrival at the receiver. p50, p95 and the worst; the target is p95 under 1 s at 50/s.

Every change must arrive exactly once; the run fails if one is missing or doubled. The workers,
this process and PostgreSQL share the machine's cores: run it on an otherwise idle machine (the
load average is printed at the start and the end).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import psycopg2  # noqa: E402  (from the project's .venv)
from transfer import raise_on_signal, warn_if_busy  # noqa: E402  (a sibling module)

P95_TARGET_S = 1.0
SETTLE_SECONDS = 180  # at most this long for the last deliveries to arrive


class Receiver:
    """An idle receiver: 200 at once; when each change (its new description) first arrived, and
    how often each message id did."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.copies: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                change = body["data"]["after"]["description"]
                message = self.headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.arrived.setdefault(change, now)
                    receiver.copies[message] = receiver.copies.get(message, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, changes, timeout: float) -> None:
        changes, deadline = set(changes), time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if changes <= self.arrived.keys():
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        MAISIE_DATA_DIR=str(data_dir),
        MAISIE_WEBHOOK_ALLOW_PRIVATE="true",  # the receiver is on loopback
        MAISIE_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="maisie_site.settings",
        DJANGO_SECRET_KEY="bench-webhooks-secret-key-not-for-production",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_workers(count: int, threads: int | None, env: dict[str, str], log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    extra = [f"--threads={threads}"] if threads else []
    for number in range(count):
        log = (log_dir / f"worker-{number}.log").open("ab")
        workers.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "maisie_worker", *extra],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(workers: int, args, env: dict[str, str], log_dir: Path) -> dict:
    recreate_database(args.database_url)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, capture_output=True
    )
    if done.returncode:
        raise SystemExit(done.stderr.decode(errors="replace")[-3000:])

    from django.db import connections

    from accounts.models import User
    from registry import services as registry_services
    from webhooks import services

    connections.close_all()  # the database was made again under this process's feet
    receiver = Receiver()
    owner = User.objects.create_user("bench", "bench-webhooks-password")
    spaces, hooks = [], []
    for number in range(args.producers):
        spaces.append(registry_services.workspace_create(user=owner, name=f"bench {number}"))
        url, kinds = receiver.url, ["workspace.updated"]
        hooks.append(services.webhook_create(user=owner, workspace=spaces[-1], url=url, kinds=kinds)[0])

    def change(workspace, text: str) -> float:
        registry_services.workspace_update(workspace=workspace, user=owner, description=text)
        return time.time()

    def timed(texts: list[str]) -> float:
        """Milliseconds per change, made one after the other."""
        begin = time.perf_counter()
        for text in texts:
            change(spaces[0], text)
        return (time.perf_counter() - begin) / max(1, len(texts)) * 1000

    # 1. What the outbox costs a change.
    for webhook in hooks:
        services.webhook_pause(webhook=webhook, user=owner)
    without = timed([f"unsent {n}" for n in range(args.cost)])
    for webhook in hooks:
        services.webhook_resume(webhook=webhook, user=owner)
    cost = [f"cost {n}" for n in range(args.cost)]
    with_delivery = timed(cost)

    # 2. A backlog, then the workers.
    backlog = [*cost, *(f"backlog {n}" for n in range(max(0, args.backlog - args.cost)))]
    timed(backlog[len(cost) :])
    started = start_workers(workers, args.threads, env, log_dir)
    committed: dict[str, float] = {}
    lateness: list[float] = []
    try:
        receiver.wait_for(backlog, SETTLE_SECONDS)
        with receiver.lock:
            arrivals = [receiver.arrived[text] for text in backlog if text in receiver.arrived]

        # 3. Paced: --rate changes a second in all, from --producers threads.
        def produce(workspace, number: int) -> None:
            try:
                interval, begin = args.producers / args.rate, time.monotonic()
                count = int(args.rate * args.seconds / args.producers)
                for n in range(count):
                    time.sleep(max(0.0, begin + n * interval - time.monotonic()))
                    text = f"paced {number}-{n}"
                    committed[text] = change(workspace, text)
                lateness.append(time.monotonic() - begin - count * interval)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=produce, args=(space, n)) for n, space in enumerate(spaces)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        receiver.wait_for(committed, SETTLE_SECONDS)
    finally:
        stop_workers(started)
        receiver.close()
    with receiver.lock:
        delays = [receiver.arrived[text] - at for text, at in committed.items() if text in receiver.arrived]
        missing = [text for text in [*backlog, *committed] if text not in receiver.arrived]
        doubled = [message for message, copies in receiver.copies.items() if copies > 1]
    if missing or doubled:
        raise SystemExit(f"{workers} workers: {len(missing)} changes never arrived, {len(doubled)} arrived twice")
    return {
        "workers": workers,
        "without_ms": without,
        "with_ms": with_delivery,
        "drain_rate": len(arrivals) / max(1e-9, max(arrivals) - min(arrivals)),
        "late_producers_s": max(lateness, default=0.0),
        "p50": statistics.median(delays),
        "p95": percentile(delays, 0.95),
        "max": max(delays),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,4", help="worker process counts, comma-separated (default 1,4)")
    parser.add_argument("--rate", type=float, default=50, help="paced changes per second in all (default 50)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to pace them (default 20)")
    parser.add_argument("--threads", type=int, default=None, help="each worker's --threads (its default: 8)")
    parser.add_argument("--producers", type=int, default=2, help="threads making the paced changes (default 2)")
    parser.add_argument("--backlog", type=int, default=1000, help="changes queued before the workers start (1000)")
    parser.add_argument("--cost", type=int, default=200, help="changes timed without and with delivery (200)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/maisie_bench_webhooks")
    args = parser.parse_args()
    if args.producers < 1 or args.rate <= 0 or args.cost < 1 or args.backlog < args.cost:
        parser.error("--producers and --cost at least 1, --rate above 0, --backlog at least --cost")
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_on_signal)

    log_dir = REPO / "var" / "bench-webhooks"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = environment(args.database_url, log_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("DJANGO_", "MAISIE_", "DATABASE_URL"))})
    import django

    django.setup()
    warn_if_busy("start")
    results = [run(int(count), args, env, log_dir) for count in args.workers.split(",")]
    warn_if_busy("end")
    print(
        f"\none change's commit without / with its delivery (the outbox); a backlog of {args.backlog} emptied;"
        f"\n{args.rate:g} changes/s for {args.seconds:g} s from {args.producers} threads, delay commit -> receiver"
    )
    print(f"threads per worker: {args.threads or 'the default (8)'}")
    print("workers | commit ms without / with | backlog delivered/s | paced p50 / p95 / max s | p95 < 1 s")
    for r in results:
        late = f" (the producers fell {r['late_producers_s']:.1f} s behind)" if r["late_producers_s"] > 1 else ""
        print(
            f"{r['workers']:>7} | {r['without_ms']:.1f} / {r['with_ms']:.1f}"
            f" | {r['drain_rate']:.0f}"
            f" | {r['p50']:.3f} / {r['p95']:.3f} / {r['max']:.3f}"
            f" | {'yes' if r['p95'] < P95_TARGET_S else 'NO'}{late}"
        )


if __name__ == "__main__":
    main()
