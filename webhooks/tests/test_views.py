"""The webhook pages: the workspace's and the project's settings pages list them for owners; a new
webhook's secret is shown once; one webhook's page shows its log and why it was paused, and its
buttons (test, pause, resume, redeliver, replay, rotate, delete) go through the services."""

import pytest
from django.utils import timezone

from registry import services as registry_services
from webhooks import schedule, services
from webhooks.models import Delivery, Webhook
from webhooks.tests.conftest import attempt_due
from webhooks.tests.receivers import Reply


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def page(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content.decode()[-2000:]
    return response.content.decode()


def test_the_workspace_settings_page_lists_its_webhooks_for_owners(as_alice, workspace, project, hook):
    in_project, _ = services.webhook_create(
        user=workspace.memberships.get(role="owner").user,
        project=project,
        url="https://hooks.example.com/p",
        kinds=["model.*"],
    )
    html = page(as_alice, f"/workspaces/{workspace.pk}/settings/")
    assert hook.url in html and "https://hooks.example.com/p" in html and f"/webhooks/{in_project.pk}/" in html
    assert f"/webhooks/new/?workspace={workspace.pk}" in html
    assert f"/workspaces/{workspace.pk}/settings/" in page(as_alice, f"/workspaces/{workspace.pk}/")


def test_the_project_settings_page_holds_the_projects_webhooks(as_alice, alice, workspace, project, hook):
    mine, _ = services.webhook_create(user=alice, project=project, url="https://hooks.example.com/p", kinds=["*"])
    html = page(as_alice, f"/projects/{project.pk}/settings/")
    assert 'id="webhooks"' in html and f"/webhooks/{mine.pk}/" in html
    assert hook.url not in html  # the workspace's own webhook lives on the workspace's page
    assert f"/webhooks/new/?project={project.pk}" in html


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_members_and_viewers_see_no_webhook(client, workspace, project, hook, who, request):
    client.force_login(request.getfixturevalue(who))
    for url in (f"/workspaces/{workspace.pk}/settings/", f"/projects/{project.pk}/settings/"):
        html = page(client, url)
        assert hook.url not in html and "Only the owners of Vision see and manage its webhooks." in html
    page(client, f"/webhooks/{hook.pk}/", 404)
    page(client, f"/webhooks/new/?workspace={workspace.pk}", 403)
    assert client.post(f"/webhooks/{hook.pk}/pause/").status_code == 404
    assert Webhook.objects.get().active


def test_outsiders_get_404_and_anonymous_visitors_sign_in(client, eve, workspace, hook):
    assert client.get(f"/webhooks/{hook.pk}/").status_code == 302
    client.force_login(eve)
    page(client, f"/workspaces/{workspace.pk}/settings/", 404)
    page(client, f"/webhooks/{hook.pk}/", 404)
    page(client, f"/webhooks/new/?workspace={workspace.pk}", 404)


def test_an_owner_creates_a_webhook_and_sees_its_secret_once(as_alice, workspace, receiver):
    form = {"workspace": workspace.pk, "url": receiver.url, "kinds": "model.*, alias.set", "description": "CI"}
    response = as_alice.post("/webhooks/new/", form)
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{webhook.pk}/"
    assert (webhook.kinds, webhook.description, webhook.workspace_id) == (["model.*", "alias.set"], "CI", workspace.pk)
    first = page(as_alice, response["Location"])
    assert "Copy it now" in first
    secret = first.split('id="new-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    from webhooks import secrets

    assert secrets.decrypt(webhook.secret_encrypted) == secret
    assert secret not in page(as_alice, response["Location"])


def test_a_bad_webhook_is_shown_again_with_the_reason(as_alice, workspace, settings):
    settings.MAISIE_WEBHOOK_ALLOW_PRIVATE = False
    form = {"workspace": workspace.pk, "url": "https://10.0.0.1/x", "kinds": "model.nope"}
    response = as_alice.post("/webhooks/new/", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "10.0.0.1 is a private address" in html or "Unknown kind" in html
    assert not Webhook.objects.exists()


def test_the_log_shows_each_attempt_and_a_paused_webhook_says_why(as_alice, alice, workspace, hook, receiver):
    receiver.default = Reply(503, body=b"upstream sleeping")
    registry_services.workspace_update(workspace=workspace, user=alice, description="x")
    now = timezone.now()
    for _ in range(schedule.MAX_ATTEMPTS):
        attempt_due(now=now)
        now = Delivery.objects.get().next_attempt_at
    html = page(as_alice, f"/webhooks/{hook.pk}/")
    assert "workspace.updated" in html and "HTTP 503" in html and "upstream sleeping" in html
    assert "paused after failures" in html and "failed 10 times over about a day" in html
    assert "Resume" in html
    settings_page = page(as_alice, f"/workspaces/{workspace.pk}/settings/")
    assert "paused after failures" in settings_page and "failed 10 times" in settings_page


def test_the_buttons_go_through_the_services(as_alice, alice, workspace, hook, receiver):
    url = f"/webhooks/{hook.pk}"
    assert as_alice.post(f"{url}/test/").status_code == 302
    attempt_due()
    assert Delivery.objects.get(reason="test").state == "succeeded"
    tested = Delivery.objects.get(reason="test")
    assert as_alice.post(f"{url}/deliveries/{tested.pk}/redeliver/").status_code == 302
    assert Delivery.objects.filter(reason="redelivery", redelivery_of=tested).exists()

    before = timezone.now()
    registry_services.workspace_update(workspace=workspace, user=alice, description="replayed")
    response = as_alice.post(f"{url}/replay/", {"since": before.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assert Delivery.objects.filter(reason="replay", kind="workspace.updated").exists()

    assert as_alice.post(f"{url}/pause/").status_code == 302
    hook.refresh_from_db()
    assert not hook.active
    assert as_alice.post(f"{url}/resume/").status_code == 302
    hook.refresh_from_db()
    assert hook.active

    edited = {"url": receiver.url, "kinds": "project.*", "condition": "", "description": "renamed"}
    assert as_alice.post(f"{url}/edit/", edited).status_code == 302
    hook.refresh_from_db()
    assert hook.kinds == ["project.*"] and hook.description == "renamed"

    old = hook.secret_encrypted
    response = as_alice.post(f"{url}/rotate-secret/", {"keep_previous": "on"})
    hook.refresh_from_db()
    assert hook.secret_encrypted != old and hook.previous_secret_encrypted == old
    assert "Copy it now" in page(as_alice, response["Location"])

    response = as_alice.post(f"{url}/delete/")
    assert response["Location"] == f"/workspaces/{workspace.pk}/settings/#webhooks"
    assert not Webhook.objects.exists()


def test_a_bad_edit_shows_the_page_again(as_alice, hook):
    response = as_alice.post(f"/webhooks/{hook.pk}/edit/", {"url": hook.url, "kinds": "*", "condition": "a >"})
    assert response.status_code == 400 and "at offset" in response.content.decode()
    hook.refresh_from_db()
    assert hook.condition == ""


def test_replay_and_test_on_a_paused_webhook_say_why(as_alice, alice, hook):
    services.webhook_pause(webhook=hook, user=alice)
    response = as_alice.post(f"/webhooks/{hook.pk}/test/")
    assert response.status_code == 400 and "resume it first" in response.content.decode()
