"""`manage.py search_indexes`: index the numeric JSON keys most models have (PostgreSQL)."""

from django.core.management.base import BaseCommand
from django.db import connection

from registry.search import indexes


class Command(BaseCommand):
    help = (
        "Create an expression index per numeric JSON key held by at least --min-share of the models, "
        "so ranges on it inside a project read an index; drop the ones no longer needed. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-share", type=float, default=0.05, help="fraction of models holding the key")
        parser.add_argument("--limit", type=int, default=40, help="at most this many indexes")
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, min_share: float, limit: int, dry_run: bool, **options):
        if connection.vendor != "postgresql":
            self.stdout.write(f"Search indexes are for PostgreSQL; nothing to do on {connection.vendor}.")
            return
        wanted = {index.name: index for index in indexes.hot_keys(min_share, limit)}
        present = indexes.existing()
        # An invalid index (a build that failed half-way) is dropped and built again.
        to_drop = sorted(name for name, valid in present.items() if name not in wanted or not valid)
        to_create = [index for name, index in wanted.items() if name not in present or not present[name]]
        for name in to_drop:
            self.stdout.write(f"drop   {name}")
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(indexes.drop_sql(name))
        for index in to_create:
            self.stdout.write(f"create {index.name}  {index.field}.{index.key} ({index.models} models)")
            if not dry_run:
                with connection.cursor() as cursor:
                    cursor.execute(index.create_sql())
        kept = len(wanted) - len(to_create)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{len(wanted)} keys indexed ({kept} already); {verb}: +{len(to_create)} -{len(to_drop)}.")
