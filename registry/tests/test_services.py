"""registry.services: the write paths, with real storage. A row and its file live and die together."""

import hashlib
import threading
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, connections, transaction

from conftest import make_user
from registry import services
from registry.models import Blob, MLModel, Project, Role, Tag, Workspace
from registry.tests.factories import upload


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


class _Rollback(Exception):
    pass


@pytest.fixture
def dave(workspace, alice):
    user = make_user("dave")
    services.membership_set(workspace=workspace, actor=alice, user=user, role=Role.MEMBER)
    return user


# ----------------------------------------------------------------------------- model_upload


class TestModelUpload:
    def test_it_stores_the_file_and_the_row_together(self, project, bob, settings):
        model = upload(bob, project, content=b"weights", tags=["cnn", "best"], private=True)

        assert stored_files(settings) == [model.file.name]
        model.refresh_from_db()
        assert model.file.read() == b"weights"
        assert model.file_name == "resnet.pt"
        assert model.file_size == 7
        assert model.uploader == bob
        assert model.private is True
        assert sorted(model.tags.values_list("name", flat=True)) == ["best", "cnn"]

    def test_it_numbers_versions_per_project_and_name(self, project, bob, alice):
        versions = [upload(user, project, name="resnet").version for user in (bob, alice, bob)]

        assert versions == [1, 2, 3]
        assert upload(bob, project, name="vgg").version == 1

    def test_it_continues_after_the_highest_version_not_the_count(self, project, bob, alice):
        upload(bob, project)
        middle = upload(bob, project)
        upload(bob, project)
        services.model_delete(model=middle, user=bob)

        assert upload(bob, project).version == 4

    def test_it_leaves_no_row_and_no_file_when_saving_the_row_fails(self, project, bob, settings, monkeypatch):
        first = upload(bob, project)
        # Simulate a crash after the file is stored: the row collides with version 1.
        monkeypatch.setattr(services, "_take_version", lambda project, name: (first.registered_model, 1))

        with pytest.raises(IntegrityError):
            upload(bob, project)

        assert MLModel.objects.count() == 1
        assert stored_files(settings) == [MLModel.objects.get().file.name]

    def test_it_leaves_no_row_and_no_file_when_tagging_fails(self, project, bob, settings, monkeypatch):
        def broken(*args):
            raise RuntimeError("database went away")

        monkeypatch.setattr(services, "tags_get_or_create", broken)

        with pytest.raises(RuntimeError):
            upload(bob, project, tags=["cnn"])

        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_it_refuses_a_mismatched_sha256_before_storing_anything(self, project, bob, settings):
        with pytest.raises(ValidationError) as error:
            upload(bob, project, content=b"weights", sha256="0" * 64)

        assert "sha256" in error.value.message_dict
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_it_accepts_a_matching_sha256_in_any_case(self, project, bob):
        digest = hashlib.sha256(b"weights").hexdigest()

        model = upload(bob, project, content=b"weights", sha256=f" {digest.upper()} ")

        assert model.file_sha256 == digest

    @pytest.mark.parametrize("field", ["hyperparameters", "parameters", "metrics"])
    def test_it_refuses_a_json_field_that_is_not_an_object_before_storing_anything(self, project, bob, settings, field):
        with pytest.raises(ValidationError) as error:
            upload(bob, project, **{field: [1, 2]})

        assert field in error.value.message_dict
        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_it_refuses_a_tag_name_with_a_comma(self, project, bob, settings):
        with pytest.raises(ValidationError) as error:
            upload(bob, project, tags=["a,b"])

        assert "tags" in error.value.message_dict
        assert stored_files(settings) == []
        assert not Tag.objects.exists()

    def test_a_viewer_may_not_upload(self, project, carol, settings):
        with pytest.raises(PermissionDenied):
            upload(carol, project)

        assert stored_files(settings) == []

    def test_an_outsider_may_not_upload(self, project, eve, settings):
        with pytest.raises(PermissionDenied):
            upload(eve, project)

        assert stored_files(settings) == []

    def test_it_generates_the_storage_key_whatever_the_file_is_called(self, project, bob, settings):
        model = services.model_upload(
            user=bob, project=project, name="x", file=SimpleUploadedFile("../../etc/passwd", b"root")
        )

        sha = hashlib.sha256(b"root").hexdigest()
        assert model.file.name == f"blobs/sha256/{sha[:2]}/{sha}"
        assert model.file_name == "passwd"
        assert stored_files(settings) == [model.file.name]

    def test_it_records_a_one_entry_manifest_and_its_digest(self, project, bob):
        model = upload(bob, project, content=b"hello\n")

        sha = hashlib.sha256(b"hello\n").hexdigest()
        assert [(e.path, e.blob_id, e.blob.size) for e in model.entries.all()] == [("resnet.pt", sha, 6)]
        line = f"{sha} 6 resnet.pt\n".encode()
        assert model.digest == hashlib.sha256(line).hexdigest()

    def test_two_uploads_of_the_same_bytes_share_one_blob(self, project, bob, settings):
        first, second = upload(bob, project), upload(bob, project, name="other")

        assert first.file.name == second.file.name
        assert stored_files(settings) == [first.file.name]
        assert Blob.objects.count() == 1
        assert (first.version, second.version) == (1, 1)

    def test_deleting_one_of_two_versions_that_share_bytes_keeps_them(
        self, project, bob, settings, django_capture_on_commit_callbacks
    ):
        first, second = upload(bob, project), upload(bob, project)

        with django_capture_on_commit_callbacks(execute=True):
            services.model_delete(model=first, user=bob)
        assert stored_files(settings) == [second.file.name]
        with django_capture_on_commit_callbacks(execute=True):
            services.model_delete(model=second, user=bob)
        assert stored_files(settings) == []
        assert not Blob.objects.exists()


