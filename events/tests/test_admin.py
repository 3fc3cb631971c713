"""Staff read events in the admin; nobody adds, changes or deletes one there."""

from events.models import Event


def test_staff_read_the_event_log_in_the_admin(client, staff, workspace):
    client.force_login(staff)

    listing = client.get("/admin/events/event/")
    event = Event.objects.get(kind="workspace.created")
    detail = client.get(f"/admin/events/event/{event.pk}/change/")

    assert listing.status_code == 200
    assert "workspace.created" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_the_admin_offers_no_delete(client, staff, workspace):
    client.force_login(staff)
    event = Event.objects.get(kind="workspace.created")

    response = client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()
