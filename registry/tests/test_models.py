"""registry.models: validation on the models and the constraints in the database."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from registry.models import (
    Membership,
    MLModel,
    Project,
    RegisteredModel,
    Role,
    Tag,
    Workspace,
    model_file_key,
    validate_json_object,
)
from registry.tests.factories import upload


def unsaved_model(project, user, **fields) -> MLModel:
    name = fields.get("name", "resnet")
    values = {
        "project": project,
        "registered_model": RegisteredModel.objects.get_or_create(project=project, name=name)[0],
        "uploader": user,
        "name": "resnet",
        "version": 1,
        "file": "models/00/0000",
        "file_name": "resnet.pt",
        "file_size": 1,
        "file_sha256": "0" * 64,
        **fields,
    }
    return MLModel(**values)


class TestValidateJsonObject:
    @pytest.mark.parametrize("value", [{}, {"lr": 0.1}, {"nested": {"a": [1, 2]}}])
    def test_it_accepts_an_object(self, value):
        validate_json_object(value)

    @pytest.mark.parametrize("value", [[], [1, 2], 1, 0.5, "text", "{}", None, True])
    def test_it_refuses_anything_else(self, value):
        with pytest.raises(ValidationError, match="JSON object"):
            validate_json_object(value)


class TestMLModel:
    @pytest.mark.parametrize("field", ["hyperparameters", "parameters", "metrics"])
    @pytest.mark.parametrize("value", [[1], 3, "text"])
    def test_full_clean_refuses_a_json_field_that_is_not_an_object(self, project, bob, field, value):
        model = unsaved_model(project, bob, **{field: value})

        with pytest.raises(ValidationError) as error:
            model.full_clean()

        assert list(error.value.message_dict) == [field]

    def test_full_clean_accepts_empty_dictionaries(self, project, bob):
        unsaved_model(project, bob, hyperparameters={}, parameters={}, metrics={}).full_clean()

    def test_the_json_fields_default_to_empty_objects(self, project, bob):
        model = unsaved_model(project, bob)

        assert (model.hyperparameters, model.parameters, model.metrics) == ({}, {}, {})

    def test_it_round_trips_json_values_as_json(self, project, bob):
        model = upload(bob, project, hyperparameters={"lr": 0.001, "layers": [64, 128], "bn": True, "x": None})

        model.refresh_from_db()

        assert model.hyperparameters == {"lr": 0.001, "layers": [64, 128], "bn": True, "x": None}

    def test_a_version_is_unique_per_project_and_name(self, project, bob):
        upload(bob, project, name="resnet")

        with pytest.raises(IntegrityError), transaction.atomic():
            unsaved_model(project, bob, name="resnet", version=1).save()

    def test_full_clean_reports_a_duplicate_version(self, project, bob):
        upload(bob, project, name="resnet")

        with pytest.raises(ValidationError):
            unsaved_model(project, bob, name="resnet", version=1).full_clean()

    def test_the_same_version_may_repeat_across_names_and_projects(self, project, bob, alice, workspace):
        other = Project.objects.create(workspace=workspace, name="other")
        upload(bob, project, name="resnet")

        unsaved_model(project, bob, name="vgg", version=1).save()
        unsaved_model(other, bob, name="resnet", version=1).save()

        assert MLModel.objects.filter(version=1).count() == 3

    def test_visibility_follows_private(self, project, bob):
        assert unsaved_model(project, bob, private=True).visibility == "private"
        assert unsaved_model(project, bob, private=False).visibility == "public"

    def test_it_reads_as_name_and_version(self, project, bob):
        assert str(unsaved_model(project, bob, name="resnet", version=3)) == "resnet v3"

    def test_the_newest_comes_first(self, project, bob):
        first, second = upload(bob, project, name="a"), upload(bob, project, name="b")

        assert list(MLModel.objects.all()) == [second, first]

    def test_an_uploader_with_models_cannot_be_deleted(self, project, bob):
        upload(bob, project)

        with pytest.raises(IntegrityError), transaction.atomic():
            bob.delete()


class TestModelFileKey:
    @pytest.mark.parametrize("uploaded", ["resnet.pt", "../../etc/passwd", "/abs/path.bin", "a b\"c'.pt", "模型.pt"])
    def test_it_ignores_the_uploaded_name(self, uploaded):
        key = model_file_key(None, uploaded)

        assert key.startswith("models/")
        prefix, name = key.split("/")[1:]
        assert len(name) == 32 and int(name, 16) >= 0
        assert prefix == name[:2]

    def test_each_call_gives_a_new_key(self):
        assert len({model_file_key(None, "same.pt") for _ in range(100)}) == 100

    def test_saving_a_file_stores_it_under_the_generated_key(self, project, bob):
        model = unsaved_model(project, bob, file=None)
        model.file.save("../../evil.pt", SimpleUploadedFile("../../evil.pt", b"x"), save=False)

        assert model.file.name.startswith("models/")
        assert "evil" not in model.file.name


class TestTag:
    def test_a_name_without_a_comma_is_valid(self, workspace):
        Tag(workspace=workspace, name="best model").full_clean()

    @pytest.mark.parametrize("name", ["a,b", ",", "trailing,"])
    def test_a_name_with_a_comma_is_refused(self, workspace, name):
        with pytest.raises(ValidationError) as error:
            Tag(workspace=workspace, name=name).full_clean()

        assert list(error.value.message_dict) == ["name"]

    @pytest.mark.parametrize("text", ["nul\x00", "lone\ud800"])
    def test_nul_and_lone_surrogates_are_refused(self, workspace, text):
        with pytest.raises(ValidationError) as error:
            Tag(workspace=workspace, name=text, description=text).full_clean()

        assert sorted(error.value.message_dict) == ["description", "name"]

    def test_a_blank_name_is_refused(self, workspace):
        with pytest.raises(ValidationError):
            Tag(workspace=workspace, name="").full_clean()

    def test_a_tag_needs_a_workspace(self, db):
        with pytest.raises(ValidationError) as error:
            Tag(name="cnn").full_clean()

        assert list(error.value.message_dict) == ["workspace"]

    def test_names_are_unique_per_workspace_in_the_database(self, workspace):
        Tag.objects.create(workspace=workspace, name="cnn")

        with pytest.raises(IntegrityError), transaction.atomic():
            Tag.objects.create(workspace=workspace, name="cnn")

    def test_another_workspace_may_use_the_same_name(self, workspace, eve):
        other = Workspace.objects.create(name="Audio")
        Tag.objects.create(workspace=workspace, name="cnn")

        Tag(workspace=other, name="cnn").full_clean()
        Tag.objects.create(workspace=other, name="cnn")

        assert Tag.objects.filter(name="cnn").count() == 2

    def test_full_clean_reports_a_taken_name_on_the_name(self, workspace):
        Tag.objects.create(workspace=workspace, name="cnn")

        with pytest.raises(ValidationError) as error:
            Tag(workspace=workspace, name="cnn").full_clean()

        assert list(error.value.message_dict) == ["name"]

    def test_tags_are_ordered_by_name_then_id(self, workspace):
        other = Workspace.objects.create(name="Audio")
        for ws, name in ((workspace, "b"), (other, "a"), (workspace, "a")):
            Tag.objects.create(workspace=ws, name=name)

        assert list(Tag.objects.values_list("name", "workspace")) == [
            ("a", other.pk),
            ("a", workspace.pk),
            ("b", workspace.pk),
        ]


class TestProject:
    def test_a_name_is_unique_within_a_workspace(self, project, workspace):
        with pytest.raises(IntegrityError), transaction.atomic():
            Project.objects.create(workspace=workspace, name=project.name)

    def test_full_clean_reports_a_taken_name(self, project, workspace):
        with pytest.raises(ValidationError):
            Project(workspace=workspace, name=project.name).full_clean()

    def test_the_same_name_may_be_used_in_another_workspace(self, project, db):
        elsewhere = Workspace.objects.create(name="Speech")

        Project.objects.create(workspace=elsewhere, name=project.name)

        assert Project.objects.filter(name=project.name).count() == 2

    def test_deleting_a_project_deletes_its_models(self, project, bob):
        upload(bob, project)

        project.delete()

        assert not MLModel.objects.exists()


class TestMembership:
    def test_a_user_is_a_member_of_a_workspace_once(self, workspace, bob):
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(workspace=workspace, user=bob, role=Role.VIEWER)

    def test_full_clean_refuses_an_unknown_role(self, workspace, eve):
        with pytest.raises(ValidationError) as error:
            Membership(workspace=workspace, user=eve, role="admin").full_clean()

        assert list(error.value.message_dict) == ["role"]

    def test_deleting_a_workspace_deletes_its_projects_and_memberships(self, workspace, project):
        workspace.delete()

        assert not Project.objects.exists()
        assert not Membership.objects.exists()


def test_json_dictionaries_refuse_nan_and_infinity_anywhere_inside():
    for bad in ({"loss": float("nan")}, {"nested": {"x": float("inf")}}, {"list": [1.0, float("-inf")]}):
        with pytest.raises(ValidationError):
            validate_json_object(bad)
    validate_json_object({"loss": 0.5, "nested": {"ok": [1, 2.5]}})
