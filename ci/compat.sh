#!/usr/bin/env bash
# Backward-compatibility job: the published Maisie 0.1.6 client, unchanged, against this
# checkout's server. Needs only python3, git and the repo's .venv (made by `make test`).
#
#   bash ci/compat.sh
#
# Env: COMPAT_VENV=DIR reuses (or creates and keeps) the old client's venv there, to save the
# install on repeated local runs; by default it lives in the temp dir and goes with it.
# The job is ci/compat.py; its server comes from maisie_site/live_servers.py, as every test
# server does.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$REPO/.venv/bin/python"

if [[ ! -x "$PY" ]]; then
    echo "compat: $PY not found; create the project venv first (make test)" >&2
    exit 2
fi
exec "$PY" "$REPO/ci/compat.py" "$@"
