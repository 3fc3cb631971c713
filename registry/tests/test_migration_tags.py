"""Migration 0004: today's global tags become per-workspace tags, nothing lost, and back.

Each test migrates the registry back to 0003 with Django's migration executor, writes rows as
they were then (through the historical models), migrates forward and reads the result with
today's models. The database is left migrated to the latest state.
"""

import pytest

from conftest import make_user
from maisie_site.migrating import apps_at, migrate
from registry.models import MLModel, Tag, Workspace

BEFORE = ("registry", "0003_project_key_counts")
AFTER = ("registry", "0004_tag_workspace")
HOLDING = "Tags from before workspaces"


@pytest.fixture
def old_apps():
    """The registry's models as they were before tags had a workspace; latest again afterwards."""
    yield from apps_at(BEFORE)


class Old:
    """Rows written with the historical models (the Tag table has no workspace column yet)."""

    def __init__(self, apps, user):
        self.apps, self.user = apps, user
        self.count = 0

    def model(self, name: str):
        return self.apps.get_model("registry", name)

    def workspace(self, name: str):
        workspace = self.model("Workspace").objects.create(name=name)
        self.model("Membership").objects.create(workspace=workspace, user_id=self.user.pk, role="owner")
        return workspace, self.model("Project").objects.create(workspace=workspace, name=f"{name} project")

    def tag(self, name: str, description: str = ""):
        return self.model("Tag").objects.create(name=name, description=description)

    def ml_model(self, project, *tags, private: bool = False):
        self.count += 1
        model = self.model("MLModel").objects.create(
            project=project,
            uploader_id=self.user.pk,
            name=f"m{self.count}",
            version=1,
            file=f"models/00/{self.count:030}",
            file_name="m.pt",
            file_size=1,
            file_sha256="0" * 64,
            private=private,
        )
        model.tags.set(tags)
        return model


@pytest.mark.django_db(transaction=True)
def test_it_splits_a_tag_shared_by_two_workspaces_keeping_every_link_and_description(old_apps):
    old = Old(old_apps, make_user("alice"))
    (vision, resnets), (audio, wav) = old.workspace("Vision"), old.workspace("Audio")
    cnn, best = old.tag("cnn", "convolutional"), old.tag("best", "the best one")
    first = old.ml_model(resnets, cnn, best)
    second = old.ml_model(resnets, cnn, private=True)
    third = old.ml_model(wav, cnn)

    migrate(AFTER)
    migrate("latest")  # today's MLModel reads the columns of later migrations too

    vision_cnn = Tag.objects.get(workspace_id=vision.pk, name="cnn")
    audio_cnn = Tag.objects.get(workspace_id=audio.pk, name="cnn")
    assert vision_cnn.pk == cnn.pk  # the first workspace keeps the row, so its id still works
    assert (vision_cnn.description, audio_cnn.description) == ("convolutional", "convolutional")
    assert sorted(vision_cnn.models.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert list(audio_cnn.models.values_list("pk", flat=True)) == [third.pk]
    assert Tag.objects.get(pk=best.pk).workspace_id == vision.pk
    assert MLModel.tags.through.objects.count() == 4  # every link kept
    for model in MLModel.objects.select_related("project"):
        assert {tag.workspace_id for tag in model.tags.all()} == {model.project.workspace_id}


@pytest.mark.django_db(transaction=True)
def test_unused_tags_go_to_the_only_workspace(old_apps):
    old = Old(old_apps, make_user("alice"))
    (vision, _) = old.workspace("Vision")
    unused = old.tag("someday", "not yet used")

    migrate(AFTER)

    tag = Tag.objects.get(pk=unused.pk)
    assert (tag.workspace_id, tag.name, tag.description) == (vision.pk, "someday", "not yet used")
    assert not Workspace.objects.filter(name=HOLDING).exists()


@pytest.mark.django_db(transaction=True)
def test_unused_tags_of_a_shared_server_go_to_a_workspace_only_staff_see(old_apps, capsys):
    old = Old(old_apps, make_user("alice"))
    (vision, resnets), _ = old.workspace("Vision"), old.workspace("Audio")
    old.ml_model(resnets, old.tag("cnn"))
    unused = old.tag("project-nightingale", "whose?")

    apps = migrate(AFTER).loader.project_state([AFTER]).apps

    holding = apps.get_model("registry", "Workspace").objects.get(name=HOLDING)
    tag = Tag.objects.get(pk=unused.pk)
    assert (tag.workspace_id, tag.description) == (holding.pk, "whose?")
    assert not holding.memberships.exists()
    assert Tag.objects.get(name="cnn").workspace_id == vision.pk
    assert HOLDING in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_migrating_back_merges_the_copies_into_one_global_tag(old_apps):
    old = Old(old_apps, make_user("alice"))
    (_, resnets), (_, wav) = old.workspace("Vision"), old.workspace("Audio")
    cnn = old.tag("cnn", "convolutional")
    models = [old.ml_model(resnets, cnn), old.ml_model(wav, cnn)]
    old.tag("unused")
    migrate(AFTER)
    assert Tag.objects.filter(name="cnn").count() == 2

    apps = migrate(BEFORE).loader.project_state([BEFORE]).apps

    OldTag = apps.get_model("registry", "Tag")
    assert sorted(OldTag.objects.values_list("name", flat=True)) == ["cnn", "unused"]
    merged = OldTag.objects.get(name="cnn")
    assert (merged.pk, merged.description) == (cnn.pk, "convolutional")
    assert sorted(merged.models.values_list("pk", flat=True)) == sorted(model.pk for model in models)
    assert not apps.get_model("registry", "Workspace").objects.filter(name=HOLDING).exists()
