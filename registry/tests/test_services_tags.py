"""Tags belong to a workspace: the write paths keep every model's tags in its own workspace.

Alice owns Vision (Bob a member, Carol a viewer); Eve owns Audio, where Alice is a member too,
so Alice can move things between the two.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registry import services
from registry.models import MLModel, Role, Tag
from registry.tests.factories import upload


@pytest.fixture
def audio(eve, alice):
    workspace = services.workspace_create(user=eve, name="Audio")
    services.membership_set(workspace=workspace, actor=eve, user=alice, role=Role.MEMBER)
    return workspace


@pytest.fixture
def wav(audio, eve):
    return services.project_create(user=eve, workspace=audio, name="wav2vec")


def tags_of(model) -> list[tuple[str, int]]:
    return sorted(model.tags.values_list("name", "workspace_id"))


class TestUploadAndUpdate:
    def test_an_upload_tags_the_model_with_its_workspaces_tags(self, project, wav, alice, eve, audio, workspace):
        audio_cnn = Tag.objects.create(workspace=audio, name="cnn", description="Audio's")

        model = upload(alice, project, tags=["cnn", "best"])

        assert tags_of(model) == [("best", workspace.pk), ("cnn", workspace.pk)]
        assert list(audio_cnn.models.all()) == []
        assert Tag.objects.get(pk=audio_cnn.pk).description == "Audio's"

    def test_uploads_in_two_workspaces_get_two_tags_of_one_name(self, project, wav, alice, eve):
        vision_model = upload(alice, project, tags=["cnn"])
        audio_model = upload(eve, wav, tags=["cnn"])

        (vision_tag,), (audio_tag,) = vision_model.tags.all(), audio_model.tags.all()
        assert vision_tag != audio_tag
        assert (vision_tag.workspace_id, audio_tag.workspace_id) == (project.workspace_id, wav.workspace_id)

    def test_an_update_sets_tags_of_the_models_workspace(self, project, wav, alice, eve, workspace, audio):
        Tag.objects.create(workspace=audio, name="prod")
        model = upload(alice, project)

        services.model_update(model=model, user=alice, tags="prod, best")

        assert tags_of(model) == [("best", workspace.pk), ("prod", workspace.pk)]

    def test_a_model_moved_to_another_workspace_takes_its_tags_of_the_same_names(
        self, project, wav, alice, workspace, audio
    ):
        Tag.objects.create(workspace=workspace, name="cnn", description="convolutional")
        audio_prod = Tag.objects.create(workspace=audio, name="prod", description="Audio's own")
        model = upload(alice, project, tags=["cnn", "prod"])
        old = set(model.tags.values_list("pk", flat=True))

        services.model_update(model=MLModel.objects.get(pk=model.pk), user=alice, project=wav)

        assert tags_of(model) == [("cnn", audio.pk), ("prod", audio.pk)]
        assert model.tags.get(name="prod") == audio_prod  # the workspace's existing tag, untouched
        assert model.tags.get(name="cnn").description == "convolutional"  # a new one, description copied
        assert Tag.objects.filter(pk__in=old).count() == 2  # Vision keeps its tags

    def test_a_model_moved_with_new_tags_gets_them_in_its_new_workspace(self, project, wav, alice, audio):
        model = upload(alice, project, tags=["cnn"])

        services.model_update(model=MLModel.objects.get(pk=model.pk), user=alice, project=wav, tags=["x"])

        assert tags_of(model) == [("x", audio.pk)]

    def test_a_project_moved_to_another_workspace_takes_its_models_tags_along(
        self, project, wav, alice, bob, workspace, audio
    ):
        Tag.objects.create(workspace=workspace, name="cnn", description="convolutional")
        first = upload(alice, project, tags=["cnn", "best"])
        second = upload(bob, project, name="private", tags=["cnn"], private=True)
        elsewhere = services.project_create(user=alice, workspace=workspace, name="stays")
        stays = upload(alice, elsewhere, tags=["cnn"])

        services.project_update(project=project, user=alice, workspace=audio)

        assert tags_of(first) == [("best", audio.pk), ("cnn", audio.pk)]
        assert tags_of(second) == [("cnn", audio.pk)]
        assert first.tags.get(name="cnn") == second.tags.get(name="cnn")
        assert first.tags.get(name="cnn").description == "convolutional"
        assert tags_of(stays) == [("cnn", workspace.pk)]


class TestModelTags:
    def test_a_model_cannot_carry_another_workspaces_tag(self, project, audio, alice):
        model = upload(alice, project)
        foreign = Tag.objects.create(workspace=audio, name="cnn")

        with pytest.raises(ValidationError) as error:
            services.model_tag_add(model=model, tag=foreign, user=alice)

        assert list(error.value.message_dict) == ["tag"]
        assert not model.tags.exists()

    def test_adding_by_name_creates_the_tags_in_the_models_workspace(self, project, alice, bob, workspace):
        model = upload(bob, project)

        services.model_tags_add(model=model, names="a, b", user=bob)

        assert tags_of(model) == [("a", workspace.pk), ("b", workspace.pk)]

    def test_a_viewer_adding_by_name_creates_no_tag(self, project, bob, carol):
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.model_tags_add(model=model, names="sneaky", user=carol)

        assert not Tag.objects.exists()


class TestTagWrites:
    def test_a_rename_keeps_the_models_on_the_tag(self, project, alice, bob):
        model = upload(alice, project, tags=["cnn"])
        tag = model.tags.get()

        services.tag_update(tag=tag, user=bob, name=" convnet ", description="renamed")

        assert list(model.tags.values_list("name", "description")) == [("convnet", "renamed")]

    def test_a_viewer_may_not_rename(self, workspace, carol):
        tag = Tag.objects.create(workspace=workspace, name="cnn")

        with pytest.raises(PermissionDenied):
            services.tag_update(tag=tag, user=carol, name="x")

        tag.refresh_from_db()
        assert tag.name == "cnn"

    def test_a_viewer_may_not_create(self, workspace, carol):
        with pytest.raises(PermissionDenied):
            services.tag_create(user=carol, workspace=workspace, name="x")

        assert not Tag.objects.exists()

    @pytest.mark.parametrize(("uploader", "deleter", "allowed"), [("alice", "bob", False), ("bob", "bob", True)])
    def test_a_member_deletes_only_a_tag_no_one_elses_model_carries(self, project, uploader, deleter, allowed, request):
        upload(request.getfixturevalue(uploader), project, tags=["cnn"], private=True)
        tag = Tag.objects.get(name="cnn")

        if allowed:
            services.tag_delete(tag=tag, user=request.getfixturevalue(deleter))
        else:
            with pytest.raises(PermissionDenied):
                services.tag_delete(tag=tag, user=request.getfixturevalue(deleter))

        assert Tag.objects.filter(pk=tag.pk).exists() is not allowed

    def test_an_owner_deletes_any_of_the_workspaces_tags(self, project, alice, bob):
        model = upload(bob, project, tags=["cnn"], private=True)

        services.tag_delete(tag=Tag.objects.get(name="cnn"), user=alice)

        assert MLModel.objects.filter(pk=model.pk).exists()
        assert not model.tags.exists()

    def test_deleting_a_workspace_deletes_its_tags_only(self, workspace, audio, alice):
        Tag.objects.create(workspace=workspace, name="cnn")
        kept = Tag.objects.create(workspace=audio, name="cnn")

        services.workspace_delete(workspace=workspace, user=alice)

        assert list(Tag.objects.all()) == [kept]
