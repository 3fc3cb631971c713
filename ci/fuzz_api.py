"""Property-based fuzzing of the whole OpenAPI schema against a live server: no answer may be a 5xx.

    .venv/bin/python ci/fuzz_api.py [--examples 200] [--database-url postgres://…/maisie_fuzz]

Starts Maisie as deployed (gunicorn, production settings, password hashing aside) on a fresh
database, seeds it through the API (users, two workspaces with a member, projects, models with
metadata and tags, API tokens, an SSH key), then runs `schemathesis run` over every operation of
/api/v1/schema/: its examples, its coverage cases (boundary and invalid values of every
parameter and field) and `--examples` generated requests per operation, valid and invalid,
each signed in as the seeded staff user (ci/fuzz_hooks.py keeps that user and its workspace
alive). The check is `not_a_server_error`, plus the response schemas with --conformance.

Exit 0 when nothing answered 5xx (nor hung); 1 with every failure listed, each with the
server's traceback from its log. On PostgreSQL the named database is dropped and made again, so
its name must contain "fuzz". The server log, schemathesis's reports and a pytest file that
replays each failure stay in --keep's folder.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from maisie_site.live_servers import ServerError, app_env, bin_path, multipart, start_gunicorn  # noqa: E402

ADMIN = "admin"
FUZZ_LOGIN = "fuzzer"
PASSWORD = "Fuzz-pass-" + secrets.token_hex(8)

# Only a speed knob: each sign-in the fuzzer tries (and every user it creates) would otherwise
# cost a production-strength password hash, seconds of CPU a minute on two cores.
SETTINGS = """\
from maisie_site.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""


def recreate_postgres_database(url: str) -> None:
    import psycopg2

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if "fuzz" not in name:
        sys.exit(f"fuzz_api: refusing to drop database {name!r}: its name must contain 'fuzz'")
    admin_url = urllib.parse.urlsplit(url)._replace(path="/postgres").geturl()
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def server_environment(work: Path, database_url: str) -> dict[str, str]:
    settings_dir = work / "settings"
    settings_dir.mkdir()
    (settings_dir / "maisie_fuzz_settings.py").write_text(SETTINGS)
    return app_env(
        data_dir=work / "data",
        database_url=database_url,
        secret_key=secrets.token_hex(32),
        DJANGO_SETTINGS_MODULE="maisie_fuzz_settings",
        PYTHONPATH=f"{settings_dir}:{REPO}",
        # The fuzzer signs in hundreds of times a minute (and tries logins of its own): the
        # throttles are tested elsewhere, here they would only turn requests into 429s.
        MAISIE_LOGIN_RATE_PER_IP="1000000/min",
        MAISIE_LOGIN_RATE_PER_LOGIN="1000000/min",
    )


