"""registry.keystats: the key and uploader counts that every model write keeps, and who sees them.

Alice owns the workspace, Bob is a member, Carol a viewer, Eve an outsider (see conftest.py). The
counts are checked against a recount from the models (`keystats.drift`, `keystats.rebuild`) after
every kind of write, and through the two readers: the API's `all_*` lists and the web UI's catalog.
"""

import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import keystats, services
from registry.models import MLModel, ProjectKeyCount, ProjectUploaderCount
from registry.tests.factories import upload
from registry.web.keys import key_catalog

URL = "/api/v1/projects/"


def key_rows(project=None) -> dict:
    """{(uploader, private, section, key): (numbers, booleans, texts, nulls)} of one project, or of
    all with the project first in each key."""
    rows = ProjectKeyCount.objects.all() if project is None else ProjectKeyCount.objects.filter(project=project)
    return {
        (*([r.project_id] if project is None else []), r.uploader_id, r.private, r.section, r.key): (
            r.numbers,
            r.booleans,
            r.texts,
            r.nulls,
        )
        for r in rows
    }


def uploader_rows(project=None) -> dict:
    rows = ProjectUploaderCount.objects.all()
    if project is not None:
        rows = rows.filter(project=project)
    return {(r.project_id, r.uploader_id, r.private): r.model_count for r in rows}


def assert_matches_a_recount():
    """What the writes kept equals what `rebuild` counts from the models."""
    assert keystats.drift() == 0
    kept = (key_rows(), uploader_rows())
    keystats.rebuild()
    assert (key_rows(), uploader_rows()) == kept


@pytest.fixture
def other_project(workspace, alice):
    return services.project_create(user=alice, workspace=workspace, name="vits")


# ----------------------------------------------------------------------------- counting through services


class TestUpload:
    def test_it_counts_each_key_by_the_kind_of_its_value(self, project, bob):
        upload(
            bob,
            project,
            hyperparameters={"lr": 0.1, "epochs": 3, "opt": "adam", "pretrained": True, "momentum": None},
            parameters={"layers": [1, 2], "cfg": {"a": 1}},
            metrics={"acc": 0.9},
        )

        assert key_rows(project) == {
            (bob.pk, False, "hyperparameters", "lr"): (1, 0, 0, 0),
            (bob.pk, False, "hyperparameters", "epochs"): (1, 0, 0, 0),
            (bob.pk, False, "hyperparameters", "opt"): (0, 0, 1, 0),
            (bob.pk, False, "hyperparameters", "pretrained"): (0, 1, 0, 0),
            (bob.pk, False, "hyperparameters", "momentum"): (0, 0, 0, 1),
            (bob.pk, False, "parameters", "layers"): (0, 0, 1, 0),
            (bob.pk, False, "parameters", "cfg.a"): (1, 0, 0, 0),  # a nested value counts by its path
            (bob.pk, False, "metrics", "acc"): (1, 0, 0, 0),
        }
        assert uploader_rows(project) == {(project.pk, bob.pk, False): 1}
        assert_matches_a_recount()

    def test_models_of_one_uploader_add_up_and_private_ones_count_apart(self, project, bob, alice):
        upload(bob, project, name="a", metrics={"acc": 0.9})
        upload(bob, project, name="b", metrics={"acc": "n/a"})
        upload(bob, project, name="c", metrics={"acc": 1}, private=True)
        upload(alice, project, name="d", metrics={"acc": False})

        assert key_rows(project) == {
            (bob.pk, False, "metrics", "acc"): (1, 0, 1, 0),
            (bob.pk, True, "metrics", "acc"): (1, 0, 0, 0),
            (alice.pk, False, "metrics", "acc"): (0, 1, 0, 0),
        }
        assert uploader_rows(project) == {
            (project.pk, bob.pk, False): 2,
            (project.pk, bob.pk, True): 1,
            (project.pk, alice.pk, False): 1,
        }
        assert_matches_a_recount()

    def test_an_uploader_without_keys_still_counts(self, project, bob):
        upload(bob, project, hyperparameters={}, parameters={}, metrics={})

        assert key_rows(project) == {}
        assert uploader_rows(project) == {(project.pk, bob.pk, False): 1}

    def test_a_refused_upload_counts_nothing(self, project, bob):
        with pytest.raises(ValidationError):
            upload(bob, project, metrics={"acc": 1}, sha256="0" * 64)

        assert key_rows() == {} and uploader_rows() == {}

    def test_keys_are_counted_as_stored(self, project, bob):
        # Python code may pass a non-string key; JSON stores it as a string, and so do the counts.
        upload(bob, project, hyperparameters={1: 2, 'with "quotes" and.dots': "x", "ünï": None})

        assert set(key_rows(project)) == {
            (bob.pk, False, "hyperparameters", "1"),
            (bob.pk, False, "hyperparameters", '`with "quotes" and.dots`'),  # a dot in a key: backquoted
            (bob.pk, False, "hyperparameters", "ünï"),
        }
        assert_matches_a_recount()

    def test_a_key_too_long_to_index_is_uploaded_but_not_counted(self, project, bob):
        long_key = "ü" * (keystats.MAX_KEY_LENGTH + 1)  # 1,002 bytes in UTF-8, well within the limit
        upload(bob, project, metrics={long_key: 1, "k" * 3000: 2, "acc": 0.9})

        assert set(key_rows(project)) == {(bob.pk, False, "metrics", "acc")}
        assert_matches_a_recount()

    def test_a_model_with_more_keys_than_one_batch_is_counted_whole(self, project, bob):
        model = upload(bob, project, metrics={f"m{i}": i for i in range(keystats.BATCH * 2 + 7)})

        assert len(key_rows(project)) == keystats.BATCH * 2 + 7
        assert_matches_a_recount()
        services.model_delete(model=model, user=bob)
        assert key_rows() == {}

    def test_rows_are_upserted_in_sorted_order(self, project, bob):
        # Two writes touching the same rows lock them in the same order, so neither waits on the other's.
        with CaptureQueriesContext(connection) as queries:
            upload(bob, project, hyperparameters={"z": 1, "a": 1, "m": 1}, metrics={"b": 1})

        upsert = next(q["sql"] for q in queries.captured_queries if "registry_projectkeycount" in q["sql"])
        positions = [upsert.index(f"'{k}'") for k in ("a", "m", "z")]
        assert positions == sorted(positions)
        assert upsert.index("'hyperparameters'") < upsert.index("'metrics'")


