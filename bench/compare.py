"""Two versions of Maisie side by side in one run: bench/search.py's questions and bench/ui.py's views.

    .venv/bin/python bench/compare.py --before 682ad63                  # against the working tree
    .venv/bin/python bench/compare.py --before 682ad63 --after HEAD --rounds 60
    .venv/bin/python bench/compare.py --before HEAD --after HEAD        # A/A: the noise of this machine
    .venv/bin/python bench/compare.py --before main~3 --worker-class sync   # both on sync workers

Each commit is checked out with `git worktree add` under var/bench-compare/ (git-ignored; removed
at the end, as are the database copies); the working tree is used as it is. Each version gets a
gunicorn server of its own, started from its own folder with its own gunicorn.conf.py (as each
is deployed; --worker-class makes both use the same worker model) and --workers workers, with
production settings (maisie_site/live_servers.py).

The databases: each version runs on its own copy of --database (`CREATE DATABASE ... TEMPLATE`,
on the machine's PostgreSQL), brought to exactly that version's migrations, because two versions
with different migrations cannot honestly share one schema. A copy is migrated forward by its own
version's code, as a deploy does; migrations the source has and the version does not are undone
first by the other version's code (refused when it does not know them or one cannot be undone).
Then each copy gets its version's `search_indexes`, the bench's settings (no parallel query, the
page costs; bench/search.py's configure_database) and VACUUM ANALYZE, and the run refuses to
measure unless both copies hold exactly their version's migrations and the same number of models.

The cases: bench/search.py's questions 1-5 (`/api/v1/models/`, a JWT), the API's list in its
default order at page 1 and page 1,000 of 50 (PAGES: a page's cost should not grow with its
depth; `--cases pages` measures these alone) and bench/ui.py's five views of
the project page at 25 and 100 rows (signed in with a session, the query string the version's own
filter form produces), all on the search database's project-1. Both versions must give the same
answers first (the same model ids in the same order, the same totals, the same number of rows).
Then --rounds rounds after --warmup: in each, every case is asked of both servers, one after the
other, the order swapped every round, so background load falls on both alike. Printed per case:
p50/p95 of the server time (`Server-Timing: app;dur=`) and of the request at the client, the
ratios after/before of the p50s, a 95 % interval of the server ratio (bootstrap over rounds), and
a flag where a p50 ratio is beyond +-3 %.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO))
import search  # noqa: E402  (sibling modules, found through the lines above)
import ui  # noqa: E402
from transfer import START_TIMEOUT, raise_on_signal, warn_if_busy  # noqa: E402

from maisie_site.live_servers import ServerProcess, app_env, launch  # noqa: E402  (the one place servers start)

WORK_DIR = REPO / "var" / "bench-compare"  # var/ is git-ignored
TOLERANCE = 0.03  # issue 19: "within +-3 % p50"
LABELS = ("before", "after")
WORKER_CLASSES = ("own", "sync", "gthread")
BOOTSTRAP_SAMPLES = 2000
# API cases beside the questions: (name, title, path). "P" cases are read as the API's lists.
PAGES = [
    ("P1", "models list, page 1 of 50", "/api/v1/models/?per_page=50"),
    ("P1000", "models list, page 1,000 of 50 (offset 49,950)", "/api/v1/models/?page=1000&per_page=50"),
]


@dataclass
class Version:
    label: str
    ref: str  # what was asked for: a commit, or "working tree"
    sha: str  # the commit, or HEAD's for the working tree
    code: Path  # where its code is: a worktree, or REPO
    worktree: bool
    database: str = ""
    data_dir: Path = Path()
    server: ServerProcess | None = None
    api: ui.Browser | None = None  # an API client (a JWT in every request)
    api_token: str = ""
    browser: ui.Browser | None = None  # a signed-in browser (session cookie)
    paths: dict[str, str] = field(default_factory=dict)  # case -> path, as this version's page builds it

    @property
    def name(self) -> str:
        return f"{self.label} ({self.ref}{'' if self.ref == self.sha[:12] else ' = ' + self.sha[:12]})"


# --- Code: worktrees -------------------------------------------------------------------------


def git(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve(ref: str) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def checkout(label: str, ref: str | None, run_dir: Path) -> Version:
    if ref is None:
        return Version(label, "working tree", git("rev-parse", "HEAD"), REPO, worktree=False)
    sha = resolve(ref)
    code = run_dir / label
    git("worktree", "add", "--detach", str(code), sha)
    return Version(label, ref, sha, code, worktree=True)


def remove_worktree(version: Version) -> None:
    if version.worktree and version.code.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(version.code)], cwd=REPO, capture_output=True)
    subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)


def manage(version: Version, *command: str, code: Version | None = None) -> None:
    """`manage.py` of `code`'s version (the version's own by default) on the version's database."""
    runner = code or version
    env = app_env(
        data_dir=version.data_dir, database_url=search.pg_url(version.database, "postgres"), secret_key="x" * 50
    )
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=runner.code, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{runner.label}'s manage.py {' '.join(command)}:\n{done.stdout}{done.stderr}")


