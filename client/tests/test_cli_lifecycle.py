"""The lifecycle commands (`resolve`, `alias`, `registered-models`, references in `models`)
through the installed `maisie` command, against the live server."""

import json
from datetime import UTC, datetime

from maisie import Models, PromotionRequests, RegisteredModels

from tests.conftest import run_cli
from tests.test_cli import no_traceback
from tests.test_registered_models import upload_versions


def ok(*args, **kwargs):
    done = run_cli(*args, **kwargs)
    assert done.returncode == 0, (args, done.stderr)
    no_traceback(done)
    return done


def test_models_get_and_download_take_a_reference(signed_in, isolated):
    name, versions = upload_versions(signed_in, isolated)
    RegisteredModels(signed_in.settings).set_alias(signed_in.ref(name), "production", 2)

    shown = ok("models", "get", signed_in.ref(name, "@production"), "--json")
    assert json.loads(shown.stdout)["id"] == versions[1]["id"]
    table = ok("models", "get", signed_in.ref(name, ":3"))
    assert "id:" in table.stdout and str(versions[2]["id"]) in table.stdout

    (isolated / "dl").mkdir()
    got = ok("models", "download", signed_in.ref(name, "@production"), "-o", str(isolated / "dl"), "--json")
    assert json.loads(got.stdout) == {"id": versions[1]["id"], "path": str(isolated / "dl" / "v2.pt")}
    assert (isolated / "dl" / "v2.pt").read_bytes() == (isolated / "v2.pt").read_bytes()

    bad = run_cli("models", "download", f"{signed_in.workspace_name}/resnets")
    assert bad.returncode == 6
    no_traceback(bad)
    assert bad.stderr.strip().startswith("Error: Invalid input: ref: A reference has three parts separated by '/'")
    assert "this one has 2" in bad.stderr
    usage = run_cli("models", "download", "resnet50")
    assert usage.returncode == 2 and "neither an id nor a reference" in usage.stderr


def test_resolve_answers_the_version_a_reference_names(signed_in, isolated):
    name, versions = upload_versions(signed_in, isolated, count=2)
    RegisteredModels(signed_in.settings).set_alias(signed_in.ref(name), "staging", 1)

    as_json = ok("resolve", signed_in.ref(name, "@staging"), "--json")
    model = json.loads(as_json.stdout)
    assert (model["id"], model["version"], model["aliases"]) == (versions[0]["id"], 1, ["staging"])
    assert ok("resolve", signed_in.ref(name), "-q").stdout.strip() == str(versions[1]["id"])
    plain = ok("resolve", signed_in.ref(name, "@staging"))
    assert "aliases:" in plain.stdout and "staging" in plain.stdout

    unknown = run_cli("resolve", signed_in.ref(name, "@production"))
    assert unknown.returncode == 6
    assert unknown.stderr.strip() == f"Error: Invalid input: ref: {name} has no alias 'production'."
    hidden = run_cli("resolve", f"nowhere/resnets/{name}")
    assert hidden.returncode == 4
    assert hidden.stderr.strip() == "Error: No workspace 'nowhere' that you can see."


def test_alias_set_ls_and_rm(signed_in, isolated):
    name, versions = upload_versions(signed_in, isolated)
    ref = signed_in.ref(name)

    done = ok("alias", "set", signed_in.ref(name, ":1"), "staging")
    assert done.stdout.strip() == "staging now points at version 1 (before: not set)."
    promoted = ok("alias", "set", signed_in.ref(name, "@staging"), "production", "--json")
    assert json.loads(promoted.stdout)["moved"] is True
    assert json.loads(promoted.stdout)["alias"]["version"] == 1
    by_id = ok("alias", "set", str(versions[1]["id"]), "canary")  # a model id names a version too
    assert by_id.stdout.strip() == "canary now points at version 2 (before: not set)."
    moved = ok("alias", "set", ref, "staging")  # the latest version
    assert moved.stdout.strip() == "staging now points at version 3 (before: version 1)."
    same = ok("alias", "set", signed_in.ref(name, ":3"), "staging")
    assert same.stdout.strip() == "staging already points at version 3."
    assert RegisteredModels(signed_in.settings).get(ref)["aliases"] == {"canary": 2, "production": 1, "staging": 3}

    table = ok("alias", "ls", ref, env={"COLUMNS": "200"})
    header, *lines = table.stdout.splitlines()
    assert header.split()[:3] == ["ALIAS", "VERSION", "MODEL"]
    assert [line.split()[:3] for line in lines] == [
        ["canary", "2", str(versions[1]["id"])],
        ["production", "1", str(versions[0]["id"])],
        ["staging", "3", str(versions[2]["id"])],
    ]
    by_registered_id = ok("alias", "ls", str(versions[0]["registered_model_id"]), "-q")
    assert by_registered_id.stdout.split() == ["canary", "production", "staging"]

    refused = run_cli("alias", "rm", ref, "staging")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    ok("alias", "rm", ref, "staging", "--yes")
    assert [a["name"] for a in RegisteredModels(signed_in.settings).aliases(ref)] == ["canary", "production"]
    assert Models(signed_in.settings).get(versions[2]["id"])["aliases"] == []


