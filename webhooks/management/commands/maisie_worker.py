"""`manage.py maisie_worker`: runs the background tasks (webhook deliveries) beside the web server.

django-tasks' own database worker (`django_tasks_db`'s `Worker`, as `manage.py db_worker` runs
it) does the work: it takes one ready task row at a time (SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, an exclusive transaction on SQLite), marks it running and runs it. This command adds
two things around it:
- `--threads` (8) copies of that loop in one process, each with its own database connection, so a
  receiver that hangs for its whole timeout holds one thread, not the worker (and the in-flight
  bound per target, webhooks/delivery.py, keeps one target from taking them all);
- every `--recover-every` seconds, and once at start, `webhooks.delivery.recover()`: deliveries
  whose worker died mid-attempt are queued again once their claim runs out.
SIGINT or SIGTERM stops taking tasks and lets the attempts in flight finish (each has a time
budget); a second signal exits at once. Run as many as you like, on as many machines.
"""

import logging
import os
import signal
import sys
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from registry.tasks import schedule_gc
from webhooks import delivery

logger = logging.getLogger("webhooks.worker")


class _ThreadWorker(Worker):
    """The library's loop, minus its signal handling, which only the main thread may do; an error
    it does not handle itself (the database went away) restarts it after a second."""

    def run(self) -> None:
        try:
            while self.running:
                try:
                    super().run()
                except Exception:
                    logger.exception("task loop %s failed; starting it again in a second", self.worker_id)
                    connections.close_all()
                    time.sleep(1)
        finally:
            connections.close_all()


class Command(BaseCommand):
    help = "Run background tasks (webhook deliveries) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=8, help="task loops in this process (default 8)")
        parser.add_argument(
            "--interval", type=float, default=0.2, help="seconds an idle loop waits before looking again (default 0.2)"
        )
        parser.add_argument(
            "--recover-every", type=float, default=5.0, help="seconds between looks for lost attempts (default 5)"
        )
        parser.add_argument("--queue-name", default="default", help="the task queues to run, comma-separated")

    def handle(self, *, threads, interval, recover_every, queue_name, verbosity, **options):
        if threads < 1 or interval < 0 or recover_every <= 0:
            self.stderr.write("--threads must be at least 1, --interval at least 0, --recover-every above 0.")
            sys.exit(2)
        name = get_random_string(12)
        workers = [
            _ThreadWorker(
                queue_names=queue_name.split(","),
                interval=interval,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=f"{name}-{number}",
                excluded_queue_names=[],
            )
            for number in range(threads)
        ]
        stopping = threading.Event()

        def stop(signum, frame):
            if stopping.is_set():
                self.stderr.write("Second signal: exiting without waiting for attempts in flight.")
                sys.stderr.flush()
                os._exit(1)
            stopping.set()
            for worker in workers:
                worker.running = False

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)

        try:
            schedule_gc()  # the registry's daily maisie_gc run (registry/tasks.py), unless one is queued
        except Exception:  # deliveries must not wait on it; the next worker to start queues it
            logger.exception("could not queue the daily maisie_gc run")
        loops = [threading.Thread(target=worker.run, name=worker.worker_id, daemon=True) for worker in workers]
        for loop in loops:
            loop.start()
        if verbosity:
            self.stdout.write(f"maisie_worker {name}: {threads} threads on queue {queue_name}; Ctrl-C stops it.")
            self.stdout.flush()
        while not stopping.is_set():
            try:
                close_old_connections()
                delivery.recover()
            except Exception:
                logger.exception("recovering lost webhook attempts failed; trying again later")
            finally:
                close_old_connections()
            stopping.wait(recover_every)
        deadline = time.monotonic() + 60
        for loop in loops:
            loop.join(max(0.0, deadline - time.monotonic()))
        connections.close_all()