class TestUpdate:
    def test_json_edits_move_the_counts(self, project, bob):
        model = upload(bob, project, hyperparameters={"lr": 0.1, "old": 1}, metrics={"acc": 0.9})

        services.model_update(model=model, user=bob, hyperparameters={"lr": "auto", "new": None}, metrics={})

        assert key_rows(project) == {
            (bob.pk, False, "hyperparameters", "lr"): (0, 0, 1, 0),
            (bob.pk, False, "hyperparameters", "new"): (0, 0, 0, 1),
        }
        assert_matches_a_recount()

    def test_making_a_model_private_moves_its_counts_to_the_private_group(self, project, bob, alice):
        upload(alice, project, name="other", metrics={"acc": 0.5})
        model = upload(bob, project, metrics={"acc": 0.9})

        services.model_update(model=model, user=bob, private=True)

        assert key_rows(project) == {
            (alice.pk, False, "metrics", "acc"): (1, 0, 0, 0),
            (bob.pk, True, "metrics", "acc"): (1, 0, 0, 0),
        }
        assert uploader_rows(project) == {(project.pk, alice.pk, False): 1, (project.pk, bob.pk, True): 1}
        services.model_update(model=model, user=bob, private=False)
        assert (bob.pk, False, "metrics", "acc") in key_rows(project)
        assert_matches_a_recount()

    def test_moving_a_model_moves_its_counts(self, project, other_project, bob):
        model = upload(bob, project, metrics={"acc": 0.9})

        services.model_update(model=model, user=bob, project=other_project)

        assert key_rows(project) == {} and uploader_rows(project) == {}
        assert key_rows(other_project) == {(bob.pk, False, "metrics", "acc"): (1, 0, 0, 0)}
        assert uploader_rows(other_project) == {(other_project.pk, bob.pk, False): 1}
        assert_matches_a_recount()

    def test_an_edit_without_json_changes_leaves_the_counts(self, project, bob):
        model = upload(bob, project, metrics={"acc": 0.9})
        before = key_rows()

        services.model_update(model=model, user=bob, name="renamed", tags=["x"])

        assert key_rows() == before
        assert_matches_a_recount()

    def test_it_counts_from_the_stored_row_not_from_the_instance_passed_in(self, project, bob):
        model = upload(bob, project, metrics={"acc": 0.9})
        stale = MLModel.objects.get(pk=model.pk)
        services.model_update(model=model, user=bob, metrics={"loss": 1})

        services.model_update(model=stale, user=bob, metrics={"f1": 1})

        assert key_rows(project) == {(bob.pk, False, "metrics", "f1"): (1, 0, 0, 0)}
        assert_matches_a_recount()

    def test_a_refused_edit_leaves_the_counts(self, project, bob):
        model = upload(bob, project, metrics={"acc": 0.9})

        with pytest.raises(ValidationError):
            services.model_update(model=model, user=bob, metrics={"acc": 0.5}, name="")

        assert key_rows(project) == {(bob.pk, False, "metrics", "acc"): (1, 0, 0, 0)}


