"""/api/v1/registered-models/ and its aliases, through the full request stack (issue 14).

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (conftest.py).
"""

import pytest

from registry import services
from registry.models import Alias, MLModel, RegisteredModel
from registry.tests.assertions import assert_error
from registry.tests.factories import upload, upload_form
from registry.tests.test_keystats import assert_matches_a_recount
from registry.tests.test_services import stored_files

URL = "/api/v1/registered-models/"


def registered(model: MLModel) -> RegisteredModel:
    return RegisteredModel.objects.get(pk=model.registered_model_id)


def detail(model: MLModel) -> str:
    return f"{URL}{model.registered_model_id}/"


def alias_url(model: MLModel, alias: str) -> str:
    return f"{detail(model)}aliases/{alias}/"


def aliases_in_db(model: MLModel) -> dict[str, int]:
    rows = Alias.objects.filter(registered_model_id=model.registered_model_id)
    return dict(rows.values_list("name", "version__version"))


@pytest.fixture
def resnet(bob, project):
    """resnet v1 and v2 (Bob's, public); v2 is the latest."""
    upload(bob, project, "resnet")
    return upload(bob, project, "resnet")


# ----------------------------------------------------------------------------- list


class TestList:
    def test_it_lists_one_row_per_name_with_its_latest_version_count_and_aliases(self, api, project, bob, resnet):
        upload(bob, project, "vgg")
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)

        response = api.as_user(bob).get(URL)

        assert response.status_code == 200
        rows = {row["name"]: row for row in response.json()["data"]}
        assert set(rows) == {"resnet", "vgg"}
        row = rows["resnet"]
        assert row["id"] == resnet.registered_model_id
        assert (row["project_id"], row["workspace_id"]) == (project.pk, project.workspace_id)
        assert (row["latest_version"], row["version_count"]) == (2, 2)
        assert row["aliases"] == {"production": 1}
        assert row["description"] == ""
        assert row["_links"]["self"] == f"http://testserver{detail(resnet)}"
        assert row["_links"]["versions"] == f"http://testserver/api/v1/models/?project={project.pk}&name=resnet"
        assert rows["vgg"]["aliases"] == {}
        assert response.json()["pagination"]["total_items"] == 2

    def test_anonymous_callers_get_401(self, api, resnet):
        assert_error(api.as_user(None).get(URL), 401)

    def test_an_outsider_sees_none_and_gets_404_for_one(self, api, eve, resnet):
        client = api.as_user(eve)

        assert client.get(URL).json()["data"] == []
        assert_error(client.get(detail(resnet)), 404)

    def test_a_viewer_reads_them(self, api, carol, resnet):
        client = api.as_user(carol)

        assert [row["name"] for row in client.get(URL).json()["data"]] == ["resnet"]
        assert client.get(detail(resnet)).json()["data"]["latest_version"] == 2

    def test_one_whose_versions_are_all_other_peoples_private_models_is_invisible(
        self, api, project, alice, bob, carol
    ):
        secret = upload(bob, project, "secret-plan", private=True)

        for user in (alice, carol):  # the owner too: owners do not see other people's private models
            assert api.as_user(user).get(URL).json()["data"] == []
            assert_error(api.as_user(user).get(detail(secret)), 404)
        assert [row["name"] for row in api.as_user(bob).get(URL).json()["data"]] == ["secret-plan"]

    def test_counts_latest_version_and_aliases_are_those_of_the_versions_the_caller_sees(
        self, api, project, bob, carol
    ):
        upload(bob, project, "resnet")
        upload(bob, project, "resnet", private=True)
        services.alias_set(registered_model=registered(MLModel.objects.first()), name="mine", version=2, user=bob)

        seen_by_carol = api.as_user(carol).get(URL).json()["data"][0]
        seen_by_bob = api.as_user(bob).get(URL).json()["data"][0]

        assert (seen_by_carol["latest_version"], seen_by_carol["version_count"], seen_by_carol["aliases"]) == (1, 1, {})
        assert (seen_by_bob["latest_version"], seen_by_bob["version_count"], seen_by_bob["aliases"]) == (
            2,
            2,
            {"mine": 2},
        )

    def test_staff_see_every_registered_model(self, api, project, bob, staff):
        upload(bob, project, "secret-plan", private=True)

        assert [row["name"] for row in api.as_user(staff).get(URL).json()["data"]] == ["secret-plan"]

    def test_it_filters_by_project_workspace_name_and_q(self, api, workspace, project, alice, bob):
        other = services.project_create(user=alice, workspace=workspace, name="other")
        upload(bob, project, "resnet50")
        upload(bob, project, "vgg16")
        upload(bob, other, "resnet18")
        client = api.as_user(bob)

        def names(**params):
            response = client.get(URL, params)
            assert response.status_code == 200, response.content
            return sorted(row["name"] for row in response.json()["data"])

        assert names(project=project.pk) == ["resnet50", "vgg16"]
        assert names(project=f"{project.pk},{other.pk}") == ["resnet18", "resnet50", "vgg16"]
        assert names(workspace=workspace.pk) == ["resnet18", "resnet50", "vgg16"]
        assert names(workspace=workspace.pk + 1) == []
        assert names(q="RESNET") == ["resnet18", "resnet50"]
        assert names(search="vgg") == ["vgg16"]
        assert names(name="resnet50") == ["resnet50"]

    def test_it_orders_by_name_by_default_and_by_any_offered_field(self, api, project, bob):
        for name in ("b", "a", "c", "c"):
            upload(bob, project, name)
        client = api.as_user(bob)

        assert [row["name"] for row in client.get(URL).json()["data"]] == ["a", "b", "c"]
        assert [row["name"] for row in client.get(URL, {"ordering": "-name"}).json()["data"]] == ["c", "b", "a"]
        by_count = client.get(URL, {"ordering": "-version_count,name"}).json()["data"]
        assert [row["name"] for row in by_count] == ["c", "a", "b"]
        assert [row["name"] for row in client.get(URL, {"ordering": "created"}).json()["data"]] == ["b", "a", "c"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"ordering": "file_sha256"}, "ordering"),
            ({"project": "one"}, "project"),
            ({"q": "a\x00b"}, "q"),
            ({"name": "a\x00b"}, "name"),
        ],
    )
    def test_bad_filters_are_a_400_naming_the_filter(self, api, bob, resnet, params, field):
        body = assert_error(api.as_user(bob).get(URL, params), 400)

        assert field in body["errors"]

    def test_there_is_no_create(self, api, bob, project):
        assert_error(api.as_user(bob).post(URL, {"project_id": project.pk, "name": "x"}, format="json"), 405)
        assert not RegisteredModel.objects.exists()

    @pytest.mark.parametrize("rows", [3, 12])
    def test_listing_takes_a_fixed_number_of_queries(self, api, project, bob, carol, rows, django_assert_num_queries):
        for i in range(rows):
            model = upload(bob, project, f"m{i}")
            upload(bob, project, f"m{i}", private=True)
            services.alias_set(registered_model=registered(model), name="production", version=1, user=bob)
            services.alias_set(registered_model=registered(model), name="mine", version=2, user=bob)
        client = api.as_user(carol)

        # the user behind the JWT, the count, the page (with counts and latest versions), the aliases
        with django_assert_num_queries(4):
            response = client.get(URL, {"per_page": 50})

        data = response.json()["data"]
        assert len(data) == rows
        assert all(row["aliases"] == {"production": 1} and row["version_count"] == 1 for row in data)


