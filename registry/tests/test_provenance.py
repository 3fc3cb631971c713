"""Git provenance (issue 18): the remote URL, stored without credentials, the dirty flag and the
commit, through the API, the web form and the model page; and the upload form's validate-only step.

Alice owns the workspace, Bob is a member, Carol a viewer (see conftest.py).
"""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from events.models import Event
from registry.models import MLModel
from registry.provenance import strip_credentials, web_url
from registry.tests.factories import upload, upload_form

URL = "/api/v1/models/"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "given, stored",
    [
        ("https://ci:glpat-s3cret@gitlab.example.com/acme/r.git", "https://gitlab.example.com/acme/r.git"),
        ("https://ghp_token0123@github.com/acme/r.git", "https://github.com/acme/r.git"),
        ("http://user:pw@host:8080/r.git?private_token=x#frag", "http://host:8080/r.git"),
        ("ssh://git:hunter2@host.example.com:2222/acme/r.git", "ssh://git@host.example.com:2222/acme/r.git"),
        ("git+ssh://git:pw@host/acme/r.git", "git+ssh://git@host/acme/r.git"),
        ("ssh://:pw@host/r.git", "ssh://host/r.git"),
        ("git://anon:pw@host/r.git", "git://anon@host/r.git"),
        ("git@github.com:acme/r.git", "git@github.com:acme/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
        ("  https://github.com/acme/r.git  ", "https://github.com/acme/r.git"),
        ("", ""),
    ],
)
def test_credentials_are_stripped_from_a_remote_url_by_its_kind(given, stored):
    assert strip_credentials(given) == stored


def test_only_an_http_remote_is_a_web_address():
    assert web_url("https://github.com/acme/r.git") == "https://github.com/acme/r.git"
    assert web_url("git@github.com:acme/r.git") is None
    assert web_url("javascript:alert(1)") is None


class TestTheApi:
    def test_an_upload_stores_the_remote_without_credentials_and_the_dirty_flag(self, api, project, bob):
        form = upload_form(
            project,
            git_active_branch="main",
            git_commit_hash=COMMIT,
            git_remote_url="https://ci:s3cret@gitlab.example.com/acme/r.git",
            git_dirty="true",
        )
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 201, response.content
        model = MLModel.objects.get()
        assert (model.git_remote_url, model.git_dirty, model.git_commit) == (
            "https://gitlab.example.com/acme/r.git",
            True,
            COMMIT,
        )
        assert response.json()["data"]["git"] == {
            "active_branch": "main",
            "commit_hash": COMMIT,
            "remote_url": "https://gitlab.example.com/acme/r.git",
            "dirty": True,
        }
        assert "s3cret" not in response.content.decode()
        assert "s3cret" not in json.dumps(list(Event.objects.filter(model_id=model.pk).values_list("after", flat=True)))

    def test_an_upload_that_does_not_say_stores_dirty_as_unknown(self, api, project, bob):
        response = api.as_user(bob).post(URL, upload_form(project))

        assert response.status_code == 201, response.content
        assert MLModel.objects.get().git_dirty is None
        assert response.json()["data"]["git"]["dirty"] is None

    def test_a_clean_tree_is_stored_as_false(self, api, project, bob):
        response = api.as_user(bob).post(URL, upload_form(project, git_dirty="false"))

        assert response.status_code == 201, response.content
        assert MLModel.objects.get().git_dirty is False

    def test_a_dirty_flag_that_is_no_boolean_is_a_400_and_stores_nothing(self, api, project, bob):
        response = api.as_user(bob).post(URL, upload_form(project, git_dirty="perhaps"))

        assert response.status_code == 400
        assert "git_dirty" in response.json()["errors"]
        assert not MLModel.objects.exists()

    def test_a_patch_strips_credentials_and_can_clear_the_dirty_flag(self, api, project, bob):
        model = upload(bob, project, git_dirty=True)

        response = api.as_user(bob).patch(
            f"{URL}{model.pk}/",
            {"git_remote_url": "https://tok@github.com/acme/r.git", "git_dirty": None},
            format="json",
        )

        assert response.status_code == 200, response.content
        model.refresh_from_db()
        assert (model.git_remote_url, model.git_dirty) == ("https://github.com/acme/r.git", None)

    def test_the_answer_links_the_model_s_web_page(self, api, client, project, bob):
        model = upload(bob, project)

        data = api.as_user(bob).get(f"{URL}{model.pk}/").json()["data"]

        assert data["_links"]["web"] == f"http://testserver/models/{model.pk}/"
        client.force_login(bob)
        page = client.get(data["_links"]["web"])
        assert page.status_code == 200 and page.context["model"] == model


