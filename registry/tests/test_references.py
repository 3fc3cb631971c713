"""References (`vision/resnets/resnet@production`): the parser, and GET /api/v1/resolve/ (issue 14)."""

import pytest
from django.core.exceptions import ValidationError

from registry import references, services
from registry.models import Workspace
from registry.references import Reference, parse
from registry.tests.assertions import assert_error
from registry.tests.factories import upload

URL = "/api/v1/resolve/"


# ----------------------------------------------------------------------------- parse


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("vision/resnets/resnet50", Reference("vision", "resnets", "resnet50")),
            ("vision/resnets/resnet50@production", Reference("vision", "resnets", "resnet50", alias="production")),
            ("vision/resnets/resnet50:12", Reference("vision", "resnets", "resnet50", version=12)),
            ("Vision Team/res nets/ResNet 50", Reference("Vision Team", "res nets", "ResNet 50")),
            ("a%2Fb/c%40d/e%3Af%25:3", Reference("a/b", "c@d", "e:f%", version=3)),
            ("ws/p/caf%C3%A9@v-1_2", Reference("ws", "p", "café", alias="v-1_2")),
        ],
    )
    def test_it_reads_every_form(self, text, expected):
        assert parse(text) == expected

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("", "Give a reference"),
            ("resnet50", "three parts separated by '/'"),
            ("vision/resnet50", "this one has 2"),
            ("a/b/c/d", "%2F"),
            ("/resnets/resnet50", "The workspace is empty"),
            ("vision//resnet50", "The project is empty"),
            ("vision/resnets/", "The model name is empty"),
            ("vision/resnets/@production", "The model name is empty"),
            ("vision/resnets/resnet50@", "The alias ''"),
            ("vision/resnets/resnet50@Production", "The alias 'Production' is not an alias name"),
            ("vision/resnets/resnet50@-x", "is not an alias name"),
            ("vision/resnets/resnet50@" + "a" * 65, "at most 64"),
            ("vision/resnets/resnet50:", "The version '' is not a version number"),
            ("vision/resnets/resnet50:0", "The version '0'"),
            ("vision/resnets/resnet50:-1", "The version '-1'"),
            ("vision/resnets/resnet50:1.5", "The version '1.5'"),
            ("vision/resnets/resnet50:99999999999", "is not a version number"),
            ("vision/resnets/resnet50:٣", "is not a version number"),  # a non-ASCII digit
            ("vision/resnets/resnet50@prod:3", "either @<alias> or :<version>"),
            ("vision/resnets/resnet50@a@b", "either @<alias> or :<version>"),
            ("vision/resnets/res%zz", "The model name has a '%'"),
            ("vision/resnets/res%FF", "not UTF-8"),
            ("vision/res%00nets/x", "The project:"),
            ("a/b/" + "c" * 1000, "at most 1000"),
        ],
    )
    def test_a_malformed_reference_says_which_part_is_wrong(self, text, says):
        with pytest.raises(ValidationError) as error:
            parse(text)

        [message] = error.value.message_dict["ref"]
        assert says in message

    def test_it_prints_as_it_is_written(self):
        assert str(parse("vision/resnets/resnet50@production")) == "vision/resnets/resnet50@production"
        assert str(parse("vision/resnets/resnet50:3")) == "vision/resnets/resnet50:3"


# ----------------------------------------------------------------------------- resolve


@pytest.fixture
def versions(bob, project):
    """resnet v1 (public, @production), v2 (public), v3 (Bob's private): Vision/resnets/resnet."""
    v1 = upload(bob, project, "resnet")
    v2 = upload(bob, project, "resnet")
    v3 = upload(bob, project, "resnet", private=True)
    services.alias_set(registered_model=v1.registered_model, name="production", version=1, user=bob)
    return v1, v2, v3


def resolve(client, ref: str):
    return client.get(URL, {"ref": ref})


