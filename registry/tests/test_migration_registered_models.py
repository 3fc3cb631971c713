"""Migrations 0005-0007: one registered model per existing (project, name), its counter at the
highest number in use, every model linked; clashing workspace names renamed visibly (issue 14).

As in test_migration_tags: back to 0004, rows written with the historical models, forward."""

import pytest

from conftest import make_user
from maisie_site.migrating import apps_at, migrate
from registry.models import MLModel, RegisteredModel, Workspace
from registry.tests.factories import upload

BEFORE = ("registry", "0004_tag_workspace")


@pytest.fixture
def old_apps():
    yield from apps_at(BEFORE)


@pytest.mark.django_db(transaction=True)
def test_it_registers_each_model_name_with_its_highest_version_and_renames_clashing_workspaces(old_apps, capsys):
    user = make_user("alice", is_staff=True)  # staff: may upload anywhere, no membership needed
    Workspace_, Project, Model = (old_apps.get_model("registry", n) for n in ("Workspace", "Project", "MLModel"))
    first, second, _ = (Workspace_.objects.create(name=n) for n in ("Vision", "Vision", "Vision (2)"))
    projects = [Project.objects.create(workspace=w, name="resnets") for w in (first, second)]
    rows = [(projects[0], "resnet", 1), (projects[0], "resnet", 3), (projects[0], "vgg", 1), (projects[1], "resnet", 2)]
    for n, (project, name, version) in enumerate(rows):
        Model.objects.create(
            project=project,
            uploader_id=user.pk,
            name=name,
            version=version,
            file=f"models/00/{n:030}",
            file_name="m.pt",
            file_size=1,
            file_sha256="0" * 64,
        )

    migrate("latest")

    registered = {(r.project_id, r.name): r.last_version for r in RegisteredModel.objects.all()}
    assert registered == {(projects[0].pk, "resnet"): 3, (projects[0].pk, "vgg"): 1, (projects[1].pk, "resnet"): 2}
    for model in MLModel.objects.select_related("registered_model"):
        assert (model.registered_model.project_id, model.registered_model.name) == (model.project_id, model.name)
    assert [w.name for w in Workspace.objects.order_by("pk")] == ["Vision", "Vision (3)", "Vision (2)"]
    assert f"Workspace {second.pk} renamed from 'Vision' to 'Vision (3)'" in capsys.readouterr().out
    # The next upload continues the counter.
    assert upload(user, MLModel.objects.get(version=3).project, "resnet").version == 4