# ----------------------------------------------------------------------------- model_update


class TestModelUpdate:
    def test_the_uploader_updates_their_model(self, project, bob):
        model = upload(bob, project)

        services.model_update(model=model, user=bob, metrics={"f1": 0.5}, tags=["x"])

        model.refresh_from_db()
        assert model.metrics == {"f1": 0.5}
        assert list(model.tags.values_list("name", flat=True)) == ["x"]

    def test_leaving_tags_out_keeps_them(self, project, bob):
        model = upload(bob, project, tags=["keep"])

        services.model_update(model=model, user=bob, name="renamed")

        assert list(model.tags.values_list("name", flat=True)) == ["keep"]

    def test_another_member_may_not_update_it(self, project, bob, dave):
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.model_update(model=model, user=dave, name="mine")

    def test_a_bad_value_changes_nothing(self, project, bob):
        model = upload(bob, project, metrics={"a": 1})

        with pytest.raises(ValidationError):
            services.model_update(model=model, user=bob, metrics=[1], tags=["new"])

        model.refresh_from_db()
        assert model.metrics == {"a": 1}
        assert not model.tags.exists()

    def test_a_rename_joins_the_new_series_at_its_next_version(self, project, bob):
        upload(bob, project, name="b")
        model = upload(bob, project, name="a")

        services.model_update(model=model, user=bob, name="b")

        assert (model.name, model.version) == ("b", 2)

    def test_a_move_joins_the_target_projects_series(self, project, alice, bob, workspace):
        target = services.project_create(user=alice, workspace=workspace, name="other")
        upload(alice, target)
        upload(alice, target)
        model = upload(bob, project)

        services.model_update(model=model, user=bob, project=target)

        model.refresh_from_db()
        assert (model.project, model.version) == (target, 3)

    def test_it_refuses_a_move_into_a_workspace_where_the_user_may_only_read(self, project, bob, eve):
        workspace = services.workspace_create(user=eve, name="Speech")
        services.membership_set(workspace=workspace, actor=eve, user=bob, role=Role.VIEWER)
        target = services.project_create(user=eve, workspace=workspace, name="asr")
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.model_update(model=model, user=bob, project=target)

        model.refresh_from_db()
        assert model.project == project


