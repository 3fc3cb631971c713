"""Web UI: one model's page, download, tags, edit and delete; the comparison; the upload form.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py).
"""

import hashlib
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry import services
from registry.models import MLModel, Tag
from registry.tests.factories import upload
from registry.web.views.models import forge_links


@pytest.fixture
def model(project, bob):
    return upload(
        bob,
        project,
        name="resnet50",
        content=b"\x00weights\xff" * 100,
        hyperparameters={"lr": 0.01, "optimizer": "adam"},
        parameters={"layers": 50},
        metrics={"accuracy": 0.93, "loss": 0.21},
        tags=["cnn"],
        dataset_name="imagenet",
        git_branch="main",
        git_commit="0123456789abcdef0123456789abcdef01234567",
    )


def as_user(client, user):
    client.force_login(user)
    return client


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


class TestModelPage:
    def url(self, model):
        return f"/models/{model.pk}/"

    def test_it_sends_anonymous_visitors_to_sign_in(self, client, model):
        response = client.get(self.url(model))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_workspace_members_see_everything_about_it(self, client, request, model, who):
        response = as_user(client, request.getfixturevalue(who)).get(self.url(model))
        page = response.content.decode()
        assert response.status_code == 200
        for text in (
            "resnet50",
            "optimizer",
            "adam",
            "layers",
            "accuracy",
            "0.93",
            "imagenet",
            "cnn",
            model.file_sha256,
        ):
            assert text in page
        assert f'href="/models/{model.pk}/download/"' in page

    def test_an_outsider_gets_404(self, client, eve, model):
        assert as_user(client, eve).get(self.url(model)).status_code == 404

    def test_a_nested_config_is_listed_by_its_key_paths(self, client, alice, bob, project):
        nested = upload(
            bob, project, name="lm", hyperparameters={"optimizer": {"lr": 0.001, "name": "adamw"}, "a.b": 1}
        )
        response = as_user(client, alice).get(self.url(nested))
        hyperparameters = dict(response.context["sections"])["Hyperparameters"]
        assert [(key, shown) for key, shown, _, _ in hyperparameters] == [
            ("`a.b`", "1"),
            ("optimizer.lr", "0.001"),
            ("optimizer.name", "adamw"),
        ]

    def test_a_private_model_is_404_for_everyone_but_its_uploader(self, client, alice, bob, model):
        services.model_update(model=model, user=bob, private=True)
        assert as_user(client, alice).get(self.url(model)).status_code == 404
        assert as_user(client, bob).get(self.url(model)).status_code == 200

    def test_it_links_the_commit_on_github(self, client, alice, model):
        page = as_user(client, alice).get(self.url(model)).content.decode()
        assert f'href="https://github.com/acme/resnets/commit/{model.git_commit}"' in page
        assert 'href="https://github.com/acme/resnets/tree/main"' in page

    def test_it_lists_the_other_versions(self, client, alice, bob, project, model):
        newer = upload(bob, project, name="resnet50")
        upload(bob, project, name="resnet50", private=True)  # not Alice's to see
        response = as_user(client, alice).get(self.url(model))
        assert [m.version for m in response.context["versions"]] == [newer.version, model.version]

    @pytest.mark.parametrize("who, editable", [("alice", True), ("bob", True), ("carol", False)])
    def test_edit_and_delete_show_for_those_allowed(self, client, request, model, who, editable):
        page = as_user(client, request.getfixturevalue(who)).get(self.url(model)).content.decode()
        assert (f'href="/models/{model.pk}/edit/"' in page) is editable
        assert (f'action="/models/{model.pk}/tags/"' in page) is editable


