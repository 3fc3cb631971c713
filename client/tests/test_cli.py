"""The `maisie` command through its installed entry point, against the live server."""

import json
import stat

from click.testing import CliRunner
from maisie import Models
from maisie.cli import cli
from maisie.core import user_config_path, write_settings

from tests.conftest import git, maisie_script, run_cli


def no_traceback(done):
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout


def test_login_saves_a_token_privately_and_never_the_password(account):
    done = run_cli(
        "login",
        "--server",
        account.server.url,
        "--login",
        account.login,
        "--password-stdin",
        input=account.password + "\n",
    )
    assert done.returncode == 0, done.stderr
    path = user_config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert account.password not in text
    assert "app_token = mai_" in text
    assert f"url = {account.server.api_url}" in text
    tokens = account.server.call("GET", "auth/tokens/", session=account.session)
    assert any(t["name"].startswith("maisie-cli") for t in tokens)

    whoami = run_cli("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert f"{account.login} " in whoami.stdout and "app token" in whoami.stdout

    out = run_cli("logout")
    assert out.returncode == 0, out.stderr
    assert "app_token" not in path.read_text()
    names = [t["name"] for t in account.server.call("GET", "auth/tokens/", session=account.session)]
    assert not any(name.startswith("maisie-cli") for name in names)


def test_login_asks_for_what_it_is_not_given(account):
    answers = f"{account.server.url}\n{account.login}\n{account.password}\n"
    done = run_cli("login", input=answers)
    assert done.returncode == 0, done.stderr
    assert "Server" in done.stderr and "Password" in done.stderr
    assert account.password not in done.stderr + done.stdout


def test_a_failed_login_is_one_line_and_writes_nothing(account):
    done = run_cli(
        "login", "--server", account.server.url, "--login", account.login, "--password-stdin", input="wrong\n"
    )
    assert done.returncode == 3
    no_traceback(done)
    assert done.stderr.strip().splitlines()[-1].startswith("Error: Sign-in failed")
    assert not user_config_path().exists()


def test_help_everywhere():
    for args in (
        [],
        ["login"],
        ["config"],
        ["config", "ls"],
        ["config", "generate"],
        ["config", "edit"],
        ["workspaces", "create"],
        ["projects", "select"],
        ["models"],
        ["models", "upload"],
        ["models", "ls"],
        ["models", "download"],
        ["models", "tag"],
        ["users", "create"],
        ["completion"],
    ):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output
    done = run_cli("--help")
    assert done.returncode == 0 and "models" in done.stdout


def test_both_commands_are_installed():
    mai = maisie_script().removesuffix("maisie") + "mai"
    done = run_cli("--version", script=mai)
    assert done.returncode == 0
    assert "0.2.0" in done.stdout


def test_shell_completion(tmp_path):
    script = run_cli("completion", "bash")
    assert script.returncode == 0
    assert "_MAISIE_COMPLETE" in script.stdout
    words = run_cli(env={"_MAISIE_COMPLETE": "bash_complete", "COMP_WORDS": "maisie mod", "COMP_CWORD": "1"})
    assert "models" in words.stdout


def test_upload_list_get_download_and_remove(signed_in, git_repo, monkeypatch, isolated):
    monkeypatch.chdir(git_repo)
    (git_repo / "model.pt").write_bytes(b"\x01\x02" * 50_000)
    (git_repo / "hp.yaml").write_text("lr: 0.003\nbatch: 64\n")
    (git_repo / "metrics.json").write_text('{"accuracy": 0.91}')

    up = run_cli(
        "models",
        "upload",
        "model.pt",
        "-n",
        "cli-model",
        "-hp",
        "hp.yaml",
        "-m",
        "metrics.json",
        "-t",
        "cli",
        "--dataset-name",
        "mnist",
        "--json",
    )
    assert up.returncode == 0, up.stderr
    model = json.loads(up.stdout)
    assert model["hyperparameters"] == {"lr": 0.003, "batch": 64}
    assert model["git"]["commit_hash"] == git(git_repo, "rev-parse", "HEAD")

    listed = run_cli("models", "ls", "--json", "--project", str(signed_in.project_id), "--per-page", "100")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert isinstance(rows, list) and model["id"] in [row["id"] for row in rows]

    table = run_cli("models", "ls", "--columns", "lr,metrics.accuracy,hp.batch", "--tag", "cli", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split()[-3:] == ["LR", "ACCURACY", "BATCH"]
    assert any(line.split()[-3:] == ["0.003", "0.91", "64"] for line in lines)

    ids = run_cli("models", "ls", "--quiet", "--search", "cli-model")
    assert str(model["id"]) in ids.stdout.split()

    shown = run_cli("models", "get", str(model["id"]))
    assert shown.returncode == 0
    assert "mnist" in shown.stdout and model["file"]["sha256"] in shown.stdout

    tagged = run_cli("models", "tag", str(model["id"]), "best", "v2")
    assert tagged.returncode == 0 and "best" in tagged.stdout

    (isolated / "dl").mkdir()
    got = run_cli("models", "download", str(model["id"]), "-o", str(isolated / "dl"))
    assert got.returncode == 0, got.stderr
    assert (isolated / "dl" / "model.pt").read_bytes() == (git_repo / "model.pt").read_bytes()
    assert got.stdout.strip() == str(isolated / "dl" / "model.pt")

    refused = run_cli("models", "rm", str(model["id"]))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    removed = run_cli("models", "rm", str(model["id"]), "--yes")
    assert removed.returncode == 0, removed.stderr
    gone = run_cli("models", "get", str(model["id"]))
    assert gone.returncode == 4
    no_traceback(gone)
    assert gone.stderr.strip() == f"Error: Not found: models/{model['id']}"


def test_tables_fit_the_terminal(signed_in, isolated):
    (isolated / "m.bin").write_bytes(b"x")
    long_metrics = json.dumps({f"metric_number_{i}": i / 7 for i in range(12)})
    done = run_cli("models", "upload", "m.bin", "-n", "a-rather-long-model-name-" * 3, "-m", long_metrics)
    assert done.returncode == 0, done.stderr
    for width in (60, 100):
        done = run_cli("models", "ls", env={"COLUMNS": str(width)})
        assert done.returncode == 0, done.stderr
        assert done.stdout and all(len(line) <= width for line in done.stdout.splitlines())
        assert "…" in done.stdout


def test_workspaces_projects_and_selection(signed_in, isolated):
    ws = run_cli("workspaces", "create", "cli-space", "-d", "made by the CLI", "--quiet")
    assert ws.returncode == 0, ws.stderr
    ws_id = ws.stdout.strip()
    listed = json.loads(run_cli("workspaces", "ls", "--search", "cli-space", "--json").stdout)
    assert [w["id"] for w in listed] == [int(ws_id)]
    assert run_cli("workspaces", "select", ws_id).returncode == 0
    project = run_cli("projects", "create", "cli-project", "--git-url", "https://example.com/p.git", "--json")
    assert project.returncode == 0, project.stderr
    project_id = json.loads(project.stdout)["id"]
    assert json.loads(project.stdout)["workspace_id"] == int(ws_id)

    assert run_cli("projects", "select", str(project_id), "--local").returncode == 0
    assert f"project = {project_id}" in (isolated / ".maisie").read_text()
    settings = {row["key"]: row for row in json.loads(run_cli("config", "ls", "--json").stdout)}
    assert settings["selected_project"]["value"] == project_id
    assert settings["selected_project"]["source"] == str(isolated / ".maisie")
    assert settings["auth_app_token"]["value"].endswith("…")  # masked

    listed = run_cli("projects", "ls", "--workspace", ws_id)
    assert "cli-project" in listed.stdout and "*" in listed.stdout
    assert run_cli("projects", "rm", str(project_id), "-y").returncode == 0
    assert run_cli("workspaces", "rm", ws_id, "-y").returncode == 0


def test_config_generate_and_set(signed_in, isolated):
    done = run_cli("config", "generate")
    assert done.returncode == 0, done.stderr
    text = (isolated / ".maisie").read_text()
    assert f"url = {signed_in.server.api_url}" in text
    assert signed_in.token not in text
    assert run_cli("config", "generate").returncode == 2  # it exists
    assert run_cli("config", "set", "api_per_page", "7", "--local").returncode == 0
    settings = {row["key"]: row for row in json.loads(run_cli("config", "ls", "--json").stdout)}
    assert settings["api_per_page"]["value"] == 7
    assert "# Maisie client settings" in (isolated / ".maisie").read_text()  # comments kept
    edited = run_cli("config", "edit", env={"EDITOR": "true", "VISUAL": "true"})
    assert edited.returncode == 0, edited.stderr


def test_staff_manage_users(server, isolated):
    write_settings(
        user_config_path(),
        {"api_url": server.api_url, "auth_user_login": "admin", "auth_user_password": "admin-Pass-4821"},
    )
    made = run_cli(
        "users",
        "create",
        "cli-user",
        "-n",
        "Cli User",
        "-e",
        "cli@example.com",
        "--password-stdin",
        "--json",
        input="pw-Long-enough-123\n",
    )
    assert made.returncode == 0, made.stderr
    user = json.loads(made.stdout)
    listed = json.loads(run_cli("users", "ls", "--search", "cli-user", "--json").stdout)
    assert [u["login"] for u in listed] == ["cli-user"]
    assert run_cli("users", "rm", str(user["id"]), "--yes").returncode == 0


def test_failures_exit_non_zero_with_one_line(signed_in, isolated, monkeypatch):
    missing = run_cli("models", "upload", "nothing.pt")
    assert missing.returncode == 6
    no_traceback(missing)
    assert missing.stderr.strip() == "Error: Model file nothing.pt not found."

    invalid = run_cli("projects", "create", "x", "--workspace", "999999")
    assert invalid.returncode == 6
    assert invalid.stderr.strip().startswith("Error: Invalid input: workspace_id:")

    usage = run_cli("models", "get", "not-a-number")
    assert usage.returncode == 2
    no_traceback(usage)

    broken = run_cli("models", "ls", env={"MAISIE_API_PAGE": "first"})
    assert broken.returncode == 2
    assert broken.stderr.strip() == "Error: api_page must be a whole number, not 'first' (from environment)."

    # Unreachable: in-process, so the retries need not wait.
    monkeypatch.setenv("MAISIE_API_URL", "http://127.0.0.1:9/api/v1")
    result = CliRunner().invoke(cli, ["models", "ls"])
    assert result.exit_code == 7
    assert result.output.strip().splitlines()[-1].startswith("Error: Cannot reach http://127.0.0.1:9")
    assert "Traceback" not in result.output


def test_not_signed_in_says_what_to_do(server, isolated):
    done = run_cli("models", "ls", env={"MAISIE_API_URL": server.api_url})
    assert done.returncode == 3
    assert "maisie login" in done.stderr
    no_traceback(done)


def test_download_refuses_to_replace_a_file_without_force(signed_in, isolated):
    model = Models(signed_in.settings).upload(
        "cli-force", write(isolated / "up" / "w.pt", b"new"), git=False, progress=False
    )
    (isolated / "w.pt").write_bytes(b"old")

    refused = run_cli("models", "download", str(model["id"]))
    assert refused.returncode == 6
    no_traceback(refused)
    assert refused.stderr.strip() == f"Error: {isolated / 'w.pt'} already exists; use --force to replace it."
    assert (isolated / "w.pt").read_bytes() == b"old"

    forced = run_cli("models", "download", str(model["id"]), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (isolated / "w.pt").read_bytes() == b"new"


def test_download_refuses_a_hidden_stored_name_without_allow_hidden(signed_in, isolated):
    model = Models(signed_in.settings).upload(
        "cli-hidden", write(isolated / "up" / ".profile", b"x"), git=False, progress=False
    )
    (isolated / "dl").mkdir()

    refused = run_cli("models", "download", str(model["id"]), "-o", str(isolated / "dl"))
    assert refused.returncode == 6
    no_traceback(refused)
    assert "'.profile' starts with a dot" in refused.stderr and "--allow-hidden" in refused.stderr
    assert list((isolated / "dl").iterdir()) == []

    allowed = run_cli("models", "download", str(model["id"]), "-o", str(isolated / "dl"), "--allow-hidden")
    assert allowed.returncode == 0, allowed.stderr
    assert (isolated / "dl" / ".profile").read_bytes() == b"x"
    renamed = run_cli("models", "download", str(model["id"]), "-o", str(isolated / "dl" / "profile.txt"))
    assert renamed.returncode == 0, renamed.stderr
    assert (isolated / "dl" / "profile.txt").read_bytes() == b"x"


def write(path, content: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_models_ls_all_reads_every_page_by_cursor(isolated, signed_in):
    (isolated / "tiny.pt").write_bytes(b"w")
    models = Models(signed_in.settings)
    for n in range(5):
        models.upload(f"all-{n}", isolated / "tiny.pt", metrics={"acc": n % 2}, git=False, progress=False)
    project = str(signed_in.project_id)
    expected = [row["id"] for row in models.get_all(project=project, per_page=1000, ordering="-metrics.acc")]
    listed = run_cli("models", "ls", "--all", "--per-page", "2", "--quiet", "-p", project, "-o", "-metrics.acc")
    assert listed.returncode == 0, listed.stderr
    assert [int(line) for line in listed.stdout.split()] == expected