class TestResolve:
    def test_it_answers_the_aliased_version_as_the_models_endpoint_does(self, api, carol, versions):
        client = api.as_user(carol)

        response = resolve(client, "Vision/resnets/resnet@production")

        assert response.status_code == 200, response.content
        assert response.json() == client.get(f"/api/v1/models/{versions[0].pk}/").json()

    def test_a_version_number_names_that_version(self, api, carol, versions):
        assert resolve(api.as_user(carol), "Vision/resnets/resnet:2").json()["data"]["id"] == versions[1].pk

    def test_no_suffix_is_the_latest_version_the_caller_sees(self, api, bob, carol, versions):
        assert resolve(api.as_user(carol), "Vision/resnets/resnet").json()["data"]["version"] == 2
        assert resolve(api.as_user(bob), "Vision/resnets/resnet").json()["data"]["version"] == 3

    def test_a_moved_alias_resolves_to_its_new_version(self, api, bob, carol, versions):
        services.alias_set(registered_model=versions[0].registered_model, name="production", version=2, user=bob)

        assert resolve(api.as_user(carol), "Vision/resnets/resnet@production").json()["data"]["id"] == versions[1].pk

    def test_names_with_separators_resolve_percent_encoded(self, api, alice, bob, workspace):
        project = services.project_create(user=alice, workspace=workspace, name="team/a")
        model = upload(bob, project, "bert:base@2")

        response = resolve(api.as_user(bob), "Vision/team%2Fa/bert%3Abase%402:1")

        assert response.json()["data"]["id"] == model.pk

    def test_a_resolved_reference_takes_few_queries(self, api, carol, versions, django_assert_num_queries):
        client = api.as_user(carol)

        # the user behind the JWT, the version (with uploader and project), its tags, its alias names
        with django_assert_num_queries(4):
            assert resolve(client, "Vision/resnets/resnet@production").status_code == 200

    @pytest.mark.parametrize(
        ("ref", "says"),
        [
            ("Nope/resnets/resnet", "No workspace 'Nope'"),
            ("Vision/nope/resnet", "No project 'nope'"),
            ("Vision/resnets/nope", "No model 'nope'"),
            ("Vision/resnets/resnet:9", "has no version 9"),
            ("Vision/resnets/resnet:3", "has no version 3"),  # Bob's private version
        ],
    )
    def test_what_the_caller_cannot_see_is_a_404_saying_which_part(self, api, carol, versions, ref, says):
        body = assert_error(resolve(api.as_user(carol), ref), 404)

        assert says in body["message"]

    def test_an_outsider_gets_404_for_everything(self, api, eve, versions):
        for ref in ("Vision/resnets/resnet", "Vision/resnets/resnet@production", "Vision/resnets/resnet:1"):
            assert "No workspace 'Vision'" in assert_error(resolve(api.as_user(eve), ref), 404)["message"]

    def test_a_registered_model_of_only_hidden_versions_is_a_404(self, api, bob, carol, project):
        upload(bob, project, "secret", private=True)

        assert "No model 'secret'" in assert_error(resolve(api.as_user(carol), "Vision/resnets/secret"), 404)["message"]

    def test_an_unknown_alias_is_a_400_naming_it(self, api, carol, versions):
        body = assert_error(resolve(api.as_user(carol), "Vision/resnets/resnet@staging"), 400)

        assert body["errors"]["ref"] == ["resnet has no alias 'staging'."]

    def test_an_alias_on_a_version_the_caller_cannot_see_is_unknown_to_them(self, api, bob, carol, versions):
        services.alias_set(registered_model=versions[0].registered_model, name="mine", version=3, user=bob)

        assert_error(resolve(api.as_user(carol), "Vision/resnets/resnet@mine"), 400)
        assert resolve(api.as_user(bob), "Vision/resnets/resnet@mine").json()["data"]["id"] == versions[2].pk

    @pytest.mark.parametrize("params", [{}, {"ref": ""}, {"ref": "resnet"}, {"ref": "Vision/resnets/resnet@BAD"}])
    def test_a_missing_or_malformed_reference_is_a_400(self, api, carol, versions, params):
        body = assert_error(api.as_user(carol).get(URL, params), 400)

        assert "ref" in body["errors"]

    def test_anonymous_callers_get_401(self, api, versions):
        assert_error(resolve(api.as_user(None), "Vision/resnets/resnet"), 401)

    def test_staff_resolve_anything(self, api, staff, versions):
        assert resolve(api.as_user(staff), "Vision/resnets/resnet").json()["data"]["id"] == versions[2].pk


def test_resolve_finds_a_workspace_by_its_unique_name(alice, bob, workspace):
    other = services.workspace_create(user=alice, name="Audio")
    project = services.project_create(user=alice, workspace=other, name="resnets")
    model = upload(alice, project, "resnet")

    assert references.resolve(parse("Audio/resnets/resnet"), alice) == model
    assert Workspace.objects.filter(name="Audio").count() == 1
