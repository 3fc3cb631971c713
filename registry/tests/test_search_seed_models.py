"""`manage.py seed_models`: the benchmark workload, deterministic and consistent with storage."""

import io

import pytest
from django.core.management import CommandError, call_command

from registry.management.commands.seed_models import workload
from registry.models import MLModel, Project, Workspace
from registry.search.compiler import compile_query


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_models", *args, stdout=out)
    return out.getvalue()


def test_the_same_seed_gives_the_same_workload():
    assert list(workload(50, seed=7)) == list(workload(50, seed=7))
    assert list(workload(50, seed=7)) != list(workload(50, seed=8))


def test_each_model_has_the_promised_shape():
    for row in workload(200):
        assert len(row["hyperparameters"]) == 10
        assert len(row["parameters"]) == 5
        assert len(row["metrics"]) == 5
        assert len(set(row["tags"])) == 2
    kinds = {type(row["hyperparameters"]["layers"]) for row in workload(200)}
    assert kinds == {int, str}  # mixed types on purpose


def test_it_seeds_two_workspaces_of_five_projects(db):
    output = seed("--models", "40", "--batch", "15")
    assert output.endswith("Seeded 40 models in 10 projects; owner: seed.\n")
    assert Workspace.objects.filter(name__startswith="seed-").count() == 2
    assert Project.objects.filter(workspace__name__startswith="seed-").count() == 10
    assert MLModel.objects.count() == 40
    assert MLModel.tags.through.objects.count() == 80


def test_projects_puts_every_model_in_one_project(db):
    output = seed("--models", "30", "--projects", "1")
    assert output.endswith("Seeded 30 models in 1 projects; owner: seed.\n")
    assert list(Workspace.objects.values_list("name", flat=True)) == ["seed-workspace-1"]
    (project,) = Project.objects.all()
    assert project.name == "project-1"
    assert project.models.count() == 30


def test_projects_spreads_them_over_two_workspaces(db):
    seed("--models", "30", "--projects", "3")
    by_workspace = {
        workspace.name: sorted(workspace.projects.values_list("name", flat=True))
        for workspace in Workspace.objects.all()
    }
    assert by_workspace == {"seed-workspace-1": ["project-1", "project-2"], "seed-workspace-2": ["project-3"]}
    assert set(MLModel.objects.values_list("project__name", flat=True)) == {"project-1", "project-2", "project-3"}


def test_it_refuses_zero_projects(db):
    with pytest.raises(CommandError, match="--projects"):
        seed("--models", "3", "--projects", "0")


def test_seeded_rows_hold_the_workload_and_their_own_files(db):
    seed("--models", "12", "--batch", "5")
    rows = list(workload(12, projects=10, uploaders=3))
    models = list(MLModel.objects.order_by("created"))
    assert [m.hyperparameters for m in models] == [r["hyperparameters"] for r in rows]
    assert [m.created for m in models] == [r["created"] for r in rows]
    assert [sorted(t.name for t in m.tags.all()) for m in models] == [sorted(r["tags"]) for r in rows]
    assert len({m.file.name for m in models}) == 12
    assert models[0].file.read() == b"maisie seed model 0\n"
    out = io.StringIO()
    call_command("maisie_fsck", stdout=out)
    assert "0 orphan files and 0 rows with a missing file found" in out.getvalue()


def test_versions_count_per_project_and_name(db):
    seed("--models", "300")
    for project_id, name in MLModel.objects.values_list("project_id", "name").distinct():
        versions = sorted(MLModel.objects.filter(project_id=project_id, name=name).values_list("version", flat=True))
        assert versions == list(range(1, len(versions) + 1))


def test_seeded_models_answer_typed_queries(db):
    seed("--models", "60")
    rows = list(workload(60))
    expected = sum(
        1 for r in rows if isinstance(r["hyperparameters"]["layers"], int) and r["hyperparameters"]["layers"] > 8
    )
    assert MLModel.objects.filter(compile_query("hp.layers > 8")).count() == expected


def test_it_refuses_to_seed_twice(db):
    seed("--models", "3")
    with pytest.raises(CommandError, match="exist already"):
        seed("--models", "3")


def test_the_owner_can_sign_in_with_the_given_password(db, api):
    seed("--models", "2", "--password", "a-long-bench-password")
    response = api.post("/api/v1/auth/login/", {"login": "seed", "password": "a-long-bench-password"})
    assert response.status_code == 200
