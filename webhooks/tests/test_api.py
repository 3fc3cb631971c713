"""/api/v1/webhooks/: owners manage a workspace's or project's webhooks; members, viewers and
outsiders never see one; the delivery log, redelivery, replay and the test message."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from events.models import Event
from registry import services as registry_services
from registry.tests.assertions import assert_error
from webhooks import services
from webhooks.models import Delivery, Webhook
from webhooks.tests.conftest import attempt_due
from webhooks.tests.receivers import Reply

URL = "/api/v1/webhooks/"


def create(client, **body):
    return client.post(URL, {"kinds": ["*"], **body}, format="json")


# --------------------------------------------------------------------------- create and read


def test_an_owner_creates_a_webhook_and_sees_its_secret_once(api, alice, workspace, receiver):
    client = api.as_user(alice)
    response = create(client, workspace_id=workspace.pk, url=receiver.url, kinds=["alias.*", "model.created"])
    assert response.status_code == 201, response.content
    made = response.json()["data"]
    assert made["secret"].startswith("whsec_")
    assert made["kinds"] == ["alias.*", "model.created"] and made["active"] is True
    assert made["owner"] == {"id": alice.pk, "login": "alice", "full_name": "Alice"}
    assert made["_links"]["deliveries"].endswith(f"/api/v1/webhooks/{made['id']}/deliveries/")
    read = client.get(f"{URL}{made['id']}/").json()["data"]
    assert read["secret"] is None and read["url"] == receiver.url
    assert [w["id"] for w in client.get(URL).json()["data"]] == [made["id"]]
    stored = Webhook.objects.get(pk=made["id"])
    assert (stored.workspace_id, stored.project_id, stored.owner_id) == (workspace.pk, None, alice.pk)


def test_a_project_webhook_takes_the_projects_workspace(api, alice, project):
    response = create(api.as_user(alice), project_id=project.pk, url="https://hooks.example.com/x")
    assert response.status_code == 201, response.content
    assert response.json()["data"]["workspace_id"] == project.workspace_id
    assert Webhook.objects.get().project_id == project.pk


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "https://hooks.example.com/x"}, "workspace_id", "Give the workspace_id"),
        ({"url": "ftp://x.example.com/"}, "url", "must start with https://"),
        ({"kinds": ["model.exploded"]}, "kinds", "Unknown kind 'model.exploded'"),
        ({"kinds": []}, "kinds", "Give a list of event kinds"),
        ({"kinds": "model.*,alias.set"}, None, None),
        ({"condition": "metrics.accuracy >"}, "condition", "at offset"),
        ({"condition": "nonsense = 1"}, "condition", "nonsense"),
        ({"description": "x" * 201}, "description", "200"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, alice, workspace, body, field, message):
    data = {"workspace_id": workspace.pk, "url": "https://hooks.example.com/x", **body}
    if field == "workspace_id":
        data.pop("workspace_id")
    response = create(api.as_user(alice), **data)
    if field is None:
        assert response.status_code == 201 and response.json()["data"]["kinds"] == ["model.*", "alias.set"]
        return
    body = assert_error(response, 400)
    assert message in str(body["errors"][field]), body
    assert not Webhook.objects.exists()


def test_a_private_url_is_refused_with_a_400(api, alice, workspace, settings):
    settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = False
    body = assert_error(create(api.as_user(alice), workspace_id=workspace.pk, url="https://127.0.0.1/x"), 400)
    assert "loopback" in body["errors"]["url"][0]


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("carol", 403), ("eve", 400)])
def test_only_owners_create_webhooks(api, workspace, who, status, request):
    response = create(api.as_user(request.getfixturevalue(who)), workspace_id=workspace.pk, url="https://h.example/x")
    assert_error(response, status)
    assert not Webhook.objects.exists()


def test_anonymous_callers_are_refused(api, hook):
    assert_error(api.as_user(None).get(URL), 401)


@pytest.mark.parametrize("who", ["bob", "carol", "eve"])
def test_members_viewers_and_outsiders_never_see_a_webhook(api, hook, who, request):
    client = api.as_user(request.getfixturevalue(who))
    assert client.get(URL).json()["data"] == []
    for path in ("", "deliveries/"):
        assert_error(client.get(f"{URL}{hook.pk}/{path}"), 404)
    assert_error(client.patch(f"{URL}{hook.pk}/", {"active": False}, format="json"), 404)
    assert_error(client.delete(f"{URL}{hook.pk}/"), 404)
    assert_error(client.post(f"{URL}{hook.pk}/test/"), 404)
    assert Webhook.objects.get().active


def test_staff_see_every_webhook(api, hook, staff):
    assert [w["id"] for w in api.as_user(staff).get(URL).json()["data"]] == [hook.pk]


def test_the_list_filters_by_workspace_project_and_active(api, alice, workspace, project, hook):
    client = api.as_user(alice)
    in_project = create(client, project_id=project.pk, url="https://h.example/p").json()["data"]["id"]
    services.webhook_pause(webhook=hook, user=alice)
    assert [w["id"] for w in client.get(URL, {"project": project.pk}).json()["data"]] == [in_project]
    assert [w["id"] for w in client.get(URL, {"active": "false"}).json()["data"]] == [hook.pk]
    assert len(client.get(URL, {"workspace": workspace.pk}).json()["data"]) == 2
    assert_error(client.get(URL, {"workspace": "x"}), 400)


# --------------------------------------------------------------------------- change, pause, delete


def test_an_owner_changes_pauses_and_resumes_a_webhook(api, alice, hook):
    client = api.as_user(alice)
    response = client.patch(f"{URL}{hook.pk}/", {"kinds": ["model.*"], "description": "CI"}, format="json")
    assert response.status_code == 200, response.content
    hook.refresh_from_db()
    assert hook.kinds == ["model.*"] and hook.description == "CI"
    assert client.patch(f"{URL}{hook.pk}/", {"active": False}, format="json").json()["data"]["active"] is False
    hook.refresh_from_db()
    assert not hook.active and hook.paused_at is not None
    assert client.patch(f"{URL}{hook.pk}/", {"active": True}, format="json").json()["data"]["active"] is True
    kinds = list(Event.objects.filter(subject_type="webhook").order_by("id").values_list("kind", flat=True))
    assert kinds == ["webhook.created", "webhook.updated", "webhook.paused", "webhook.resumed"]


def test_a_webhook_cannot_move_to_another_workspace(api, alice, hook, bob):
    other = registry_services.workspace_create(user=alice, name="Other")
    body = assert_error(api.as_user(alice).patch(f"{URL}{hook.pk}/", {"workspace_id": other.pk}, format="json"), 400)
    assert "stays where it was made" in body["errors"]["workspace_id"][0]


def test_an_owner_deletes_a_webhook_with_its_log(api, alice, hook, workspace):
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    assert api.as_user(alice).delete(f"{URL}{hook.pk}/").json() == {"status": "success"}
    assert not Webhook.objects.exists() and not Delivery.objects.exists()
    assert Event.objects.filter(kind="webhook.deleted", subject_id=hook.pk).exists()


def test_a_paused_webhook_shows_its_owners_why(api, alice, hook, workspace, receiver):
    receiver.default = Reply(404)
    for number in range(5):
        registry_services.workspace_update(workspace=workspace, user=alice, description=f"{number}")
        attempt_due()
    shown = api.as_user(alice).get(f"{URL}{hook.pk}/").json()["data"]
    assert shown["active"] is False and "5 deliveries in a row failed for good" in shown["paused_reason"]
    assert shown["consecutive_failures"] == 5


# --------------------------------------------------------------------------- secrets


def test_rotating_gives_a_new_secret_once(api, alice, hook, workspace, receiver):
    client = api.as_user(alice)
    rotated = client.post(f"{URL}{hook.pk}/rotate-secret/", {"keep_previous": False}, format="json").json()["data"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook.shown_secret
    assert rotated["previous_secret_until"] is None
    assert client.get(f"{URL}{hook.pk}/").json()["data"]["secret"] is None
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    attempt_due()
    Verifier(rotated["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_members_cannot_rotate(api, hook, bob):
    assert_error(api.as_user(bob).post(f"{URL}{hook.pk}/rotate-secret/"), 404)


# --------------------------------------------------------------------------- the log, redelivery, replay, test


def test_the_delivery_log_shows_every_attempt(api, alice, hook, workspace, receiver):
    receiver.script(Reply(500, body=b"boom"))
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    now = timezone.now()
    attempt_due(now=now)
    attempt_due(now=now + timedelta(minutes=1))
    (shown,) = api.as_user(alice).get(f"{URL}{hook.pk}/deliveries/").json()["data"]
    assert shown["state"] == "succeeded" and shown["attempts"] == 2 and shown["kind"] == "workspace.updated"
    assert shown["next_attempt_at"] is None and shown["last_status_code"] == 200
    first, second = shown["attempt_log"]
    assert (first["number"], first["status_code"], first["outcome"], first["response_excerpt"]) == (
        1,
        500,
        "retrying",
        "boom",
    )
    assert first["duration_ms"] is not None and first["started_at"]
    assert (second["status_code"], second["outcome"], second["response_excerpt"]) == (200, "succeeded", "ok")


def test_the_log_filters_by_state(api, alice, hook, workspace, receiver):
    receiver.script(Reply(400))
    for description in ("a", "b"):
        registry_services.workspace_update(workspace=workspace, user=alice, description=description)
    attempt_due()
    client = api.as_user(alice)
    assert [d["state"] for d in client.get(f"{URL}{hook.pk}/deliveries/", {"state": "failed"}).json()["data"]] == [
        "failed"
    ]
    assert_error(client.get(f"{URL}{hook.pk}/deliveries/", {"state": "exploded"}), 400)


def test_redelivering_sends_the_same_message_again(api, alice, hook, workspace, receiver):
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    attempt_due()
    original = Delivery.objects.get()
    response = api.as_user(alice).post(f"{URL}{hook.pk}/deliveries/{original.pk}/redeliver/")
    assert response.status_code == 202, response.content
    copy = response.json()["data"]
    assert copy["reason"] == "redelivery" and copy["redelivery_of_id"] == original.pk and copy["state"] == "pending"
    attempt_due()
    first, second = receiver.requests
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    assert Delivery.objects.get(pk=copy["id"]).state == "succeeded"


def test_a_delivery_of_another_webhook_is_not_found(api, alice, hook, workspace):
    other, _ = services.webhook_create(user=alice, workspace=workspace, url="https://h.example/o", kinds=["*"])
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    theirs = other.deliveries.get()
    assert_error(api.as_user(alice).post(f"{URL}{hook.pk}/deliveries/{theirs.pk}/redeliver/"), 404)
    assert_error(api.as_user(alice).get(f"{URL}{hook.pk}/deliveries/{theirs.pk}/"), 404)


def test_replay_queues_every_matching_event_since_a_time(api, alice, hook, workspace, project, receiver):
    before = timezone.now()
    registry_services.project_update(project=project, user=alice, description="one")
    registry_services.project_update(project=project, user=alice, description="two")
    services.webhook_update(webhook=hook, user=alice, kinds=["project.updated"])
    attempt_due()
    receiver.requests.clear()
    response = api.as_user(alice).post(f"{URL}{hook.pk}/replay/", {"since": before.isoformat()}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["data"] == {"queued": 2}
    attempt_due()
    descriptions = [Verifier(hook.shown_secret).verify(r.body, r.headers)["data"]["after"] for r in receiver.requests]
    assert descriptions == [{"description": "one"}, {"description": "two"}]
    assert set(Delivery.objects.filter(reason="replay").values_list("state", flat=True)) == {"succeeded"}


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "required"), ({"since": "yesterday"}, "Not a time"), ({"since": "2999-01-01T00:00:00Z"}, "future")],
)
def test_replay_refuses_a_bad_time(api, alice, hook, body, message):
    response = api.as_user(alice).post(f"{URL}{hook.pk}/replay/", body, format="json")
    assert message in str(assert_error(response, 400)["errors"]["since"])


def test_replay_and_test_refuse_a_paused_webhook(api, alice, hook):
    services.webhook_pause(webhook=hook, user=alice)
    client = api.as_user(alice)
    body = assert_error(client.post(f"{URL}{hook.pk}/test/"), 400)
    assert "paused" in str(body["errors"])
    assert_error(client.post(f"{URL}{hook.pk}/replay/", {"since": "2020-01-01T00:00:00Z"}, format="json"), 400)


def test_the_test_message_is_signed_and_logged(api, alice, hook, receiver):
    response = api.as_user(alice).post(f"{URL}{hook.pk}/test/")
    assert response.status_code == 202, response.content
    assert response.json()["data"]["kind"] == "webhook.test"
    attempt_due()
    (request,) = receiver.requests
    payload = Verifier(hook.shown_secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test" and payload["data"]["webhook_id"] == hook.pk
    assert request.headers["webhook-id"].startswith("test_")
    assert Delivery.objects.get(reason="test").state == "succeeded"


def test_replay_refuses_a_webhook_whose_owner_is_deactivated(api, alice, bob, workspace, hook):
    from registry.models import Role

    registry_services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)
    alice.is_active = False
    alice.save()
    response = api.as_user(bob).post(f"{URL}{hook.pk}/replay/", {"since": "2020-01-01T00:00:00Z"}, format="json")
    assert "alice is deactivated" in str(assert_error(response, 400)["errors"])


@pytest.mark.parametrize("count", [1, 4])
def test_the_list_takes_a_fixed_number_of_queries(api, alice, workspace, count, django_assert_num_queries):
    for number in range(count):
        services.webhook_create(user=alice, workspace=workspace, url=f"https://h.example/{number}", kinds=["*"])
    client = api.as_user(alice)
    with django_assert_num_queries(3):  # the user behind the JWT, the count, the page with owners
        assert len(client.get(URL).json()["data"]) == count


@pytest.mark.parametrize("count", [1, 4])
def test_the_log_takes_a_fixed_number_of_queries(api, alice, hook, workspace, count, django_assert_num_queries):
    for number in range(count):
        registry_services.workspace_update(workspace=workspace, user=alice, description=f"{number}")
    attempt_due()
    client = api.as_user(alice)
    with django_assert_num_queries(5):  # the user, the webhook, the count, the page, its attempts
        assert len(client.get(f"{URL}{hook.pk}/deliveries/").json()["data"]) == count


def test_redelivery_refuses_an_event_its_owner_may_no_longer_read(api, alice, bob, workspace, project, hook):
    from registry.models import Role
    from registry.tests.factories import upload

    registry_services.membership_set(workspace=workspace, actor=alice, user=bob, role=Role.OWNER)
    model = upload(bob, project)  # public: Alice's webhook gets model.created
    delivery = Delivery.objects.get(kind="model.created")
    registry_services.model_update(model=model, user=bob, private=True)  # now Bob's alone
    response = api.as_user(alice).post(f"{URL}{hook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert "may no longer read this event" in str(assert_error(response, 400)["errors"])
    assert not Delivery.objects.filter(reason="redelivery").exists()
