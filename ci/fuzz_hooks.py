"""schemathesis hooks for ci/fuzz_api.py; `schemathesis run` loads them through
SCHEMATHESIS_HOOKS=ci.fuzz_hooks, in an environment that points Django at the fuzzed server's
database (the same DATABASE_URL, data folder and settings module).

- Every request carries `Authorization: Bearer <JWT>` from a password sign-in of the seeded
  staff user. The fuzzer may take that user's staff flag or active flag away (PATCH
  /users/<own id>/), delete its workspaces, revoke its tokens: before each new sign-in (every
  REFRESH_SECONDS, and after any 401) the user is put back as seeded and, when it has no
  workspace left, a workspace, project and model are made again, so the run keeps reaching the
  code behind authentication instead of answering 401/404 for its second half.
- A third of the generated bodies and queries have some of their strings and numbers swapped for
  values that broke Maisie before (HOSTILE_TEXT, HOSTILE_NUMBERS: NUL, `%`, 10**30, ...), which
  hypothesis rarely writes by chance. Lone surrogates are left to ci/fuzz_api.py's probes:
  schemathesis itself fails on a body that holds one (it re-validates bodies as UTF-8).
- Ids in paths and in bodies (`project_id`, `workspace_id`, `user_id`) are drawn half the time from
  1..(the table's highest id + a margin), so most of those requests name a row that exists (or
  did: the fuzzer deletes), instead of the random integers that only ever get 404.
"""

from __future__ import annotations

import ast
import json
import os
import threading

import requests
import schemathesis
from hypothesis import strategies as st

from maisie_site.live_servers import multipart

API = os.environ.get("FUZZ_API_URL", "")
LOGIN = os.environ.get("FUZZ_LOGIN", "")
PASSWORD = os.environ.get("FUZZ_PASSWORD", "")
REFRESH_SECONDS = 20
ID_MARGIN = 20

# Which table an id names, by path prefix (path parameter `id`) or by parameter/field name.
PATH_TABLES = {
    "/api/v1/models/": "registry.MLModel",
    "/api/v1/projects/": "registry.Project",
    "/api/v1/workspaces/": "registry.Workspace",
    "/api/v1/tags/": "registry.Tag",
    "/api/v1/users/": "accounts.User",
    "/api/v1/auth/tokens/": "accounts.ApiToken",
    "/api/v1/auth/ssh-keys/": "accounts.SshPublicKey",
    "/api/v1/webhooks/": "webhooks.Webhook",
    "/api/v1/registered-models/": "registry.RegisteredModel",
    "/api/v1/promotion-requests/": "promotions.PromotionRequest",
}
NAMED_TABLES = {
    "tag_id": "registry.Tag",
    "user_id": "accounts.User",
    "project_id": "registry.Project",
    "workspace_id": "registry.Workspace",
}

# Each broke some input once (issue 20): kept here so every operation keeps meeting them.
HOSTILE_TEXT = ["a\x00b", "\x00", "%", "100%", "%(name)s %s %d", "\u202e", "\U0001f4a5", "a" * 1000, "../../etc/passwd"]
HOSTILE_NUMBERS = [10**30, -(10**30), 2**63, -1, 0, 1e308, -0.0]

# CPython 3.11 keeps the AST validator's recursion depth where two threads parsing at once both
# change it: hypothesis parses lambda sources to name strategies, in each of schemathesis's
# workers, and a run failed with "SystemError: AST constructor recursion depth mismatch".
_parse_lock = threading.Lock()
_parse = ast.parse


def _parse_one_at_a_time(*args, **kwargs):
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time

_ceilings: dict[str, int] = {}
_django_lock = threading.Lock()
_django_ready = False


def _django():
    """Django set up once in this process, on the fuzzed server's database."""
    global _django_ready
    with _django_lock:
        if not _django_ready:
            import django

            django.setup()
            _django_ready = True
    from django.apps import apps

    return apps


def _refresh_ceilings() -> None:
    from django.db.models import Max

    apps = _django()
    for label in {*PATH_TABLES.values(), *NAMED_TABLES.values()}:
        model = apps.get_model(label)
        _ceilings[label] = (model.objects.aggregate(top=Max("id"))["top"] or 0) + ID_MARGIN


