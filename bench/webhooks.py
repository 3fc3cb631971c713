"""Webhook deliveries from change to receiver: events per second and the delay, with 1 and 4 workers.

    .venv/bin/python bench/webhooks.py                      # 1 and 4 workers, PostgreSQL on loopback
    .venv/bin/python bench/webhooks.py --workers 4 --rate 100 --seconds 30 --burst 2000

For each worker count, on a fresh database (`maisie_bench_webhooks` on the machine's PostgreSQL,
migrated here; --database-url for another): one workspace, one webhook of `workspace.updated`
pointing at an idle receiver on loopback (a threaded http.server that answers 200 at once and
notes when each `webhook-id` arrives), and that many `manage.py maisie_worker` processes with
their default threads (4) and polling interval, as `make run` and compose.yaml start them.

- paced: changes at --rate per second for --seconds (one `workspace_update` through
  registry.services per change, each its own transaction, as an API request makes it); the
  delay of each is from just after its commit to its arrival at the receiver. Prints p50, p95 and
  the worst, and whether p95 is under the 1 s target.
- burst: --burst changes as fast as one writer commits them, then the rate at which they arrive:
  deliveries per second from the first commit to the last arrival (what the workers sustain).

Every change must arrive exactly once; the run fails if one is missing or doubled. The workers
and this process share the machine's cores with PostgreSQL: run it on an otherwise idle machine
(the load average is printed at the start and the end).
"""

from __future__ import annotations

import argparse
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
SETTLE_SECONDS = 120  # at most this long for the last deliveries to arrive


class Receiver:
    """An idle receiver: 200 at once; when each message id first arrived, and how often."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.copies: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                now = time.time()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                message = self.headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.arrived.setdefault(message, now)
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

    def wait_for(self, messages: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if messages <= self.arrived.keys():
                    return
            time.sleep(0.05)


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


def start_workers(count: int, env: dict[str, str], log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(count):
        log = (log_dir / f"worker-{number}.log").open("ab")
        workers.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "maisie_worker"],
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


def run(workers: int, args, receiver: Receiver, env: dict[str, str], log_dir: Path) -> dict:
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
    alice = User.objects.create_user("bench", "bench-webhooks-password")
    workspace = registry_services.workspace_create(user=alice, name="bench")
    services.webhook_create(user=alice, workspace=workspace, url=receiver.url, kinds=["workspace.updated"])
    started = start_workers(workers, env, log_dir)
    try:
        time.sleep(3)  # the workers import Django and start polling

        def change(number: int) -> tuple[str, float]:
            registry_services.workspace_update(workspace=workspace, user=alice, description=f"change {number}")
            committed = time.time()
            delivery = workspace.webhooks.get().deliveries.latest("pk")
            return delivery.message_id, committed

        # Paced: --rate changes a second.
        paced: dict[str, float] = {}
        interval, begin = 1 / args.rate, time.monotonic()
        for number in range(int(args.rate * args.seconds)):
            time.sleep(max(0.0, begin + number * interval - time.monotonic()))
            message, committed = change(number)
            paced[message] = committed
        behind = time.monotonic() - begin - args.seconds
        receiver.wait_for(set(paced), SETTLE_SECONDS)
        delays = [receiver.arrived[m] - t for m, t in paced.items() if m in receiver.arrived]

        # Burst: as fast as one writer commits.
        burst: dict[str, float] = {}
        for number in range(args.burst):
            message, committed = change(100_000 + number)
            burst[message] = committed
        receiver.wait_for(set(burst), SETTLE_SECONDS)
        arrivals = [receiver.arrived[m] for m in burst if m in receiver.arrived]
    finally:
        stop_workers(started)
    missing = [m for m in [*paced, *burst] if m not in receiver.arrived]
    doubled = [m for m in [*paced, *burst] if receiver.copies.get(m, 0) > 1]
    if missing or doubled:
        raise SystemExit(f"{workers} workers: {len(missing)} changes never arrived, {len(doubled)} arrived twice")
    commits = sorted(burst.values())
    return {
        "workers": workers,
        "paced": len(paced),
        "late_producer_s": max(0.0, behind),
        "p50": statistics.median(delays),
        "p95": percentile(delays, 0.95),
        "max": max(delays),
        "burst": len(burst),
        "burst_commit_rate": len(burst) / max(1e-9, commits[-1] - commits[0]),
        "burst_rate": len(burst) / max(1e-9, max(arrivals) - commits[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,4", help="worker process counts, comma-separated (default 1,4)")
    parser.add_argument("--rate", type=float, default=50, help="paced changes per second (default 50)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to pace them (default 20)")
    parser.add_argument("--burst", type=int, default=1000, help="changes in the burst (default 1000)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/maisie_bench_webhooks")
    args = parser.parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_on_signal)

    log_dir = REPO / "var" / "bench-webhooks"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = environment(args.database_url, log_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("DJANGO_", "MAISIE_", "DATABASE_URL"))})
    import django

    django.setup()
    receiver = Receiver()
    warn_if_busy("start")
    results = [run(int(count), args, receiver, env, log_dir) for count in args.workers.split(",")]
    warn_if_busy("end")
    print(
        f"\npaced at {args.rate:g} changes/s for {args.seconds:g} s; burst of {args.burst}; delays commit -> receiver"
    )
    print("workers | paced p50 / p95 / max (s) | burst: commits/s, delivered/s | p95 < 1 s")
    for r in results:
        print(
            f"{r['workers']:>7} | {r['p50']:.3f} / {r['p95']:.3f} / {r['max']:.3f}"
            f" | {r['burst_commit_rate']:.0f}, {r['burst_rate']:.0f}"
            f" | {'yes' if r['p95'] < P95_TARGET_S else 'NO'}"
            + (f" (the producer fell {r['late_producer_s']:.1f} s behind)" if r["late_producer_s"] > 1 else "")
        )


if __name__ == "__main__":
    main()
