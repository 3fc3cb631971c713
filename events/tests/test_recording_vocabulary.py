"""The events that were missing (issue 14, History): a registered model's creation, a workspace
tag's creation, rename, description and deletion, and SSH keys added and removed. Each is written
in its change's transaction and shown only to those who may see what it is about."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import accounts.services
import registry.services
from accounts.models import SshPublicKey
from events.models import Event
from events.tests.helpers import events_of, only_event
from registry import services
from registry.models import Tag
from registry.tests.factories import upload, upload_form

EVENTS = "/api/v1/events/"
TAGS = "/api/v1/tags/"
KEYS = "/api/v1/auth/ssh-keys/"


def kinds_seen(api, user, **params) -> list[str]:
    response = api.as_user(user).get(EVENTS, {"per_page": 100, **params})
    assert response.status_code == 200, response.content
    return [event["kind"] for event in response.json()["data"]]


def fail_after_recording(monkeypatch, module):
    """Make `module`'s record() write its event, then fail, as a later step of the change would."""
    real = module.record

    def record(**kwargs):
        real(**kwargs)
        raise RuntimeError("a failure after the event, before the commit")

    monkeypatch.setattr(module, "record", record)


def public_key_line() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me@laptop"


# ----------------------------------------------------------------------------- registered models


def test_the_first_upload_of_a_name_records_registered_model_created_before_its_version(api, bob, project):
    response = api.as_user(bob).post("/api/v1/models/", upload_form(project, name="resnet"))
    assert response.status_code == 201, response.content
    model = response.json()["data"]

    event = only_event("registered_model.created")
    assert (event.subject_type, event.subject_id, event.subject_name) == (
        "registeredmodel",
        model["registered_model_id"],
        "resnet",
    )
    assert (event.actor_id, event.project_id, event.workspace_id) == (bob.pk, project.pk, project.workspace_id)
    assert (event.registered_model_id, event.model_id) == (model["registered_model_id"], model["id"])
    assert (event.before, event.after) == (None, {"name": "resnet", "project_id": project.pk})
    assert event.pk < only_event("model.created").pk


def test_later_uploads_of_the_name_record_no_second_creation(bob, project):
    upload(bob, project, "resnet")
    upload(bob, project, "resnet")

    assert len(events_of("registered_model.created")) == 1
    assert len(events_of("model.created")) == 2


def test_a_rename_into_a_new_name_records_the_new_registered_models_creation(api, bob, project):
    model = upload(bob, project, "resnet")

    response = api.as_user(bob).patch(f"/api/v1/models/{model.pk}/", {"name": "resnet-v2"}, format="json")

    assert response.status_code == 200, response.content
    created = [event.subject_name for event in Event.objects.filter(kind="registered_model.created").order_by("id")]
    assert created == ["resnet", "resnet-v2"]


def test_a_private_uploads_registered_model_creation_is_shown_to_its_uploader_only(api, alice, bob, carol, project):
    upload(bob, project, "secret-plan", private=True)

    assert "registered_model.created" in kinds_seen(api, bob, kind="registered_model")
    assert kinds_seen(api, carol, kind="registered_model") == []
    assert kinds_seen(api, alice, kind="registered_model") == []  # an owner does not see private models either


def test_a_failed_upload_leaves_neither_the_registered_model_nor_its_event(monkeypatch, bob, project):
    recorded = Event.objects.count()
    fail_after_recording(monkeypatch, registry.services)

    with pytest.raises(RuntimeError):
        upload(bob, project, "resnet")

    assert Event.objects.count() == recorded
    assert not project.registered_models.exists()


# ----------------------------------------------------------------------------- tags


def test_creating_a_tag_records_tag_created(api, bob, carol, workspace):
    response = api.as_user(bob).post(
        TAGS, {"workspace_id": workspace.pk, "name": "prod", "description": "live"}, format="json"
    )
    assert response.status_code == 201, response.content

    event = only_event("tag.created")
    assert (event.subject_type, event.subject_id, event.subject_name) == ("tag", response.json()["data"]["id"], "prod")
    assert (event.actor_id, event.workspace_id, event.project_id, event.model_id) == (bob.pk, workspace.pk, None, None)
    assert event.after == {"name": "prod", "description": "live"}
    assert kinds_seen(api, carol, kind="tag") == ["tag.created"]  # every member reads the vocabulary


def test_renaming_a_tag_records_tag_renamed_with_the_changed_fields(api, bob, workspace):
    tag = services.tag_create(user=bob, workspace=workspace, name="prod", description="live")

    response = api.as_user(bob).patch(f"{TAGS}{tag.pk}/", {"name": "production"}, format="json")

    assert response.status_code == 200, response.content
    event = only_event("tag.renamed")
    assert (event.subject_id, event.subject_name) == (tag.pk, "production")
    assert (event.before, event.after) == ({"name": "prod"}, {"name": "production"})


def test_describing_a_tag_records_tag_updated_and_the_same_values_record_nothing(api, bob, workspace):
    tag = services.tag_create(user=bob, workspace=workspace, name="prod")
    client = api.as_user(bob)

    client.patch(f"{TAGS}{tag.pk}/", {"description": "what runs"}, format="json")
    client.patch(f"{TAGS}{tag.pk}/", {"description": "what runs"}, format="json")

    event = only_event("tag.updated")
    assert (event.before, event.after) == ({"description": ""}, {"description": "what runs"})
    assert not events_of("tag.renamed")


