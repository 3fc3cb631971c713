"""One test per filter, each run straight on the FilterSet and through the API's query string.

The same query string must mean the same thing to the API and to the HTML list views, so every
case is parametrised over `how`: "filterset" builds the FilterSet from a QueryDict, "api" sends
the query string to the list endpoint as staff (who see everything, so only the filter decides).
"""

import pytest
from django.http import QueryDict

from conftest import built_once, from_shared, make_user
from registry import services
from registry.filtersets import MLModelFilterSet, ProjectFilterSet, TagFilterSet, WorkspaceFilterSet
from registry.models import MLModel, Project, Tag, Workspace
from registry.tests.assertions import model_list_queries
from registry.tests.factories import upload

HOW = ["filterset", "api"]


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world below, built once for the module's tests, which only read it."""
    with built_once(django_db_blocker, tmp_path_factory) as built:
        built.eve = make_user("eve")
        built.staff = make_user("root", is_staff=True, is_superuser=True)
        built.world = build_world(built.workspace, built.project, built.alice, built.bob, built.eve)
        yield built


alice, bob, carol, eve, staff, workspace, project, world = from_shared(
    "alice", "bob", "carol", "eve", "staff", "workspace", "project", "world"
)


def build_world(workspace, project, alice, bob, eve):
    """Two workspaces, three projects, five models with different keys, tags and uploaders."""
    vits = services.project_create(user=bob, workspace=workspace, name="vits")
    audio = services.workspace_create(user=eve, name="Audio")
    wav = services.project_create(user=eve, workspace=audio, name="wav2vec")
    upload(
        alice,
        project,
        name="resnet50",
        hyperparameters={"lr": 0.1, "batch": 64},
        parameters={"layers": 50},
        metrics={"acc": 0.9},
        tags=["cnn", "best"],
    )
    upload(bob, project, name="ResNet18", hyperparameters={"lr": 0.2}, metrics={"acc": 0.8, "loss": 0.4}, tags=["cnn"])
    upload(
        bob,
        vits,
        name="vit-base",
        hyperparameters={"dropout": 0.1},
        parameters={"heads": 12, "lr": 1},
        metrics={"loss": 0.3},
        tags=["transformer", "best"],
    )
    upload(eve, wav, name="wav2vec-small", hyperparameters={"lr": 0.3}, tags=["cnn", "20240531"])
    upload(eve, wav, name="wav2vec-small", metrics={"wer": 0.1})
    return {
        "workspace": workspace,
        "audio": audio,
        "resnets": project,
        "vits": vits,
        "wav": wav,
        "tags": {tag.name: tag for tag in Tag.objects.filter(workspace=workspace)},
    }


def _filter(filterset_class, model, url, how, api, user, query: str) -> list[str]:
    if how == "filterset":
        filterset = filterset_class(QueryDict(query), queryset=model.objects.all())
        assert filterset.is_valid(), filterset.errors
        return sorted(filterset.qs.values_list("name", flat=True))
    response = api.as_user(user).get(f"{url}?{query}&per_page=1000")
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["data"])


@pytest.fixture
def models_named(api, staff):
    """`models_named(how, "tag=cnn")`: the sorted names of the models the query string selects."""

    def run(how, query, user=None):
        return _filter(MLModelFilterSet, MLModel, "/api/v1/models/", how, api, user or staff, query)

    return run


# ----------------------------------------------------------------------------- MLModelFilterSet


