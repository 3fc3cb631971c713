"""Django's flush, able to empty the append-only event table on SQLite (see events/append_only.py).

On PostgreSQL flush TRUNCATEs, which the row triggers do not see. This command replaces Django's
own (an app's command of the same name wins), so the test suite's flush between transactional
tests keeps working.
"""

from django.core.management.commands import flush

from events.append_only import flushing


class Command(flush.Command):
    def handle(self, **options):
        with flushing():
            return super().handle(**options)
