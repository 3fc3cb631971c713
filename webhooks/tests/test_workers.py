"""Real worker processes (`manage.py maisie_worker`) against a real receiver: a worker killed in
the middle of a delivery (the delivery is made after a restart), two workers racing over the same
queue (each attempt made once), and threads racing for one delivery's claim.

The workers are separate processes, so what they read must be committed: on SQLite they share a
database file made here (a single-host database: workers on one machine), on PostgreSQL the
suite's test database (`transactional_db`). The test's own reads and writes go through the same
database from processes of their own (worker_steps.py), as any client's would.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from standardwebhooks import Webhook as Verifier

from maisie_site.live_servers import REPO, app_env
from webhooks.tests import worker_steps
from webhooks.tests.receivers import Receiver, Reply

TIMEOUT = 90


class Workers:
    """The database the workers use, the steps run against it, and the workers started."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir, self.started = env, log_dir, []

    def step(self, name: str, *args):
        done = subprocess.run(
            [sys.executable, "-c", worker_steps.RUN, name, json.dumps(args)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, name: str, threads: int = 4, **env: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        command = [sys.executable, "manage.py", "maisie_worker", f"--threads={threads}", "--interval=0.05"]
        worker = subprocess.Popen(
            [*command, "--recover-every=0.5"],
            cwd=REPO,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches all of it
        )
        self.started.append(worker)
        return worker

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]

    def until(self, condition, what: str, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"{what}: not within {timeout} s")

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.started:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)


def _postgres_url() -> str:
    from maisie_site.tests.test_multi_server import database_url

    return database_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def workers(request, tmp_path):
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'maisie.sqlite3'}"
    else:
        if connection.vendor != "postgresql":
            pytest.skip("run with DATABASE_URL=postgres://... for workers on PostgreSQL")
        url = _postgres_url()
    env = app_env(
        data_dir=data_dir,
        database_url=url,
        secret_key=secrets.token_urlsafe(50),
        MAISIE_WEBHOOK_ALLOW_PRIVATE="true",
        MAISIE_WEBHOOK_TIMEOUT="5",
        MAISIE_LOG_LEVEL="INFO",
    )
    if request.param == "sqlite":
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    live = Workers(env, tmp_path)
    try:
        yield live
    finally:
        live.stop_all()


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_does_not_hold_up_the_others(workers):
    """One worker (8 threads), two webhooks: one receiver hangs on every request for longer than
    the test, the other answers at once. The hanging target holds at most its in-flight bound (4)
    of the threads; the other's deliveries all arrive meanwhile."""
    release = threading.Event()
    with Receiver(default=Reply(hold=release)) as hanging, Receiver() as quick:
        try:
            setup = workers.step("setup", hanging.url)
            workers.step("add_webhook", setup["workspace"], quick.url)
            workers.step("change", setup["workspace"], 6)
            workers.start("worker", threads=8, MAISIE_WEBHOOK_TIMEOUT="60")  # it hangs all along
            quick.wait_for(6, 45)
            assert len(hanging.requests) == 4  # its bound: the other 2 of its deliveries wait
            time.sleep(1)
            assert len(hanging.requests) == 4
        finally:
            release.set()


# The PostgreSQL workers read what the steps commit to the suite's test database.
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_delivery_delivers_it_after_a_restart(workers):
    hold = threading.Event()
    with Receiver() as receiver:
        receiver.script(Reply(hold=hold))  # the first request hangs: the worker is mid-delivery
        setup = workers.step("setup", receiver.url)
        workers.step("change", setup["workspace"], 1)
        first = workers.start("first")
        receiver.wait_for(1, TIMEOUT)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        hold.set()
        (delivery,) = workers.step("deliveries")
        assert delivery["state"] == "delivering" and delivery["attempts"] == 1

        # A lease later (moved by hand), the restarted worker takes it back and delivers it.
        assert workers.step("expire_claims") == 1
        workers.start("restarted")
        requests = receiver.wait_for(2, TIMEOUT)
        done = workers.until(
            lambda: [d for d in workers.step("deliveries") if d["state"] == "succeeded"],
            f"the delivery succeeding:\n{workers.log('restarted')}",
        )
    (delivery,) = done
    assert [(number, outcome) for number, outcome, _, _ in delivery["log"]] == [(1, "interrupted"), (2, "succeeded")]
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"] == delivery["message_id"]
    Verifier(setup["secret"]).verify(requests[1].body, requests[1].headers)
    assert len(receiver.requests) == 2
    # The task the killed worker was running is marked failed; nothing is left running or waiting.
    assert "RUNNING" not in workers.step("task_states")


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_over_one_queue_make_each_attempt_once(workers):
    count = 30
    with Receiver(default=Reply(delay=0.1)) as receiver:
        setup = workers.step("setup", receiver.url)
        workers.step("change", setup["workspace"], count)  # all queued before either starts
        workers.start("a", threads=3)
        workers.start("b", threads=3)
        receiver.wait_for(count, TIMEOUT)
        done = workers.until(
            lambda: (d := workers.step("deliveries")) and all(x["state"] == "succeeded" for x in d) and d,
            f"every delivery succeeding:\n{workers.log('a')}\n{workers.log('b')}",
        )
        time.sleep(1)  # room for a duplicate to arrive, if any worker were to send one
        ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(done) == count and sorted(ids) == sorted(d["message_id"] for d in done)
    assert len(set(ids)) == count  # no message twice
    assert all(d["attempts"] == 1 and len(d["log"]) == 1 for d in done)
    processes = {worker_id.rsplit("-", 1)[0] for d in done for *_, worker_id in d["log"]}
    assert len(processes) == 2, processes  # both workers took part


@pytest.mark.django_db(transaction=True)
def test_threads_racing_for_one_delivery_make_one_attempt(alice, workspace, receiver):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: run with DATABASE_URL=postgres://... (SQLite runs one writer at a time)")
    from django.db import connections

    from registry import services as registry_services
    from webhooks import delivery, services

    services.webhook_create(user=alice, workspace=workspace, url=receiver.url, kinds=["workspace.*"])
    registry_services.workspace_update(workspace=workspace, user=alice, description="raced")
    (pending,) = workspace.webhooks.get().deliveries.all()
    start = threading.Barrier(8)
    results = []

    def race():
        try:
            start.wait()
            results.append(delivery.attempt(pending.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results.count("succeeded") == 1, results
    assert all(result == "succeeded" or result.startswith("not pending") for result in results), results
    assert len(receiver.requests) == 1
    pending.refresh_from_db()
    assert pending.attempts == 1 and pending.attempt_log.count() == 1
