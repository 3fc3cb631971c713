"""gunicorn settings for production; every value can be overridden from the environment.

The numbers and the log level are read by maisie_site/env.py's strict helpers, as settings.py
reads its own: a bad value stops gunicorn before it starts, with a message naming the variable.
GUNICORN_BIND and GUNICORN_FORWARDED_ALLOW_IPS are handed to gunicorn, which checks them itself.
"""

import gc
import multiprocessing
import os
import socket
import struct
import sys

from gunicorn.workers.gthread import ThreadWorker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gunicorn reads this file before the app's path is set
from maisie_site.env import env_choice, env_int

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1, minimum=1)
# Threads, not one request per process: uploads and downloads are long streaming requests, and
# with sync workers one slow client per worker (any account) stalled every request, /healthz
# included. A slow client now holds one thread; see SlowClientWorker for the rest. Each thread
# may hold a database connection, and as many counting threads beside them (maisie_site/paginator.py):
# PostgreSQL needs workers x threads x 2 per app server.
threads = env_int("GUNICORN_THREADS", 4, minimum=1)
# A worker process is alive as long as its main loop runs (heartbeat), whatever its requests
# take; slow requests are bounded by the body budget and the socket timeouts below instead.
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=1)
graceful_timeout = 60
keepalive = 5
# Seconds any one receive or send on a client connection may wait (headers, bodies, responses):
# a client that stops reading or sending is dropped. MAISIE_BODY_READ_TIMEOUT, as settings.py reads it.
SOCKET_TIMEOUT = env_int("MAISIE_BODY_READ_TIMEOUT", 60, minimum=1)


class SlowClientWorker(ThreadWorker):
    """gunicorn's gthread worker, with two changes for slow clients.

    - It takes a new connection only while one of its threads is free. The stock worker accepts
      up to worker_connections and queues them behind its busy threads, so a worker whose threads
      all serve slow clients kept taking requests (/healthz too) that another worker could have
      answered at once; now they wait in the listen queue for a worker with a free thread.
    - Every client socket gets kernel send and receive timeouts (SO_SNDTIMEO, SO_RCVTIMEO) of
      SOCKET_TIMEOUT, so no read of a request or write of a response waits for ever on a client
      that stopped. The upload parser tightens the receive timeout to its body budget.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.busy = 0  # connections handed to the thread pool and not finished (main thread only)

    def enqueue_req(self, conn):
        self.busy += 1
        super().enqueue_req(conn)
        if self.busy >= self.cfg.threads:
            super().set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled):
        # The main loop turns accepting back on whenever it has connection slots; a free thread
        # is needed too.
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)

    def handle(self, conn):
        if not getattr(conn, "timeouts_set", False):
            timeval = struct.pack("@ll", SOCKET_TIMEOUT, 0)
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            except OSError:
                pass  # the client is gone; handling will find out
            conn.timeouts_set = True
        return super().handle(conn)


worker_class = SlowClientWorker
# Recycle workers now and then to bound the effect of any slow leak.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = env_choice("GUNICORN_LOG_LEVEL", "info", ["debug", "info", "warning", "error", "critical"])
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once a worker has loaded the app: keep Python's cyclic garbage collector off what lives as
    long as the worker.

    Django, DRF, the URL configuration and every view module are some 90,000 objects that are
    never garbage, yet every older-generation collection walked them all: 9 % of a list
    request's time went to the collector, with an 80 ms pause every hundred-odd requests.
    `gc.freeze()` moves them out of the collector's sight; the URL configuration is loaded first
    (Django loads it on the first request otherwise) so its modules are frozen too. Measured
    in-process on the search benchmark's requests: 1.84 ms of collection per request before,
    1.15 after, and no pause over 5 ms. The thresholds stay Python's: a larger first generation
    collected less often but paused 6 ms each time, which p95 saw."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view, serializer and filter module)
    gc.freeze()