class TestDelete:
    def test_deleting_the_last_model_with_a_key_drops_its_row(self, project, bob):
        kept = upload(bob, project, name="kept", metrics={"acc": 0.9})
        gone = upload(bob, project, name="gone", metrics={"acc": 0.8, "rare": 1})

        services.model_delete(model=gone, user=bob)

        assert key_rows(project) == {(bob.pk, False, "metrics", "acc"): (1, 0, 0, 0)}
        services.model_delete(model=kept, user=bob)
        assert key_rows() == {} and uploader_rows() == {}

    def test_deleting_a_project_or_a_workspace_drops_their_counts(self, workspace, project, other_project, bob, alice):
        upload(bob, project, metrics={"acc": 0.9})
        upload(bob, other_project, metrics={"f1": 0.9})

        services.project_delete(project=project, user=alice)

        assert key_rows(other_project) and len(key_rows()) == 1
        services.workspace_delete(workspace=workspace, user=alice)
        assert key_rows() == {} and uploader_rows() == {}

    def test_deleting_a_model_twice_counts_it_once(self, project, bob):
        upload(bob, project, name="kept", metrics={"acc": 0.9})
        model = upload(bob, project, metrics={"acc": 0.9})
        stale = MLModel.objects.get(pk=model.pk)
        services.model_delete(model=model, user=bob)

        with pytest.raises(Http404):  # the second delete is a 404 (issue 20), and uncounts nothing
            services.model_delete(model=stale, user=bob)

        assert key_rows(project) == {(bob.pk, False, "metrics", "acc"): (1, 0, 0, 0)}


def test_admin_edits_go_through_services(client, staff, project, bob):
    model = upload(bob, project, hyperparameters={"lr": 0.1}, metrics={"acc": 0.9})
    client.force_login(staff)
    form = {
        "name": model.name,
        "hyperparameters": '{"lr": 0.1, "added": true}',
        "parameters": "{}",
        "metrics": '{"acc": 0.9}',
        "dataset_name": "",
        "dataset_description": "",
        "git_branch": "",
        "git_commit": "",
        "private": "on",
    }

    response = client.post(reverse("admin:registry_mlmodel_change", args=[model.pk]), form)

    assert response.status_code == 302, response.content
    assert set(key_rows(project)) == {
        (bob.pk, True, "hyperparameters", "lr"),
        (bob.pk, True, "hyperparameters", "added"),
        (bob.pk, True, "metrics", "acc"),
    }
    assert_matches_a_recount()


# ----------------------------------------------------------------------------- recounting


