"""gunicorn settings for production; every value can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: uploads and downloads are long streaming requests that each hold one worker;
# the usual (2 x cores) + 1 keeps the CPUs busy while some workers wait on disk or network.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A multi-GiB upload over a slow link takes a long time; the timeout is per request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 3600))
graceful_timeout = 60
keepalive = 5
# Recycle workers now and then to bound the effect of any slow leak.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
