"""`sees_recorded(user, event)` (the webhooks' outbox asks it per event) answers exactly as
`Event.objects.visible_to(user)` does, for every kind of event and every kind of reader."""

import pytest

from accounts import services as account_services
from events.models import Event
from events.querysets import sees_recorded
from registry import services
from registry.models import RegisteredModel, Role
from registry.tests.factories import upload


@pytest.fixture
def history(workspace, project, alice, bob, carol, eve):
    """A workspace's life with public, private, hidden and deleted versions, aliases, members,
    tokens and another workspace: one event of each sort."""
    services.workspace_update(workspace=workspace, user=alice, description="changed")
    public = upload(bob, project, name="public")
    private = upload(bob, project, name="private", private=True)
    services.model_update(model=private, user=bob, dataset_name="secret")
    hidden_later = upload(alice, project, name="later")
    services.model_update(model=hidden_later, user=alice, private=True)
    gone = upload(bob, project, name="gone", private=True)
    services.model_delete(model=gone, user=bob)
    gone_public = upload(bob, project, name="gone-public")
    services.model_delete(model=gone_public, user=bob)
    registered = RegisteredModel.objects.get(name="public")
    services.alias_set(registered_model=registered, name="production", version=public.version, user=bob)
    services.alias_set(
        registered_model=RegisteredModel.objects.get(name="private"), name="staging", version=1, user=bob
    )
    services.membership_set(workspace=workspace, actor=alice, user=eve, role=Role.VIEWER)
    services.membership_remove(workspace=workspace, actor=alice, user=eve)
    account_services.api_token_create(user=bob, name="ci")
    services.workspace_create(user=eve, name="Eve's own")
    from webhooks import services as webhook_services

    webhook_services.webhook_create(user=alice, workspace=workspace, url="https://h.example/x", kinds=["*"])
    return list(Event.objects.order_by("id"))


def test_it_answers_as_visible_to_for_every_event_and_reader(history, alice, bob, carol, eve, staff):
    assert len({event.kind for event in history}) >= 12
    for user in (alice, bob, carol, eve, staff):
        seen = set(Event.objects.visible_to(user).values_list("pk", flat=True))
        for event in history:
            assert sees_recorded(user, event) == (event.pk in seen), (user.login, event.kind, event.subject_name)