def manage(env: dict[str, str], *args: str, extra: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**env, **(extra or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        sys.exit(f"fuzz_api: manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")


class Api:
    def __init__(self, root: str, token: str | None = None):
        self.root = root
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs):
        answer = self.session.request(method, f"{self.root}/{path}", timeout=60, **kwargs)
        if answer.status_code >= 400:
            sys.exit(f"fuzz_api: seeding {method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json().get("data")

    def upload(self, project_id: int, name: str, private: bool = False, tags: str = "", **meta) -> dict:
        fields = {"name": name, "project_id": str(project_id), "private": "true" if private else "false"}
        fields.update({key: json.dumps(value) for key, value in meta.items()})
        if tags:
            fields["tags"] = tags
        kind, body = multipart(fields, f"{name}.pt", secrets.token_bytes(1024))
        return self.call("POST", "models/", data=body, headers={"Content-Type": kind})


def sign_in(root: str, login: str) -> Api:
    token = Api(root).call("POST", "auth/login/", json={"login": login, "password": PASSWORD})["access_token"]
    return Api(root, token)


def ssh_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def seed(root: str) -> dict[str, int]:
    """What the fuzzer's requests should find: its own objects, a colleague's and an outsider's.
    Returns an id of each kind the fuzzer may see, by the path prefix that names it."""
    admin = sign_in(root, ADMIN)
    for login, staff in ((FUZZ_LOGIN, True), ("alice", False), ("bob", False)):
        admin.call(
            "POST",
            "users/",
            json={"login": login, "password": PASSWORD, "email": f"{login}@example.com", "is_staff": staff},
        )
    fuzzer, alice, bob = (sign_in(root, login) for login in (FUZZ_LOGIN, "alice", "bob"))
    alice_id = fuzzer.call("GET", "users/", params={"search": "alice"})[0]["id"]
    for space in ("vision", "nlp"):
        workspace = fuzzer.call("POST", "workspaces/", json={"name": space, "description": f"{space} models"})
        fuzzer.call("POST", f"workspaces/{workspace['id']}/members/", json={"user_id": alice_id, "role": "member"})
        for name in ("resnets", "baselines"):
            project = fuzzer.call(
                "POST",
                "projects/",
                json={"name": name, "workspace_id": workspace["id"], "git_url": "https://example.com/r.git"},
            )
            for number in range(3):
                fuzzer.upload(
                    project["id"],
                    f"{name}-{number}",
                    tags="cnn,best" if number else "baseline",
                    hyperparameters={"lr": 0.001 * (number + 1), "optimizer": "adam", "layers": [64, 128]},
                    parameters={"seed": number},
                    metrics={"accuracy": 0.9 + number / 100, "loss": None},
                )
            alice.upload(project["id"], f"{name}-alice", private=True, tags="alice", metrics={"f1": 0.5})
    outside = bob.call("POST", "workspaces/", json={"name": "bobs"})
    project = bob.call("POST", "projects/", json={"name": "secret", "workspace_id": outside["id"]})
    bob.upload(project["id"], "bobs-model", private=True, tags="secret", metrics={"accuracy": 0.99})
    for name, read_only in (("ci", False), ("reader", True)):
        fuzzer.call("POST", "auth/tokens/", json={"name": name, "read_only": read_only})
    key = fuzzer.call("POST", "auth/ssh-keys/", json={"name": "laptop", "public_key": ssh_public_key()})
    model = fuzzer.call("GET", "models/", params={"per_page": 1})[0]
    # A webhook, so its operations meet one (no worker runs: its deliveries only queue).
    webhook = fuzzer.call(
        "POST",
        "webhooks/",
        json={"project_id": model["project_id"], "url": "https://hooks.example.com/in", "kinds": ["*"]},
    )
    # An alias rule that asks for an approval, and the promotion request it makes of a move, so
    # their operations meet real rows (a 404 is sent before a hostile body is read).
    listed = fuzzer.call("GET", "models/", params={"per_page": 50})
    public = next(each for each in listed if each["visibility"] == "public")
    registered, version = public["registered_model_id"], {"version": public["version"]}
    fuzzer.call("POST", f"projects/{public['project_id']}/alias-rules/", json={"pattern": "production", "approvals": 1})
    fuzzer.call("PUT", f"registered-models/{registered}/aliases/staging/", json=version)
    opened = fuzzer.call("PUT", f"registered-models/{registered}/aliases/production/", json=version)
    return {
        "/api/v1/models/": model["id"],
        "/api/v1/registered-models/": registered,
        "/api/v1/promotion-requests/": opened["id"],
        "/api/v1/projects/": public["project_id"],  # the project whose alias rule is rule 1
        "/api/v1/workspaces/": fuzzer.call("GET", "workspaces/")[0]["id"],
        "/api/v1/tags/": fuzzer.call("GET", "tags/")[0]["id"],
        "/api/v1/users/": alice_id,
        "/api/v1/auth/tokens/": fuzzer.call("GET", "auth/tokens/")[0]["id"],
        "/api/v1/auth/ssh-keys/": key["id"],
        "/api/v1/webhooks/": webhook["id"],
        "fuzzer": sign_in(root, FUZZ_LOGIN).session.headers["Authorization"],
    }


# JSON bodies each of which was a 500 once (issue 20): not an object, nested past Python's
# recursion limit, and strings (keys and values, in every field that takes them) that the
# databases cannot store: a lone surrogate (SQLite stored it, then every page showing it failed)
# and NUL (PostgreSQL's jsonb and text refuse it).
HOSTILE_BODIES = {
    "a list": b"[]",
    "a string": b'"x"',
    "a number": b"1",
    "null": b"null",
    "100,000 nested lists": b"[" * 100_000 + b"]" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
}
for _label, _text in (("a lone surrogate", "\\ud800"), ("NUL", "a\\u0000b")):
    for _field in ("name", "login", "description", "full_name", "public_key", "password"):
        HOSTILE_BODIES[f"{_label} in {_field}"] = f'{{"{_field}": "{_text}"}}'.encode()
    for _field in ("hyperparameters", "parameters", "metrics"):
        HOSTILE_BODIES[f"{_label} in a {_field} value"] = f'{{"{_field}": {{"a": "{_text}"}}}}'.encode()
        HOSTILE_BODIES[f"{_label} in a {_field} key"] = f'{{"{_field}": {{"{_text}": 1}}}}'.encode()
    HOSTILE_BODIES[f"{_label} in tags"] = f'{{"tags": ["{_text}"]}}'.encode()


def probe(root: str, schema: dict, seeded: dict) -> list[str]:
    """The known hostile inputs sent to every operation that could take them, deterministically
    (schemathesis tries them only by chance): each answer must be below 500. A write that takes
    one must leave nothing that breaks a later read: schemathesis's reads follow."""
    origin = root.removesuffix("/api/v1")
    session = requests.Session()
    session.headers["Authorization"] = seeded["fuzzer"]
    failures: list[str] = []

    def send(method: str, path: str, what: str, **kwargs) -> None:
        try:
            status = session.request(method, origin + path, timeout=60, **kwargs).status_code
        except requests.RequestException as exc:
            failures.append(f"{method} {path} with {what}: no answer ({exc.__class__.__name__})")
            return
        if status >= 500:
            failures.append(f"{method} {path} with {what}: {status}")

    operations = []
    for template, methods in schema["paths"].items():
        prefix = next((p for p in seeded if template.startswith(p)), "")
        path = re.sub(r"\{[a-z_]*\}", str(seeded.get(prefix, 1)), template, count=1)
        operations += [(method.upper(), re.sub(r"\{[a-z_]*\}", "1", path), spec) for method, spec in methods.items()]
    for method, path, spec in operations:
        if method == "GET":
            for parameter in spec.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                numeric = parameter.get("schema", {}).get("type") == "integer"
                for value in [str(10**30)] if numeric else ["%", "a\x00b", "\x00"]:
                    send(method, path, f"{parameter['name']}={value!r}", params={parameter["name"]: value})
            if path.endswith("/download/"):
                send(method, path, "Range: 5,000 digits", headers={"Range": "bytes=" + "9" * 5000 + "-"})
        elif "application/json" in spec.get("requestBody", {}).get("content", {}):
            for what, body in HOSTILE_BODIES.items():
                send(method, path, f"a JSON body of {what}", data=body, headers={"Content-Type": "application/json"})
    # Whatever those writes stored must not break a read (a stored lone surrogate once broke
    # every page that showed the model).
    for method, path, _ in operations:
        if method == "GET":
            send(method, path, "nothing, after the hostile writes")
    return failures


def run_schemathesis(args, root: str, env: dict[str, str], reports: Path) -> int:
    checks = "not_a_server_error,response_schema_conformance" if args.conformance else "not_a_server_error"
    command = [
        bin_path("schemathesis"),
        "run",
        f"{root}/schema/",
        "--checks",
        checks,
        "--max-examples",
        str(args.examples),
        "--workers",
        str(args.workers),
        "--phases",
        args.phases,
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--no-shrink",
        "--report",
        "junit,ndjson,pytest",
        "--report-dir",
        str(reports),
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    hooks_env = {
        **env,
        "SCHEMATHESIS_HOOKS": "ci.fuzz_hooks",
        "FUZZ_API_URL": root,
        "FUZZ_LOGIN": FUZZ_LOGIN,
        "FUZZ_PASSWORD": PASSWORD,
        # Django's logs from the hooks' own queries would mix into the run's output.
        "MAISIE_LOG_LEVEL": "ERROR",
    }
    return subprocess.run(command, cwd=REPO, env=hooks_env, timeout=args.timeout).returncode


SERVER_ERROR = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>5\d\d) ')


def server_errors(log: Path) -> tuple[list[str], list[str]]:
    """The 5xx lines of gunicorn's access log and the tracebacks the server logged."""
    text = log.read_text(errors="replace")
    answers = [match.group(0) for match in SERVER_ERROR.finditer(text)]
    tracebacks = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("exc_info"):
                tracebacks.append(f"{record.get('message', '')[:200]}: {summary(record['exc_info'])}")
    return answers, tracebacks


def summary(traceback: str) -> str:
    """The exception and the deepest frame of this repository's code, from a logged traceback."""
    lines = traceback.splitlines()
    raised = [line for line in lines if re.match(r"[\w.]+(Error|Exception|Exit|Interrupt)\b", line)]
    frames = [line.strip() for line in lines if line.strip().startswith(f'File "{REPO}') and "/.venv/" not in line]
    where = frames[-1].replace(f'File "{REPO}/', "").replace('", line ', ":") if frames else "(no frame of ours)"
    return f"{(raised or lines or [''])[-1][:300]} at {where}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="generated requests per operation (200)")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (a name with 'fuzz'); SQLite if unset")
    parser.add_argument("--workers", type=int, default=2, help="concurrent requests (2)")
    parser.add_argument("--phases", default="examples,coverage,fuzzing", help="schemathesis phases")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis's random seed, to replay a run")
    parser.add_argument("--conformance", action="store_true", help="also check the responses against the schema")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds before the run is stopped (1800)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the server log and reports in this folder")
    parser.add_argument("--report-only", action="store_true", help="list what failed but exit 0")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="maisie-fuzz."))
    server = None
    started = time.monotonic()
    try:
        database_url = args.database_url or f"sqlite:///{work / 'data' / 'db.sqlite3'}"
        (work / "data").mkdir()
        if args.database_url:
            recreate_postgres_database(args.database_url)
        env = server_environment(work, database_url)
        manage(env, "migrate", "--noinput", "-v", "0")
        # As the image does at build time: without the manifest every HTML error page is a 500.
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(
            env,
            "createsuperuser",
            "--noinput",
            "--login",
            ADMIN,
            "--email",
            "admin@example.com",
            extra={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        )
        try:
            server = start_gunicorn("maisie-fuzz", env, work, workers=2)
        except ServerError as exc:
            print(f"fuzz_api: {exc}", file=sys.stderr)
            return 2
        root = f"{server.url}/api/v1"
        seeded = seed(root)
        print(f"fuzz_api: server on {server.url} ({'PostgreSQL' if args.database_url else 'SQLite'}), seeded")
        probed = probe(root, requests.get(f"{root}/schema/?format=json", timeout=60).json(), seeded)
        print(f"fuzz_api: known hostile inputs to every operation: {len(probed)} server errors")
        for line in probed:
            print(f"  {line}")
        status = run_schemathesis(args, root, env, work / "reports")
        answers, tracebacks = server_errors(work / "maisie-fuzz.log")
        took = time.monotonic() - started
        print(f"\nfuzz_api: {took:.0f} s; schemathesis exit {status}; {len(answers)} 5xx in the server's log")
        for line in answers[:50]:
            print(f"  {line}")
        for line in sorted(set(tracebacks))[:50]:
            print(f"  traceback: {line}")
        return 1 if (status or answers or probed) and not args.report_only else 0
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for item in ("maisie-fuzz.log", "reports"):
                source = work / item
                if source.is_dir():
                    shutil.copytree(source, args.keep / item, dirs_exist_ok=True)
                elif source.exists():
                    shutil.copy2(source, args.keep / item)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