@pytest.mark.parametrize("how", HOW)
def test_no_filter_selects_every_model(models_named, world, how):
    assert models_named(how, "") == ["ResNet18", "resnet50", "vit-base", "wav2vec-small", "wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_the_workspace_filter_selects_models_in_that_workspace(models_named, world, how):
    assert models_named(how, f"workspace={world['workspace'].pk}") == ["ResNet18", "resnet50", "vit-base"]
    assert models_named(how, f"workspace={world['audio'].pk}") == ["wav2vec-small", "wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_the_workspace_filter_takes_repeated_values(models_named, world, how):
    query = f"workspace={world['workspace'].pk}&workspace={world['audio'].pk}"

    assert len(models_named(how, query)) == 5


@pytest.mark.parametrize("how", HOW)
def test_the_project_filter_selects_models_in_that_project(models_named, world, how):
    assert models_named(how, f"project={world['resnets'].pk}") == ["ResNet18", "resnet50"]


@pytest.mark.parametrize("how", HOW)
def test_the_project_filter_takes_repeated_values(models_named, world, how):
    query = f"project={world['resnets'].pk}&project={world['vits'].pk}"

    assert models_named(how, query) == ["ResNet18", "resnet50", "vit-base"]


@pytest.mark.parametrize("how", HOW)
def test_the_project_filter_takes_a_comma_separated_list(models_named, world, how):
    query = f"project={world['vits'].pk},{world['wav'].pk}"

    assert models_named(how, query) == ["vit-base", "wav2vec-small", "wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_the_project_filter_takes_the_bracketed_array_form(models_named, world, how):
    query = f"project[]={world['resnets'].pk}&project[]={world['vits'].pk}"

    assert models_named(how, query) == ["ResNet18", "resnet50", "vit-base"]


@pytest.mark.parametrize("how", HOW)
def test_the_old_projects_filter_takes_a_comma_separated_list(models_named, world, how):
    query = f"projects={world['resnets'].pk},{world['wav'].pk}"

    assert models_named(how, query) == ["ResNet18", "resnet50", "wav2vec-small", "wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_the_user_filter_selects_models_by_uploader(models_named, world, alice, bob, eve, how):
    assert models_named(how, f"user={alice.pk}") == ["resnet50"]
    assert models_named(how, f"user={bob.pk}&user={eve.pk}") == [
        "ResNet18",
        "vit-base",
        "wav2vec-small",
        "wav2vec-small",
    ]


@pytest.mark.parametrize("how", HOW)
def test_the_tag_filter_selects_models_by_tag_name(models_named, world, how):
    assert models_named(how, "tag=best") == ["resnet50", "vit-base"]
    assert models_named(how, "tag=nope") == []


@pytest.mark.parametrize("how", HOW)
def test_the_tag_filter_selects_models_by_tag_id(models_named, world, how):
    assert models_named(how, f"tag={world['tags']['transformer'].pk}") == ["vit-base"]


@pytest.mark.parametrize("how", HOW)
def test_the_tag_filter_finds_tags_whose_names_are_numbers(models_named, world, how):
    assert models_named(how, "tag=20240531") == ["wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_the_tag_filter_takes_digits_that_int_cannot_read_as_a_name(models_named, world, project, alice, how):
    upload(alice, project, name="squared", tags=["x²", "²"])

    assert models_named(how, "tag=²") == ["squared"]


@pytest.mark.parametrize("how", HOW)
def test_a_repeated_tag_filter_selects_models_with_all_those_tags(models_named, world, how):
    assert models_named(how, "tag=cnn&tag=best") == ["resnet50"]
    assert models_named(how, f"tag=cnn&tag={world['tags']['best'].pk}") == ["resnet50"]
    assert models_named(how, "tag=cnn,best") == ["resnet50"]
    assert models_named(how, "tag=transformer&tag=cnn") == []


@pytest.mark.parametrize("how", HOW)
def test_the_hyperparam_filter_selects_models_that_have_that_hyperparameter(models_named, world, how):
    # vit-base has `lr` only among its parameters, so it does not count
    assert models_named(how, "hyperparam=lr") == ["ResNet18", "resnet50", "wav2vec-small"]
    assert models_named(how, "hyperparam=momentum") == []


@pytest.mark.parametrize("how", HOW)
def test_a_repeated_hyperparam_filter_selects_models_with_all_those_hyperparameters(models_named, world, how):
    assert models_named(how, "hyperparam=lr&hyperparam=batch") == ["resnet50"]
    assert models_named(how, "hyperparam=lr&hyperparam=dropout") == []


@pytest.mark.parametrize("how", HOW)
def test_the_param_filter_selects_models_that_have_that_parameter(models_named, world, how):
    assert models_named(how, "param=lr") == ["vit-base"]
    assert models_named(how, "param=layers") == ["resnet50"]


@pytest.mark.parametrize("how", HOW)
def test_a_repeated_param_filter_selects_models_with_all_those_parameters(models_named, world, how):
    assert models_named(how, "param=heads&param=lr") == ["vit-base"]
    assert models_named(how, "param=heads&param=layers") == []


@pytest.mark.parametrize("how", HOW)
def test_the_metric_filter_selects_models_that_have_that_metric(models_named, world, how):
    assert models_named(how, "metric=loss") == ["ResNet18", "vit-base"]
    assert models_named(how, "metric=wer") == ["wav2vec-small"]


@pytest.mark.parametrize("how", HOW)
def test_a_repeated_metric_filter_selects_models_with_all_those_metrics(models_named, world, how):
    assert models_named(how, "metric=acc&metric=loss") == ["ResNet18"]
    assert models_named(how, "metric=acc&metric=wer") == []


@pytest.mark.parametrize("how", HOW)
def test_the_search_filter_matches_part_of_the_name_ignoring_case(models_named, world, how):
    assert models_named(how, "search=resnet") == ["ResNet18", "resnet50"]
    assert models_named(how, "search=WAV2") == ["wav2vec-small", "wav2vec-small"]
    assert models_named(how, "search=bert") == []


@pytest.mark.parametrize("how", HOW)
def test_the_name_filter_matches_the_whole_name(models_named, world, how):
    assert models_named(how, "name=resnet50") == ["resnet50"]
    assert models_named(how, "name=resnet") == []


@pytest.mark.parametrize("how", HOW)
def test_filters_combine_as_and(models_named, world, bob, how):
    assert models_named(how, f"tag=cnn&user={bob.pk}") == ["ResNet18"]
    assert models_named(how, f"workspace={world['workspace'].pk}&metric=loss&hyperparam=dropout") == ["vit-base"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", ["workspace", "project", "projects", "user", "tag"])
def test_an_id_past_64_bits_matches_nothing(models_named, world, alice, how, name):
    known, expected = {
        "workspace": (world["workspace"].pk, ["ResNet18", "resnet50", "vit-base"]),
        "project": (world["vits"].pk, ["vit-base"]),
        "projects": (world["vits"].pk, ["vit-base"]),
        "user": (alice.pk, ["resnet50"]),
        "tag": (world["tags"]["transformer"].pk, []),  # tags must all match
    }[name]

    assert models_named(how, f"{name}={2**64}") == []
    assert models_named(how, f"{name}={known},{2**64}") == expected


@pytest.mark.parametrize("query", ["project=abc", "workspace=1,x", "user=me", "projects=1;2"])
def test_a_relation_filter_refuses_values_that_are_not_ids(world, query):
    filterset = MLModelFilterSet(QueryDict(query), queryset=MLModel.objects.all())

    assert not filterset.is_valid()
    assert list(filterset.errors) == [query.split("=")[0]]


@pytest.mark.parametrize("query", ["project=abc", "workspace=1,x", "user=me"])
def test_the_api_answers_400_for_a_relation_filter_that_is_not_ids(api, world, staff, query):
    response = api.as_user(staff).get(f"/api/v1/models/?{query}")

    assert response.status_code == 400, response.content
    body = response.json()
    assert "data" not in body
    assert list(body["errors"]) == [query.split("=")[0]]


def test_filters_never_reveal_models_outside_the_callers_workspaces(models_named, world, bob):
    assert models_named("api", f"workspace={world['audio'].pk}", user=bob) == []
    assert models_named("api", f"project={world['wav'].pk}", user=bob) == []
    assert models_named("api", "metric=wer", user=bob) == []


def test_filters_never_reveal_other_peoples_private_models(models_named, world, project, alice, bob, carol):
    upload(bob, project, name="hidden", hyperparameters={"secret": 1}, tags=["cnn"], private=True)

    assert models_named("api", "hyperparam=secret", user=carol) == []
    assert models_named("api", "search=hidden", user=alice) == []
    assert models_named("api", "hyperparam=secret", user=bob) == ["hidden"]


@pytest.mark.parametrize("rows", [3, 10])
def test_a_filtered_model_list_takes_a_fixed_number_of_queries(api, workspace, alice, rows, django_assert_num_queries):
    project = services.project_create(user=alice, workspace=workspace, name="counted")  # the world's has models
    for i in range(rows):
        upload(alice, project, name=f"m{i}", hyperparameters={"lr": i}, tags=["cnn", "best", f"t{i}"])
    client = api.as_user(alice)

    with django_assert_num_queries(model_list_queries()):
        response = client.get(f"/api/v1/models/?project={project.pk}&tag=cnn&tag=best&hyperparam=lr")

    assert len(response.json()["data"]) == rows


# ----------------------------------------------------------------------------- ProjectFilterSet


@pytest.fixture
def projects_named(api, staff):
    def run(how, query):
        return _filter(ProjectFilterSet, Project, "/api/v1/projects/", how, api, staff, query)

    return run


@pytest.mark.parametrize("how", HOW)
def test_the_project_search_filter_matches_part_of_the_name_ignoring_case(projects_named, world, how):
    assert projects_named(how, "search=NETS") == ["resnets"]
    assert projects_named(how, "search=v") == ["vits", "wav2vec"]


@pytest.mark.parametrize("how", HOW)
def test_the_project_workspace_filter_selects_projects_in_that_workspace(projects_named, world, how):
    assert projects_named(how, f"workspace={world['workspace'].pk}") == ["resnets", "vits"]
    assert projects_named(how, f"workspace={world['audio'].pk}") == ["wav2vec"]


@pytest.mark.parametrize("how", HOW)
def test_the_project_workspace_filter_takes_repeated_and_comma_values(projects_named, world, how):
    ids = (world["workspace"].pk, world["audio"].pk)

    assert projects_named(how, "workspace={}&workspace={}".format(*ids)) == ["resnets", "vits", "wav2vec"]
    assert projects_named(how, "workspace={},{}".format(*ids)) == ["resnets", "vits", "wav2vec"]


# ----------------------------------------------------------------------------- WorkspaceFilterSet and TagFilterSet


@pytest.mark.parametrize("how", HOW)
def test_the_workspace_search_filter_matches_part_of_the_name_ignoring_case(api, staff, world, how):
    def workspaces_named(query):
        return _filter(WorkspaceFilterSet, Workspace, "/api/v1/workspaces/", how, api, staff, query)

    assert workspaces_named("search=AUD") == ["Audio"]
    assert workspaces_named("search=i") == ["Audio", "Vision"]
    assert workspaces_named("search=zzz") == []


@pytest.mark.parametrize("how", HOW)
def test_the_tag_search_filter_matches_part_of_the_name_ignoring_case(api, staff, world, how):
    def tags_named(query):
        return _filter(TagFilterSet, Tag, "/api/v1/tags/", how, api, staff, query)

    assert tags_named("search=CN") == ["cnn", "cnn"]  # Vision's and Audio's
    assert tags_named("search=s") == ["best", "transformer"]
    assert tags_named("search=zzz") == []


@pytest.mark.parametrize("how", HOW)
def test_the_tag_workspace_filter_selects_that_workspaces_tags(api, staff, world, how):
    def tags_named(query):
        return _filter(TagFilterSet, Tag, "/api/v1/tags/", how, api, staff, query)

    vision, audio = world["workspace"].pk, world["audio"].pk
    assert tags_named(f"workspace={vision}") == ["best", "cnn", "transformer"]
    assert tags_named(f"workspace={audio}") == ["20240531", "cnn"]
    assert tags_named(f"workspace={vision},{audio}") == ["20240531", "best", "cnn", "cnn", "transformer"]