def _ceiling(label: str) -> int:
    return _ceilings.get(label, ID_MARGIN)


def _repair_caller() -> None:
    """Undo what the fuzzer may have done to its own account: it must stay active staff."""
    from django.db import connections

    apps = _django()
    apps.get_model("accounts.User").objects.filter(login=LOGIN).update(is_active=True, is_staff=True)
    # The hooks run in the fuzzer's worker threads: give the connections back now.
    connections.close_all()


def _reseed(session: requests.Session) -> None:
    """A workspace, a project and a model again when the caller has deleted all of its own."""
    listed = session.get(f"{API}/workspaces/", timeout=60)
    if listed.status_code != 200 or listed.json().get("data"):
        return
    workspace = session.post(f"{API}/workspaces/", json={"name": "refuzz"}, timeout=60).json()["data"]
    project = session.post(
        f"{API}/projects/", json={"name": "refuzz", "workspace_id": workspace["id"]}, timeout=60
    ).json()["data"]
    fields = {"name": "refuzz", "project_id": str(project["id"]), "metrics": json.dumps({"accuracy": 0.5})}
    kind, body = multipart(fields, "model.pt", b"weights")
    session.post(f"{API}/models/", data=body, headers={"Content-Type": kind}, timeout=60)


@schemathesis.auth(refresh_interval=REFRESH_SECONDS)
class PasswordSignIn:
    """A JWT from `POST /auth/login/`, the seeded state put back first."""

    def get(self, case, context):
        _repair_caller()
        answer = requests.post(f"{API}/auth/login/", json={"login": LOGIN, "password": PASSWORD}, timeout=60)
        answer.raise_for_status()
        token = answer.json()["data"]["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        _reseed(session)
        _refresh_ceilings()
        from django.db import connections

        connections.close_all()
        return token

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _existing_id(label: str):
    return st.integers(min_value=1, max_value=10**6).map(lambda n: 1 + n % _ceiling(label))


def _table_for_path(path: str) -> str | None:
    for prefix, label in PATH_TABLES.items():
        if path.startswith(prefix):
            return label
    return None


@schemathesis.hook
def before_generate_path_parameters(context, strategy):
    operation = context.operation
    if operation is None:
        return strategy
    own_table = _table_for_path(operation.path)

    def with_existing(parameters):
        if not isinstance(parameters, dict):
            return st.just(parameters)
        drawn = {}
        for name, value in parameters.items():
            label = own_table if name == "id" else NAMED_TABLES.get(name)
            if label is None:
                drawn[name] = st.just(value)
            else:
                as_text = isinstance(value, str)
                drawn[name] = _existing_id(label).map(str if as_text else int)
        return st.fixed_dictionaries(drawn)

    return st.one_of(strategy, strategy.flatmap(with_existing))


def with_existing_ids(body):
    """`project_id`, `workspace_id`, `user_id`, `tag_id` in a body drawn from the ids that exist."""
    if not isinstance(body, dict) or not any(name in body for name in NAMED_TABLES):
        return st.just(body)
    drawn = {
        name: _existing_id(NAMED_TABLES[name]) if name in NAMED_TABLES else st.just(value)
        for name, value in body.items()
    }
    return st.fixed_dictionaries(drawn)


def _hostile(value):
    """A strategy that keeps `value`'s shape but may replace any string (key or value) or number in it."""
    if isinstance(value, dict):
        return st.tuples(*(st.tuples(_hostile(key), _hostile(item)) for key, item in value.items())).map(dict)
    if isinstance(value, list):
        return st.tuples(*(_hostile(item) for item in value)).map(list)
    if isinstance(value, str):
        return st.one_of(st.just(value), st.sampled_from(HOSTILE_TEXT))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return st.one_of(st.just(value), st.sampled_from(HOSTILE_NUMBERS))
    return st.just(value)


@schemathesis.hook
def before_generate_body(context, strategy):
    return st.one_of(strategy, strategy.flatmap(with_existing_ids), strategy.flatmap(_hostile))


@schemathesis.hook
def before_generate_query(context, strategy):
    return st.one_of(strategy, strategy, strategy.flatmap(_hostile))
