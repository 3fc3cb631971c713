"""References, registered models and aliases through the package, against the live server."""

import itertools
from datetime import UTC, datetime

import pytest
from maisie import AliasMoved, Models, RegisteredModels
from maisie.errors import NotFound, PermissionDenied, ValidationError

_names = itertools.count(1)


def upload_versions(account, folder, count=3, name=None, metrics=None, project_id=None, start=1):
    """Upload `count` versions of one model (each file says its number, from `start`: the same
    bytes again would be the same version), to the account's project unless another is given;
    (name, [models])."""
    name = name or f"lifecycle-{next(_names)}"
    models = Models(account.settings)
    uploaded = []
    for number in range(start, start + count):
        path = folder / f"v{number}.pt"
        path.write_bytes(f"{name} version {number}".encode() * 100)
        values = metrics[number - start] if metrics else {"accuracy": 0.8 + number / 100}
        uploaded.append(models.upload(name, path, metrics=values, project_id=project_id, git=False, progress=False))
    return name, uploaded


def test_get_and_download_take_a_reference_as_well_as_an_id(shared_account, isolated):
    name, versions = upload_versions(shared_account, isolated)
    models = Models(shared_account.settings)
    RegisteredModels(shared_account.settings).set_alias(versions[0]["registered_model_id"], "production", 2)

    assert models.get(shared_account.ref(name, "@production"))["id"] == versions[1]["id"]
    assert models.get(shared_account.ref(name, ":1"))["id"] == versions[0]["id"]
    latest = models.get(shared_account.ref(name))
    assert latest["id"] == versions[2]["id"]
    assert latest == models.get(versions[2]["id"]) == models.get(str(versions[2]["id"]))
    assert models.resolve(shared_account.ref(name, "@production"))["aliases"] == ["production"]

    (isolated / "dl").mkdir()
    path = models.download(shared_account.ref(name, "@production"), isolated / "dl", progress=False)
    assert path == isolated / "dl" / "v2.pt"
    assert path.read_bytes() == (isolated / "v2.pt").read_bytes()
    resolved = models.get(shared_account.ref(name, ":3"))
    again = models.download(resolved, isolated / "dl", progress=False)  # a model as get() gave it
    assert again.read_bytes() == (isolated / "v3.pt").read_bytes()


def test_a_bad_reference_raises_the_servers_message_naming_the_wrong_part(shared_account, isolated):
    name, _ = upload_versions(shared_account, isolated, count=1)
    models = Models(shared_account.settings)

    with pytest.raises(ValidationError) as two_parts:
        models.get(f"{shared_account.workspace_name}/resnets")
    assert two_parts.value.status == 400
    assert "three parts separated by '/'" in str(two_parts.value) and "this one has 2" in str(two_parts.value)
    assert "ref" in two_parts.value.errors

    with pytest.raises(ValidationError, match="is not an alias name"):
        models.get(shared_account.ref(name, "@Production"))
    with pytest.raises(ValidationError, match="is not a version number"):
        models.get(shared_account.ref(name, ":0"))
    with pytest.raises(ValidationError, match="three parts"):
        models.get("not-a-number")  # neither an id nor a reference: the server says why
    with pytest.raises(ValidationError, match=f"{name} has no alias 'staging'"):
        models.get(shared_account.ref(name, "@staging"))
    with pytest.raises(NotFound) as missing:
        models.get(f"no-such-workspace-{name}/resnets/{name}")
    assert str(missing.value) == f"No workspace 'no-such-workspace-{name}' that you can see."
    with pytest.raises(NotFound, match="has no version 9 that you can see"):
        models.get(shared_account.ref(name, ":9"))

    (isolated / "dl").mkdir()
    with pytest.raises(ValidationError, match="has no alias"):
        models.download(shared_account.ref(name, "@staging"), isolated / "dl", progress=False)
    assert list((isolated / "dl").iterdir()) == []


def test_registered_models_are_listed_read_described_and_deleted(shared_account, isolated):
    name, versions = upload_versions(shared_account, isolated)
    registered = RegisteredModels(shared_account.settings)
    registered_id = versions[0]["registered_model_id"]

    listed = registered.get_all(name, project=shared_account.project_id)
    assert [r["id"] for r in listed] == [registered_id]
    assert listed[0]["latest_version"] == 3 and listed[0]["version_count"] == 3
    assert registered_id in [r["id"] for r in registered.iter_all(project=shared_account.project_id, per_page=1)]
    assert registered.get(shared_account.ref(name)) == registered.get(registered_id)
    assert registered.id_of(shared_account.ref(name, ":2")) == registered_id

    card = "# ResNet\n\nTrained on *ImageNet*.\n"
    assert registered.update(shared_account.ref(name), description=card)["description"] == card
    assert registered.get(registered_id)["description"] == card

    assert registered.delete(shared_account.ref(name)) is True
    with pytest.raises(NotFound):
        registered.get(registered_id)
    with pytest.raises(NotFound):
        Models(shared_account.settings).get(versions[0]["id"])
    # Version numbers are never reused: the name uploaded again starts after the last one.
    _, again = upload_versions(shared_account, isolated, count=1, name=name)
    assert again[0]["version"] == 4