def test_alias_errors_are_one_line_with_the_servers_message(signed_in, isolated):
    name, _ = upload_versions(signed_in, isolated, count=1)
    ref = signed_in.ref(name)

    unknown = run_cli("alias", "set", signed_in.ref(name, "@nope"), "production")
    assert unknown.returncode == 6
    no_traceback(unknown)
    assert unknown.stderr.strip() == f"Error: Invalid input: ref: {name} has no alias 'nope'."
    bad_name = run_cli("alias", "set", ref, "Production!")
    assert bad_name.returncode == 6
    no_traceback(bad_name)
    assert bad_name.stderr.startswith("Error: ") and len(bad_name.stderr.strip().splitlines()) == 1
    missing = run_cli("alias", "rm", ref, "staging", "--yes")
    assert missing.returncode == 4
    no_traceback(missing)
    empty = run_cli("alias", "ls", ref)
    assert empty.returncode == 0 and empty.stderr.strip() == "No aliases."
    assert RegisteredModels(signed_in.settings).aliases(ref) == []


def test_registered_models_ls_show_describe_versions_and_rm(signed_in, isolated):
    name, versions = upload_versions(signed_in, isolated, count=2)
    ref = signed_in.ref(name)
    registered_id = versions[0]["registered_model_id"]
    RegisteredModels(signed_in.settings).set_alias(ref, "production", 1)

    listed = ok("registered-models", "ls", "-p", str(signed_in.project_id), "-s", name, env={"COLUMNS": "200"})
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["ID", "PROJECT", "NAME", "LATEST", "VERSIONS", "ALIASES", "UPDATED"]
    assert lines[0].split()[:6] == [str(registered_id), str(signed_in.project_id), name, "2", "2", "production=1"]
    as_json = json.loads(ok("registered-models", "ls", "-s", name, "--json").stdout)
    assert [r["id"] for r in as_json] == [registered_id]

    (isolated / "CARD.md").write_text("# Card\n\nGood on *cats*.\n")
    ok("registered-models", "describe", ref, "-f", "CARD.md")
    assert RegisteredModels(signed_in.settings).get(registered_id)["description"] == "# Card\n\nGood on *cats*.\n"
    ok("registered-models", "describe", str(registered_id), "-f", "-", input="From stdin.\n")
    shown = ok("registered-models", "show", ref)
    assert shown.stdout.rstrip().endswith("\n\nFrom stdin.")
    assert "aliases:\n  production: 1\n" in shown.stdout and f"id:             {registered_id}\n" in shown.stdout
    ok("registered-models", "describe", ref, "Inline.")
    assert RegisteredModels(signed_in.settings).get(ref)["description"] == "Inline."
    neither = run_cli("registered-models", "describe", ref)
    assert neither.returncode == 2

    refused = run_cli("registered-models", "rm", ref)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    gone = ok("registered-models", "rm", ref, "--yes", "--json")
    assert json.loads(gone.stdout) == {"deleted": [registered_id]}
    missing = run_cli("registered-models", "show", str(registered_id))
    assert missing.returncode == 4
    assert missing.stderr.strip() == f"Error: Not found: registered-models/{registered_id}"


def test_the_new_commands_have_help():
    for args in (
        ["resolve"],
        ["alias"],
        ["alias", "set"],
        ["alias", "rm"],
        ["alias", "ls"],
        ["alias", "rollback"],
        ["registered-models"],
        ["registered-models", "ls"],
        ["registered-models", "describe"],
        ["registered-models", "versions"],
        ["promotions"],
        ["promotions", "ls"],
        ["promotions", "approve"],
        ["promotions", "reject"],
        ["promotions", "cancel"],
    ):
        done = ok(*args, "--help")
        assert "Usage:" in done.stdout


def test_a_refused_move_prints_every_rules_sentence_on_one_line(team, isolated):
    name, _ = upload_versions(team.owner, isolated, count=2, metrics=[{"accuracy": 0.95}, {"accuracy": 0.8}])
    team.rule(pattern="production", condition="metrics.accuracy >= 0.9")
    team.rule(pattern="prod*", metric="accuracy", direction="higher")
    ok("alias", "set", team.owner.ref(name, ":1"), "production", env=team.member.env)

    refused = run_cli("alias", "set", team.owner.ref(name, ":2"), "production", env=team.member.env)
    assert refused.returncode == 9
    no_traceback(refused)
    line = refused.stderr.strip()
    assert line.startswith("Error: Moving production breaks 2 rules: 1) ") and "\n" not in line
    assert "metrics.accuracy is 0.8" in line and "metrics.accuracy >= 0.9" in line and " 2) " in line
    assert RegisteredModels(team.owner.settings).alias(team.owner.ref(name), "production")["version"] == 1