class TestRebuild:
    def test_it_recounts_what_bypassed_the_services(self, project, other_project, bob):
        upload(bob, project, metrics={"acc": 0.9})
        upload(bob, other_project, metrics={"acc": 0.9})
        MLModel.objects.filter(project=project).update(metrics={"loss": 1})  # not through services
        assert keystats.drift() == 2

        keystats.rebuild(project_ids=[other_project.pk])
        assert keystats.drift() == 2  # only the other project was recounted
        keystats.rebuild(project_ids=[project.pk])

        assert keystats.drift() == 0
        assert key_rows(other_project) == {(bob.pk, False, "metrics", "acc"): (1, 0, 0, 0)}
        assert key_rows(project) == {(bob.pk, False, "metrics", "loss"): (1, 0, 0, 0)}

    def test_the_command_recounts_and_says_how_many_rows(self, project, bob):
        upload(bob, project, metrics={"acc": 0.9, "f1": 0.8})
        ProjectKeyCount.objects.all().delete()
        out = io.StringIO()

        call_command("keystats_rebuild", stdout=out)

        assert "2 key rows, 1 uploader rows" in out.getvalue()
        assert keystats.drift() == 0

    def test_fsck_reports_drift_and_fix_recounts(self, project, bob):
        upload(bob, project, metrics={"acc": 0.9})
        ProjectUploaderCount.objects.all().delete()

        with pytest.raises(CommandError):
            call_command("maisie_fsck", stdout=io.StringIO())
        out = io.StringIO()
        call_command("maisie_fsck", "--fix", stdout=out)

        assert "key counts: 1 rows differ from the models, recounted." in out.getvalue()
        assert keystats.drift() == 0

    def test_fsck_fix_uncounts_the_rows_it_removes(self, project, bob):
        model = upload(bob, project, metrics={"acc": 0.9})
        model.file.storage.delete(model.file.name)

        call_command("maisie_fsck", "--fix", stdout=io.StringIO())

        assert not MLModel.objects.exists() and key_rows() == {} and uploader_rows() == {}

    def test_seeded_models_are_counted(self, db):
        call_command("seed_models", "--models", "60", stdout=io.StringIO())

        assert uploader_rows() and keystats.drift() == 0

    def test_a_long_series_of_writes_matches_a_recount(self, project, other_project, alice, bob):
        made = [
            upload(
                user,
                p,
                name=f"m{i}",
                private=i % 3 == 0,
                metrics={"acc": [0.5, "x", True, None][i % 4], f"k{i % 5}": i},
            )
            for i, (user, p) in enumerate([(alice, project), (bob, project), (bob, other_project)] * 4)
        ]
        for i, model in enumerate(made):
            user = model.uploader
            if i % 4 == 0:
                services.model_update(model=model, user=user, private=not model.private)
            elif i % 4 == 1:
                target = other_project if model.project_id == project.pk else project
                services.model_update(model=model, user=user, project=target, hyperparameters={"h": i})
            elif i % 4 == 2:
                services.model_delete(model=model, user=user)

        assert_matches_a_recount()


# ----------------------------------------------------------------------------- who sees which keys


@pytest.fixture
def secret(project, alice, bob):
    """A public model of Alice's, and a private model of Bob's with keys and an uploader of its own."""
    upload(alice, project, name="public", hyperparameters={"lr": 0.1}, metrics={"acc": 0.9})
    return upload(bob, project, name="secret", private=True, hyperparameters={"secret_hp": 1}, metrics={"acc": True})


def api_lists(api, user, project) -> dict:
    """The project's all_* lists as `user` gets them, from the detail and from the list; they agree."""
    client = api.as_user(user)
    detail = client.get(f"{URL}{project.pk}/").json()["data"]
    listed = next(p for p in client.get(URL).json()["data"] if p["id"] == project.pk)
    fields = ("all_hyperparameters", "all_parameters", "all_metrics", "all_users")
    assert {f: detail[f] for f in fields} == {f: listed[f] for f in fields}
    return detail