def test_aliases_are_set_moved_listed_and_removed(shared_account, isolated):
    name, versions = upload_versions(shared_account, isolated)
    registered = RegisteredModels(shared_account.settings)
    ref = shared_account.ref(name)

    first = registered.set_alias(ref, "staging", 1)
    assert isinstance(first, AliasMoved) and first.moved is True
    assert (first["name"], first["version"], first["model_id"], first["previous_version"]) == (
        "staging",
        1,
        versions[0]["id"],
        None,
    )
    moved = registered.set_alias(ref, "staging", 3)
    assert moved["previous_version"] == 1 and moved["version"] == 3
    registered.set_alias(ref, "production", 2)

    aliases = registered.aliases(ref)
    assert [(a["name"], a["version"], a["set_by"]["login"]) for a in aliases] == [
        ("production", 2, shared_account.login),
        ("staging", 3, shared_account.login),
    ]
    assert registered.alias(ref, "staging")["model_id"] == versions[2]["id"]
    assert registered.get(ref)["aliases"] == {"production": 2, "staging": 3}
    assert Models(shared_account.settings).get(versions[2]["id"])["aliases"] == ["staging"]

    assert registered.remove_alias(ref, "staging") is True
    assert [a["name"] for a in registered.aliases(ref)] == ["production"]
    with pytest.raises(NotFound):
        registered.alias(ref, "staging")
    with pytest.raises(NotFound):
        registered.remove_alias(ref, "staging")


def test_alias_writes_refuse_bad_input_and_change_nothing(shared_account, account, server, isolated):
    name, versions = upload_versions(shared_account, isolated, count=2)
    registered = RegisteredModels(shared_account.settings)
    ref = shared_account.ref(name)
    registered.set_alias(ref, "production", 1)

    with pytest.raises(ValidationError, match=r"version: .*has no version 7"):
        registered.set_alias(ref, "production", 7)
    with pytest.raises(ValidationError) as bad_name:
        registered.set_alias(ref, "Prod uction", 2)
    assert bad_name.value.status == 400
    with pytest.raises(ValidationError, match="version"):
        registered.set_alias(ref, "production", 0)
    assert [(a["name"], a["version"]) for a in registered.aliases(ref)] == [("production", 1)]

    # Outsiders do not see it at all; viewers see it but may not move its aliases.
    outsider = RegisteredModels(account.settings)
    with pytest.raises(NotFound):
        outsider.set_alias(versions[0]["registered_model_id"], "production", 2)
    server.call(
        "POST",
        f"workspaces/{shared_account.workspace_id}/members/",
        session=shared_account.session,
        json={"user_id": account.id, "role": "viewer"},
    )
    with pytest.raises(PermissionDenied):
        outsider.set_alias(ref, "production", 2)
    assert registered.alias(ref, "production")["version"] == 1


def test_as_of_answers_what_was_so_at_a_time(shared_account, isolated):
    name, versions = upload_versions(shared_account, isolated, count=2)
    registered, models = RegisteredModels(shared_account.settings), Models(shared_account.settings)
    ref = shared_account.ref(name)
    registered.set_alias(ref, "production", 1)
    then = datetime.now(UTC)  # a datetime (sent in ISO 8601), after the first move and before the second
    registered.set_alias(ref, "production", 2)
    _, third = upload_versions(shared_account, isolated, count=1, name=name, start=3)

    assert [(a["name"], a["version"]) for a in registered.aliases(ref)] == [("production", 2)]
    assert [(a["name"], a["version"], a["version_deleted"]) for a in registered.aliases(ref, as_of=then)] == [
        ("production", 1, None)
    ]
    assert registered.alias(ref, "production", as_of=then.isoformat())["model_id"] == versions[0]["id"]
    assert models.resolve(shared_account.ref(name, "@production"), as_of=then)["id"] == versions[0]["id"]
    assert models.resolve(ref, as_of=then)["version"] == 2  # the latest then
    assert [v["version"] for v in registered.versions(ref)] == [3, 2, 1]
    assert [v["version"] for v in registered.versions(ref, as_of=then)] == [2, 1]

    # A version that existed then and is deleted now is named, with the time of its deletion.
    models.delete(versions[0]["id"])
    earlier = registered.versions(ref, as_of=then)
    assert [v["version"] for v in earlier] == [2]
    assert [(d["version"], d["model_id"]) for d in earlier.deleted] == [(1, versions[0]["id"])]
    assert registered.aliases(ref, as_of=then)[0]["version_deleted"] == earlier.deleted[0]["deleted"]
    assert third[0]["version"] == 3 and registered.versions(ref).deleted == []

    with pytest.raises(ValidationError) as wrong:
        registered.aliases(ref, as_of="last tuesday")
    assert "as_of" in wrong.value.errors and "is not a time" in str(wrong.value)
    with pytest.raises(ValidationError, match="as_of"):
        models.resolve(ref, as_of="2026-13-45T99:00:00")