class TestTheModelPage:
    def page(self, client, user, model) -> str:
        client.force_login(user)
        response = client.get(f"/models/{model.pk}/")
        assert response.status_code == 200
        return response.content.decode()

    def test_it_links_an_https_remote_and_shows_the_whole_commit(self, client, project, bob):
        long_remote = "https://git.example.com/" + "deeply/nested/" * 20 + "r.git"
        model = upload(bob, project, git_remote_url=long_remote, git_commit=COMMIT, git_dirty=False)

        html = self.page(client, bob, model)

        assert f'href="{long_remote}"' in html
        assert f'title="{COMMIT}"' in html and f">{COMMIT}<" in html
        assert 'data-copy="#git-commit"' in html and 'data-copy="#git-remote"' in html
        assert "clean" in html and 'id="dirty-warning"' not in html

    def test_an_scp_like_remote_is_shown_but_not_linked(self, client, project, bob):
        model = upload(bob, project, git_remote_url="git@git.example.com:acme/r.git")

        html = self.page(client, bob, model)

        assert "git@git.example.com:acme/r.git" in html
        assert 'href="git@git.example.com' not in html

    def test_a_model_from_a_dirty_tree_carries_a_warning(self, client, project, bob, alice):
        model = upload(bob, project, git_commit=COMMIT, git_dirty=True)

        html = self.page(client, alice, model)

        assert 'id="dirty-warning"' in html and "Trained from uncommitted changes" in html

    def test_an_unknown_dirty_flag_says_not_recorded(self, client, project, bob):
        html = self.page(client, bob, upload(bob, project))

        assert "not recorded" in html and 'id="dirty-warning"' not in html

    def test_a_small_file_s_size_is_shown_once(self, client, project, bob):
        html = self.page(client, bob, upload(bob, project, content=b"x" * 23))

        assert html.replace("\xa0", " ").count("23 bytes") == 1

    def test_a_stored_null_shows_as_null(self, client, project, bob):
        html = self.page(client, bob, upload(bob, project, hyperparameters={"seed": None, "lr": 0.1}))

        assert '<code class="muted" title="Stored as null">null</code>' in html


class TestTheUploadForm:
    def form(self, project, **changes):
        data = {
            "project": project.pk,
            "name": "resnet50",
            "file": SimpleUploadedFile("resnet50.pt", b"\x01" * 100),
            "hyperparameters": '{"lr": 0.01}',
            "git_remote_url": "https://me:pw@github.com/acme/r.git",
            "git_dirty": "true",
        }
        data.update(changes)
        return {key: value for key, value in data.items() if value is not None}

    def test_it_stores_the_git_fields_without_credentials(self, client, project, bob):
        client.force_login(bob)
        response = client.post("/models/upload/", self.form(project))

        assert response.status_code == 302
        model = MLModel.objects.get()
        assert (model.git_remote_url, model.git_dirty) == ("https://github.com/acme/r.git", True)

    def test_validate_only_accepts_good_metadata_without_a_file_and_stores_nothing(
        self, client, project, bob, settings
    ):
        client.force_login(bob)
        response = client.post("/models/upload/", self.form(project, file=None, validate_only="1"))

        assert response.status_code == 200 and response.json() == {"valid": True}
        assert not MLModel.objects.exists()
        media = Path(settings.MEDIA_ROOT)
        assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))

    def test_validate_only_answers_the_form_s_errors(self, client, project, bob):
        client.force_login(bob)
        response = client.post(
            "/models/upload/", self.form(project, file=None, validate_only="1", hyperparameters="[1, 2]")
        )

        assert response.status_code == 400
        assert "Give a JSON object" in response.content.decode()
        assert not MLModel.objects.exists()

    def test_validate_only_runs_the_service_s_rules_too(self, client, project, bob):
        client.force_login(bob)
        # A tag's length is the service's rule (services.tag_names), not the form's.
        response = client.post("/models/upload/", self.form(project, file=None, validate_only="1", tags="x" * 300))

        assert response.status_code == 400
        assert "too long" in response.content.decode()
        assert not MLModel.objects.exists()

    def test_validate_only_refuses_a_project_the_user_cannot_upload_to(self, client, project, carol):
        client.force_login(carol)
        response = client.post("/models/upload/", self.form(project, file=None, validate_only="1"))

        assert response.status_code == 400
        assert "project" in response.context["form"].errors

    def test_without_validate_only_the_file_is_still_required(self, client, project, bob):
        client.force_login(bob)
        response = client.post("/models/upload/", self.form(project, file=None))

        assert response.status_code == 400
        assert "file" in response.context["form"].errors


class TestTheEditForm:
    def test_it_shows_and_changes_the_git_fields_without_credentials(self, client, project, bob):
        model = upload(bob, project, name="resnet", git_remote_url="https://github.com/acme/r.git", git_dirty=True)
        client.force_login(bob)

        page = client.get(f"/models/{model.pk}/edit/").content.decode()
        assert 'value="https://github.com/acme/r.git"' in page
        assert '<option value="true" selected>' in page

        response = client.post(
            f"/models/{model.pk}/edit/",
            {
                "project": project.pk,
                "name": "resnet",
                "git_remote_url": "https://bot:tok@gitlab.example.com/acme/r.git",
                "git_dirty": "false",
            },
        )

        assert response.status_code == 302
        model.refresh_from_db()
        assert (model.git_remote_url, model.git_dirty) == ("https://gitlab.example.com/acme/r.git", False)
