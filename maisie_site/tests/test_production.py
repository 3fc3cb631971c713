"""Production plumbing: health checks, request ids in logs and headers, `check --deploy`."""

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]


def test_healthz_answers_200_without_authentication_or_a_known_host(client, db):
    response = client.get("/healthz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_the_storage_does_not_answer(client, db, settings):
    # A real S3 client pointed at a port where nothing listens: the storage cannot answer.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "nowhere",
                "endpoint_url": "http://127.0.0.1:9",
                "access_key": "x",
                "secret_key": "y",
                "region_name": "us-east-1",
                "client_config": Config(connect_timeout=1, retries={"max_attempts": 0}),
            },
        },
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "the model storage does not answer or is full"}


def test_every_response_carries_a_request_id(client, db):
    first = client.get("/api/v1/models/")
    second = client.get("/api/v1/models/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client, db):
    kept = client.get("/api/v1/models/", HTTP_X_REQUEST_ID="lb-1234abcd")
    assert kept["X-Request-ID"] == "lb-1234abcd"
    replaced = client.get("/api/v1/models/", HTTP_X_REQUEST_ID="evil\r\nSet-Cookie: x=1")
    assert replaced["X-Request-ID"] != "evil\r\nSet-Cookie: x=1"
    assert len(replaced["X-Request-ID"]) == 32


def test_log_lines_are_json_objects_with_the_request_id(client, db, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/nothing/")
    record = next(r for r in caplog.records if r.name == "django.request")
    console = next(h for h in logging.getLogger().handlers if getattr(h, "name", None) == "console" or h.formatter)
    for log_filter in console.filters:
        log_filter.filter(record)
    line = console.formatter.format(record)
    payload = json.loads(line)
    assert payload["level"] == "WARNING"
    assert payload["logger"] == "django.request"
    assert payload["request_id"] == response["X-Request-ID"]
    assert "\n" not in line


def _production_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "MAISIE_"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="maisie.example.com",
        **extra,
    )
    return env


def _python(*args: str, env: dict) -> subprocess.CompletedProcess:
    """This interpreter on `args` in a process of its own, in the repository, with `env`."""
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    result = _python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=_production_env(MAISIE_DATA_DIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("variable", ["DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS"])
def test_check_deploy_complains_when_a_safety_knob_is_turned_off(tmp_path, variable):
    value = "false" if variable.endswith("REDIRECT") else "0"
    env = _production_env(MAISIE_DATA_DIR=str(tmp_path), **{variable: value})
    result = _python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0


def test_postgresql_connections_plan_for_pages_in_memory(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('seq_page_cost'), current_setting('random_page_cost')")
        assert cursor.fetchone() == ("0.1", "0.1")


def test_options_from_database_url_are_kept_beside_the_planner_setting(tmp_path):
    url = "postgres://u@127.0.0.1:5432/x?options=-c%20statement_timeout%3D5000"
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['options'])"
    env = {**os.environ, "DATABASE_URL": url, "MAISIE_PG_RANDOM_PAGE_COST": "2", "MAISIE_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    setup = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'maisie_site.settings'; django.setup()"
    done = _python("-c", f"{setup}; {code}", env=env)
    done.check_returncode()
    assert done.stdout.split("\n")[-2] == "-c seq_page_cost=0.1 -c random_page_cost=2.0 -c statement_timeout=5000"


def test_a_gunicorn_worker_freezes_what_it_loaded_for_the_garbage_collector(tmp_path):
    """gunicorn.conf.py's post_worker_init, run as gunicorn runs it: after the app is loaded."""
    probe = (
        "import gc, runpy, sys\n"
        "import maisie_site.wsgi\n"  # what a worker loads before the hook
        "assert 'registry.api.views' not in sys.modules\n"
        "before = gc.get_freeze_count()\n"
        "runpy.run_path('gunicorn.conf.py')['post_worker_init'](None)\n"
        "print(before, gc.get_freeze_count(), *gc.get_threshold(), 'registry.api.views' in sys.modules)\n"
    )
    result = _python("-c", probe, env=_production_env(MAISIE_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    before, frozen, first, second, third, views_loaded = result.stdout.split()
    assert int(before) == 0 and int(frozen) > 50_000  # Django, DRF and the app's modules
    assert (int(first), int(second), int(third)) == (700, 10, 10)  # Python's: short pauses
    assert views_loaded == "True"  # the URL configuration was loaded before the freeze
