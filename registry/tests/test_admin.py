"""The Django admin: every registered model's pages load for staff, and deletes keep files tidy."""

import pytest
from django.urls import reverse

from accounts.models import User
from registry.models import MLModel
from registry.tests.factories import upload

ADMIN_MODELS = [
    "accounts_user",
    "accounts_apitoken",
    "registry_workspace",
    "registry_project",
    "registry_tag",
    "registry_mlmodel",
]


@pytest.fixture
def admin_client_for(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.parametrize("name", ADMIN_MODELS)
def test_staff_can_list_and_search_every_admin_model(admin_client_for, project, bob, name):
    upload(bob, project, tags=["cnn"])
    response = admin_client_for.get(reverse(f"admin:{name}_changelist"), {"q": "a"})
    assert response.status_code == 200


def test_staff_can_open_a_model_whose_file_facts_are_read_only(admin_client_for, project, bob):
    model = upload(bob, project, content=b"weights!")
    response = admin_client_for.get(reverse("admin:registry_mlmodel_change", args=[model.pk]))
    assert response.status_code == 200
    assert model.file_sha256 in response.content.decode()
    assert b'name="file_sha256"' not in response.content


def test_workspace_page_shows_its_members_inline(admin_client_for, workspace):
    response = admin_client_for.get(reverse("admin:registry_workspace_change", args=[workspace.pk]))
    assert b"memberships-0-user" in response.content


def test_staff_creates_a_user_and_deactivates_them_in_the_admin(admin_client_for):
    response = admin_client_for.post(
        reverse("admin:accounts_user_add"),
        {
            "login": "newbie",
            "full_name": "New Bie",
            "email": "n@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(login="newbie")
    assert user.check_password("a-long-pass-phrase")
    response = admin_client_for.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {"login": "newbie", "full_name": "New Bie", "email": "n@example.com", "is_active": "", "is_staff": "on"},
    )
    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.is_staff and not user.is_active


def test_deleting_a_model_in_the_admin_removes_its_file(
    admin_client_for, project, bob, django_capture_on_commit_callbacks
):
    model = upload(bob, project)
    storage = MLModel._meta.get_field("file").storage
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for.post(reverse("admin:registry_mlmodel_delete", args=[model.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not MLModel.objects.exists()
    assert not storage.exists(model.file.name)


def test_non_staff_are_sent_to_the_admin_login(client, bob):
    client.force_login(bob)
    response = client.get(reverse("admin:registry_mlmodel_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