# ----------------------------------------------------------------------------- deletes


class TestModelDelete:
    def test_it_removes_the_file_once_the_delete_commits(
        self, project, bob, settings, django_capture_on_commit_callbacks
    ):
        model = upload(bob, project)

        with django_capture_on_commit_callbacks(execute=True):
            services.model_delete(model=model, user=bob)
            assert stored_files(settings) == [model.file.name]

        assert not MLModel.objects.exists()
        assert stored_files(settings) == []

    def test_it_keeps_the_file_when_the_delete_is_rolled_back(
        self, project, bob, settings, django_capture_on_commit_callbacks
    ):
        model = upload(bob, project)
        pk, name = model.pk, model.file.name

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(_Rollback),
            transaction.atomic(),
        ):
            services.model_delete(model=model, user=bob)
            raise _Rollback

        assert callbacks == []
        assert MLModel.objects.filter(pk=pk).exists()
        assert stored_files(settings) == [name]

    def test_another_member_may_not_delete_it(self, project, bob, dave, settings):
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.model_delete(model=model, user=dave)

        assert stored_files(settings) == [model.file.name]


class TestProjectDelete:
    def test_it_removes_its_models_files_after_the_commit(
        self, project, alice, bob, workspace, settings, django_capture_on_commit_callbacks
    ):
        upload(alice, project, name="a", content=b"a")
        upload(bob, project, name="b", private=True, content=b"b")
        other = services.project_create(user=alice, workspace=workspace, name="kept")
        kept = upload(bob, other)

        with django_capture_on_commit_callbacks(execute=True):
            services.project_delete(project=project, user=alice)
            assert len(stored_files(settings)) == 3  # nothing goes before the commit

        assert not Project.objects.filter(pk=project.pk).exists()
        assert list(MLModel.objects.all()) == [kept]
        assert stored_files(settings) == [kept.file.name]

    def test_it_keeps_every_file_when_the_transaction_rolls_back(
        self, project, alice, bob, settings, django_capture_on_commit_callbacks
    ):
        models = [upload(alice, project, name="a", content=b"a"), upload(bob, project, name="b", content=b"b")]

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(_Rollback),
            transaction.atomic(),
        ):
            services.project_delete(project=project, user=alice)
            raise _Rollback

        assert callbacks == []
        assert MLModel.objects.count() == 2
        assert stored_files(settings) == sorted(m.file.name for m in models)

    def test_a_member_who_did_not_create_it_may_not_delete_it(self, project, bob, settings):
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.project_delete(project=project, user=bob)

        assert stored_files(settings) == [model.file.name]


class TestWorkspaceDelete:
    def test_it_removes_every_projects_files_after_the_commit(
        self, workspace, project, alice, bob, eve, settings, django_capture_on_commit_callbacks
    ):
        second = services.project_create(user=bob, workspace=workspace, name="second")
        upload(alice, project, content=b"a")
        upload(bob, second, private=True, content=b"b")
        elsewhere = services.workspace_create(user=eve, name="Speech")
        kept = upload(eve, services.project_create(user=eve, workspace=elsewhere, name="asr"))

        with django_capture_on_commit_callbacks(execute=True):
            services.workspace_delete(workspace=workspace, user=alice)
            assert len(stored_files(settings)) == 3

        assert not Workspace.objects.filter(pk=workspace.pk).exists()
        assert list(MLModel.objects.all()) == [kept]
        assert stored_files(settings) == [kept.file.name]

    def test_it_keeps_every_file_when_the_transaction_rolls_back(
        self, workspace, project, alice, settings, django_capture_on_commit_callbacks
    ):
        model = upload(alice, project)
        pk = workspace.pk

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(_Rollback),
            transaction.atomic(),
        ):
            services.workspace_delete(workspace=workspace, user=alice)
            raise _Rollback

        assert callbacks == []
        assert Workspace.objects.filter(pk=pk).exists()
        assert MLModel.objects.filter(pk=model.pk).exists()
        assert stored_files(settings) == [model.file.name]

    def test_a_member_may_not_delete_it(self, workspace, project, bob, settings):
        model = upload(bob, project)

        with pytest.raises(PermissionDenied):
            services.workspace_delete(workspace=workspace, user=bob)

        assert stored_files(settings) == [model.file.name]


