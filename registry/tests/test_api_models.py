"""`/api/v1/models/`: upload, list, get, update, delete and tag a model through the whole stack.

Uploads are the multipart body the published 0.1.6 client sends; files land in the per-test
storage folder (`settings.MEDIA_ROOT`), which the tests list to prove what was and was not kept.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_user
from registry import services
from registry.models import MLModel, Role, Tag
from registry.tests.assertions import model_list_queries
from registry.tests.factories import upload, upload_form

URL = "/api/v1/models/"
STORED_KEY = re.compile(r"^blobs/sha256/([0-9a-f]{2})/\1[0-9a-f]{62}$")


def detail(model) -> str:
    return f"{URL}{model.pk}/"


def stored_files(settings) -> list[str]:
    """Every file in the test's storage folder, as paths relative to it."""
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def spooled_files(settings) -> list[str]:
    return sorted(p.name for p in Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())


@pytest.fixture(autouse=True)
def _own_upload_temp_dir(settings, tmp_path):
    """Spool uploads inside the test's folder so the tests can see that nothing is left there."""
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = temp_dir


@pytest.fixture
def dave(workspace, alice):
    """A second member of the workspace, so Bob's models have a peer who did not upload them."""
    user = make_user("dave")
    services.membership_set(workspace=workspace, actor=alice, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def other_project(eve):
    """A project in Eve's workspace, where Alice, Bob and Carol are not members."""
    workspace = services.workspace_create(user=eve, name="Speech")
    return services.project_create(user=eve, workspace=workspace, name="whisper")


def errors(response) -> dict:
    body = response.json()
    assert "data" not in body
    return body["errors"]


# ----------------------------------------------------------------------------- upload


class TestUpload:
    def test_it_answers_201_with_the_model_in_the_wire_format(self, api, project, bob):
        content = b"\x00weights\xff" * 100
        form = upload_form(
            project,
            content=content,
            hyperparameters={"lr": 0.01, "optimizer": "adam"},
            parameters={"layers": 50},
            metrics={"accuracy": 0.93},
            tags="cnn,imagenet",
            dataset_name="imagenet",
            dataset_description="1k classes",
            git_active_branch="main",
            git_commit_hash="a" * 40,
        )
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 201, response.content
        data = response.json()["data"]
        model = MLModel.objects.get()
        assert set(data) == {
            "id",
            "user",
            "project_id",
            "workspace_id",
            "registered_model_id",
            "name",
            "version",
            "visibility",
            "dataset",
            "hyperparameters",
            "parameters",
            "metrics",
            "tags",
            "aliases",
            "git",
            "file",
            "digest",
            "format",
            "created",
            "updated",
            "_links",
        }
        assert data["format"] is None  # its file is read after the upload (docs/formats.md)
        assert data["id"] == model.pk
        assert data["user"] == {"id": bob.pk, "login": "bob", "full_name": "Bob"}
        assert data["project_id"] == project.pk
        assert data["workspace_id"] == project.workspace_id
        assert data["registered_model_id"] == model.registered_model_id is not None
        assert data["aliases"] == []
        assert data["name"] == "resnet"
        assert data["version"] == 1
        assert data["visibility"] == "public"
        assert data["dataset"] == {"name": "imagenet", "description": "1k classes"}
        assert data["hyperparameters"] == {"lr": 0.01, "optimizer": "adam"}
        assert data["parameters"] == {"layers": 50}
        assert data["metrics"] == {"accuracy": 0.93}
        assert sorted(tag["name"] for tag in data["tags"]) == ["cnn", "imagenet"]
        assert all(set(tag) == {"id", "name", "description"} for tag in data["tags"])
        assert data["git"] == {"active_branch": "main", "commit_hash": "a" * 40, "remote_url": "", "dirty": None}
        assert data["file"] == {
            "name": "resnet.pt",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        assert data["_links"] == {
            "self": f"http://testserver/api/v1/models/{model.pk}/",
            "user": f"http://testserver/api/v1/users/{bob.pk}/",
            "project": f"http://testserver/api/v1/projects/{project.pk}/",
            "download": f"http://testserver/api/v1/models/{model.pk}/download/",
            "files": f"http://testserver/api/v1/models/{model.pk}/files/",
            "web": f"http://testserver/models/{model.pk}/",
        }

    def test_it_stores_the_uploaded_bytes_under_a_generated_key(self, api, project, bob, settings):
        response = api.as_user(bob).post(URL, upload_form(project, content=b"the weights"))

        assert response.status_code == 201, response.content
        model = MLModel.objects.get()
        assert STORED_KEY.match(model.file.name)
        assert stored_files(settings) == [model.file.name]
        assert (Path(settings.MEDIA_ROOT) / model.file.name).read_bytes() == b"the weights"

    def test_it_keeps_a_path_like_file_name_only_as_metadata(self, api, project, bob, settings, tmp_path):
        form = upload_form(project, file=SimpleUploadedFile("../../etc/passwd", b"root:x:0:0"))
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 201, response.content
        model = MLModel.objects.get()
        assert "/" not in response.json()["data"]["file"]["name"]
        assert response.json()["data"]["file"]["name"].endswith("passwd")
        assert STORED_KEY.match(model.file.name)
        assert stored_files(settings) == [model.file.name]
        assert not (tmp_path / "etc").exists()

    def test_it_ignores_the_user_id_the_published_client_sends(self, api, project, bob, alice):
        response = api.as_user(bob).post(URL, upload_form(project, user_id=str(alice.pk)))

        assert response.status_code == 201, response.content
        assert response.json()["data"]["user"]["id"] == bob.pk
        assert MLModel.objects.get().uploader == bob

    @pytest.mark.parametrize(("sent", "visibility"), [("False", "public"), ("True", "private")])
    def test_it_reads_private_as_the_text_the_published_client_sends(self, api, project, bob, sent, visibility):
        response = api.as_user(bob).post(URL, upload_form(project, private=sent))

        assert response.status_code == 201, response.content
        assert response.json()["data"]["visibility"] == visibility
        assert MLModel.objects.get().private is (sent == "True")

    def test_it_accepts_an_upload_without_the_optional_fields(self, api, project, bob):
        form = {"name": "bare", "project_id": str(project.pk), "file": SimpleUploadedFile("bare.bin", b"x")}
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 201, response.content
        data = response.json()["data"]
        assert (data["hyperparameters"], data["parameters"], data["metrics"], data["tags"]) == ({}, {}, {}, [])
        assert data["visibility"] == "public"

    def test_it_counts_versions_per_project_and_name(self, api, project, bob):
        client = api.as_user(bob)
        versions = [client.post(URL, upload_form(project, name="resnet")).json()["data"]["version"] for _ in range(3)]
        other = client.post(URL, upload_form(project, name="vgg")).json()["data"]["version"]

        assert versions == [1, 2, 3]
        assert other == 1

    def test_it_starts_a_new_series_for_the_same_name_in_another_project(self, api, project, alice, bob, workspace):
        second = services.project_create(user=alice, workspace=workspace, name="detectors")
        client = api.as_user(bob)
        client.post(URL, upload_form(project, name="resnet"))

        response = client.post(URL, upload_form(second, name="resnet"))

        assert response.json()["data"]["version"] == 1

    def test_it_reuses_existing_tags_and_ignores_blank_and_repeated_names(self, api, project, bob):
        existing = Tag.objects.create(workspace=project.workspace, name="cnn")
        response = api.as_user(bob).post(URL, upload_form(project, tags=" cnn, ,best,cnn "))

        assert response.status_code == 201, response.content
        assert sorted(t["name"] for t in response.json()["data"]["tags"]) == ["best", "cnn"]
        assert Tag.objects.count() == 2
        assert existing.models.count() == 1

    @pytest.mark.parametrize("field", ["hyperparameters", "parameters", "metrics"])
    @pytest.mark.parametrize(
        ("sent", "message"),
        [
            ("[1, 2]", "JSON object"),
            ("42", "JSON object"),
            ('"text"', "JSON object"),
            ("null", "JSON object"),
            ("{not json", "valid JSON"),
            ('{"loss": NaN}', "valid JSON"),
            ('{"loss": Infinity}', "valid JSON"),
        ],
    )
    def test_it_refuses_a_json_field_that_is_not_an_object_and_keeps_nothing(
        self, api, project, bob, settings, field, sent, message
    ):
        form = upload_form(project)
        form[field] = sent  # as sent, not JSON-encoded again by the factory
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 400, response.content
        assert list(errors(response)) == [field]
        assert message in errors(response)[field][0]
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []
        assert spooled_files(settings) == []

    def test_it_names_every_bad_field_at_once(self, api, project, bob):
        form = {**upload_form(project, name=""), "hyperparameters": "[]", "metrics": "1"}
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 400
        assert set(errors(response)) == {"hyperparameters", "metrics", "name"}

    def test_it_refuses_an_upload_without_a_file(self, api, project, bob, settings):
        form = upload_form(project)
        del form["file"]
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 400
        assert "file" in errors(response)
        assert not MLModel.objects.exists()

    def test_it_keeps_the_model_when_the_sent_sha256_matches(self, api, project, bob, settings):
        content = b"checked weights"
        digest = hashlib.sha256(content).hexdigest()
        response = api.as_user(bob).post(URL, upload_form(project, content=content, sha256=digest.upper()))

        assert response.status_code == 201, response.content
        assert response.json()["data"]["file"]["sha256"] == digest
        assert len(stored_files(settings)) == 1

    def test_it_refuses_a_file_whose_sha256_differs_and_keeps_nothing(self, api, project, bob, settings):
        form = upload_form(project, content=b"corrupted", sha256=hashlib.sha256(b"original").hexdigest())
        response = api.as_user(bob).post(URL, form)

        assert response.status_code == 400
        assert list(errors(response)) == ["sha256"]
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []
        assert spooled_files(settings) == []

    def test_it_refuses_a_sha256_that_is_not_hex(self, api, project, bob, settings):
        response = api.as_user(bob).post(URL, upload_form(project, sha256="not-a-digest"))

        assert response.status_code == 400
        assert list(errors(response)) == ["sha256"]
        assert stored_files(settings) == []

    def test_the_owner_may_upload(self, api, project, alice, settings):
        response = api.as_user(alice).post(URL, upload_form(project))

        assert response.status_code == 201, response.content
        model = MLModel.objects.get(pk=response.json()["data"]["id"])
        assert (model.uploader, model.project, model.name) == (alice, project, "resnet")
        assert stored_files(settings) == [model.file.name]

    def test_staff_may_upload_anywhere(self, api, project, staff):
        response = api.as_user(staff).post(URL, upload_form(project))

        assert response.status_code == 201, response.content
        assert response.json()["data"]["user"]["id"] == staff.pk

    def test_a_viewer_may_not_upload(self, api, project, carol, settings):
        response = api.as_user(carol).post(URL, upload_form(project))

        assert response.status_code == 403
        assert "data" not in response.json()
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_an_outsider_is_told_the_project_does_not_exist(self, api, project, eve, settings):
        services.workspace_create(user=eve, name="Eve's own")  # she may upload there, not here
        response = api.as_user(eve).post(URL, upload_form(project))

        assert response.status_code == 400
        assert list(errors(response)) == ["project_id"]
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_an_unknown_project_is_a_bad_request(self, api, project, bob, settings):
        response = api.as_user(bob).post(URL, upload_form(project, project_id="999999"))

        assert response.status_code == 400
        assert list(errors(response)) == ["project_id"]
        assert stored_files(settings) == []

    def test_anonymous_may_not_upload(self, api, project, settings):
        response = api.as_user(None).post(URL, upload_form(project))

        assert response.status_code == 401
        assert "data" not in response.json()
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_it_refuses_a_file_over_the_limit_and_keeps_nothing(self, api, project, bob, settings):
        settings.MAISIE_MAX_UPLOAD_BYTES = 100
        response = api.as_user(bob).post(URL, upload_form(project, content=b"x" * 101))

        assert response.status_code == 413
        assert "data" not in response.json()
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []
        assert spooled_files(settings) == []

    def test_it_refuses_a_body_announced_over_the_limit_before_reading_it(self, api, project, bob, settings):
        settings.MAISIE_MAX_UPLOAD_BYTES = 100
        response = api.as_user(bob).post(URL, upload_form(project, content=b"x" * (2 * 1024 * 1024)))

        assert response.status_code == 413
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []
        assert spooled_files(settings) == []

    def test_it_accepts_a_file_of_exactly_the_limit(self, api, project, bob, settings):
        settings.MAISIE_MAX_UPLOAD_BYTES = 100
        response = api.as_user(bob).post(URL, upload_form(project, content=b"x" * 100))

        assert response.status_code == 201, response.content
        assert response.json()["data"]["file"]["size"] == 100


# ----------------------------------------------------------------------------- list and get


class TestList:
    def test_it_lists_the_models_of_the_callers_workspaces(self, api, project, alice, bob, carol, other_project, eve):
        mine = upload(bob, project, name="resnet")
        upload(eve, other_project, name="whisper")

        for user in (alice, bob, carol):
            response = api.as_user(user).get(URL)
            assert response.status_code == 200
            assert [m["id"] for m in response.json()["data"]] == [mine.pk]

    def test_it_hides_other_workspaces_models_from_an_outsider(self, api, project, bob, eve):
        upload(bob, project)

        response = api.as_user(eve).get(URL)

        assert response.status_code == 200
        assert response.json()["data"] == []
        assert response.json()["pagination"]["total_items"] == 0

    def test_it_shows_a_private_model_only_to_its_uploader_and_staff(self, api, project, alice, bob, carol, staff):
        private = upload(bob, project, name="secret", private=True)
        public = upload(alice, project, name="open")

        def ids(user):
            return {m["id"] for m in api.as_user(user).get(URL).json()["data"]}

        assert ids(bob) == {private.pk, public.pk}
        assert ids(staff) == {private.pk, public.pk}
        assert ids(alice) == {public.pk}
        assert ids(carol) == {public.pk}

    def test_staff_see_every_workspaces_models(self, api, project, bob, other_project, eve, staff):
        upload(bob, project)
        upload(eve, other_project)

        assert api.as_user(staff).get(URL).json()["pagination"]["total_items"] == 2

    def test_anonymous_may_not_list(self, api, project, bob):
        upload(bob, project)

        response = api.as_user(None).get(URL)

        assert response.status_code == 401
        assert "data" not in response.json()

    def test_it_lists_the_newest_first(self, api, project, bob):
        first, second, third = (upload(bob, project, name=f"m{i}") for i in range(3))

        data = api.as_user(bob).get(URL).json()["data"]

        assert [m["id"] for m in data] == [third.pk, second.pk, first.pk]

    def test_it_pages_the_list(self, api, project, bob):
        created = [upload(bob, project, name=f"m{i}") for i in range(5)]

        response = api.as_user(bob).get(URL, {"page": 2, "per_page": 2})

        assert response.status_code == 200
        body = response.json()
        assert [m["id"] for m in body["data"]] == [created[2].pk, created[1].pk]
        assert body["pagination"] == {
            "has_next": True,
            "has_prev": True,
            "page": 2,
            "per_page": 2,
            "total_pages": 3,
            "total_items": 5,
        }

    def test_it_pages_by_twenty_by_default(self, api, project, bob):
        for i in range(21):
            upload(bob, project, name=f"m{i}")

        body = api.as_user(bob).get(URL).json()

        assert len(body["data"]) == 20
        assert body["pagination"]["per_page"] == 20
        assert body["pagination"]["total_pages"] == 2

    def test_it_caps_per_page_at_a_thousand(self, api, project, bob):
        upload(bob, project)

        body = api.as_user(bob).get(URL, {"per_page": 5000}).json()

        assert body["pagination"]["per_page"] == 1000

    def test_a_page_past_the_end_is_not_found(self, api, project, bob):
        upload(bob, project)

        response = api.as_user(bob).get(URL, {"page": 5})

        assert response.status_code == 404
        assert "data" not in response.json()

    @pytest.mark.parametrize("count", [2, 10])
    def test_it_lists_a_page_in_a_fixed_number_of_queries(
        self, api, project, alice, bob, count, django_assert_num_queries
    ):
        tags = ["cnn", "best"]
        for i in range(count):
            upload(alice if i % 2 else bob, project, name=f"m{i}", tags=tags[: i % 3])
        client = api.as_user(bob)

        with django_assert_num_queries(model_list_queries()):
            response = client.get(URL)

        assert len(response.json()["data"]) == count


class TestRetrieve:
    def test_a_member_gets_a_model_by_id(self, api, project, alice, bob, carol):
        model = upload(bob, project, hyperparameters={"lr": 0.1}, tags=["cnn"])

        for user in (alice, bob, carol):
            response = api.as_user(user).get(detail(model))
            assert response.status_code == 200
            data = response.json()["data"]
            assert data["id"] == model.pk
            assert data["hyperparameters"] == {"lr": 0.1}
            assert [t["name"] for t in data["tags"]] == ["cnn"]

    def test_an_outsider_gets_404(self, api, project, bob, eve):
        model = upload(bob, project)

        response = api.as_user(eve).get(detail(model))

        assert response.status_code == 404
        assert "data" not in response.json()

    def test_another_members_private_model_is_404_even_for_the_owner(self, api, project, alice, bob, carol):
        model = upload(bob, project, private=True)

        assert api.as_user(alice).get(detail(model)).status_code == 404
        assert api.as_user(carol).get(detail(model)).status_code == 404
        assert api.as_user(bob).get(detail(model)).json()["data"]["visibility"] == "private"

    def test_staff_get_any_model(self, api, project, bob, staff):
        model = upload(bob, project, private=True)

        assert api.as_user(staff).get(detail(model)).status_code == 200

    def test_anonymous_gets_401(self, api, project, bob):
        model = upload(bob, project)

        assert api.as_user(None).get(detail(model)).status_code == 401

    def test_an_unknown_id_is_404(self, api, project, bob):
        assert api.as_user(bob).get(f"{URL}999999/").status_code == 404

    @pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
    def test_the_shape_is_what_the_declared_fields_render(self, api, project, bob, rf, zone):
        """The serializer builds its dictionary by hand for speed; DRF's field-by-field rendering
        of the same declared fields is the reference it must keep matching, in any time zone."""
        from django.utils import timezone
        from rest_framework import serializers
        from rest_framework.request import Request

        from registry.api.serializers import MLModelSerializer

        upload(
            bob,
            project,
            tags=["cnn", "best"],
            hyperparameters={"lr": 0.1, "opt": {"b": [1, 2]}},
            metrics={"acc": 0.9},
            dataset_name="imagenet",
            git_branch="main",
            git_commit="abc1234",
            private=True,
        )
        model = MLModel.objects.with_related().get()
        request = Request(rf.get("/api/v1/models/", HTTP_HOST="testserver:8443"))
        with timezone.override(zone):
            serializer = MLModelSerializer(model, context={"request": request})
            reference = serializers.ModelSerializer.to_representation(serializer, model)
            assert serializer.data == reference

        assert serializer.data["created"].endswith("Z" if zone == "UTC" else "+05:30")
        assert list(serializer.data) == list(reference)
        assert serializer.data["_links"]["download"] == f"http://testserver:8443/api/v1/models/{model.pk}/download/"
        assert api.as_user(bob).get(detail(model)).json()["data"]["tags"] == reference["tags"]


# ----------------------------------------------------------------------------- update


class TestUpdate:
    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_it_changes_only_the_fields_sent(self, api, project, bob, method):
        model = upload(
            bob, project, metrics={"accuracy": 0.5}, hyperparameters={"lr": 0.1}, dataset_name="old", git_branch="dev"
        )

        response = getattr(api.as_user(bob), method)(detail(model), {"metrics": {"accuracy": 0.9}}, format="json")

        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["metrics"] == {"accuracy": 0.9}
        assert data["hyperparameters"] == {"lr": 0.1}
        assert data["dataset"]["name"] == "old"
        assert data["git"]["active_branch"] == "dev"
        assert data["name"] == "resnet"
        model.refresh_from_db()
        assert model.metrics == {"accuracy": 0.9}
        assert model.hyperparameters == {"lr": 0.1}

    def test_it_updates_the_descriptive_fields(self, api, project, bob):
        model = upload(bob, project)

        response = api.as_user(bob).patch(
            detail(model),
            {
                "dataset_name": "coco",
                "dataset_description": "objects",
                "git_active_branch": "feature",
                "git_commit_hash": "b" * 40,
                "git_remote_url": "https://ci:s3cret@git.example.com/acme/r.git",
                "git_dirty": True,
                "parameters": {"layers": 101},
                "hyperparameters": {"lr": 0.001},
            },
            format="json",
        )

        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["dataset"] == {"name": "coco", "description": "objects"}
        assert data["git"] == {
            "active_branch": "feature",
            "commit_hash": "b" * 40,
            "remote_url": "https://git.example.com/acme/r.git",
            "dirty": True,
        }
        assert data["parameters"] == {"layers": 101}
        assert data["hyperparameters"] == {"lr": 0.001}

    def test_it_takes_the_update_as_multipart_form_fields_too(self, api, project, bob):
        model = upload(bob, project)

        response = api.as_user(bob).patch(
            detail(model), {"metrics": json.dumps({"f1": 0.7}), "private": "True"}, format="multipart"
        )

        assert response.status_code == 200, response.content
        assert response.json()["data"]["metrics"] == {"f1": 0.7}
        assert response.json()["data"]["visibility"] == "private"

    @pytest.mark.parametrize(
        ("payload", "private"),
        [
            ({"private": True}, True),
            ({"visibility": "private"}, True),
            ({"private": False}, False),
            ({"visibility": "public"}, False),
        ],
    )
    def test_it_sets_visibility_by_either_field(self, api, project, bob, payload, private):
        model = upload(bob, project, private=not private)

        response = api.as_user(bob).patch(detail(model), payload, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["visibility"] == ("private" if private else "public")
        model.refresh_from_db()
        assert model.private is private

    def test_it_refuses_an_unknown_visibility(self, api, project, bob):
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"visibility": "secret"}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == ["visibility"]

    @pytest.mark.parametrize("tags", [["best", "cnn"], "best, cnn"])
    def test_it_replaces_the_tags_with_a_list_or_a_comma_string(self, api, project, bob, tags):
        model = upload(bob, project, tags=["old"])

        response = api.as_user(bob).patch(detail(model), {"tags": tags}, format="json")

        assert response.status_code == 200, response.content
        assert sorted(t["name"] for t in response.json()["data"]["tags"]) == ["best", "cnn"]
        assert sorted(model.tags.values_list("name", flat=True)) == ["best", "cnn"]

    def test_an_empty_tag_list_clears_the_tags(self, api, project, bob):
        model = upload(bob, project, tags=["old"])

        response = api.as_user(bob).patch(detail(model), {"tags": []}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["tags"] == []

    def test_it_refuses_a_listed_tag_name_with_a_comma(self, api, project, bob):
        model = upload(bob, project, tags=["old"])

        response = api.as_user(bob).patch(detail(model), {"tags": ["a,b"]}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == ["tags"]
        assert not Tag.objects.filter(name__contains=",").exists()
        assert list(model.tags.values_list("name", flat=True)) == ["old"]

    @pytest.mark.parametrize("tags", [[1, 2], {"a": 1}, 5])
    def test_it_refuses_tags_that_are_not_names(self, api, project, bob, tags):
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"tags": tags}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == ["tags"]

    @pytest.mark.parametrize("field", ["hyperparameters", "parameters", "metrics"])
    @pytest.mark.parametrize("value", [[1], 3, "[1]", "{nope"])
    def test_it_refuses_json_fields_that_are_not_objects(self, api, project, bob, field, value):
        model = upload(bob, project, **{field: {"kept": 1}})

        response = api.as_user(bob).patch(detail(model), {field: value}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == [field]
        model.refresh_from_db()
        assert getattr(model, field) == {"kept": 1}

    def test_it_refuses_nan_in_a_json_body(self, api, project, bob):
        model = upload(bob, project, metrics={"loss": 0.1})

        response = api.as_user(bob).patch(detail(model), '{"metrics": {"loss": NaN}}', content_type="application/json")

        assert response.status_code == 400
        assert "data" not in response.json()
        model.refresh_from_db()
        assert model.metrics == {"loss": 0.1}

    def test_a_multipart_update_without_private_keeps_the_visibility(self, api, project, bob):
        model = upload(bob, project, private=True)

        response = api.as_user(bob).patch(detail(model), {"metrics": '{"f1": 0.7}'}, format="multipart")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["visibility"] == "private"

    def test_it_refuses_a_blank_name(self, api, project, bob):
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"name": ""}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == ["name"]

    def test_a_rename_takes_the_next_version_in_the_new_series(self, api, project, bob):
        upload(bob, project, name="resnet")
        upload(bob, project, name="resnet")
        model = upload(bob, project, name="vgg")

        response = api.as_user(bob).patch(detail(model), {"name": "resnet"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["name"] == "resnet"
        assert response.json()["data"]["version"] == 3

    def test_it_keeps_the_version_when_the_name_does_not_change(self, api, project, bob):
        upload(bob, project)
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"name": "resnet", "metrics": {"a": 1}}, format="json")

        assert response.json()["data"]["version"] == 2

    def test_it_does_not_change_the_uploader_or_the_file(self, api, project, alice, bob):
        model = upload(bob, project, content=b"original")

        response = api.as_user(alice).patch(
            detail(model), {"user_id": alice.pk, "file": "x", "sha256": "0" * 64, "version": 9}, format="json"
        )

        assert response.status_code == 200, response.content
        model.refresh_from_db()
        assert model.uploader == bob
        assert model.version == 1
        assert model.file.read() == b"original"

    def test_it_moves_a_model_to_a_project_where_the_caller_may_write(self, api, project, alice, bob, eve):
        workspace = services.workspace_create(user=eve, name="Speech")
        services.membership_set(workspace=workspace, actor=eve, user=bob, role=Role.MEMBER)
        target = services.project_create(user=eve, workspace=workspace, name="asr")
        upload(eve, target, name="resnet")
        model = upload(bob, project, name="resnet")

        response = api.as_user(bob).patch(detail(model), {"project_id": target.pk}, format="json")

        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["project_id"] == target.pk
        assert data["workspace_id"] == workspace.pk
        assert data["version"] == 2

    def test_it_refuses_to_move_a_model_where_the_caller_may_not_write(self, api, project, bob, eve):
        workspace = services.workspace_create(user=eve, name="Speech")
        services.membership_set(workspace=workspace, actor=eve, user=bob, role=Role.VIEWER)
        target = services.project_create(user=eve, workspace=workspace, name="asr")
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"project_id": target.pk}, format="json")

        assert response.status_code == 403
        model.refresh_from_db()
        assert model.project == project

    def test_it_refuses_to_move_a_model_to_a_project_the_caller_cannot_see(self, api, project, bob, other_project):
        model = upload(bob, project)

        response = api.as_user(bob).patch(detail(model), {"project_id": other_project.pk}, format="json")

        assert response.status_code == 400
        assert list(errors(response)) == ["project_id"]
        model.refresh_from_db()
        assert model.project == project

    def test_the_owner_may_edit_a_members_model(self, api, project, alice, bob):
        model = upload(bob, project)

        response = api.as_user(alice).patch(detail(model), {"name": "renamed"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["data"]["name"] == "renamed"

    def test_staff_may_edit_any_model(self, api, project, bob, staff):
        model = upload(bob, project, private=True)

        assert api.as_user(staff).patch(detail(model), {"name": "x"}, format="json").status_code == 200
        model.refresh_from_db()
        assert model.name == "x"

    def test_another_member_may_not_edit_the_model(self, api, project, bob, dave):
        model = upload(bob, project)

        response = api.as_user(dave).patch(detail(model), {"name": "mine now"}, format="json")

        assert response.status_code == 403
        assert "data" not in response.json()
        model.refresh_from_db()
        assert model.name == "resnet"

    def test_a_viewer_may_not_edit_the_model(self, api, project, bob, carol):
        model = upload(bob, project)

        assert api.as_user(carol).put(detail(model), {"name": "x"}, format="json").status_code == 403

    def test_an_outsider_gets_404(self, api, project, bob, eve):
        model = upload(bob, project)

        assert api.as_user(eve).patch(detail(model), {"name": "x"}, format="json").status_code == 404

    def test_another_members_private_model_is_404_even_for_the_owner(self, api, project, alice, bob):
        model = upload(bob, project, private=True)

        assert api.as_user(alice).patch(detail(model), {"name": "x"}, format="json").status_code == 404

    def test_anonymous_gets_401(self, api, project, bob):
        model = upload(bob, project)

        assert api.as_user(None).patch(detail(model), {"name": "x"}, format="json").status_code == 401


# ----------------------------------------------------------------------------- delete


class TestDelete:
    def test_the_uploader_deletes_the_model_and_its_file_after_the_commit(
        self, api, project, bob, settings, django_capture_on_commit_callbacks
    ):
        model = upload(bob, project)
        client = api.as_user(bob)

        with django_capture_on_commit_callbacks() as callbacks:
            response = client.delete(detail(model))
            assert response.status_code == 200
            assert response.json() == {"status": "success"}
            assert not MLModel.objects.filter(pk=model.pk).exists()
            assert stored_files(settings) == [model.file.name]  # not before the commit

        for callback in callbacks:
            callback()
        assert stored_files(settings) == []

    def test_it_deletes_only_that_models_file(self, api, project, bob, settings, django_capture_on_commit_callbacks):
        model = upload(bob, project, name="gone")
        kept = upload(bob, project, name="kept")
        client = api.as_user(bob)

        with django_capture_on_commit_callbacks(execute=True):
            client.delete(detail(model))

        assert stored_files(settings) == [kept.file.name]
        assert list(MLModel.objects.all()) == [kept]

    def test_the_owner_may_delete_a_members_model(self, api, project, alice, bob, settings):
        model = upload(bob, project)

        response = api.as_user(alice).delete(detail(model))

        assert response.status_code == 200
        assert not MLModel.objects.exists()

    def test_staff_may_delete_any_model(self, api, project, bob, staff, settings, django_capture_on_commit_callbacks):
        model = upload(bob, project, private=True)

        with django_capture_on_commit_callbacks(execute=True):  # the file goes once the row's delete commits
            assert api.as_user(staff).delete(detail(model)).status_code == 200
        assert not MLModel.objects.filter(pk=model.pk).exists()
        assert stored_files(settings) == []

    @pytest.mark.parametrize("user", ["dave", "carol"])
    def test_another_member_or_a_viewer_may_not_delete(self, api, project, bob, dave, carol, settings, user):
        model = upload(bob, project)

        response = api.as_user({"dave": dave, "carol": carol}[user]).delete(detail(model))

        assert response.status_code == 403
        assert MLModel.objects.filter(pk=model.pk).exists()
        assert stored_files(settings) == [model.file.name]

    def test_an_outsider_gets_404(self, api, project, bob, eve, settings):
        model = upload(bob, project)

        assert api.as_user(eve).delete(detail(model)).status_code == 404
        assert stored_files(settings) == [model.file.name]

    def test_another_members_private_model_is_404_even_for_the_owner(self, api, project, alice, bob):
        model = upload(bob, project, private=True)

        assert api.as_user(alice).delete(detail(model)).status_code == 404
        assert MLModel.objects.filter(pk=model.pk).exists()

    def test_anonymous_gets_401(self, api, project, bob):
        model = upload(bob, project)

        assert api.as_user(None).delete(detail(model)).status_code == 401
        assert MLModel.objects.filter(pk=model.pk).exists()

    def test_an_unknown_id_is_404(self, api, project, bob):
        assert api.as_user(bob).delete(f"{URL}999999/").status_code == 404


# ----------------------------------------------------------------------------- tags


class TestModelTags:
    @pytest.fixture
    def tag(self, workspace):
        return Tag.objects.create(workspace=workspace, name="production", description="serving now")

    def url(self, model, tag) -> str:
        return f"{detail(model)}tags/{tag.pk}/"

    def test_the_uploader_adds_a_tag(self, api, project, bob, tag):
        model = upload(bob, project, tags=["cnn"])

        response = api.as_user(bob).post(self.url(model, tag))

        assert response.status_code == 200, response.content
        assert sorted(t["name"] for t in response.json()["data"]["tags"]) == ["cnn", "production"]
        assert set(model.tags.values_list("name", flat=True)) == {"cnn", "production"}

    def test_adding_a_tag_twice_keeps_one(self, api, project, bob, tag):
        model = upload(bob, project)
        client = api.as_user(bob)
        client.post(self.url(model, tag))

        response = client.post(self.url(model, tag))

        assert response.status_code == 200
        assert [t["id"] for t in response.json()["data"]["tags"]] == [tag.pk]

    def test_the_uploader_removes_a_tag(self, api, project, bob, tag):
        model = upload(bob, project, tags=["cnn", "production"])

        response = api.as_user(bob).delete(self.url(model, tag))

        assert response.status_code == 200, response.content
        assert [t["name"] for t in response.json()["data"]["tags"]] == ["cnn"]
        assert Tag.objects.filter(pk=tag.pk).exists()  # only detached, not deleted

    def test_the_owner_may_tag_a_members_model(self, api, project, alice, bob, tag):
        model = upload(bob, project)

        assert api.as_user(alice).post(self.url(model, tag)).status_code == 200
        assert list(model.tags.all()) == [tag]
        assert api.as_user(alice).delete(self.url(model, tag)).status_code == 200
        assert list(model.tags.all()) == []

    @pytest.mark.parametrize("method", ["post", "delete"])
    def test_another_member_may_not_change_the_tags(self, api, project, bob, dave, tag, method):
        model = upload(bob, project, tags=["production"])

        response = getattr(api.as_user(dave), method)(self.url(model, tag))

        assert response.status_code == 403
        assert list(model.tags.all()) == [tag]

    @pytest.mark.parametrize("method", ["post", "delete"])
    def test_a_viewer_may_not_change_the_tags(self, api, project, bob, carol, tag, method):
        model = upload(bob, project)

        assert getattr(api.as_user(carol), method)(self.url(model, tag)).status_code == 403

    @pytest.mark.parametrize("method", ["post", "delete"])
    def test_an_outsider_gets_404(self, api, project, bob, eve, tag, method):
        model = upload(bob, project)

        assert getattr(api.as_user(eve), method)(self.url(model, tag)).status_code == 404
        assert not model.tags.exists()

    @pytest.mark.parametrize("method", ["post", "delete"])
    def test_anonymous_gets_401(self, api, project, bob, tag, method):
        model = upload(bob, project)

        assert getattr(api.as_user(None), method)(self.url(model, tag)).status_code == 401

    def test_an_unknown_tag_is_404(self, api, project, bob):
        model = upload(bob, project)

        response = api.as_user(bob).post(f"{detail(model)}tags/999999/")

        assert response.status_code == 404
        assert "data" not in response.json()
