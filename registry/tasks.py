"""Background tasks of the registry (django-tasks, database backend; `manage.py maisie_worker` runs them).

`reconcile_search_indexes` makes and retires the JSON keys' expression indexes from the key
catalogue (registry/search/indexes.py), so the keys people use get indexes without an operator.
It is queued by `keystats.record` when a catalogue row crosses a multiple of
indexes.TRIGGER_STEP models, in the transaction of the write that crossed it, and each run
queues the next one RECONCILE_EVERY seconds later, so the indexes follow the data (a key no
longer used is dropped) even when no single row crosses a step. Runs are idempotent: one that
finds the indexes as wanted changes nothing.

`collect_garbage` runs `manage.py maisie_gc` once a day (docs/storage.md, "Garbage collection"):
`maisie_worker` queues the first run when it starts, and each run queues the next GC_EVERY
seconds later, unless one is queued by then already (several workers queue one).
"""

from datetime import timedelta

from django.core.management import call_command
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


def _schedule_once(task, delay: float) -> bool:
    """Queue `task` to run after `delay` seconds, unless a run of it is queued to run by then
    already (so a burst of writes, or several workers starting, queue one). True when it queued one."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    run_after = timezone.now() + timedelta(seconds=delay)
    # A task queued to run now is stored with the latest date as its run_after.
    soon = Q(run_after__lte=run_after) | Q(run_after=get_date_max())
    queued = DBTaskResult.objects.filter(soon, status="READY", task_path=task.module_path)
    if queued.exists():
        return False
    (task.using(run_after=run_after) if delay else task).enqueue()
    return True


def schedule_reconcile(delay: float = 0) -> bool:
    """Queue a reconcile to run after `delay` seconds (see _schedule_once)."""
    return _schedule_once(reconcile_search_indexes, delay)


GC_EVERY = 24 * 3600


@task()
def collect_garbage() -> str:
    """Expire upload sessions and delete the blobs nothing uses; queue the next daily run."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("maisie_gc", stdout=out)
    finally:
        schedule_gc(delay=GC_EVERY)  # a failed run is tried again tomorrow, not never
    return out.getvalue().strip().splitlines()[-1]


def schedule_gc(delay: float = GC_EVERY) -> bool:
    """Queue a GC run after `delay` seconds (see _schedule_once)."""
    return _schedule_once(collect_garbage, delay)
