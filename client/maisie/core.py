"""Configuration from every source, and the base class of the resource actions.

Settings are layered, each source overriding the ones before it:

1. defaults (:data:`DEFAULT_SETTINGS`);
2. the user's configuration file, ``<user config folder>/.maisie``
   (``~/.config/maisie/.maisie`` on Linux; this is where ``maisie login`` writes);
3. ``.maisie`` files found in the working folder and its parents, the nearest winning;
4. ``MAISIE_*`` environment variables (``MAISIE_API_URL`` sets ``api_url``);
5. a file, then a dictionary, given in code (``Config(filename=..., dictionary=...)``).

A ``.maisie`` file is INI: ``[api]`` with ``url = …`` sets ``api_url``.
:meth:`Config.getsource` tells where each value came from.
"""

from __future__ import annotations

import configparser
import functools
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

from maisie.errors import ConfigurationError, ValidationError
from maisie.utils import http
from maisie.utils.auth import AuthManager

logger = logging.getLogger(__name__)

PERMITTED_SETTINGS = [
    "api_url",
    "api_page",
    "api_per_page",
    "git_local_repo",
    "auth_user_login",
    "auth_user_password",
    "auth_app_token",
    "auth_ssh_key",
    "auth_ssh_key_passphrase",
    "logging_enable",
    "logging_level",
    "logging_file",
    "selected_project",
    "selected_workspace",
]

DEFAULT_SETTINGS: dict[str, Any] = {
    "api_url": None,
    "api_page": 1,
    "api_per_page": 20,
    "git_local_repo": None,
    "auth_user_login": None,
    "auth_user_password": None,
    "auth_app_token": None,
    "auth_ssh_key": None,
    "auth_ssh_key_passphrase": None,
    "logging_enable": True,
    "logging_level": "WARNING",
    "logging_file": None,
    "selected_project": None,
    "selected_workspace": None,
}

#: settings never shown in full by ``maisie config ls``
SECRET_SETTINGS = frozenset({"auth_user_password", "auth_app_token", "auth_ssh_key_passphrase"})

APP_ENV_PREFIX = "MAISIE"
CONFIG_FILENAME = ".maisie"

_INT_SETTINGS = frozenset({"api_page", "api_per_page", "selected_project", "selected_workspace"})
_BOOL_SETTINGS = frozenset({"logging_enable"})
_UNSET = frozenset({"", "none", "null"})  # the 0.1.6 `config generate` wrote `None` for empty values


def user_config_dir() -> Path:
    """The user's configuration folder for Maisie (``$XDG_CONFIG_HOME/maisie`` on Linux)."""
    import click  # click knows each platform's convention

    return Path(click.get_app_dir("maisie"))


def user_config_path() -> Path:
    """The user's own configuration file, where ``maisie login`` stores the server and token."""
    return user_config_dir() / CONFIG_FILENAME


def _coerce(key: str, value: Any, source: str) -> Any:
    """A setting's value in its proper type; text from files and the environment is converted."""
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in _UNSET:
            return None
    if value is None:
        return None
    if key in _INT_SETTINGS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{key} must be a whole number, not {value!r} (from {source}).") from None
    if key in _BOOL_SETTINGS:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(f"{key} must be true or false, not {value!r} (from {source}).")
    return value if isinstance(value, str) else str(value)


def _ini_key(section: str, option: str) -> str | None:
    """The setting named by an INI section and option: ``[api] url`` is ``api_url``.

    Files written by the 0.1.6 client repeat the section (``[auth] auth_user_login``); the
    option alone is taken when it names a setting.
    """
    for key in (f"{section}_{option}".lower(), option.lower()):
        if key in PERMITTED_SETTINGS:
            return key
    return None


def _ini_location(key: str) -> tuple[str, str]:
    """Where a setting goes in an INI file: ``api_url`` -> (``api``, ``url``)."""
    section, _, option = key.partition("_")
    return section, option


