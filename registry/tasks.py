"""Background tasks of the registry (django-tasks, database backend; `manage.py maisie_worker` runs them).

`reconcile_search_indexes` makes and retires the JSON keys' expression indexes from the key
catalogue (registry/search/indexes.py), so the keys people use get indexes without an operator.
It is queued by `keystats.record` when a catalogue row crosses a multiple of
indexes.TRIGGER_STEP models, in the transaction of the write that crossed it, and each run
queues the next one RECONCILE_EVERY seconds later, so the indexes follow the data (a key no
longer used is dropped) even when no single row crosses a step. Runs are idempotent: one that
finds the indexes as wanted changes nothing.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task


@task()
def reconcile_search_indexes() -> str:
    """Create the wanted search indexes and drop the others; queue the next periodic run."""
    from registry.search import indexes

    steps = indexes.reconcile()  # the worker runs a task outside any transaction: CONCURRENTLY works
    schedule_reconcile(delay=indexes.RECONCILE_EVERY)
    return f"{len(steps.keys)} keys; created {len(steps.create)}, dropped {len(steps.drop)}"


def schedule_reconcile(delay: float = 0) -> bool:
    """Queue a reconcile to run after `delay` seconds, unless one is queued to run by then
    already (so a burst of writes queues one). True when it queued one."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    run_after = timezone.now() + timedelta(seconds=delay)
    # A task queued to run now is stored with the latest date as its run_after.
    soon = Q(run_after__lte=run_after) | Q(run_after=get_date_max())
    queued = DBTaskResult.objects.filter(soon, status="READY", task_path=reconcile_search_indexes.module_path)
    if queued.exists():
        return False
    (reconcile_search_indexes.using(run_after=run_after) if delay else reconcile_search_indexes).enqueue()
    return True
