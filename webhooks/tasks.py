"""Background tasks (django-tasks, database backend; docs/architecture.md, "Background work").

A task row is written in the same transaction as whatever asks for it, so a task is never lost
to a crash between a change and its queueing; `manage.py maisie_worker` runs them.
"""

from django_tasks import TaskContext, task


@task(takes_context=True)
def deliver(context: TaskContext, delivery_id: int) -> str:
    """Make a webhook delivery's next attempt, if it is due and no one else is making it."""
    from webhooks import delivery

    worker_ids = context.task_result.worker_ids
    return delivery.attempt(delivery_id, worker_id=worker_ids[-1] if worker_ids else "")


def enqueue_delivery(delivery_id: int, run_after=None):
    """Queue `deliver` for a delivery (at `run_after`, or now); returns the task result's id."""
    queued = deliver if run_after is None else deliver.using(run_after=run_after)
    return queued.enqueue(delivery_id).id