def write_settings(path: str | Path, values: Mapping[str, Any]) -> Path:
    """Set (or, for ``None``, remove) settings in an INI file, keeping its other lines and comments.

    The file is replaced atomically; a new file, and any file holding credentials, is readable
    by its owner only (mode 0600).

    :param path: the file; created with its folder when missing
    :param values: setting names (``api_url``) and their values
    :returns: the file's path
    """
    path = Path(path).expanduser()
    for key in values:
        if key not in PERMITTED_SETTINGS:
            raise ConfigurationError(f"Unknown setting {key!r}; known: {', '.join(PERMITTED_SETTINGS)}.")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for key, value in values.items():
        section, option = _ini_location(key)
        lines = _set_ini_line(lines, section, option, None if value is None else str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = not path.exists() or any(key.startswith("auth_") for key in values)
    mode = 0o600 if secret else (path.stat().st_mode & 0o777)
    fd, temp = tempfile.mkstemp(prefix=".maisie-", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines).rstrip("\n") + "\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def _set_ini_line(lines: list[str], section: str, option: str, value: str | None) -> list[str]:
    option_re = re.compile(rf"^\s*({re.escape(option)}|{re.escape(section)}_{re.escape(option)})\s*[=:]", re.I)
    current = None
    section_end = None  # index after the last line of the wanted section
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            current = match.group(1).strip().lower()
            continue
        if current == section:
            if option_re.match(line):
                if value is None:
                    return lines[:index] + lines[index + 1 :]
                return [*lines[:index], f"{option} = {value}", *lines[index + 1 :]]
            if line.strip():
                section_end = index + 1
    if value is None:
        return lines
    if section_end is None:
        header = next(
            (
                i
                for i, line in enumerate(lines)
                if _SECTION.match(line) and _SECTION.match(line).group(1).strip().lower() == section
            ),
            None,
        )
        if header is not None:
            section_end = header + 1
    if section_end is None:
        blank = [""] if lines and lines[-1].strip() else []
        return [*lines, *blank, f"[{section}]", f"{option} = {value}"]
    return [*lines[:section_end], f"{option} = {value}", *lines[section_end:]]


class _InstanceOrLatest:
    """A method usable on an instance, or on the class, where it acts on the latest instance.

    The 0.1.6 client documented ``Config.getsource(key)`` as a static method.
    """

    def __init__(self, func: Callable) -> None:
        self.func = func
        functools.update_wrapper(self, func)

    def __get__(self, obj: Any, cls: type) -> Callable:
        target = obj if obj is not None else cls._latest
        if target is None:
            return lambda *args, **kwargs: None
        return functools.partial(self.func, target)


class Config:
    """Manages and pre-loads configuration from all available sources.

    Every name in :data:`PERMITTED_SETTINGS` is an attribute (``config.api_url``).

    :param filename: a configuration file applied over the other sources
    :param dictionary: settings applied last, over everything else
    :param disable_env: ignore ``MAISIE_*`` environment variables
    """

    _latest: Config | None = None

    def __init__(
        self,
        filename: str | Path | None = None,
        dictionary: Mapping[str, Any] | None = None,
        *,
        disable_env: bool = False,
    ) -> None:
        self._sources: dict[str, str] = {}
        #: the configuration files read, in the order they were applied
        self.files: list[Path] = []
        self.__auth: AuthManager | None = None
        self.__session: requests.Session | None = None
        self._fetch_from_dict(DEFAULT_SETTINGS, source="default")
        self.fetch(filename=filename, dictionary=dictionary, disable_env=disable_env)
        type(self)._latest = self
        self._setup_logging()

    def __repr__(self) -> str:
        shown = {
            key: ("***" if key in SECRET_SETTINGS and getattr(self, key) else getattr(self, key))
            for key in PERMITTED_SETTINGS
        }
        return f"Config({shown})"

    # --- sources -----------------------------------------------------------------------------

    def fetch(
        self, filename: str | Path | None = None, dictionary: Mapping[str, Any] | None = None, disable_env: bool = False
    ) -> None:
        """Populates the `Config()` object with attributes from multiple sources.

        Configuration files found on disk come first, then environment variables, then
        `filename`, then `dictionary`: when both `filename` and `dictionary` are provided, the
        configuration file is processed first and then the keys from the dictionary.

        :param filename: path to a configuration file
        :param dictionary: a structured key-value paired configuration object. Keys not present
            in `PERMITTED_SETTINGS` are omitted.
        :param disable_env: whether to disable fetching configuration from environment variables
        """
        self._fetch_scan_directory()
        if not disable_env:
            self._fetch_from_env_variables()
        if filename:
            path = Path(filename).expanduser()
            if not path.is_file():
                raise ConfigurationError(f"Configuration file {filename} not found.")
            self._fetch_from_file(path)
        if dictionary:
            self._fetch_from_dict(dictionary)
        self.__auth = None  # credentials may have changed

    def _fetch_scan_directory(self) -> None:
        """Reads the user's configuration file, then ``.maisie`` files from the farthest parent
        of the working folder down to the working folder itself."""
        found: list[Path] = []
        user_file = user_config_path()
        if user_file.is_file():
            found.append(user_file)
        here = Path.cwd().resolve()
        local = [folder / CONFIG_FILENAME for folder in (here, *here.parents)]
        for path in reversed(local):
            if path.is_file() and path.resolve() not in {p.resolve() for p in found}:
                found.append(path)
        for path in found:
            self._fetch_from_file(path)

    def _fetch_from_file(self, filename: str | Path) -> None:
        """Populates the `Config()` object with attributes loaded from a given INI file.

        :param filename: path to the configuration file
        """
        path = Path(filename).expanduser()
        parser = configparser.ConfigParser(interpolation=None)  # tokens may contain `%`
        try:
            with path.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except FileNotFoundError:
            raise ConfigurationError(f"Configuration file {path} not found.") from None
        except (configparser.Error, UnicodeDecodeError) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigurationError(f"Cannot read configuration file {path}: {reason}") from exc
        omitted = []
        for section in parser.sections():
            for option, value in parser.items(section, raw=True):
                key = _ini_key(section, option)
                if key is None:
                    omitted.append(f"{section}.{option}")
                    continue
                self._set(key, value, str(path))
        if omitted:
            logger.debug("Ignored unknown settings in %s: %s", path, ", ".join(omitted))
        self.files.append(path)

    def _fetch_from_dict(self, dictionary: Mapping[str, Any], source: str = "dictionary") -> None:
        """Populates the `Config()` object with attributes loaded from a given dictionary.

        :param dictionary: a structured key-value paired configuration object. Keys not present
            in `PERMITTED_SETTINGS` are omitted.
        """
        for key, value in dictionary.items():
            name = str(key).lower()
            if name in PERMITTED_SETTINGS:
                self._set(name, value, source)
            else:
                logger.debug("Ignored unknown setting %r", key)

    def _fetch_from_env_variables(self) -> None:
        """Populates the `Config()` object with attributes loaded from the system's environment
        variables, ``MAISIE_`` followed by the upper-cased setting name."""
        for key in PERMITTED_SETTINGS:
            value = os.environ.get(f"{APP_ENV_PREFIX}_{key}".upper())
            if value:
                self._set(key, value, "environment")

    def _set(self, key: str, value: Any, source: str) -> None:
        setattr(self, key, _coerce(key, value, source))
        self._setsource(key, source)

    def _setsource(self, key: str, value: str) -> None:
        self._sources[key] = value

    @_InstanceOrLatest
    def getsource(self, key: str) -> str | None:
        """Where a setting's value came from: ``"default"``, a file's path, ``"environment"``
        or ``"dictionary"``; ``None`` for an unknown setting.

        Called on the class (``Config.getsource(key)``), it answers for the latest `Config`.
        """
        return self._sources.get(key)

    def as_dict(self) -> dict[str, Any]:
        """Every setting and its value."""
        return {key: getattr(self, key) for key in PERMITTED_SETTINGS}

    def save(self, values: Mapping[str, Any], filename: str | Path | None = None) -> Path:
        """Write settings to a configuration file and apply them to this object.

        :param values: settings to set; ``None`` removes one from the file
        :param filename: the file to change; by default the user's configuration file
        :returns: the file written
        """
        path = write_settings(filename or user_config_path(), values)
        for key, value in values.items():
            if value is None:
                self._set(key, DEFAULT_SETTINGS.get(key), "default")
            else:
                self._set(key, value, str(path))
        self.__auth = None
        return path

    def _setup_logging(self) -> None:
        """Send the client's log to `logging_file` when one is set."""
        if not (self.logging_enable and self.logging_file):
            return
        root = logging.getLogger("maisie")
        target = str(Path(self.logging_file).expanduser().resolve())
        if any(getattr(h, "baseFilename", None) == target for h in root.handlers):
            return
        handler = logging.FileHandler(target)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(str(self.logging_level or "WARNING").upper())

    # --- the connection ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root without a trailing slash (``…/api/v1``)."""
        return http.api_base(self.api_url)

    @property
    def session(self) -> requests.Session:
        """The HTTP session shared by every request made with this configuration."""
        if self.__session is None:
            self.__session = http.make_session()
        return self.__session

    @property
    def auth(self) -> AuthManager:
        """Authenticates and returns an instance of AuthManager."""
        if self.__auth is None:
            self.__auth = AuthManager(
                api_url=self.base_url,
                login=self.auth_user_login,
                password=self.auth_user_password,
                app_token=self.auth_app_token,
                ssh_key=self.auth_ssh_key,
                ssh_key_passphrase=self.auth_ssh_key_passphrase,
                session=self.session,
            )
        return self.__auth

    @property
    def headers(self) -> dict[str, str]:
        """Returns HTTP Headers present in all requests sent to the specified target url."""
        return {"Authorization": f"Bearer {self.auth.token}"}


class BaseAction:
    """Base class for actions exposed both in package and for CLI.

    :param config: a :class:`Config`, a path to a configuration file, a dictionary of
        settings, or ``None`` for the configuration found on this machine
    """

    def __init__(self, config: Config | str | Path | Mapping[str, Any] | None = None) -> None:
        self.config = self.__check_config(config)
        #: the `pagination` block of the latest list answer
        self.pagination: dict[str, Any] | None = None
        #: what the latest answer said beside `data`, `pagination` and `status` (a versions
        #: list as of a time adds `as_of` and `deleted`)
        self.extras: dict[str, Any] = {}

    def __check_config(self, config: Any) -> Config:
        if isinstance(config, Config):
            return config
        if isinstance(config, str | Path):
            return Config(filename=config)
        if isinstance(config, Mapping):
            return Config(dictionary=config)
        if config is None:
            return Config()
        raise TypeError(f"config must be a Config, a file name or a dictionary, not {type(config).__name__}")

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.config.base_url}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send an authenticated request; a refused token is replaced once, transparently.

        Takes the keyword arguments of :func:`maisie.utils.http.send`. Answers are returned as
        they are, errors included; see :meth:`_call` for decoded data.
        """
        url = self._url(path)
        extra = kwargs.pop("headers", None) or {}
        for attempt in (1, 2):
            headers = {**extra, **self.config.headers}
            response = http.send(self.config.session, method, url, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                # An expired JWT or a revoked API token: sign in again (maybe through another
                # channel) and repeat the request once.
                response.close()
                logger.debug("Token refused; signing in again")
                self.config.auth.invalidate()
                continue
            return response
        return response

    def _call(self, method: str, path: str, *, context: str | None = None, **kwargs: Any) -> Any:
        """Send an authenticated request and return the `data` of its answer.

        :param context: what was asked, added to a bare "not found" (default: the path)
        :raises maisie.errors.MaisieError: the error matching the server's answer
        """
        return self._answer(method, path, context=context, **kwargs)[1]

    def _answer(self, method: str, path: str, *, context: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        """As :meth:`_call`, for answers whose success status says something (200 or 202): the
        status and the `data`."""
        response = self._request(method, path, **kwargs)
        body = http.decode_body(response, context=path.strip("/") if context is None else context)
        if isinstance(body, dict):
            if "pagination" in body:
                self.pagination = body["pagination"]
            self.extras = {key: value for key, value in body.items() if key not in ("data", "pagination", "status")}
        return response.status_code, http.unwrap(body)

    @staticmethod
    def _require(value: Any, what: str, hint: str) -> Any:
        if value in (None, ""):
            raise ValidationError(f"No {what} given: {hint}.")
        return value


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the ones left empty; lists stay lists (repeated parameters)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or value == "" or value == [] or value == ():
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
            value = [str(v) for v in value]
        out[key] = value
    return out
