"""Tags in the web UI and the admin: suggestions and badges show only the workspaces' own tags.

Alice owns Vision (Bob a member, Carol a viewer); Eve owns Audio and is in nothing of Vision's.
"""

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from registry import services
from registry.models import MLModel, Tag
from registry.tests.factories import upload


@pytest.fixture
def audio(eve):
    return services.workspace_create(user=eve, name="Audio")


@pytest.fixture
def wav(audio, eve):
    return services.project_create(user=eve, workspace=audio, name="wav2vec")


@pytest.fixture
def tagged(project, wav, alice, bob, eve):
    """Vision's models carry cnn and best (and Bob's private one bobs-secret); Audio's nightingale."""
    upload(alice, project, tags=["cnn", "best"])
    upload(bob, project, name="private", tags=["bobs-secret"], private=True)
    Tag.objects.create(workspace=project.workspace, name="unused-vocabulary")
    return upload(eve, wav, tags=["project-nightingale", "cnn"])


def suggestions(response) -> list[str]:
    assert response.status_code == 200
    datalist = re.search(r'<datalist id="tag-suggestions">(.*?)</datalist>', response.content.decode(), re.S)
    assert datalist, "the page has no tag suggestions"
    return re.findall(r'<option value="([^"]*)">', datalist.group(1))


def signed_in(client, user):
    client.force_login(user)
    return client


VISION_SEES = ["best", "cnn", "unused-vocabulary"]


class TestSuggestions:
    def test_a_user_of_another_workspace_is_offered_none_of_its_tags(self, client, tagged, eve):
        response = signed_in(client, eve).get("/models/")

        assert suggestions(response) == ["cnn", "project-nightingale"]
        page = response.content.decode()
        for name in ("best", "bobs-secret", "unused-vocabulary"):
            assert name not in page

    @pytest.mark.parametrize("who", ["alice", "carol"])
    def test_members_are_offered_their_workspaces_tags_but_not_others_private_ones(self, client, tagged, who, request):
        response = signed_in(client, request.getfixturevalue(who)).get("/models/")

        assert suggestions(response) == VISION_SEES
        assert "nightingale" not in response.content.decode()

    def test_the_uploader_of_a_private_model_is_offered_its_tags(self, client, tagged, bob):
        assert suggestions(signed_in(client, bob).get("/models/")) == [
            "best",
            "bobs-secret",
            "cnn",
            "unused-vocabulary",
        ]

    def test_a_project_page_offers_its_workspaces_tags_only(self, client, tagged, project, wav, alice, audio, eve):
        services.membership_set(workspace=audio, actor=eve, user=alice, role="viewer")
        client = signed_in(client, alice)

        assert suggestions(client.get(f"/projects/{project.pk}/")) == VISION_SEES
        assert suggestions(client.get(f"/projects/{wav.pk}/")) == ["cnn", "project-nightingale"]
        # The whole table offers both, each name once.
        assert suggestions(client.get("/models/")) == ["best", "cnn", "project-nightingale", "unused-vocabulary"]

    def test_a_model_page_offers_its_workspaces_tags_only(self, client, tagged, project, alice, audio, eve):
        services.membership_set(workspace=audio, actor=eve, user=alice, role="viewer")
        model = MLModel.objects.get(project=project, name="resnet")

        response = signed_in(client, alice).get(f"/models/{model.pk}/")

        assert suggestions(response) == VISION_SEES
        assert "nightingale" not in response.content.decode()

    def test_a_model_page_shows_its_tags_as_badges(self, client, tagged, project, carol):
        model = MLModel.objects.get(project=project, name="resnet")

        page = signed_in(client, carol).get(f"/models/{model.pk}/").content.decode()

        assert re.findall(r'<li class="tag">([^<]*)', page) == ["best", "cnn"]


class TestTagForms:
    def test_adding_a_tag_creates_it_in_the_models_workspace(self, client, project, wav, bob, eve, audio):
        Tag.objects.create(workspace=audio, name="prod")
        model = upload(bob, project)

        response = signed_in(client, bob).post(f"/models/{model.pk}/tags/", {"name": "prod, best"})

        assert response.status_code == 302
        assert sorted(model.tags.values_list("name", "workspace_id")) == [
            ("best", project.workspace_id),
            ("prod", project.workspace_id),
        ]

    def test_a_viewer_adding_a_tag_creates_nothing(self, client, project, bob, carol):
        model = upload(bob, project)

        assert signed_in(client, carol).post(f"/models/{model.pk}/tags/", {"name": "sneaky"}).status_code == 403

        assert not Tag.objects.exists()

    def test_removing_another_workspaces_tag_is_404(self, client, project, wav, bob, eve):
        model = upload(bob, project, tags=["cnn"])
        foreign = upload(eve, wav, tags=["cnn"]).tags.get()

        response = signed_in(client, bob).post(f"/models/{model.pk}/tags/{foreign.pk}/remove/")

        assert response.status_code == 404
        assert list(foreign.models.all()) != []
        assert model.tags.count() == 1


class TestAdmin:
    @pytest.fixture
    def staff_client(self, client, staff):
        client.force_login(staff)
        return client

    def test_the_tag_list_shows_each_tags_workspace(self, staff_client, tagged):
        page = staff_client.get(reverse("admin:registry_tag_changelist")).content.decode()

        assert "Audio" in page and "Vision" in page

    def test_a_model_is_offered_only_its_workspaces_tags(self, staff_client, tagged, project, staff):
        model = MLModel.objects.get(project=project, name="resnet")
        model_admin = admin.site._registry[MLModel]
        request = RequestFactory().get("/")
        request.user = staff

        field = model_admin.get_form(request, model).base_fields["tags"]

        assert set(field.queryset.values_list("workspace_id", flat=True)) == {project.workspace_id}
        page = staff_client.get(reverse("admin:registry_mlmodel_change", args=[model.pk])).content.decode()
        assert "project-nightingale" not in page

    def test_a_model_cannot_be_given_another_workspaces_tag_in_the_admin(self, tagged, project, staff):
        model = MLModel.objects.get(project=project, name="resnet")
        foreign = Tag.objects.get(name="project-nightingale")
        model_admin = admin.site._registry[MLModel]
        request = RequestFactory().get("/")
        request.user = staff
        form_class = model_admin.get_form(request, model)

        form = form_class(instance=model, data={"name": model.name, "tags": [foreign.pk]})

        assert not form.is_valid()
        assert "tags" in form.errors

    def test_a_tag_some_model_carries_cannot_change_workspace(self, staff_client, tagged, audio):
        used = Tag.objects.get(name="best")
        unused = Tag.objects.get(name="unused-vocabulary")

        used_page = staff_client.get(reverse("admin:registry_tag_change", args=[used.pk])).content.decode()
        unused_page = staff_client.get(reverse("admin:registry_tag_change", args=[unused.pk])).content.decode()

        assert 'name="workspace"' not in used_page
        assert 'name="workspace"' in unused_page
