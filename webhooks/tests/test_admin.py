"""Staff read webhooks and their delivery logs in the admin and change them through the services;
no secret is shown, none is made there, and no delivery is edited or deleted there."""

from events.models import Event
from registry import services as registry_services
from webhooks.models import Delivery, Webhook


def test_staff_read_a_webhook_without_its_secret(client, staff, hook):
    client.force_login(staff)
    listing = client.get("/admin/webhooks/webhook/")
    detail = client.get(f"/admin/webhooks/webhook/{hook.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    assert hook.url in listing.content.decode()
    page = detail.content.decode()
    assert hook.shown_secret not in page and Webhook.objects.get().secret_encrypted not in page
    assert client.get("/admin/webhooks/webhook/add/").status_code == 403


def test_a_change_in_the_admin_goes_through_the_service(client, staff, hook):
    client.force_login(staff)
    form = {"url": "https://hooks.example.com/new", "description": "CI", "kinds": '["model.*"]', "condition": ""}
    response = client.post(f"/admin/webhooks/webhook/{hook.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    hook.refresh_from_db()
    assert (hook.url, hook.kinds, hook.target) == (
        "https://hooks.example.com/new",
        ["model.*"],
        "https://hooks.example.com:443",
    )
    assert Event.objects.filter(kind="webhook.updated", actor_id=staff.pk).exists()


def test_a_bad_change_in_the_admin_is_a_form_error(client, staff, hook):
    client.force_login(staff)
    form = {"url": hook.url, "description": "", "kinds": '["model.exploded"]', "condition": "metrics.x >"}
    response = client.post(f"/admin/webhooks/webhook/{hook.pk}/change/", form)
    assert response.status_code == 200
    assert "Unknown kind" in response.content.decode()
    hook.refresh_from_db()
    assert hook.kinds == ["*"]


def test_staff_pause_resume_and_redeliver_from_the_admin(client, staff, hook, workspace, alice):
    client.force_login(staff)
    client.post("/admin/webhooks/webhook/", {"action": "pause", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert not hook.active
    client.post("/admin/webhooks/webhook/", {"action": "resume", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert hook.active
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    delivery = Delivery.objects.get()
    assert client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").status_code == 200
    client.post("/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert Delivery.objects.filter(reason="redelivery", redelivery_of=delivery).exists()


def test_deliveries_are_not_deleted_in_the_admin(client, staff, hook, workspace, alice):
    client.force_login(staff)
    registry_services.workspace_update(workspace=workspace, user=alice, description="new")
    delivery = Delivery.objects.get()
    response = client.post(f"/admin/webhooks/delivery/{delivery.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Delivery.objects.filter(pk=delivery.pk).exists()
