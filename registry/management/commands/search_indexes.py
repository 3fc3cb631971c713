"""`manage.py search_indexes`: index the numeric JSON keys most models have (PostgreSQL)."""

from django.core.management.base import BaseCommand
from django.db import connection

from registry.search import indexes


class Command(BaseCommand):
    help = (
        "Create two expression indexes (ascending, descending) per numeric JSON key held by at least "
        "--min-share of the models, so ranges and sorts on it inside a project read an index; drop the "
        "ones no longer needed. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-share", type=float, default=0.05, help="fraction of models holding the key")
        parser.add_argument("--limit", type=int, default=40, help="at most this many keys (two indexes each)")
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, min_share: float, limit: int, dry_run: bool, **options):
        if connection.vendor != "postgresql":
            self.stdout.write(f"Search indexes are for PostgreSQL; nothing to do on {connection.vendor}.")
            return
        keys = indexes.hot_keys(min_share, limit)
        # index name -> (its key, descending?), for both indexes of every key wanted
        wanted = {
            name: (index, descending)
            for index in keys
            for name, descending in ((index.name, False), (index.descending_name, True))
        }
        present = {**indexes.existing(), **indexes.existing(descending=True)}
        # An invalid index (a build that failed half-way) is dropped and built again.
        to_drop = sorted(name for name, valid in present.items() if name not in wanted or not valid)
        to_create = [(name, *wanted[name]) for name in wanted if not present.get(name)]
        for name in to_drop:
            self.stdout.write(f"drop   {name}")
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(indexes.drop_sql(name))
        for name, index, descending in to_create:
            self.stdout.write(f"create {name}  {index.field}.{index.key} ({index.models} models)")
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(index.create_sql(descending=descending))
        # Counted in keys: a key gained or lost when any of its two indexes was created or dropped.
        created = {index.name for _, index, _ in to_create}
        dropped = {name.removesuffix(indexes.DESCENDING) for name in to_drop}
        verb = "would change" if dry_run else "changed"
        kept = len(keys) - len(created)
        self.stdout.write(f"{len(keys)} keys indexed ({kept} already); {verb}: +{len(created)} -{len(dropped)}.")
