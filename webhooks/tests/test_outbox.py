"""The outbox: an event's deliveries (and the tasks that will attempt them) are written in the
transaction of the change, for the webhooks that want it and whose owner may read it."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from accounts import services as account_services
from events.models import Event
from registry import services as registry_services
from registry.models import Role
from registry.tests.factories import upload
from webhooks import services
from webhooks.models import Delivery


def make(user, *, workspace=None, project=None, kinds=("*",), condition=""):
    webhook, _ = services.webhook_create(
        user=user,
        workspace=workspace,
        project=project,
        url="https://hooks.example.com/in",
        kinds=list(kinds),
        condition=condition,
    )
    return webhook


def kinds_delivered(webhook) -> list[str]:
    return list(webhook.deliveries.order_by("pk").values_list("kind", flat=True))


def test_deliveries_and_their_tasks_are_written_in_the_changes_transaction(workspace, alice):
    webhook = make(alice, workspace=workspace)
    with transaction.atomic():
        registry_services.workspace_update(workspace=workspace, user=alice, description="new")
        (delivery,) = webhook.deliveries.all()
        task = DBTaskResult.objects.get(id=delivery.task_id)
        assert task.status == "READY" and task.args_kwargs == {"args": [delivery.pk], "kwargs": {}}
        assert task.task_path == "webhooks.tasks.deliver"
    event = Event.objects.get(kind="workspace.updated")
    assert (delivery.event_id, delivery.kind, delivery.message_id) == (event.pk, "workspace.updated", f"evt_{event.pk}")


def test_a_change_that_rolls_back_leaves_no_delivery_and_no_task(workspace, alice):
    webhook = make(alice, workspace=workspace)
    tasks = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        registry_services.workspace_update(workspace=workspace, user=alice, description="new")
        raise RuntimeError("the change fails after its event")
    assert not webhook.deliveries.exists() and DBTaskResult.objects.count() == tasks


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["*"], ["project.created", "project.updated"]),
        (["project.*"], ["project.created", "project.updated"]),
        (["project"], ["project.created", "project.updated"]),
        (["project.updated"], ["project.updated"]),
        (["model.*", "alias.*"], []),
    ],
)
def test_a_webhook_gets_the_kinds_it_asked_for(workspace, alice, kinds, expected):
    webhook = make(alice, workspace=workspace, kinds=kinds)
    project = registry_services.project_create(user=alice, workspace=workspace, name="p")
    registry_services.project_update(project=project, user=alice, description="d")
    assert kinds_delivered(webhook) == expected


def test_a_project_webhook_gets_only_its_projects_events(workspace, project, alice):
    mine = make(alice, project=project)
    other = registry_services.project_create(user=alice, workspace=workspace, name="other")
    registry_services.project_update(project=other, user=alice, description="elsewhere")
    registry_services.project_update(project=project, user=alice, description="here")
    registry_services.workspace_update(workspace=workspace, user=alice, description="the workspace")
    assert kinds_delivered(mine) == ["project.updated"]
    assert mine.deliveries.get().event.project_id == project.pk


def test_another_workspaces_events_do_not_reach_it(workspace, alice, bob):
    webhook = make(alice, workspace=workspace)
    registry_services.workspace_create(user=bob, name="Bob's")
    assert kinds_delivered(webhook) == []


def test_events_about_no_workspace_reach_no_webhook(workspace, alice):
    webhook = make(alice, workspace=workspace)
    account_services.api_token_create(user=alice, name="ci")
    assert Event.objects.filter(kind="token.created").exists()
    assert Delivery.objects.filter(webhook=webhook).count() == 0


def test_a_private_models_events_go_only_to_webhooks_whose_owner_may_see_it(workspace, project, alice, bob):
    registry_services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)
    alices, bobs = (
        make(alice, workspace=workspace, kinds=["model.*"]),
        make(bob, workspace=workspace, kinds=["model.*"]),
    )
    model = upload(bob, project, private=True)
    registry_services.model_update(model=model, user=bob, dataset_name="secret set")
    upload(alice, project, name="public")
    assert kinds_delivered(bobs) == ["model.created", "model.updated", "model.created"]
    assert kinds_delivered(alices) == ["model.created"]
    assert alices.deliveries.get().event.subject_name == "public v1"


def test_a_condition_is_evaluated_on_the_version_the_event_concerns(workspace, project, alice):
    accurate = make(alice, workspace=workspace, kinds=["model.created"], condition="metrics.accuracy >= 0.9")
    upload(alice, project, name="good", metrics={"accuracy": 0.95})
    upload(alice, project, name="bad", metrics={"accuracy": 0.5})
    registry_services.project_update(project=project, user=alice, description="no version here")
    assert [d.event.subject_name for d in accurate.deliveries.all()] == ["good v1"]


def test_an_alias_condition_picks_that_alias_events(workspace, project, alice):
    from registry.models import RegisteredModel

    production = make(alice, workspace=workspace, kinds=["alias.*"], condition='alias = "production"')
    first, second = upload(alice, project, name="resnet"), upload(alice, project, name="resnet")
    registered = RegisteredModel.objects.get(project=project, name="resnet")
    registry_services.alias_set(registered_model=registered, name="staging", version=first.version, user=alice)
    registry_services.alias_set(registered_model=registered, name="production", version=first.version, user=alice)
    registry_services.alias_set(registered_model=registered, name="production", version=second.version, user=alice)
    registry_services.alias_remove(registered_model=registered, name="production", user=alice)
    assert kinds_delivered(production) == ["alias.set", "alias.moved", "alias.removed"]


def test_a_paused_webhook_queues_nothing(workspace, alice):
    webhook = make(alice, workspace=workspace)
    services.webhook_pause(webhook=webhook, user=alice)
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    assert kinds_delivered(webhook) == []


def test_a_webhook_is_not_sent_events_about_itself_but_the_others_are(workspace, alice):
    first = make(alice, workspace=workspace)
    second = make(alice, workspace=workspace)
    services.webhook_update(webhook=second, user=alice, description="renamed")
    assert kinds_delivered(first) == ["webhook.created", "webhook.updated"]
    assert kinds_delivered(second) == []


def test_a_deactivated_owners_webhook_delivers_nothing(workspace, alice):
    webhook = make(alice, workspace=workspace)
    alice.is_active = False
    alice.save()
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    assert kinds_delivered(webhook) == []
