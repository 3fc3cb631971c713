#!/usr/bin/env bash
# Backward-compatibility job: the published Maisie 0.1.6 client, unchanged, against this
# checkout's server. Needs only python3, git and the repo's .venv (made by `make test`).
#
#   bash ci/compat.sh
#
# Env: COMPAT_VENV=DIR reuses (or creates and keeps) the old client's venv there, to save the
# install on repeated local runs; by default it lives in the temp dir and goes with it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$REPO/.venv/bin/python"
CLIENT_VERSION="0.1.6"
TEST_LOGIN="compat"
READY_TRIES=120   # x 0.5 s: gunicorn with two workers boots in a few seconds

if [[ ! -x "$PY" ]]; then
    echo "compat: $PY not found; create the project venv first (make test)" >&2
    exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/maisie-compat.XXXXXX")"
SERVER_PID=""

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # gunicorn stops its workers on TERM; give it a bounded moment, then insist.
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local status=$?
    stop_server
    if [[ $status -ne 0 && -f "$WORK/server.log" ]]; then
        echo "---- server log (last 60 lines) ----" >&2
        tail -n 60 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_old_client() {
    local venv="${COMPAT_VENV:-$WORK/client-venv}"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import maisie' 2>/dev/null; then
        echo "compat: installing Maisie==$CLIENT_VERSION into $venv" >&2
        python3 -m venv "$venv"
        # 0.1.6 imports pkg_resources, which setuptools 81+ no longer ships.
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "Maisie==$CLIENT_VERSION" "setuptools<81" >"$WORK/pip.log" 2>&1 \
            || { cat "$WORK/pip.log" >&2; exit 2; }
    fi
    CLIENT_PY="$venv/bin/python"
}

# The server reads everything from the environment: isolate it from whatever the caller has.
configure_server_env() {
    unset DATABASE_URL MAISIE_S3_BUCKET MAISIE_REDIS_URL
    export MAISIE_DATA_DIR="$WORK/data"
    export DJANGO_SETTINGS_MODULE="maisie_site.settings"
    export DJANGO_DEBUG="false"
    export DJANGO_SECRET_KEY="compat-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
    export DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost"
    export DJANGO_SECURE_COOKIES="false" DJANGO_SECURE_SSL_REDIRECT="false" DJANGO_BEHIND_TLS_PROXY="false"
    export MAISIE_LOG_LEVEL="WARNING"
    TEST_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
}

prepare_database() {
    (cd "$REPO" && "$PY" -m django migrate --noinput >"$WORK/migrate.log" 2>&1) \
        || { cat "$WORK/migrate.log" >&2; echo "compat: migrate failed" >&2; exit 2; }
    # An admin first, so the test user's id is not 1: the old client sends user_id=1 with
    # every upload and the server must ignore it in favour of the authenticated user.
    (cd "$REPO" && DJANGO_SUPERUSER_PASSWORD="$TEST_PASSWORD" "$PY" -m django createsuperuser \
        --noinput --login admin --email admin@example.invalid >/dev/null)
    (cd "$REPO" && COMPAT_LOGIN="$TEST_LOGIN" COMPAT_PASSWORD="$TEST_PASSWORD" "$PY" -m django shell -c '
import os
from django.contrib.auth import get_user_model
get_user_model().objects.create_user(
    os.environ["COMPAT_LOGIN"], os.environ["COMPAT_PASSWORD"], email="compat@example.invalid")
' >/dev/null)
}

start_server() {
    PORT="$(free_port)"
    (cd "$REPO" && exec "$PY" -m gunicorn maisie_site.wsgi:application \
        --bind "127.0.0.1:$PORT" --workers 2 --timeout 120 \
        --access-logfile - >"$WORK/server.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 "$READY_TRIES"); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "compat: the server exited during start-up" >&2
            exit 2
        fi
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    echo "compat: the server did not listen on 127.0.0.1:$PORT in time" >&2
    exit 2
}

install_old_client
configure_server_env
prepare_database
start_server
echo "compat: server on 127.0.0.1:$PORT, client $("$CLIENT_PY" -m pip --disable-pip-version-check show Maisie 2>/dev/null | sed -n 's/^Version: //p')" >&2

# `timeout` bounds the whole client run: the old client sets no timeouts on its requests.
(cd "$WORK" && MAISIE_LOGGING_LEVEL=ERROR timeout 300 "$CLIENT_PY" "$REPO/ci/compat_client.py" \
    --api-url "http://127.0.0.1:$PORT/api/v1" --login "$TEST_LOGIN" --password "$TEST_PASSWORD" \
    --workdir "$WORK/client")
