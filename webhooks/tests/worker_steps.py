"""Steps the worker tests run in a process of their own against the workers' database (SQLite file
or PostgreSQL), as any other client of that database would: `python -c RUN <step> <json args>`."""

from datetime import timedelta

RUN = (
    "import json, sys, django; django.setup(); from webhooks.tests import worker_steps; "
    "print(json.dumps(getattr(worker_steps, sys.argv[1])(*json.loads(sys.argv[2]))))"
)


def setup(url: str) -> dict:
    from accounts.models import User
    from registry import services as registry_services
    from webhooks import services

    alice = User.objects.create_user("alice", "a-long-pass-phrase")
    workspace = registry_services.workspace_create(user=alice, name="Vision")
    webhook, secret = services.webhook_create(user=alice, workspace=workspace, url=url, kinds=["workspace.*"])
    return {"webhook": webhook.pk, "workspace": workspace.pk, "secret": secret}


def add_webhook(workspace_id: int, url: str) -> int:
    from accounts.models import User
    from registry.models import Workspace
    from webhooks import services

    workspace = Workspace.objects.get(pk=workspace_id)
    alice = User.objects.get(login="alice")
    return services.webhook_create(user=alice, workspace=workspace, url=url, kinds=["workspace.*"])[0].pk


def change(workspace_id: int, count: int) -> list[int]:
    from accounts.models import User
    from registry import services as registry_services
    from registry.models import Workspace

    alice, workspace = User.objects.get(login="alice"), Workspace.objects.get(pk=workspace_id)
    for number in range(count):
        registry_services.workspace_update(workspace=workspace, user=alice, description=f"change {number}")
    return list(workspace.webhooks.order_by("pk").first().deliveries.order_by("pk").values_list("pk", flat=True))


def deliveries() -> list[dict]:
    from webhooks.models import Delivery

    return [
        {
            "id": delivery.pk,
            "state": delivery.state,
            "attempts": delivery.attempts,
            "message_id": delivery.message_id,
            "log": [[a.number, a.outcome, a.status_code, a.worker_id] for a in delivery.attempt_log.all()],
        }
        for delivery in Delivery.objects.order_by("pk").prefetch_related("attempt_log")
    ]


def expire_claims() -> int:
    """The hand-moved clock: claims in flight read as run out, as they would a lease later."""
    from django.utils import timezone

    from webhooks.models import Delivery

    in_flight = Delivery.objects.filter(state=Delivery.State.DELIVERING)
    return in_flight.update(lease_until=timezone.now() - timedelta(seconds=1))


def task_states() -> list[str]:
    from django_tasks_db.models import DBTaskResult

    return sorted(DBTaskResult.objects.values_list("status", flat=True))