@pytest.mark.parametrize(
    "git_url, commit_url",
    [
        ("https://github.com/acme/nets", "https://github.com/acme/nets/commit/abc1234"),
        ("https://github.com/acme/nets.git", "https://github.com/acme/nets/commit/abc1234"),
        ("git@github.com:acme/nets.git", "https://github.com/acme/nets/commit/abc1234"),
        ("https://gitlab.com/group/sub/nets", "https://gitlab.com/group/sub/nets/-/commit/abc1234"),
        ("https://bitbucket.org/acme/nets/", "https://bitbucket.org/acme/nets/commits/abc1234"),
        ("https://git.example.com/acme/nets", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_commit_links_are_made_for_known_forges_only(git_url, commit_url):
    assert forge_links(git_url, "main", "abc1234").get("commit") == commit_url


def test_a_commit_that_is_not_hex_gets_no_link():
    assert "commit" not in forge_links("https://github.com/acme/nets", "", "../../evil")


class TestDownload:
    def test_it_streams_the_file_with_its_name(self, client, carol, model):
        response = as_user(client, carol).get(f"/models/{model.pk}/download/")
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and hashlib.sha256(body).hexdigest() == model.file_sha256
        assert response["Content-Disposition"] == 'attachment; filename="resnet50.pt"'

    def test_an_outsider_gets_404(self, client, eve, model):
        assert as_user(client, eve).get(f"/models/{model.pk}/download/").status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, model):
        assert client.get(f"/models/{model.pk}/download/").status_code == 302


class TestTags:
    def test_the_uploader_adds_tags(self, client, bob, model):
        response = as_user(client, bob).post(f"/models/{model.pk}/tags/", {"name": "prod, best"})
        assert response.status_code == 302
        assert sorted(model.tags.values_list("name", flat=True)) == ["best", "cnn", "prod"]

    def test_an_owner_removes_a_tag(self, client, alice, model):
        tag = Tag.objects.get(name="cnn")
        assert as_user(client, alice).post(f"/models/{model.pk}/tags/{tag.pk}/remove/").status_code == 302
        assert not model.tags.exists()

    def test_a_viewer_cannot(self, client, carol, model):
        assert as_user(client, carol).post(f"/models/{model.pk}/tags/", {"name": "x"}).status_code == 403
        tag = Tag.objects.get(name="cnn")
        assert as_user(client, carol).post(f"/models/{model.pk}/tags/{tag.pk}/remove/").status_code == 403
        assert list(model.tags.values_list("name", flat=True)) == ["cnn"]

    def test_an_outsider_gets_404(self, client, eve, model):
        assert as_user(client, eve).post(f"/models/{model.pk}/tags/", {"name": "x"}).status_code == 404


class TestEdit:
    def form(self, model, **changes):
        data = {
            "project": model.project_id,
            "name": model.name,
            "hyperparameters": json.dumps(model.hyperparameters),
            "parameters": json.dumps(model.parameters),
            "metrics": json.dumps(model.metrics),
            "tags": "cnn",
            "dataset_name": model.dataset_name,
            "dataset_description": "",
            "git_branch": model.git_branch,
            "git_commit": model.git_commit,
        }
        data.update(changes)
        return data

    def test_the_uploader_edits_it_through_the_service(self, client, bob, model):
        response = as_user(client, bob).post(
            f"/models/{model.pk}/edit/", self.form(model, metrics='{"accuracy": 0.95}', tags="cnn, best", private="on")
        )
        assert response.status_code == 302
        model.refresh_from_db()
        assert model.metrics == {"accuracy": 0.95} and model.private
        assert sorted(model.tags.values_list("name", flat=True)) == ["best", "cnn"]

    def test_a_renamed_model_takes_the_next_version_of_its_new_name(self, client, bob, project, model):
        upload(bob, project, name="vit")
        as_user(client, bob).post(f"/models/{model.pk}/edit/", self.form(model, name="vit"))
        model.refresh_from_db()
        assert (model.name, model.version) == ("vit", 2)

    def test_bad_json_is_an_error_on_its_field(self, client, bob, model):
        response = as_user(client, bob).post(f"/models/{model.pk}/edit/", self.form(model, metrics="[1, 2]"))
        assert response.status_code == 200 and "Give a JSON object" in response.content.decode()

    def test_the_form_shows_the_current_values(self, client, bob, model):
        page = as_user(client, bob).get(f"/models/{model.pk}/edit/").content.decode()
        assert "&quot;optimizer&quot;: &quot;adam&quot;" in page and 'value="cnn"' in page

    def test_a_viewer_gets_403_and_an_outsider_404(self, client, carol, eve, model):
        assert as_user(client, carol).get(f"/models/{model.pk}/edit/").status_code == 403
        assert as_user(client, carol).post(f"/models/{model.pk}/edit/", self.form(model)).status_code == 403
        assert as_user(client, eve).get(f"/models/{model.pk}/edit/").status_code == 404


class TestDelete:
    def test_it_asks_first_then_deletes_the_model_and_its_file(self, client, bob, model, settings, project):
        as_user(client, bob)
        assert client.get(f"/models/{model.pk}/delete/").status_code == 200
        assert len(stored_files(settings)) == 1
        response = client.post(f"/models/{model.pk}/delete/")
        assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
        assert not MLModel.objects.filter(pk=model.pk).exists()

    @pytest.mark.django_db(transaction=True)
    def test_the_file_goes_once_the_row_is_gone(self, client, bob, model, settings):
        as_user(client, bob).post(f"/models/{model.pk}/delete/")
        assert stored_files(settings) == []

    def test_a_viewer_gets_403_and_an_outsider_404(self, client, carol, eve, model):
        assert as_user(client, carol).post(f"/models/{model.pk}/delete/").status_code == 403
        assert as_user(client, eve).post(f"/models/{model.pk}/delete/").status_code == 404
        assert MLModel.objects.filter(pk=model.pk).exists()


class TestUpload:
    def form(self, project, content=b"model bytes", **changes):
        data = {
            "project": project.pk,
            "name": "resnet50",
            "file": SimpleUploadedFile("resnet50.pt", content),
            "hyperparameters": '{"lr": 0.01}',
            "parameters": "",
            "metrics": '{"accuracy": 0.9}',
            "tags": "cnn, baseline",
            "git_commit": "abc123",
        }
        data.update(changes)
        return data

    def test_a_member_uploads_and_lands_on_the_model(self, client, bob, project):
        content = b"\x01" * 5000
        response = as_user(client, bob).post("/models/upload/", self.form(project, content=content))
        model = MLModel.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/models/{model.pk}/"
        assert model.file_sha256 == hashlib.sha256(content).hexdigest() and model.file_size == 5000
        assert model.uploader == bob and model.hyperparameters == {"lr": 0.01} and model.parameters == {}
        assert sorted(model.tags.values_list("name", flat=True)) == ["baseline", "cnn"]
        assert model.file_name == "resnet50.pt"

    def test_the_form_offers_only_projects_the_user_may_upload_to(self, client, alice, bob, carol, project):
        elsewhere = services.project_create(
            user=alice, workspace=services.workspace_create(user=alice, name="X"), name="x"
        )
        offered = as_user(client, bob).get("/models/upload/").context["form"].fields["project"].queryset
        assert list(offered) == [project]
        assert elsewhere not in offered
        assert list(as_user(client, carol).get("/models/upload/").context["form"].fields["project"].queryset) == []

    @pytest.mark.parametrize("who", ["carol", "eve"])
    def test_viewers_and_outsiders_cannot_upload(self, client, request, project, who):
        response = as_user(client, request.getfixturevalue(who)).post("/models/upload/", self.form(project))
        assert response.status_code == 403 and not MLModel.objects.exists()  # refused at the file part

    def test_bad_json_is_an_error_and_nothing_is_stored(self, client, bob, project, settings):
        response = as_user(client, bob).post("/models/upload/", self.form(project, metrics="{oops"))
        assert response.status_code == 400 and "This is not valid JSON" in response.content.decode()
        assert not MLModel.objects.exists() and stored_files(settings) == []

    def test_a_tag_with_a_bad_name_is_an_error_on_the_tags_field(self, client, bob, project):
        response = as_user(client, bob).post("/models/upload/", self.form(project, tags="x" * 101))
        assert response.status_code == 400 and "is too long" in response.content.decode()

    def test_the_project_in_the_url_is_preselected(self, client, bob, project):
        response = as_user(client, bob).get(f"/models/upload/?project={project.pk}")
        assert response.context["form"].initial["project"] == str(project.pk)

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, project):
        assert client.get("/models/upload/").status_code == 302
        assert client.post("/models/upload/", self.form(project)).status_code == 302
        assert not MLModel.objects.exists()

    def test_the_upload_needs_a_csrf_token(self, bob, project):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.force_login(bob)
        assert strict.post("/models/upload/", self.form(project)).status_code == 403
