"""The charts' data endpoint (`?format=chart` on the model table) on a large seeded database.

    .venv/bin/python bench/charts.py --database maisie_bench_100000
    .venv/bin/python bench/charts.py --database maisie_ui_20000 --requests 21

In this process, through Django's test client (the whole view: the key catalogue, the listing's
FilterSet, the chart's one SELECT of the chosen JSON paths and, past the cap, the total), as the
busiest user of the database (the uploader of the most models), against an existing database
built by bench/search.py or bench/ui.py, which it only reads: every request runs in a transaction
that is rolled back. Prints per case the median and p95 of the request, the median CPU time of
this process (Django's side, less swayed by other load on the machine than the wall clock), the
rows plotted, the number of SQL queries and their time (from one extra request).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="maisie_bench_100000")
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maisie_site.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # as in production: no query log kept
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from registry.models import MLModel

    busiest = MLModel.objects.values("uploader").annotate(n=Count("id")).order_by("-n").first()
    user = User.objects.get(pk=busiest["uploader"])
    project = (
        MLModel.objects.visible_to(user).values("project").annotate(n=Count("id")).order_by("-n").first()["project"]
    )
    metric = next(iter(MLModel.objects.filter(project=project).exclude(metrics={}).first().metrics))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    total = MLModel.objects.visible_to(user).count()
    in_project = MLModel.objects.visible_to(user).filter(project=project).count()
    print(f"{args.database}: user {user.login} sees {total} models, {in_project} in project {project}")
    cases = [
        ("every visible model (/models/)", f"/models/?format=chart&y=m.{metric}"),
        ("the largest project", f"/projects/{project}/?format=chart&y=m.{metric}"),
        ("the largest project, a query", f"/projects/{project}/?format=chart&q=m.{metric} > 0.5&y=m.{metric}"),
    ]
    for label, url in cases:
        times, cpu, data = [], [], None
        for _ in range(args.requests):
            with transaction.atomic():
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, secure=True)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
                transaction.set_rollback(True)
            assert response.status_code == 200, response.content[:300]
            data = response.json()
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            client.get(url, secure=True)
            transaction.set_rollback(True)
        sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(
            f"  {label}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"this process's CPU p50 {statistics.median(cpu):.1f} ms; "
            f"{data['count']} plotted of {data['total']} (truncated: {data['truncated']}); "
            f"{len(queries.captured_queries)} queries, {sql:.1f} ms of SQL"
        )


if __name__ == "__main__":
    main()