def test_a_promotion_flow_from_the_command_line(team, isolated):
    name, versions = upload_versions(team.owner, isolated, count=2)
    ref = team.owner.ref(name)
    ok("alias", "set", team.owner.ref(name, ":1"), "production", env=team.owner.env)
    team.rule(pattern="production", approvals=1)

    opened = ok("alias", "set", team.owner.ref(name, ":2"), "production", env=team.owner.env)
    request_id = PromotionRequests(team.owner.settings).get_all(state="pending", project=team.owner.project_id)[0]["id"]
    assert opened.stdout.strip() == (
        f"Promotion request {request_id} opened: production -> version 2 needs 1 approval(s); the alias has not "
        "moved. See `maisie promotions ls`."
    )
    assert "production  1 " in ok("alias", "ls", ref, env=team.owner.env).stdout  # not moved yet

    listed = ok("promotions", "ls", "--state", "pending", "-m", ref, env={**team.member.env, "COLUMNS": "200"})
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:6] == ["ID", "STATE", "MODEL", "ALIAS", "VERSION", "REPLACES"]
    assert lines[0].split()[:7] == [str(request_id), "pending", name, "production", "2", "1", "0/1"]

    own = run_cli("promotions", "approve", str(request_id), env=team.owner.env)
    assert own.returncode == 5 and "You opened this request" in own.stderr
    approved = ok("promotions", "approve", str(request_id), "-m", "ship it", env=team.member.env)
    assert approved.stdout.strip() == (
        f"Request {request_id} approved and completed: production now points at version 2."
    )
    assert RegisteredModels(team.owner.settings).alias(ref, "production")["model_id"] == versions[1]["id"]
    shown = json.loads(ok("promotions", "get", str(request_id), "--json", env=team.owner.env).stdout)
    assert shown["state"] == "completed" and shown["approvals"][0]["comment"] == "ship it"

    again = ok("alias", "set", team.owner.ref(name, ":1"), "production", "--json", env=team.owner.env)
    second = json.loads(again.stdout)
    assert second["moved"] is False and second["promotion_request"]["version"] == 1
    rejected = ok("promotions", "reject", str(second["promotion_request"]["id"]), env=team.member.env)
    assert rejected.stdout.strip() == f"Request {second['promotion_request']['id']} rejected: rejected."
    third = ok("alias", "rollback", ref, "production", "-q", env=team.owner.env).stdout.strip()  # back to 1
    assert PromotionRequests(team.owner.settings).get(int(third))["version"] == 1
    cancelled = ok("promotions", "cancel", third, env=team.owner.env)
    assert cancelled.stdout.strip() == f"Request {third} cancelled: cancelled."
    assert RegisteredModels(team.owner.settings).alias(ref, "production")["version"] == 2


def test_alias_rollback_moves_it_back(signed_in, isolated):
    name, _ = upload_versions(signed_in, isolated)
    ref = signed_in.ref(name)
    ok("alias", "set", signed_in.ref(name, ":1"), "canary")
    ok("alias", "set", signed_in.ref(name, ":3"), "canary")
    back = ok("alias", "rollback", ref, "canary")
    assert back.stdout.strip() == "canary now points at version 1 (before: version 3)."
    assert RegisteredModels(signed_in.settings).alias(ref, "canary")["version"] == 1
    nothing = run_cli("alias", "rollback", ref, "nope")
    assert nothing.returncode == 4
    no_traceback(nothing)


def test_as_of_from_the_command_line(signed_in, isolated):
    name, versions = upload_versions(signed_in, isolated, count=2)
    ref = signed_in.ref(name)
    ok("alias", "set", signed_in.ref(name, ":1"), "production")
    then = datetime.now(UTC).isoformat()
    ok("alias", "set", signed_in.ref(name, ":2"), "production")
    production = signed_in.ref(name, "@production")

    earlier = json.loads(ok("resolve", production, "--as-of", then, "--json").stdout)
    assert earlier["id"] == versions[0]["id"]
    assert ok("resolve", production, "-q").stdout.strip() == str(versions[1]["id"])
    Models(signed_in.settings).delete(versions[0]["id"])  # no alias holds it now
    gone = run_cli("resolve", production, "--as-of", then)
    assert gone.returncode == 4
    no_traceback(gone)
    assert "deleted" in gone.stderr
    table = ok("alias", "ls", ref, "--as-of", then, env={"COLUMNS": "200"})
    header, line = table.stdout.splitlines()
    assert header.split()[-2:] == ["VERSION", "DELETED"]
    assert line.split()[:3] == ["production", "1", str(versions[0]["id"])]
    assert ok("alias", "ls", ref, "-q").stdout.split() == ["production"]

    listed = ok("registered-models", "versions", ref, "--as-of", then, "--json")
    assert [v["version"] for v in json.loads(listed.stdout)] == [2]
    assert f"Version 1 (model {versions[0]['id']}) was deleted since, on " in listed.stderr
    now = ok("registered-models", "versions", ref, "-q")
    assert now.stdout.split() == [str(versions[1]["id"])] and now.stderr == ""

    wrong = run_cli("alias", "ls", ref, "--as-of", "yesterday")
    assert wrong.returncode == 6
    no_traceback(wrong)
    assert wrong.stderr.strip().startswith("Error: Invalid input: as_of: ")