class TestVisibility:
    @pytest.mark.parametrize("who", ["alice", "carol"])
    def test_other_members_see_neither_the_keys_nor_the_uploader_of_a_private_model(
        self, api, project, secret, alice, who, request
    ):
        user = request.getfixturevalue(who)

        data = api_lists(api, user, project)

        assert data["all_hyperparameters"] == ["lr"]
        assert data["all_users"] == [{"id": alice.pk, "full_name": "Alice"}]
        for catalog in (key_catalog(user, project), key_catalog(user)):
            assert catalog.fields() == ["hyperparameters.lr", "metrics.acc"]
            assert catalog.kind("metrics.acc") == "number"  # the private boolean does not count

    @pytest.mark.parametrize("who", ["bob", "staff"])
    def test_the_uploader_and_staff_see_them(self, api, project, secret, alice, bob, who, request):
        user = request.getfixturevalue(who)

        data = api_lists(api, user, project)

        assert data["all_hyperparameters"] == ["lr", "secret_hp"]
        assert [u["id"] for u in data["all_users"]] == [alice.pk, bob.pk]
        catalog = key_catalog(user, project)
        assert catalog.fields() == ["hyperparameters.lr", "hyperparameters.secret_hp", "metrics.acc"]
        assert catalog.kind("metrics.acc") == "text"  # a number beside a boolean

    def test_an_outsider_sees_no_keys(self, project, secret, eve):
        assert key_catalog(eve, project).fields() == [] and key_catalog(eve).fields() == []

    def test_keys_go_from_other_peoples_lists_the_moment_a_model_is_made_private(
        self, api, client, project, alice, bob
    ):
        upload(alice, project, name="public", metrics={"acc": 0.9})
        model = upload(bob, project, name="soon-secret", hyperparameters={"secret_hp": 1})
        client.force_login(alice)
        assert "hyperparameters.secret_hp" in client.get(f"/projects/{project.pk}/").context["view"].catalog.fields()
        assert api_lists(api, alice, project)["all_hyperparameters"] == ["secret_hp"]

        response = api.as_user(bob).patch(f"/api/v1/models/{model.pk}/", {"visibility": "private"}, format="json")
        assert response.status_code == 200, response.content

        for page in (f"/projects/{project.pk}/", "/models/"):
            assert "hyperparameters.secret_hp" not in client.get(page).context["view"].catalog.fields()
        data = api_lists(api, alice, project)
        assert data["all_hyperparameters"] == [] and [u["id"] for u in data["all_users"]] == [alice.pk]

    def test_the_models_page_lists_the_keys_of_every_visible_project(self, client, project, other_project, bob, eve):
        upload(bob, project, metrics={"acc": 0.9})
        upload(bob, other_project, metrics={"f1": 0.9})
        elsewhere = services.project_create(
            user=eve, workspace=services.workspace_create(user=eve, name="Audio"), name="wav"
        )
        upload(eve, elsewhere, metrics={"wer": 0.1})
        client.force_login(bob)

        catalog = client.get("/models/").context["view"].catalog

        assert catalog.fields() == ["metrics.acc", "metrics.f1"]

    def test_a_member_removed_from_the_workspace_sees_no_keys(self, project, alice, bob, carol):
        upload(alice, project, metrics={"acc": 0.9})
        services.membership_remove(workspace=project.workspace, actor=alice, user=carol)

        assert key_catalog(carol).fields() == [] and key_catalog(carol, project).fields() == []


# ----------------------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_and_edits_over_the_same_keys_neither_deadlock_nor_miscount(workspace, project, alice, bob):
    """Uploads lock their project, then its count rows; an edit that also inserts a count row needs
    the project row too (its foreign key). Without edits and deletes taking the project lock first,
    this deadlocks within a few rounds on PostgreSQL."""
    if connection.vendor == "sqlite":
        pytest.skip("needs a database whose writers wait for each other (PostgreSQL)")
    other = services.project_create(user=alice, workspace=workspace, name="vits")
    keys = {f"k{i}": i for i in range(20)}
    seeded = [upload(bob, project, name=f"seed{i}", metrics=keys) for i in range(6)]
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    errors: list = []

    def work(n):
        try:
            barrier.wait()
            for round_ in range(8):
                if n % 2:
                    upload(bob, project, name=f"t{n}-{round_}", metrics=keys)
                    continue
                # Every shared key changes kind, and a new key makes a new row.
                metrics = {k: v if round_ % 2 else str(v) for k, v in keys.items()} | {f"new{n}-{round_}": 1}
                model = MLModel.objects.get(pk=seeded[n].pk)
                services.model_update(model=model, user=bob, metrics=metrics, private=round_ % 3 == 0)
            model = MLModel.objects.get(pk=seeded[n].pk)
            if n % 2:
                services.model_delete(model=model, user=bob)
            else:
                services.model_update(model=model, user=bob, project=other)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert keystats.drift() == 0