# ----------------------------------------------------------------------------- description


class TestDescription:
    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_a_member_changes_the_description(self, api, bob, resnet, method):
        card = "# ResNet\n\nTrained on **ImageNet**.\n"

        response = getattr(api.as_user(bob), method)(detail(resnet), {"description": card}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["description"] == card
        assert response.json()["data"]["latest_version"] == 2
        assert registered(resnet).description == card

    def test_the_name_cannot_be_changed_here(self, api, bob, resnet):
        response = api.as_user(bob).patch(detail(resnet), {"name": "other"}, format="json")

        assert response.status_code == 200
        assert registered(resnet).name == "resnet"

    def test_a_viewer_gets_403_and_nothing_changes(self, api, carol, resnet):
        assert_error(api.as_user(carol).patch(detail(resnet), {"description": "x"}, format="json"), 403)
        assert registered(resnet).description == ""

    def test_an_outsider_gets_404_and_nothing_changes(self, api, eve, resnet):
        assert_error(api.as_user(eve).patch(detail(resnet), {"description": "x"}, format="json"), 404)
        assert registered(resnet).description == ""

    @pytest.mark.parametrize("bad", [None, ["x"], {"a": 1}])
    def test_a_bad_description_is_a_400_and_nothing_changes(self, api, bob, resnet, bad):
        body = assert_error(api.as_user(bob).patch(detail(resnet), {"description": bad}, format="json"), 400)

        assert "description" in body["errors"]
        assert registered(resnet).description == ""

    @pytest.mark.parametrize("fmt", ["json", "multipart"])
    def test_a_nul_in_the_description_is_a_400_and_nothing_changes(self, api, bob, resnet, fmt):
        # The JSON parser refuses it first; a form reaches the model's check (PostgreSQL would fail).
        assert_error(api.as_user(bob).patch(detail(resnet), {"description": "a\x00b"}, format=fmt), 400)
        assert registered(resnet).description == ""


# ----------------------------------------------------------------------------- delete


class TestDelete:
    def test_an_owner_deletes_every_version_files_and_aliases_and_the_numbers_go_on(
        self, api, alice, bob, project, resnet, settings, django_capture_on_commit_callbacks
    ):
        hidden = upload(bob, project, "resnet", private=True)  # v3, which Alice cannot see
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        services.registered_model_update(registered_model=registered(resnet), user=bob, description="card")

        with django_capture_on_commit_callbacks(execute=True):
            response = api.as_user(alice).delete(detail(resnet))

        assert response.status_code == 200, response.content
        assert response.json() == {"status": "success"}
        assert not MLModel.objects.filter(name="resnet").exists()
        assert not Alias.objects.exists()
        assert stored_files(settings) == []
        assert_matches_a_recount()  # the key counts lost the deleted versions
        assert hidden.registered_model_id == resnet.registered_model_id
        left = registered(resnet)
        assert (left.last_version, left.description) == (3, "")
        assert_error(api.as_user(alice).get(detail(resnet)), 404)  # no versions: gone from the API
        assert upload(bob, project, "resnet").version == 4

    @pytest.mark.parametrize("who", ["bob", "carol"])
    def test_members_and_viewers_get_403_and_nothing_is_deleted(self, api, request, resnet, who):
        assert_error(api.as_user(request.getfixturevalue(who)).delete(detail(resnet)), 403)
        assert MLModel.objects.filter(name="resnet").count() == 2

    def test_an_outsider_gets_404(self, api, eve, resnet):
        assert_error(api.as_user(eve).delete(detail(resnet)), 404)
        assert MLModel.objects.filter(name="resnet").count() == 2


# ----------------------------------------------------------------------------- version numbers


class TestVersionNumbers:
    def test_deleting_the_newest_version_does_not_free_its_number(self, api, bob, project, resnet):
        assert api.as_user(bob).delete(f"/api/v1/models/{resnet.pk}/").status_code == 200

        response = api.as_user(bob).post("/api/v1/models/", upload_form(project, "resnet"), format="multipart")

        assert response.status_code == 201, response.content
        assert response.json()["data"]["version"] == 3
        assert sorted(MLModel.objects.filter(name="resnet").values_list("version", flat=True)) == [1, 3]
        assert registered(resnet).last_version == 3

    def test_each_upload_belongs_to_the_registered_model_of_its_project_and_name(self, bob, project, resnet):
        first = MLModel.objects.get(name="resnet", version=1)
        vgg = upload(bob, project, "vgg")

        assert first.registered_model_id == resnet.registered_model_id != vgg.registered_model_id
        assert RegisteredModel.objects.filter(project=project).count() == 2

    def test_a_renamed_version_moves_to_the_registered_model_of_its_new_name(self, api, bob, project, resnet):
        upload(bob, project, "vgg")

        response = api.as_user(bob).patch(f"/api/v1/models/{resnet.pk}/", {"name": "vgg"}, format="json")

        assert response.status_code == 200, response.content
        resnet.refresh_from_db()
        vgg = RegisteredModel.objects.get(project=project, name="vgg")
        assert (resnet.registered_model_id, resnet.version) == (vgg.pk, 2)
        assert vgg.last_version == 2
        assert registered(MLModel.objects.get(name="resnet")).last_version == 2  # v2 stays taken there
        assert upload(bob, project, "resnet").version == 3

    def test_a_version_moved_to_another_project_joins_that_projects_registered_model(
        self, api, alice, bob, workspace, resnet
    ):
        other = services.project_create(user=alice, workspace=workspace, name="other")

        response = api.as_user(bob).patch(f"/api/v1/models/{resnet.pk}/", {"project_id": other.pk}, format="json")

        assert response.status_code == 200, response.content
        resnet.refresh_from_db()
        assert resnet.registered_model == RegisteredModel.objects.get(project=other, name="resnet")
        assert resnet.version == 1


# ----------------------------------------------------------------------------- aliases


class TestAliases:
    def test_a_member_sets_an_alias_and_moves_it(self, api, bob, resnet):
        client = api.as_user(bob)

        created = client.put(alias_url(resnet, "production"), {"version": 1}, format="json")
        moved = client.put(alias_url(resnet, "production"), {"version": 2}, format="json")

        assert created.status_code == 200, created.content
        assert created.json()["data"]["previous_version"] is None
        body = moved.json()["data"]
        assert (body["name"], body["version"], body["model_id"], body["previous_version"]) == (
            "production",
            2,
            resnet.pk,
            1,
        )
        assert body["set_by"]["login"] == "bob"
        assert body["_links"]["model"] == f"http://testserver/api/v1/models/{resnet.pk}/"
        assert aliases_in_db(resnet) == {"production": 2}
        alias = Alias.objects.get()
        assert (alias.set_by, alias.version_id) == (bob, resnet.pk)

    def test_an_owner_sets_one_on_a_members_version(self, api, alice, resnet):
        assert api.as_user(alice).put(alias_url(resnet, "staging"), {"version": 2}, format="json").status_code == 200
        assert aliases_in_db(resnet) == {"staging": 2}

    def test_a_version_may_hold_several_aliases(self, api, bob, resnet):
        client = api.as_user(bob)
        for name in ("production", "champion", "best_2024"):
            assert client.put(alias_url(resnet, name), {"version": 2}, format="json").status_code == 200

        listed = client.get(f"{detail(resnet)}aliases/").json()["data"]

        assert [(row["name"], row["version"]) for row in listed] == [
            ("best_2024", 2),
            ("champion", 2),
            ("production", 2),
        ]
        assert client.get(detail(resnet)).json()["data"]["aliases"] == {"best_2024": 2, "champion": 2, "production": 2}

    def test_one_alias_is_read_alone(self, api, bob, carol, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)

        response = api.as_user(carol).get(alias_url(resnet, "production"))

        assert response.status_code == 200
        assert (response.json()["data"]["version"], response.json()["data"]["model_id"]) == (
            1,
            MLModel.objects.get(name="resnet", version=1).pk,
        )

    def test_a_member_removes_an_alias(self, api, bob, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)

        response = api.as_user(bob).delete(alias_url(resnet, "production"))

        assert response.status_code == 200
        assert aliases_in_db(resnet) == {}
        assert MLModel.objects.filter(name="resnet").count() == 2

    def test_a_viewer_gets_403_and_nothing_changes(self, api, bob, carol, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)
        client = api.as_user(carol)

        assert_error(client.put(alias_url(resnet, "production"), {"version": 2}, format="json"), 403)
        assert_error(client.put(alias_url(resnet, "staging"), {"version": 2}, format="json"), 403)
        assert_error(client.delete(alias_url(resnet, "production")), 403)
        assert aliases_in_db(resnet) == {"production": 1}

    def test_an_outsider_gets_404_and_nothing_changes(self, api, bob, eve, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)
        client = api.as_user(eve)

        assert_error(client.get(f"{detail(resnet)}aliases/"), 404)
        assert_error(client.get(alias_url(resnet, "production")), 404)
        assert_error(client.put(alias_url(resnet, "production"), {"version": 2}, format="json"), 404)
        assert_error(client.delete(alias_url(resnet, "production")), 404)
        assert aliases_in_db(resnet) == {"production": 1}

    def test_anonymous_callers_get_401(self, api, resnet):
        assert_error(api.as_user(None).put(alias_url(resnet, "production"), {"version": 1}, format="json"), 401)
        assert not Alias.objects.exists()

    @pytest.mark.parametrize(
        "name", ["Production", "-prod", "_x", "prod.1", "a" * 65, "pr%C3%B6d", "prod%00", "%20prod"]
    )
    def test_a_bad_alias_name_is_a_400_naming_the_alias(self, api, bob, resnet, name):
        body = assert_error(api.as_user(bob).put(alias_url(resnet, name), {"version": 1}, format="json"), 400)

        assert "alias" in body["errors"]
        assert not Alias.objects.exists()

    def test_the_longest_alias_name_is_accepted(self, api, bob, resnet):
        name = "a" + "-_0" * 21
        assert len(name) == 64

        assert api.as_user(bob).put(alias_url(resnet, name), {"version": 1}, format="json").status_code == 200

    @pytest.mark.parametrize("body", [{}, {"version": "two"}, {"version": 0}, {"version": 2**40}, {"version": None}])
    def test_a_bad_version_is_a_400_naming_the_version(self, api, bob, resnet, body):
        errors = assert_error(api.as_user(bob).put(alias_url(resnet, "production"), body, format="json"), 400)

        assert "version" in errors["errors"]
        assert not Alias.objects.exists()

    def test_a_version_that_does_not_exist_is_a_400(self, api, bob, resnet):
        body = assert_error(api.as_user(bob).put(alias_url(resnet, "production"), {"version": 9}, format="json"), 400)

        assert body["errors"]["version"] == ["resnet has no version 9."]

    def test_another_members_private_version_cannot_be_aliased(self, api, alice, bob, project, resnet):
        upload(bob, project, "resnet", private=True)  # v3

        body = assert_error(api.as_user(alice).put(alias_url(resnet, "production"), {"version": 3}, format="json"), 400)

        assert "version" in body["errors"]
        assert not Alias.objects.exists()

    def test_an_unknown_alias_is_a_404(self, api, bob, resnet):
        client = api.as_user(bob)

        assert "production" in assert_error(client.get(alias_url(resnet, "production")), 404)["message"]
        assert_error(client.delete(alias_url(resnet, "production")), 404)


class TestAliasedVersions:
    def test_deleting_an_aliased_version_is_a_409_until_the_alias_moves(self, api, bob, resnet, settings):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        client = api.as_user(bob)

        refused = client.delete(f"/api/v1/models/{resnet.pk}/")

        body = assert_error(refused, 409)
        assert "@production" in body["message"]
        assert MLModel.objects.filter(pk=resnet.pk).exists()
        assert resnet.file.name in stored_files(settings)

        assert client.put(alias_url(resnet, "production"), {"version": 1}, format="json").status_code == 200
        assert client.delete(f"/api/v1/models/{resnet.pk}/").status_code == 200
        assert not MLModel.objects.filter(pk=resnet.pk).exists()

    def test_renaming_or_moving_an_aliased_version_is_a_409(self, api, alice, bob, workspace, resnet):
        other = services.project_create(user=alice, workspace=workspace, name="other")
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        client = api.as_user(bob)

        assert_error(client.patch(f"/api/v1/models/{resnet.pk}/", {"name": "vgg"}, format="json"), 409)
        assert_error(client.patch(f"/api/v1/models/{resnet.pk}/", {"project_id": other.pk}, format="json"), 409)

        resnet.refresh_from_db()
        assert (resnet.name, resnet.project_id, resnet.version) == ("resnet", resnet.project_id, 2)
        assert aliases_in_db(resnet) == {"production": 2}

    def test_other_edits_of_an_aliased_version_are_fine(self, api, bob, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)

        response = api.as_user(bob).patch(f"/api/v1/models/{resnet.pk}/", {"metrics": {"f1": 0.5}}, format="json")

        assert response.status_code == 200
        resnet.refresh_from_db()
        assert resnet.metrics == {"f1": 0.5}

    def test_deleting_the_project_takes_its_registered_models_and_aliases(self, api, alice, bob, project, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)

        assert api.as_user(alice).delete(f"/api/v1/projects/{project.pk}/").status_code == 200

        assert not RegisteredModel.objects.exists()
        assert not Alias.objects.exists()
        assert not MLModel.objects.exists()

    def test_deleting_the_workspace_takes_them_too(self, api, alice, bob, workspace, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)

        assert api.as_user(alice).delete(f"/api/v1/workspaces/{workspace.pk}/").status_code == 200

        assert not RegisteredModel.objects.exists()
        assert not Alias.objects.exists()


# ----------------------------------------------------------------------------- workspace names


def test_workspace_names_are_unique(api, alice, eve, workspace):
    body = assert_error(api.as_user(eve).post("/api/v1/workspaces/", {"name": workspace.name}, format="json"), 400)

    assert "name" in body["errors"]
    assert api.as_user(alice).post("/api/v1/workspaces/", {"name": "vision"}, format="json").status_code == 201


# ----------------------------------------------------------------------------- the web UI's model pages


class TestWebPagesOfAliasedVersions:
    """The web UI's delete and edit call the same services: an alias refuses them there too."""

    def test_deleting_an_aliased_version_says_why_and_keeps_it(self, client, bob, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        client.force_login(bob)

        response = client.post(f"/models/{resnet.pk}/delete/", follow=True)

        assert response.status_code == 200
        assert "@production points at it" in response.content.decode()
        assert MLModel.objects.filter(pk=resnet.pk).exists()

    def test_renaming_an_aliased_version_is_a_form_error(self, client, bob, resnet):
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        client.force_login(bob)
        form = {
            "project": resnet.project_id,
            "name": "vgg",
            "hyperparameters": "{}",
            "parameters": "{}",
            "metrics": "{}",
            "tags": "",
            "dataset_name": "",
            "dataset_description": "",
            "git_branch": "",
            "git_commit": "",
        }

        response = client.post(f"/models/{resnet.pk}/edit/", form)

        assert response.status_code == 200
        assert "@production points at it" in response.content.decode()
        resnet.refresh_from_db()
        assert resnet.name == "resnet"


# ----------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("pk", ["99999999999999999999999", str(2**63)])
def test_an_id_past_any_table_is_a_404(api, bob, resnet, pk):
    client = api.as_user(bob)

    assert_error(client.get(f"{URL}{pk}/"), 404)
    assert_error(client.put(f"{URL}{pk}/aliases/production/", {"version": 1}, format="json"), 404)


@pytest.mark.parametrize(
    "ref", ["ws/\x00/x", "%ff%fe/x/y", "ws/p/" + "%" * 300, "ws/p/x@" + "a" * 500, "ws/p/x:" + "9" * 500]
)
def test_hostile_references_are_400s(api, bob, resnet, ref):
    assert_error(api.as_user(bob).get("/api/v1/resolve/", {"ref": ref}), 400)


# ----------------------------------------------------------------------------- versions in model answers


def _listed(client, monkeypatch, path: str) -> dict[int, dict]:
    """/api/v1/models/ by id, written by PostgreSQL ("database") or by the shape in Python."""
    from registry.api import rendered

    if path == "database" and not rendered.renders(MLModel.objects.all()):
        pytest.skip("only PostgreSQL writes list pages")
    with monkeypatch.context() as patched:
        if path == "python":
            patched.setattr(rendered, "renders", lambda queryset: False)
        response = client.get("/api/v1/models/", {"per_page": 100})
    assert response.status_code == 200, response.content
    return {model["id"]: model for model in response.json()["data"]}


def _resolved(client, model: MLModel, suffix: str) -> dict:
    from urllib.parse import quote

    project = model.project
    ref = "/".join(quote(part, safe="") for part in (project.workspace.name, project.name, model.name)) + suffix
    response = client.get("/api/v1/resolve/", {"ref": ref})
    assert response.status_code == 200, response.content
    return response.json()["data"]


class TestVersionsCarryTheirRegisteredModelAndAliases:
    @pytest.mark.parametrize("path", ["database", "python"])
    def test_the_list_carries_them(self, api, bob, carol, project, resnet, monkeypatch, path):
        other = upload(bob, project, "bert")
        for alias in ("staging", "production"):  # set out of order: the answer sorts them
            services.alias_set(registered_model=registered(resnet), name=alias, version=2, user=bob)

        listed = _listed(api.as_user(carol), monkeypatch, path)

        v1 = MLModel.objects.get(registered_model_id=resnet.registered_model_id, version=1)
        assert listed[resnet.pk]["registered_model_id"] == resnet.registered_model_id
        assert listed[resnet.pk]["aliases"] == ["production", "staging"]
        assert listed[v1.pk]["registered_model_id"] == resnet.registered_model_id
        assert listed[v1.pk]["aliases"] == []
        assert listed[other.pk]["registered_model_id"] == other.registered_model_id != resnet.registered_model_id
        assert listed[other.pk]["aliases"] == []

    def test_the_python_list_reads_a_pages_alias_names_in_one_query(self, api, bob, resnet, monkeypatch):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        with CaptureQueriesContext(connection) as queries:
            _listed(api.as_user(bob), monkeypatch, "python")

        alias_reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "version_id"')]
        assert len(alias_reads) == 1

    def test_the_detail_and_resolve_answers_carry_them(self, api, bob, carol, resnet):
        services.alias_set(registered_model=registered(resnet), name="staging", version=2, user=bob)
        services.alias_set(registered_model=registered(resnet), name="production", version=2, user=bob)
        client = api.as_user(carol)

        one = client.get(f"/api/v1/models/{resnet.pk}/").json()["data"]
        by_alias = _resolved(client, resnet, "@staging")
        by_number = _resolved(client, resnet, ":1")

        assert one["registered_model_id"] == by_alias["registered_model_id"] == resnet.registered_model_id
        assert one["aliases"] == by_alias["aliases"] == ["production", "staging"]
        assert by_number["registered_model_id"] == resnet.registered_model_id and by_number["aliases"] == []

    def test_moving_an_alias_changes_both_versions_answers(self, api, bob, carol, resnet, monkeypatch):
        v1 = MLModel.objects.get(registered_model_id=resnet.registered_model_id, version=1)
        services.alias_set(registered_model=registered(resnet), name="production", version=1, user=bob)
        client = api.as_user(carol)
        assert client.get(f"/api/v1/models/{v1.pk}/").json()["data"]["aliases"] == ["production"]
        assert client.get(f"/api/v1/models/{resnet.pk}/").json()["data"]["aliases"] == []

        moved = api.as_user(bob).put(alias_url(resnet, "production"), {"version": 2}, format="json")

        assert moved.status_code == 200, moved.content
        assert client.get(f"/api/v1/models/{v1.pk}/").json()["data"]["aliases"] == []
        assert client.get(f"/api/v1/models/{resnet.pk}/").json()["data"]["aliases"] == ["production"]
        assert _resolved(client, resnet, "@production")["id"] == resnet.pk
        for path in ("python", *(["database"] if connection_renders() else [])):
            listed = _listed(client, monkeypatch, path)
            assert (listed[v1.pk]["aliases"], listed[resnet.pk]["aliases"]) == ([], ["production"])


def connection_renders() -> bool:
    from registry.api import rendered

    return rendered.renders(MLModel.objects.all())