def check_imports_own_code(version: Version) -> None:
    """The server must run the version's code, not another copy found on the venv's path."""
    done = subprocess.run(
        [sys.executable, "-c", "import maisie_site, registry; print(maisie_site.__file__, registry.__file__)"],
        cwd=version.code,
        capture_output=True,
        text=True,
        check=True,
    )
    for path in done.stdout.split():
        if not Path(path).resolve().is_relative_to(version.code.resolve()):
            raise RuntimeError(f"{version.label}: python in {version.code} imports {path}")


# --- Databases: one copy per version, at exactly its migrations ------------------------------


def known_migrations(code: Path) -> set[tuple[str, str]]:
    """(app, name) of every migration in the version's own apps (their folder names are their labels)."""
    return {
        (path.parent.parent.name, path.stem)
        for path in code.glob("*/migrations/[0-9]*.py")
        if (path.parent / "__init__.py").exists()
    }


def applied_migrations(database: str, apps: set[str]) -> set[tuple[str, str]]:
    conn = search.pg_connect(database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        rows = {(app, name) for app, name in cursor.fetchall() if app in apps}
    conn.close()
    return rows


def copy_database(source: str, copy: str) -> None:
    conn = search.pg_connect(server_of=source)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        try:
            cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
        except search.psycopg2.errors.ObjectInUse as error:
            raise RuntimeError(
                f"{source} is in use, so it cannot be copied now (close its sessions): {error}"
            ) from None
    conn.close()


def drop_database(name: str) -> None:
    conn = search.pg_connect(server_of=name)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


def prepare_database(version: Version, other: Version, source: str) -> None:
    """The version's copy of `source`, at exactly the version's migrations, indexed and analysed."""
    started = time.monotonic()
    copy_database(source, version.database)
    known, others = known_migrations(version.code), known_migrations(other.code)
    apps = {app for app, _ in known | others}
    extra = applied_migrations(version.database, apps) - known
    if extra:
        unknown = extra - others
        if unknown:
            raise RuntimeError(
                f"{source} holds migrations neither version has, so {version.label} cannot be brought to its "
                f"schema: {sorted(unknown)}; build the database with bench/search.py of one of the versions"
            )
        # Undo what this version does not know with the code that does: back to this version's last
        # migration of each app (all of them, for an app it does not have).
        for app in sorted({app for app, _ in extra}):
            target = max((name for a, name in known if a == app), default="zero")
            print(f"  {version.label}: undoing {app} after {target}, with {other.label}'s code", flush=True)
            manage(version, "migrate", app, target, "--noinput", "-v0", code=other)
    manage(version, "migrate", "--noinput", "-v0")
    manage(version, "search_indexes")
    manage(version, "collectstatic", "--noinput", "-v0")  # DEBUG off: static files from the manifest
    search.configure_database(version.database, 0)  # not copied by TEMPLATE
    search.vacuum(version.database)
    applied = applied_migrations(version.database, apps)
    if applied != known:
        raise RuntimeError(
            f"{version.database} is not at {version.label}'s migrations: missing {sorted(known - applied)}, "
            f"extra {sorted(applied - known)}"
        )
    print(f"  {version.database}: {version.label}'s {len(known)} migrations, {time.monotonic() - started:.0f} s")


# --- Servers and cases -----------------------------------------------------------------------


def start_server(version: Version, args, log_dir: Path) -> ServerProcess:
    """gunicorn from the version's own folder with its own gunicorn.conf.py, on its own database copy."""
    env = app_env(
        data_dir=version.data_dir,
        database_url=search.pg_url(version.database, "postgres"),
        secret_key=uuid.uuid4().hex * 2,
        GUNICORN_WORKERS=str(args.workers),
    )
    forced = []
    if args.worker_class == "sync":
        forced = ["--worker-class", "sync", "--threads", "1"]  # threads > 1 would make gunicorn use gthread
    elif args.worker_class == "gthread":
        forced = ["--worker-class", "gthread", "--threads", str(args.threads)]
    conf = str(version.code / "gunicorn.conf.py")

    def prepare(port: int) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-m", "gunicorn", "-c", conf, *forced, "maisie_site.wsgi:application"]
        return command, {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}

    # A page every version has; /healthz is younger than some commits worth comparing.
    return launch(
        version.label,
        prepare,
        log_dir / f"{version.label}.log",
        "/accounts/login/",
        cwd=version.code,
        timeout=START_TIMEOUT,
    )


def build_cases(version: Version, project: int, model: int) -> None:
    """Each case's path, as this version builds it: the API questions, and the views through its own form."""
    context = search.Context(project, model, {}, "")
    for question in search.QUESTIONS:
        version.paths[f"Q{question.number}"] = question.maisie(context)[1]
    for name, _, path in PAGES:
        version.paths[name] = path
    base = f"/projects/{project}/"
    status, _, page = version.browser.request("GET", base)
    if status != 200:
        raise RuntimeError(f"{version.label} {base}: {status}")
    form = ui.FormFields("table-form")
    form.feed(page.decode())
    for view in ui.VIEWS:
        for n in ui.PAGE_SIZES:
            query = ui.submitted(form.fields, {**view.changes, "per_page": str(n)})
            version.paths[f"{view.name} {n}"] = f"{base}?{query}"


def ask(version: Version, case: str) -> tuple[float, float, bytes]:
    """(server ms from Server-Timing, client ms, body) of one request; anything but a 200 stops the run."""
    path = version.paths[case]
    is_api = case.startswith(("Q", "P"))
    client = version.api if is_api else version.browser
    headers = {"Authorization": f"Bearer {version.api_token}"} if is_api else {}
    started = time.perf_counter()
    status, answer_headers, body = client.request("GET", path, headers=headers)
    client_ms = (time.perf_counter() - started) * 1000
    match = ui.SERVER_TIMING.search(answer_headers.get("Server-Timing", ""))
    if status != 200 or not match:
        raise RuntimeError(
            f"{version.label} {path}: {status}, Server-Timing {match and match.group(0)!r}: {body[:300]!r}"
        )
    return float(match.group(1)), client_ms, body


def answer_of(case: str, body: bytes):
    """What must be equal between the versions: the rows' ids and the total (API), the row count (pages).
    Not the whole body: a newer version may add fields."""
    if case.startswith("P"):
        data = json.loads(body)
        return [row["id"] for row in data["data"]], data["pagination"]["total_items"]
    if case.startswith("Q"):
        data = json.loads(body)
        number = int(case[1:])
        total = search.check_maisie_answer(number, data)
        rows = [data["data"]["id"]] if number == 4 else [row["id"] for row in data["data"]]
        return rows, total
    if b'class="table table--models"' not in body:
        raise RuntimeError(f"{case}: no models table in the page")
    return body.count(b"<tr")


# --- Measurement and report ------------------------------------------------------------------


def measure(versions: list[Version], cases: list[str], rounds: int, warmup: int) -> dict:
    """Every case of both versions in each round, one after the other, the order swapped every round."""
    times = {(case, v.label): ([], []) for case in cases for v in versions}
    order = list(versions)
    for round_ in range(warmup + rounds):
        for case in cases:
            for version in order:
                server_ms, client_ms, _ = ask(version, case)
                if round_ >= warmup:
                    times[case, version.label][0].append(server_ms)
                    times[case, version.label][1].append(client_ms)
        order.reverse()
        if round_ == warmup - 1:
            print(f"measuring: {rounds} rounds of {len(cases)} cases x 2 versions...", flush=True)
    return times


def ratio_interval(before: list[float], after: list[float], samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """A 95 % interval of p50(after) / p50(before), resampling whole rounds (both versions' requests
    of a round together, as they ran side by side)."""
    rng = random.Random(0)
    n = len(before)
    ratios = []
    for _ in range(samples):
        picked = [rng.randrange(n) for _ in range(n)]
        ratios.append(statistics.median(after[i] for i in picked) / statistics.median(before[i] for i in picked))
    ratios.sort()
    return ratios[int(0.025 * samples)], ratios[int(0.975 * samples) - 1]


def flag(ratio: float) -> str:
    if ratio > 1 + TOLERANCE:
        return " slower"
    if ratio < 1 - TOLERANCE:
        return " faster"
    return ""


def report(versions: list[Version], cases: list[str], times: dict, titles: dict) -> int:
    before, after = versions
    print()
    print(
        f"before: {before.name}; after: {after.name}; ms; server = Server-Timing app, client = the whole request; "
        f"ratio = after / before of the p50s, flagged beyond +-{TOLERANCE:.0%}; interval: 95 %, bootstrap over rounds"
    )
    print()
    print(
        "| case | before server p50 / p95 | after server p50 / p95 | server ratio | 95 % interval "
        "| before client p50 / p95 | after client p50 / p95 | client ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    flagged = 0
    for case in cases:
        (bs, bc), (as_, ac) = times[case, "before"], times[case, "after"]
        stats = [(statistics.median(x), search.percentile(x, 0.95)) for x in (bs, as_, bc, ac)]
        server_ratio, client_ratio = stats[1][0] / stats[0][0], stats[3][0] / stats[2][0]
        low, high = ratio_interval(bs, as_)
        flagged += bool(flag(server_ratio) or flag(client_ratio))
        cells = [titles[case]]
        cells += [f"{stats[0][0]:.1f} / {stats[0][1]:.1f}", f"{stats[1][0]:.1f} / {stats[1][1]:.1f}"]
        cells += [f"{server_ratio:.3f}{flag(server_ratio)}", f"{low:.3f}-{high:.3f}"]
        cells += [f"{stats[2][0]:.1f} / {stats[2][1]:.1f}", f"{stats[3][0]:.1f} / {stats[3][1]:.1f}"]
        cells.append(f"{client_ratio:.3f}{flag(client_ratio)}")
        print("| " + " | ".join(cells) + " |")
    rounds = len(next(iter(times.values()))[0])
    print(f"\n{rounds} rounds; {flagged} of {len(cases)} cases beyond +-{TOLERANCE:.0%} at p50 (server or client)")
    return flagged


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a commit (anything git rev-parse takes)")
    parser.add_argument("--after", help="a commit; the working tree as it is when not given")
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (every case of both versions each)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds first")
    parser.add_argument(
        "--database",
        default="maisie_bench_100000",
        help="built by bench/search.py --servers machine; copied, not changed",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server (GUNICORN_WORKERS)")
    parser.add_argument(
        "--worker-class",
        choices=WORKER_CLASSES,
        default="own",
        help="own: each version's gunicorn.conf.py decides (as deployed); sync or gthread: both use that one",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a case is beyond +-3 %% at p50")
    parser.add_argument("--cases", choices=("all", "pages"), default="all", help="pages: the PAGES cases alone")
    parser.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many seconds for load < 1")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 1000 or not 0 <= args.warmup <= 50:
        parser.error("--rounds 1..1000, --warmup 0..50")
    if not 1 <= args.workers <= 16 or not 1 <= args.threads <= 32:
        parser.error("--workers 1..16, --threads 1..32")
    for option in ("before", "after"):
        ref = getattr(args, option)
        if ref is not None and resolve(ref) is None:
            parser.error(f"--{option} {ref}: not a commit of this repository")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, raise_on_signal)
    if not search.database_exists(args.database):
        print(f"{args.database} does not exist: build it with `.venv/bin/python bench/search.py --servers machine`")
        return 2
    run_dir = WORK_DIR / f"run-{os.getpid()}"
    run_dir.mkdir(parents=True)
    versions: list[Version] = []
    try:
        for label, ref in zip(LABELS, (args.before, args.after), strict=True):
            version = checkout(label, ref, run_dir)
            version.database = f"{args.database}_cmp_{label}"
            version.data_dir = run_dir / f"{label}-data"
            versions.append(version)
            check_imports_own_code(version)
        before, after = versions
        if git("diff", before.sha, after.sha, "--", "requirements.txt") and after.worktree:
            print("warning: requirements.txt differs between the versions; both run on this checkout's .venv")
        print(f"databases: a copy of {args.database} per version, each at its own migrations...", flush=True)
        for version, other in ((before, after), (after, before)):
            prepare_database(version, other, args.database)
        models = {v.label: search.count_rows(v.database, "SELECT count(*) FROM registry_mlmodel") for v in versions}
        if len(set(models.values())) != 1:
            raise RuntimeError(f"the copies hold different numbers of models: {models}")
        project, model = search.maisie_ids(before.database)
        if search.maisie_ids(after.database) != (project, model):
            raise RuntimeError("the copies' project-1 or middle model differ")
        for version in versions:
            version.server = start_server(version, args, run_dir)
            version.server.wait_idle()
            version.api = ui.Browser(version.server.port)
            version.api_token = search.maisie_token(version.server.port)
            version.browser = ui.Browser(version.server.port)
            version.browser.sign_in(search.LOGIN, search.PASSWORD)
            build_cases(version, project, model)
        cases = list(before.paths) if args.cases == "all" else [name for name, _, _ in PAGES]
        for case in cases:
            if before.paths[case] != after.paths[case]:
                print(f"note: {case}: the versions' forms submit different query strings; each is asked its own")
            answers = {v.label: answer_of(case, ask(v, case)[2]) for v in versions}
            if answers["before"] != answers["after"]:
                raise RuntimeError(f"{case}: the versions answer differently: {answers}")
        titles = {f"Q{q.number}": f"Q{q.number} {q.title}" for q in search.QUESTIONS}
        titles.update({name: f"{name} {title}" for name, title, _ in PAGES})
        titles.update({f"{v.name} {n}": f"page: {v.title}, {n} rows" for v in ui.VIEWS for n in ui.PAGE_SIZES})
        workers = "each its own gunicorn.conf.py" if args.worker_class == "own" else f"both {args.worker_class}"
        print(f"{models['before']:,} models; {args.workers} workers per server, worker model: {workers}")
        search.wait_for_quiet(args.wait_quiet)
        warn_if_busy("before measuring")
        times = measure(versions, cases, args.rounds, args.warmup)
        warn_if_busy("after measuring")
        flagged = report(versions, cases, times, titles)
    finally:
        for version in versions:
            if version.server:
                version.server.stop()
            if version.database:
                drop_database(version.database)
            remove_worktree(version)
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if flagged and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
