"""`manage.py search_indexes`: make the JSON keys' expression indexes now (registry/search/indexes.py).

The background task (registry/tasks.py) does the same without an operator; this is the manual
control: after a large import, to try other thresholds, or to see what would change.
"""

import math

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from registry.search import indexes


class Command(BaseCommand):
    help = (
        "Create the expression indexes (sorts and ranges, inside a project and across projects) of each JSON "
        "key held by at least --min-models models (or --min-share of them), most common first, at most --limit "
        "keys; drop the ones no longer wanted. Reads the key catalogue, not the models."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-models", type=int, default=None, help=f"models holding the key (default {indexes.MIN_MODELS})"
        )
        parser.add_argument("--min-share", type=float, default=None, help="or: this fraction of all models")
        parser.add_argument("--limit", type=int, default=None, help=f"at most this many keys ({indexes.MAX_KEYS})")
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, min_models, min_share, limit, dry_run, **options):
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError(f"Search indexes are for PostgreSQL and SQLite, not {connection.vendor}.")
        if min_models is not None and min_share is not None:
            raise CommandError("Give --min-models or --min-share, not both.")
        if min_share is not None:
            min_models = max(1, math.ceil(min_share * indexes.total_models()))
        steps = indexes.reconcile(min_models, limit, dry_run=dry_run, log=self.stdout.write)
        # Counted in keys: a key gained or lost when any of its indexes was created or dropped.
        created = {index.name for _, index in steps.create}
        wanted = {index.name for index in steps.keys}
        dropped = {_key_name(name) for name in steps.drop} - wanted
        verb = "would change" if dry_run else "changed"
        kept = len(steps.keys) - len(created)
        self.stdout.write(f"{len(steps.keys)} keys indexed ({kept} already); {verb}: +{len(created)} -{len(dropped)}.")


def _key_name(name: str) -> str:
    return name.removesuffix(indexes.DESCENDING).removesuffix(indexes.ASCENDING).removesuffix(indexes.ALL_PROJECTS)
