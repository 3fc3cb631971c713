"""Start-up configuration: a bad environment value stops the server with a message naming the
variable (checked by starting `manage.py` for real), and the helpers in maisie_site/env.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from maisie_site.env import env_bool, env_choice, env_float, env_int, env_list, env_rate, env_str

REPO = Path(__file__).resolve().parents[2]
OUR_PREFIXES = ("DJANGO_", "MAISIE_", "DATABASE_URL")


def run_manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python manage.py <args>` from the repository root with only the given Maisie settings."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(OUR_PREFIXES)}
    base["MAISIE_DATA_DIR"] = str(tmp_path / "data")
    base.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- Start-up with a bad value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"MAISIE_MAX_UPLOAD_BYTES": "lots"}, "MAISIE_MAX_UPLOAD_BYTES"),
        ({"MAISIE_MAX_UPLOAD_BYTES": "0"}, "MAISIE_MAX_UPLOAD_BYTES"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY_FILE": "{tmp}/empty-secret"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY_FILE": "{tmp}/no-such-file"}, "DJANGO_SECRET_KEY_FILE"),
        ({"MAISIE_JWT_SECONDS": "5"}, "MAISIE_JWT_SECONDS"),
        ({"MAISIE_OPEN_REGISTRATION": "sure"}, "MAISIE_OPEN_REGISTRATION"),
        ({"MAISIE_LOGIN_RATE_PER_IP": "often"}, "MAISIE_LOGIN_RATE_PER_IP"),
        ({"MAISIE_LOGIN_RATE_PER_LOGIN": "10 per minute"}, "MAISIE_LOGIN_RATE_PER_LOGIN"),
        ({"MAISIE_NUM_PROXIES": "-1"}, "MAISIE_NUM_PROXIES"),
        ({"MAISIE_LOG_LEVEL": "LOUD"}, "MAISIE_LOG_LEVEL"),
        ({"MAISIE_DATA_DIR": "{tmp}/a-file/data"}, "MAISIE_DATA_DIR"),
        ({"MAISIE_S3_BUCKET": "models", "MAISIE_S3_PRESIGNED_SECONDS": "soon"}, "MAISIE_S3_PRESIGNED_SECONDS"),
        ({"MAISIE_S3_PRESIGNED_DOWNLOADS": "perhaps"}, "MAISIE_S3_PRESIGNED_DOWNLOADS"),
        (
            {"DATABASE_URL": "postgres://u@127.0.0.1/x", "MAISIE_PG_RANDOM_PAGE_COST": "cheap"},
            "MAISIE_PG_RANDOM_PAGE_COST",
        ),
        (
            {"DATABASE_URL": "postgres://u@127.0.0.1/x", "MAISIE_PG_SEQ_PAGE_COST": "0"},
            "MAISIE_PG_SEQ_PAGE_COST",
        ),
    ],
    ids=lambda value: ",".join(f"{key}={raw}" for key, raw in value.items()) if isinstance(value, dict) else None,
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, variable):
    (tmp_path / "empty-secret").write_text("\n")
    (tmp_path / "a-file").write_text("not a folder")
    env = {key: value.format(tmp=tmp_path) for key, value in env.items()}

    result = run_manage(tmp_path, "check", **env)

    assert result.returncode != 0
    # The last line is the error itself; the traceback above it quotes settings.py's source,
    # which names every variable, so only the last line proves the message does.
    message = last_line(result.stderr)
    assert message.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    assert f"ImproperlyConfigured: {variable}: " in message


def test_it_starts_with_no_configuration_at_all(tmp_path):
    result = run_manage(tmp_path, "check")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_in_production_the_secret_key_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret-from-a-mounted-file\n")

    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="overridden-by-the-file",
        DJANGO_SECRET_KEY_FILE=str(secret_file),
    )

    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout) == "False s3cret-from-a-mounted-file"


# --- gunicorn.conf.py ----------------------------------------------------------------------------


def run_gunicorn_check(tmp_path: Path, flag: str = "--check-config", **env: str) -> subprocess.CompletedProcess:
    """gunicorn reading gunicorn.conf.py (and with --check-config loading the app), from another folder."""
    base = {key: value for key, value in os.environ.items() if not key.startswith((*OUR_PREFIXES, "GUNICORN_"))}
    base["MAISIE_DATA_DIR"] = str(tmp_path / "data")
    base.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), flag, "maisie_site.wsgi"],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("GUNICORN_WORKERS", "many"),
        ("GUNICORN_WORKERS", "0"),
        ("GUNICORN_THREADS", "4.5"),
        ("GUNICORN_TIMEOUT", "-1"),
        ("MAISIE_BODY_READ_TIMEOUT", "soon"),
        ("GUNICORN_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_gunicorn_value_stops_gunicorn_naming_the_variable(tmp_path, variable, raw):
    result = run_gunicorn_check(tmp_path, **{variable: raw})

    assert result.returncode != 0
    message = last_line(result.stderr)
    assert message.startswith(f"django.core.exceptions.ImproperlyConfigured: {variable}: "), result.stderr


def test_gunicorn_reads_good_values_from_the_environment(tmp_path):
    result = run_gunicorn_check(
        tmp_path,
        "--print-config",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="2",
        GUNICORN_TIMEOUT="30",
        GUNICORN_LOG_LEVEL="WARNING",
    )

    assert result.returncode == 0, result.stderr
    lines = (line.partition(" = ") for line in result.stdout.splitlines())
    config = {key.strip(): value.strip() for key, _, value in lines}
    assert {key: config[key] for key in ("workers", "threads", "timeout", "loglevel")} == {
        "workers": "3",
        "threads": "2",
        "timeout": "30",
        "loglevel": "warning",
    }


# --- env_bool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "TRUE", " yes ", "on"])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_FLAG", raw)

    assert env_bool("MAISIE_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_FLAG", raw)

    assert env_bool("MAISIE_TEST_FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch, default):
    monkeypatch.delenv("MAISIE_TEST_FLAG", raising=False)

    assert env_bool("MAISIE_TEST_FLAG", default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please", "t"])
def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_FLAG: expected true or false"):
        env_bool("MAISIE_TEST_FLAG", False)


# --- env_int -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("42", 42), (" 7 ", 7), ("0", 0)])
def test_env_int_reads_an_integer(monkeypatch, raw, value):
    monkeypatch.setenv("MAISIE_TEST_NUMBER", raw)

    assert env_int("MAISIE_TEST_NUMBER", 1) == value


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_int_falls_back_to_the_default_when_unset_or_blank(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("MAISIE_TEST_NUMBER", raising=False)
    else:
        monkeypatch.setenv("MAISIE_TEST_NUMBER", raw)

    assert env_int("MAISIE_TEST_NUMBER", 99) == 99


@pytest.mark.parametrize("raw", ["lots", "3.5", "1e6", "0x10"])
def test_env_int_refuses_a_non_integer_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_NUMBER: expected an integer"):
        env_int("MAISIE_TEST_NUMBER", 1)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("MAISIE_TEST_NUMBER", "59")

    message = r"^MAISIE_TEST_NUMBER: must be a finite number of at least 60, got 59$"
    with pytest.raises(ImproperlyConfigured, match=message):
        env_int("MAISIE_TEST_NUMBER", 3600, minimum=60)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv("MAISIE_TEST_NUMBER", "60")

    assert env_int("MAISIE_TEST_NUMBER", 3600, minimum=60) == 60


# --- env_str and secrets from files ------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("1.1", 1.1), ("4", 4.0), (" 0.5 ", 0.5), ("", 2.0)])
def test_env_float_reads_a_number_or_the_default_when_blank(monkeypatch, raw, value):
    monkeypatch.setenv("MAISIE_TEST_FLOAT", raw)
    assert env_float("MAISIE_TEST_FLOAT", 2.0) == value


@pytest.mark.parametrize("raw", ["fast", "nan", "inf", "-1", "0.001"])
def test_env_float_refuses_a_non_number_or_one_out_of_range_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_FLOAT", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_FLOAT: "):
        env_float("MAISIE_TEST_FLOAT", 2.0, minimum=0.01)


def test_env_str_reads_the_variable_or_the_default(monkeypatch):
    monkeypatch.delenv("MAISIE_TEST_SECRET_FILE", raising=False)
    monkeypatch.delenv("MAISIE_TEST_SECRET", raising=False)
    assert env_str("MAISIE_TEST_SECRET", "fallback") == "fallback"

    monkeypatch.setenv("MAISIE_TEST_SECRET", "plain")
    assert env_str("MAISIE_TEST_SECRET", "fallback") == "plain"


def test_env_str_prefers_the_file_named_by_name_file_and_strips_it(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("  from-the-file\n")
    monkeypatch.setenv("MAISIE_TEST_SECRET", "from-the-variable")
    monkeypatch.setenv("MAISIE_TEST_SECRET_FILE", str(secret))

    assert env_str("MAISIE_TEST_SECRET") == "from-the-file"


def test_env_str_ignores_an_empty_name_file(monkeypatch):
    monkeypatch.setenv("MAISIE_TEST_SECRET", "from-the-variable")
    monkeypatch.setenv("MAISIE_TEST_SECRET_FILE", "")

    assert env_str("MAISIE_TEST_SECRET") == "from-the-variable"


@pytest.mark.parametrize("kind", ["missing", "a-folder"])
def test_env_str_refuses_an_unreadable_file_naming_name_file(monkeypatch, tmp_path, kind):
    path = tmp_path / kind
    if kind == "a-folder":
        path.mkdir()
    monkeypatch.setenv("MAISIE_TEST_SECRET_FILE", str(path))

    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_SECRET_FILE: cannot read"):
        env_str("MAISIE_TEST_SECRET")


# --- env_list ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("a.example,b.example", ["a.example", "b.example"]), (" a , b ,, c ", ["a", "b", "c"]), ("", [])],
)
def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch, raw, value):
    monkeypatch.setenv("MAISIE_TEST_HOSTS", raw)

    assert env_list("MAISIE_TEST_HOSTS", ["default"]) == value


def test_env_list_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("MAISIE_TEST_HOSTS", raising=False)

    assert env_list("MAISIE_TEST_HOSTS", ["localhost"]) == ["localhost"]


# --- env_rate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "per_seconds"),
    [("10/min", "10/min", 60), (" 5 / s ", "5/s", 1), ("100/hour", "100/hour", 3600), ("3/day", "3/day", 86400)],
)
def test_env_rate_reads_a_rate_drf_understands(monkeypatch, raw, value, per_seconds):
    monkeypatch.setenv("MAISIE_TEST_RATE", raw)

    rate = env_rate("MAISIE_TEST_RATE", "1/s")

    assert rate == value
    assert SimpleRateThrottle.parse_rate(None, rate) == (int(value.split("/")[0]), per_seconds)


@pytest.mark.parametrize("raw", [None, "", " "])
def test_env_rate_falls_back_to_the_default_when_unset_or_blank(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("MAISIE_TEST_RATE", raising=False)
    else:
        monkeypatch.setenv("MAISIE_TEST_RATE", raw)

    assert env_rate("MAISIE_TEST_RATE", "30/min") == "30/min"


@pytest.mark.parametrize("raw", ["often", "10", "0/min", "-1/min", "10/fortnight", "10/mango", "ten/min", "10/min/s"])
def test_env_rate_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MAISIE_TEST_RATE", raw)

    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_RATE: expected a rate"):
        env_rate("MAISIE_TEST_RATE", "1/s")


# --- env_choice --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("debug", "DEBUG"), (" Warning ", "WARNING"), ("", "INFO")])
def test_env_choice_reads_a_listed_word_in_any_case(monkeypatch, raw, value):
    monkeypatch.setenv("MAISIE_TEST_LEVEL", raw)

    assert env_choice("MAISIE_TEST_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING"]) == value


def test_env_choice_refuses_an_unlisted_word_naming_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv("MAISIE_TEST_LEVEL", "LOUD")

    with pytest.raises(ImproperlyConfigured, match=r"^MAISIE_TEST_LEVEL: expected one of DEBUG, INFO, got 'LOUD'"):
        env_choice("MAISIE_TEST_LEVEL", "INFO", ["DEBUG", "INFO"])