def test_deleting_a_tag_records_tag_deleted(api, alice, workspace):
    tag = services.tag_create(user=alice, workspace=workspace, name="prod", description="live")

    assert api.as_user(alice).delete(f"{TAGS}{tag.pk}/").status_code == 200

    event = only_event("tag.deleted")
    assert (event.subject_id, event.actor_id) == (tag.pk, alice.pk)
    assert (event.before, event.after) == ({"name": "prod", "description": "live"}, None)
    assert not Tag.objects.filter(pk=tag.pk).exists()


def test_a_refused_tag_change_records_nothing(api, bob, carol, workspace):
    tag = services.tag_create(user=bob, workspace=workspace, name="prod")
    recorded = Event.objects.count()

    assert api.as_user(carol).patch(f"{TAGS}{tag.pk}/", {"name": "x"}, format="json").status_code == 403
    assert api.as_user(bob).post(TAGS, {"workspace_id": workspace.pk, "name": "prod"}, format="json").status_code == 400

    assert Event.objects.count() == recorded


def test_events_of_a_tag_only_someones_private_models_carry_are_theirs(api, alice, bob, carol, project):
    model = upload(bob, project, "secret-plan", private=True, tags=["project-x"])
    tag = Tag.objects.get(name="project-x")

    services.tag_update(tag=tag, user=bob, name="project-y")

    assert kinds_seen(api, bob, kind="tag") == ["tag.renamed"]
    assert kinds_seen(api, carol, kind="tag") == []
    event = only_event("tag.renamed")
    assert (event.model_id, event.project_id, event.registered_model_id) == (model.pk, None, None)

    services.model_update(model=model, user=bob, private=False)  # the tag is everyone's to see now

    assert kinds_seen(api, carol, kind="tag") == ["tag.renamed"]


def test_a_failed_tag_write_leaves_neither_the_change_nor_its_event(monkeypatch, bob, workspace):
    tag = services.tag_create(user=bob, workspace=workspace, name="prod")
    recorded = Event.objects.count()
    fail_after_recording(monkeypatch, registry.services)

    with pytest.raises(RuntimeError):
        services.tag_update(tag=tag, user=bob, name="production")
    with pytest.raises(RuntimeError):
        services.tag_create(user=bob, workspace=workspace, name="staging")

    assert Event.objects.count() == recorded
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["prod"]


# ----------------------------------------------------------------------------- SSH keys


def test_adding_an_ssh_key_records_ssh_key_added_with_its_fingerprint(api, bob):
    line = public_key_line()

    response = api.as_user(bob).post(KEYS, {"name": "laptop", "public_key": line}, format="json")

    assert response.status_code == 201, response.content
    key = response.json()["data"]
    event = only_event("ssh_key.added")
    assert (event.subject_type, event.subject_id, event.subject_name) == ("ssh_key", key["id"], "laptop")
    assert (event.actor_id, event.subject_user_id, event.workspace_id) == (bob.pk, bob.pk, None)
    assert event.after == {
        "name": "laptop",
        "key_type": "ssh-ed25519",
        "fingerprint": key["fingerprint"],
        "user_id": bob.pk,
    }


def test_removing_an_ssh_key_records_ssh_key_removed(api, bob):
    key = accounts.services.ssh_key_add(user=bob, name="laptop", public_key=public_key_line())

    assert api.as_user(bob).delete(f"{KEYS}{key.pk}/").status_code == 200

    event = only_event("ssh_key.removed")
    assert (event.subject_id, event.actor_id, event.subject_user_id) == (key.pk, bob.pk, bob.pk)
    assert event.before["fingerprint"] == key.fingerprint
    assert not SshPublicKey.objects.filter(pk=key.pk).exists()


def test_removing_a_key_from_the_profile_page_records_it_too(client, bob):
    key = accounts.services.ssh_key_add(user=bob, name="laptop", public_key=public_key_line())
    client.force_login(bob)

    response = client.post(f"/account/ssh-keys/{key.pk}/remove/")

    assert response.status_code == 302
    assert only_event("ssh_key.removed").subject_id == key.pk


def test_ssh_key_events_are_shown_to_their_owner_and_the_owners_of_their_workspaces(
    api, alice, bob, carol, eve, workspace
):
    accounts.services.ssh_key_add(user=bob, name="laptop", public_key=public_key_line())

    assert kinds_seen(api, bob, kind="ssh_key") == ["ssh_key.added"]
    assert kinds_seen(api, alice, kind="ssh_key") == ["ssh_key.added"]  # owns a workspace bob is in
    assert kinds_seen(api, carol, kind="ssh_key") == []  # a fellow member
    assert kinds_seen(api, eve, kind="ssh_key") == []


def test_a_failed_key_write_leaves_neither_the_change_nor_its_event(monkeypatch, bob):
    key = accounts.services.ssh_key_add(user=bob, name="laptop", public_key=public_key_line())
    fail_after_recording(monkeypatch, accounts.services)

    with pytest.raises(RuntimeError):
        accounts.services.ssh_key_remove(key=key, user=bob)
    with pytest.raises(RuntimeError):
        accounts.services.ssh_key_add(user=bob, name="desktop", public_key=public_key_line())

    assert list(Event.objects.values_list("kind", flat=True)) == ["ssh_key.added"]
    assert list(SshPublicKey.objects.values_list("name", flat=True)) == ["laptop"]
