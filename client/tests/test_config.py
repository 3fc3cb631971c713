"""Settings from defaults, files, the environment and code, and where each came from."""

import stat

import pytest
from maisie import BaseAction, Config
from maisie.core import user_config_path, write_settings
from maisie.errors import ConfigurationError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_come_from_the_defaults():
    config = Config()
    assert config.api_page == 1
    assert config.api_url is None
    assert config.getsource("api_page") == "default"
    assert Config.getsource("api_page") == "default"  # the 0.1.6 static form


def test_each_source_overrides_the_one_before(isolated, tmp_path, monkeypatch):
    user = write(
        user_config_path(), "[api]\nurl = http://user/api/v1\nper_page = 5\npage = 7\n[git]\nlocal_repo = /u\n"
    )
    parent = isolated.parent / ".maisie"
    write(parent, "[api]\nurl = http://parent/api/v1\nper_page = 6\n[selected]\nproject = 3\nworkspace = 2\n")
    here = write(isolated / ".maisie", "[api]\nurl = http://here/api/v1\n[selected]\nproject = 4\n")
    monkeypatch.setenv("MAISIE_SELECTED_PROJECT", "9")
    monkeypatch.setenv("MAISIE_AUTH_USER_LOGIN", "from-env")
    given = write(tmp_path / "given.ini", "[auth]\nuser_login = from-file\n[logging]\nlevel = DEBUG\n")

    config = Config(filename=given, dictionary={"logging_level": "ERROR", "unknown": 1})

    assert (config.api_page, config.getsource("api_page")) == (7, str(user))
    assert (config.git_local_repo, config.getsource("git_local_repo")) == ("/u", str(user))
    assert (config.api_per_page, config.getsource("api_per_page")) == (6, str(parent))
    assert (config.selected_workspace, config.getsource("selected_workspace")) == (2, str(parent))
    assert (config.api_url, config.getsource("api_url")) == ("http://here/api/v1", str(here))
    assert (config.selected_project, config.getsource("selected_project")) == (9, "environment")
    assert (config.auth_user_login, config.getsource("auth_user_login")) == ("from-file", str(given))
    assert (config.logging_level, config.getsource("logging_level")) == ("ERROR", "dictionary")
    assert config.getsource("unknown") is None
    assert config.files == [user, parent, here, given]


def test_environment_can_be_left_out(monkeypatch):
    monkeypatch.setenv("MAISIE_API_URL", "http://env/api/v1")
    assert Config().getsource("api_url") == "environment"
    config = Config(disable_env=True)
    assert (config.api_url, config.getsource("api_url")) == (None, "default")


def test_files_written_by_the_old_client_are_read(isolated):
    write(
        isolated / ".maisie",
        "[api]\nurl = http://old/api/v1\napi_page = 1\n[auth]\nauth_user_login = zofia\n"
        "auth_user_password = None\nauth_app_token = mai_x_100%\n",
    )
    config = Config()
    assert config.auth_user_login == "zofia"
    assert config.auth_user_password is None  # "None" was the old generator's empty value
    assert config.auth_app_token == "mai_x_100%"  # no `%` interpolation


def test_a_bad_value_names_its_source(isolated):
    path = write(isolated / ".maisie", "[selected]\nproject = resnets\n")
    with pytest.raises(ConfigurationError, match=str(path)):
        Config()


def test_a_broken_file_is_a_configuration_error(isolated):
    write(isolated / ".maisie", "url = no section\n")
    with pytest.raises(ConfigurationError, match="Cannot read configuration file"):
        Config()


def test_a_missing_given_file_is_an_error():
    with pytest.raises(ConfigurationError, match="not found"):
        Config(filename="nowhere.ini")


def test_writing_settings_keeps_comments_and_is_private(tmp_path):
    path = write(tmp_path / "conf" / ".maisie", "# my server\n[api]\nurl = http://a/api/v1\n\n[git]\nlocal_repo = .\n")
    path.chmod(0o644)
    write_settings(path, {"api_url": "http://b/api/v1", "auth_app_token": "mai_abc", "selected_project": 3})
    text = path.read_text()
    assert text.startswith("# my server\n[api]\nurl = http://b/api/v1\n")
    assert "[auth]\napp_token = mai_abc" in text
    assert "[selected]\nproject = 3" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it now holds a credential
    write_settings(path, {"auth_app_token": None})
    assert "app_token" not in path.read_text()

    new = write_settings(tmp_path / "fresh" / ".maisie", {"api_url": "http://c/api/v1"})
    assert stat.S_IMODE(new.stat().st_mode) == 0o600


def test_unknown_settings_cannot_be_written(tmp_path):
    with pytest.raises(ConfigurationError, match="Unknown setting"):
        write_settings(tmp_path / ".maisie", {"api_token": "x"})


def test_actions_take_a_config_a_dictionary_or_a_file(tmp_path):
    path = write(tmp_path / "c.ini", "[api]\nurl = http://file/api/v1\n")
    assert BaseAction(path).config.api_url == "http://file/api/v1"
    assert BaseAction(str(path)).config.getsource("api_url") == str(path)
    assert BaseAction({"api_url": "http://dict/api/v1"}).config.api_url == "http://dict/api/v1"
    config = Config(dictionary={"api_page": "3"})
    assert BaseAction(config).config is config
    assert config.api_page == 3
    with pytest.raises(TypeError):
        BaseAction(42)


def test_a_missing_server_is_explained():
    from maisie import Models

    with pytest.raises(ConfigurationError, match="maisie login"):
        Models().get_all()


def test_secrets_are_masked_in_repr():
    config = Config(dictionary={"auth_user_password": "hunter2", "auth_app_token": "mai_secret"})
    assert "hunter2" not in repr(config)
    assert "mai_secret" not in repr(config)
