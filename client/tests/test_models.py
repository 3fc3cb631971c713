"""Uploading, finding, changing and deleting models through the package, against the live server."""

import hashlib
import json

import pytest
import requests
from maisie import Config, Models, Projects, Workspaces
from maisie.errors import NotFound, PermissionDenied, ValidationError
from maisie.utils.git import GitProvider
from maisie.utils.transfer import MultipartUpload

from tests.conftest import git


def model_file(folder, name="model.pt", size=300_000, seed=b"weights"):
    data = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    path = folder / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_upload_from_dictionaries_records_git_state_and_the_sha(shared_account, git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    path, digest = model_file(git_repo)
    models = Models(shared_account.settings)

    model = models.upload(
        "resnet50",
        path,
        hyperparameters={"lr": 0.1, "layers": [64, 128]},
        parameters={"seed": 7},
        metrics={"accuracy": 0.93},
        dataset_name="imagenet",
        dataset_description="1k classes",
        tags=["baseline", "gpu"],
        progress=False,
    )

    assert isinstance(model, dict)
    assert model["name"] == "resnet50"
    assert model["project_id"] == shared_account.project_id
    assert model["hyperparameters"] == {"lr": 0.1, "layers": [64, 128]}
    assert model["parameters"] == {"seed": 7}
    assert model["metrics"] == {"accuracy": 0.93}
    assert model["dataset"] == {"name": "imagenet", "description": "1k classes"}
    assert sorted(tag["name"] for tag in model["tags"]) == ["baseline", "gpu"]
    assert model["git"] == {
        "active_branch": "experiment",
        "commit_hash": git(git_repo, "rev-parse", "HEAD"),
        "remote_url": "https://git.example.com/acme/resnets.git",  # the origin's credentials stay here
        "dirty": False,  # an untracked file (the model) does not make the tree dirty
    }
    assert model["file"]["sha256"] == digest
    assert model["file"]["size"] == path.stat().st_size
    assert model["file"]["name"] == "model.pt"
    assert model["visibility"] == "public"


def test_upload_from_json_and_yaml_files(shared_account, isolated):
    path, _ = model_file(isolated)
    (isolated / "hp.yaml").write_text("lr: 0.01\noptimizer: adam\nbetas: [0.9, 0.999]\n")
    (isolated / "params.yml").write_text("epochs: 3\n")
    (isolated / "metrics.json").write_text(json.dumps({"loss": 0.25, "f1": 0.8}))

    model = Models(shared_account.settings).upload(
        "from-files", str(path), "hp.yaml", "params.yml", "metrics.json", private=True, git=False, progress=False
    )

    assert model["hyperparameters"] == {"lr": 0.01, "optimizer": "adam", "betas": [0.9, 0.999]}
    assert model["parameters"] == {"epochs": 3}
    assert model["metrics"] == {"loss": 0.25, "f1": 0.8}
    assert model["visibility"] == "private"
    assert model["git"] == {"active_branch": "", "commit_hash": "", "remote_url": "", "dirty": None}


def test_upload_takes_inline_json_and_reads_the_configured_repository(shared_account, git_repo, isolated):
    path, _ = model_file(isolated)
    settings = {**shared_account.settings, "git_local_repo": str(git_repo)}
    model = Models(settings).upload("inline", path, '{"lr": 0.5}', None, '{"acc": 1}', progress=False)
    assert model["hyperparameters"] == {"lr": 0.5}
    assert model["metrics"] == {"acc": 1}
    assert model["git"]["active_branch"] == "experiment"


def test_the_git_provider_reads_remote_and_dirtiness_without_credentials(git_repo):
    provider = GitProvider(git_repo)
    assert provider.remote_url == "https://git.example.com/acme/resnets.git"
    assert provider.remotes() == [["origin", "https://git.example.com/acme/resnets.git"]]
    assert provider.is_dirty is False
    (git_repo / "train.py").write_text("print('changed')\n")
    fields = provider.upload_fields()
    assert fields["git_dirty"] == "true"
    assert fields["git_remote_url"] == "https://git.example.com/acme/resnets.git"
    assert fields["git_commit_hash"] == git(git_repo, "rev-parse", "HEAD")


def test_the_upload_body_carries_git_fields_and_a_trailing_sha(tmp_path):
    path, digest = model_file(tmp_path, size=5000)
    body = MultipartUpload([("name", "m"), ("git_remote_url", "https://x/y.git"), ("git_dirty", "true")], path)
    raw = b"".join(iter(body))
    assert len(raw) == len(body)
    assert body.sha256 == digest
    assert b'name="git_remote_url"\r\n\r\nhttps://x/y.git\r\n' in raw
    assert b'name="git_dirty"\r\n\r\ntrue\r\n' in raw
    assert raw.endswith(f'name="sha256"\r\n\r\n{digest}\r\n--{body.boundary}--\r\n'.encode())


def test_a_file_name_outside_ascii_survives_the_upload(shared_account, isolated):
    path, _ = model_file(isolated, name="modèle-ß.bin")
    model = Models(shared_account.settings).upload("unicode", path, git=False, progress=False)
    assert model["file"]["name"] == "modèle-ß.bin"


def test_get_returns_the_object_and_get_all_a_list(shared_account, isolated):
    path, _ = model_file(isolated)
    models = Models(shared_account.settings)
    uploaded = models.upload("listed", path, metrics={"acc": 0.5}, git=False, progress=False)

    assert models.get(uploaded["id"]) == uploaded
    page = models.get_all(project=shared_account.project_id, per_page=2)
    assert isinstance(page, list)
    assert len(page) <= 2
    assert models.pagination["per_page"] == 2
    total = models.pagination["total_items"]
    every = list(models.iter_all(project=shared_account.project_id, per_page=2))
    assert uploaded["id"] in [m["id"] for m in every]
    assert len(every) == total
    assert [m["id"] for m in models.get_all(search="listed", project=shared_account.project_id)] == [uploaded["id"]]


def test_iter_all_reads_by_cursor_and_neither_repeats_nor_skips_while_models_come_and_go(account, isolated):
    path, _ = model_file(isolated, size=100)
    models = Models(account.settings)
    first = [models.upload(f"m{n}", path, metrics={"acc": n % 3}, git=False, progress=False) for n in range(7)]
    present = {model["id"] for model in first[1::2]}  # kept throughout
    doomed = [model["id"] for model in first[::2]]
    seen, added = [], []
    for model in models.iter_all(per_page=2, ordering="-metrics.acc"):
        seen.append(model["id"])
        assert "next_cursor" in models.pagination and "total_items" not in models.pagination
        if doomed:
            models.delete(doomed.pop())
            added.append(models.upload("late", path, metrics={"acc": 1}, git=False, progress=False)["id"])
    assert len(seen) == len(set(seen))
    assert present <= set(seen) <= {model["id"] for model in first} | set(added)
    assert models.pagination["next_cursor"] is None


def test_iter_all_reads_by_page_number_from_a_server_without_cursors(account):
    # The tags list takes no cursor: it answers numbered pages, as a server before cursors did.
    class TagsAsModels(Models):
        path, query_param = "tags", "search"

    tags = TagsAsModels(account.settings)
    created = [tags._create({"name": f"t{n}", "workspace_id": account.workspace_id})["id"] for n in range(5)]
    every = [tag["id"] for tag in tags.iter_all(per_page=2, workspace=account.workspace_id)]
    assert sorted(every) == sorted(created)
    assert tags.pagination["page"] == 3


def test_query_and_ordering_are_passed_through(shared_account):
    models = Models(shared_account.settings)
    seen = []
    models.config.session.hooks["response"].append(lambda response, **_: seen.append(response.request.url))
    models.get_all(query="metrics.acc > 0.5", ordering="-created", hyperparam=["lr", "batch"])
    url = requests.utils.unquote(seen[-1].replace("+", " "))
    assert "q=metrics.acc > 0.5" in url
    assert "ordering=-created" in url
    assert "hyperparam=lr&hyperparam=batch" in url


def test_update_tags_and_delete(shared_account, isolated):
    path, _ = model_file(isolated)
    models = Models(shared_account.settings)
    model = models.upload("changing", path, tags="a, b", git=False, progress=False)

    updated = models.update(model["id"], {"metrics": {"acc": 0.99}, "dataset_name": "cifar"})
    assert updated["metrics"] == {"acc": 0.99}
    assert updated["dataset"]["name"] == "cifar"
    assert sorted(t["name"] for t in models.add_tags(model["id"], "c", "a")["tags"]) == ["a", "b", "c"]
    assert sorted(t["name"] for t in models.remove_tags(model["id"], "a", "zzz")["tags"]) == ["b", "c"]
    assert models.set_tags(model["id"], [])["tags"] == []

    assert models.delete(model["id"]) is True
    with pytest.raises(NotFound, match=f"models/{model['id']}"):
        models.get(model["id"])
    with pytest.raises(NotFound):
        models.delete(model["id"])


def test_projects_and_workspaces(shared_account):
    settings = shared_account.settings
    workspace = Workspaces(settings).create("scratch", "for a test")
    assert Workspaces(settings).get(workspace["id"])["name"] == "scratch"
    project = Projects(settings).create("detector", "boxes", "https://example.com/d.git", workspace_id=workspace["id"])
    assert project["workspace_id"] == workspace["id"]
    assert project["id"] in [p["id"] for p in Projects(settings).get_all(workspace=workspace["id"])]
    assert [p["id"] for p in Projects(settings).get_all(query="detector", workspace=workspace["id"])] == [project["id"]]
    assert Projects(settings).update(project["id"], {"description": "new"})["description"] == "new"
    assert Projects(settings).delete(project["id"]) is True
    assert Workspaces(settings).delete(workspace["id"]) is True


def test_selecting_a_project_saves_it_for_uploads(shared_account, isolated):
    config = Config(dictionary={k: v for k, v in shared_account.settings.items() if not k.startswith("selected")})
    path = Projects(config).select(shared_account.project_id)
    assert Config().selected_project == shared_account.project_id
    assert Config().selected_workspace == shared_account.workspace_id
    assert Config().getsource("selected_project") == str(path)


def test_errors_carry_the_servers_message(server, shared_account, account, isolated):
    path, _ = model_file(isolated)
    mine = Models(shared_account.settings).upload("guarded", path, git=False, progress=False)

    with pytest.raises(ValidationError) as caught:
        Projects(shared_account.settings).create("x", workspace_id=999999)
    assert "workspace_id" in caught.value.errors
    assert caught.value.status == 400
    assert "workspace_id" in str(caught.value)

    # `account` cannot see the workspace at all, then is let in as a viewer.
    with pytest.raises(NotFound):
        Models(account.settings).get(mine["id"])
    server.call(
        "POST",
        f"workspaces/{shared_account.workspace_id}/members/",
        session=shared_account.session,
        json={"user_id": account.id, "role": "viewer"},
    )
    assert Models(account.settings).get(mine["id"])["id"] == mine["id"]
    with pytest.raises(PermissionDenied, match="Only the uploader") as denied:
        Models(account.settings).delete(mine["id"])
    assert denied.value.status == 403


def test_uploads_check_their_inputs_before_sending(shared_account, isolated):
    models = Models({k: v for k, v in shared_account.settings.items() if k != "selected_project"})
    path, _ = model_file(isolated)
    with pytest.raises(ValidationError, match="No project given"):
        models.upload("m", path, git=False)
    with pytest.raises(ValidationError, match="not found"):
        models.upload("m", isolated / "missing.pt", project_id=shared_account.project_id)
    with pytest.raises(NotFound, match="projects/999999"):
        models.upload("m", path, project_id=999999, git=False)
    (isolated / "list.json").write_text("[1, 2]")
    with pytest.raises(ValidationError, match="must be a dictionary"):
        models.upload("m", path, metrics="list.json", project_id=shared_account.project_id, git=False)
    (isolated / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        models.upload("m", path, hyperparameters="bad.yaml", project_id=shared_account.project_id, git=False)
    with pytest.raises(ValidationError, match="cannot read the git repository"):
        models.upload("m", path, project_id=shared_account.project_id, git=isolated)