@pytest.mark.django_db(transaction=True)
class TestDeletesInRealTransactions:
    """Without the test's wrapping transaction: the deletes commit, or roll back, for real."""

    def test_a_committed_model_delete_removes_the_file(self, project, bob, settings):
        model = upload(bob, project)

        services.model_delete(model=model, user=bob)

        assert stored_files(settings) == []

    def test_a_committed_workspace_delete_removes_the_files(self, workspace, project, alice, bob, settings):
        upload(alice, project)
        upload(bob, project, private=True)

        services.workspace_delete(workspace=workspace, user=alice)

        assert stored_files(settings) == []

    def test_a_rolled_back_project_delete_keeps_rows_and_files(self, project, alice, settings):
        model = upload(alice, project)

        with pytest.raises(_Rollback), transaction.atomic():
            services.project_delete(project=project, user=alice)
            raise _Rollback

        assert MLModel.objects.filter(pk=model.pk).exists()  # a cascade leaves `model` untouched
        assert stored_files(settings) == [model.file.name]

    def test_a_failed_upload_in_a_real_transaction_leaves_nothing(self, project, bob, settings, monkeypatch):
        first = upload(bob, project)
        monkeypatch.setattr(services, "_take_version", lambda project, name: (first.registered_model, 1))

        with pytest.raises(IntegrityError):
            upload(bob, project)

        assert MLModel.objects.count() == 1
        assert len(stored_files(settings)) == 1


# ----------------------------------------------------------------------------- tags


class TestTagNames:
    @pytest.mark.parametrize(
        ("given", "names"),
        [
            ("a,b", ["a", "b"]),
            (" a , b ,, a ", ["a", "b"]),
            (["a", " b ", "", "a"], ["a", "b"]),
            ("", []),
            (None, []),
            ([], []),
        ],
    )
    def test_it_splits_strips_and_deduplicates(self, given, names):
        assert services.tag_names(given) == names

    def test_it_refuses_a_listed_name_with_a_comma(self):
        with pytest.raises(ValidationError) as error:
            services.tag_names(["ok", "a,b"])

        assert "tags" in error.value.message_dict

    def test_it_refuses_a_name_over_the_column_length(self):
        with pytest.raises(ValidationError):
            services.tag_names(["x" * 101])

    def test_tags_get_or_create_reuses_the_workspaces_existing_tags(self, workspace):
        existing = Tag.objects.create(workspace=workspace, name="cnn")
        elsewhere = Tag.objects.create(workspace=Workspace.objects.create(name="Audio"), name="new")

        tags = services.tags_get_or_create(workspace.pk, ["cnn", "new"])

        assert tags[0] == existing
        assert tags[1] != elsewhere
        assert tags[1].workspace == workspace
        assert Tag.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_one_name_take_distinct_versions(project, bob, settings):
    """Each upload takes the next number under a lock, so none collides on the unique version."""
    if connection.vendor == "sqlite":
        # The in-memory test database shares one cache between threads, where a table lock
        # fails at once instead of waiting like the file database the server uses.
        pytest.skip("needs a database whose writers wait for each other (PostgreSQL)")
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    results: list = []

    def upload_one():
        try:
            barrier.wait()
            results.append(upload(bob, project, name="raced").version)
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload_one) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == [1, 2, 3, 4]
    assert len(stored_files(settings)) == 1  # the same bytes: one blob, whichever upload stored it
