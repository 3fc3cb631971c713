"""`maisie login`, `logout` and `whoami`."""

from __future__ import annotations

import getpass
import socket
import sys
from datetime import date
from urllib.parse import urlsplit

import click

from maisie.cli import AliasedGroup, CliError, State, output_options, pass_state
from maisie.cli.common import delete_many, show_list, show_object, yes_option
from maisie.cli.output import echo_json
from maisie.core import Config, user_config_path, write_settings
from maisie.errors import MaisieError, PermissionDenied
from maisie.resources.ssh_keys import SshKeys
from maisie.resources.tokens import Tokens
from maisie.utils import http
from maisie.utils.auth import AuthManager

DEFAULT_SERVER = "http://127.0.0.1:8000"


def create_api_token(auth: AuthManager, name: str, read_only: bool = False) -> dict:
    """Create a personal API token for the signed-in user (``POST /auth/tokens/``).

    :returns: the token's record; its secret is in ``"token"`` and is shown only this once
    """
    response = http.send(
        auth.session,
        "POST",
        f"{auth.api_url}/auth/tokens/",
        json={"name": name, "read_only": read_only},
        headers={"Authorization": f"Bearer {auth.token}"},
    )
    return http.decode(response, "auth/tokens")


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def with_scheme(server: str) -> tuple[str, str | None]:
    """`server` with a scheme: `host:port` (no scheme) gets http on this machine's loopback
    names and https anywhere else. Also returns the sentence that says which, or None when
    the address had a scheme."""
    server = server.strip()
    if "://" in server:
        return server, None
    host = urlsplit(f"//{server}").hostname or ""
    scheme = "http" if host.lower() in LOOPBACK_HOSTS else "https"
    why = "a local address" if scheme == "http" else "not a local address"
    return f"{scheme}://{server}", f"No scheme given: using {scheme}://{server} ({why})."


@click.command()
@click.option(
    "--server",
    help=f"The server's address, e.g. {DEFAULT_SERVER} or maisie.example.com:8443 (asked if not given; "
    "without a scheme: http for localhost, https otherwise).",
)
@click.option("-l", "--login", "login_name", help="Your login (asked if not given).")
@click.option(
    "--ssh-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Sign in with this private key (its public key registered on the server) instead of a password.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--token-name", help="A name for the API token (default: maisie-cli, your host and the date).")
@click.option("--read-only", is_flag=True, help="Make a token that can only read.")
@output_options
@pass_state
def login(
    state: State,
    server: str | None,
    login_name: str | None,
    ssh_key: str | None,
    password_stdin: bool,
    token_name: str | None,
    read_only: bool,
) -> None:
    """Sign in and save a personal API token in your user configuration.

    Asks for the server, your login and your password, creates an API token on the server
    and writes it, with the server's address, to your user configuration file (readable by
    you only). The password itself is never stored.
    """
    try:
        config = state.config
        known_server, known_login = config.api_url, config.auth_user_login
    except MaisieError:
        known_server = known_login = None  # a broken local configuration must not block a login
    if not server:
        server = click.prompt("Server", default=known_server or DEFAULT_SERVER, err=True)
    server, chosen = with_scheme(server)
    if chosen:
        state.info(chosen)
    api_url = http.api_base(server)
    if not login_name:
        login_name = click.prompt("Login", default=known_login or getpass.getuser(), err=True)
    if ssh_key:
        auth = AuthManager(api_url, login_name, ssh_key=ssh_key, enforce_ssh=True)
    else:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, err=True)
        if not password:
            raise CliError("No password given.", 2)
        auth = AuthManager(api_url, login_name, password=password)
    auth.perform_auth()
    name = token_name or f"maisie-cli {login_name}@{socket.gethostname()} {date.today().isoformat()}"
    token = create_api_token(auth, name, read_only=read_only)
    values = {"api_url": api_url, "auth_user_login": login_name, "auth_app_token": token["token"]}
    if ssh_key:
        values["auth_ssh_key"] = str(click.format_filename(ssh_key))
    path = write_settings(user_config_path(), values)
    if state.json:
        echo_json({"api_url": api_url, "login": login_name, "token_name": name, "config_file": str(path)})
    else:
        state.info(f"Signed in to {api_url} as {login_name}; API token {name!r} saved to {path}.")
    _warn_shadowed(state, values)


def _warn_shadowed(state: State, values: dict) -> None:
    """Say so when a local file or the environment will override what was just saved."""
    try:
        fresh = Config(filename=state.config_file)
    except MaisieError:
        return
    user_file = str(user_config_path())
    for key in values:
        source = fresh.getsource(key)
        if source != user_file:
            state.info(f"Note: {key} from {source} overrides the value saved in {user_file}.")


@click.command()
@output_options
@pass_state
def logout(state: State) -> None:
    """Revoke the saved API token on the server and remove it from your user configuration."""
    config = state.config
    token = config.auth_app_token
    if not token:
        raise CliError("No API token is configured.", 3)
    if config.getsource("auth_app_token") != str(user_config_path()):
        raise CliError(f"The API token comes from {config.getsource('auth_app_token')}; remove it there.", 2)
    revoked = False
    try:
        tokens = Tokens(config)
        record = tokens.find(token)
        if record is not None:
            revoked = tokens.delete(record["id"])
    except MaisieError as exc:
        state.info(f"Could not revoke the token on the server ({exc.message}); removing it locally.")
    config.save({"auth_app_token": None})
    if state.json:
        echo_json({"revoked": revoked})
    else:
        state.info("Signed out" + (" and revoked the token." if revoked else "."))


@click.command()
@output_options
@pass_state
def whoami(state: State) -> None:
    """Show who you are signed in as, on which server, and how."""
    from maisie.resources.users import Users

    users = Users(state.config)
    me = users.me()
    if state.json:
        echo_json({**me, "api_url": state.config.base_url, "channel": state.config.auth.channel})
    elif state.quiet:
        click.echo(me.get("login"))
    else:
        name = f" ({me['full_name']})" if me.get("full_name") else ""
        via = (state.config.auth.channel or "").replace("_", " ")
        click.echo(f"{me.get('login')}{name} on {state.config.base_url}, signed in with {via}")


@click.group("ssh-keys", cls=AliasedGroup)
def ssh_keys() -> None:
    """Your SSH public keys, for signing in with `maisie login --ssh-key`."""


KEY_COLUMNS = [
    ("ID", lambda k: k.get("id")),
    ("NAME", lambda k: k.get("name")),
    ("TYPE", lambda k: k.get("key_type")),
    ("FINGERPRINT", lambda k: k.get("fingerprint")),
    ("LAST USED", lambda k: k.get("last_used")),
]


@ssh_keys.command("ls")
@output_options
@pass_state
def keys_ls(state: State) -> None:
    """List your registered SSH public keys."""
    show_list(state, list(SshKeys(state.config).iter_all()), KEY_COLUMNS, "SSH keys")


@ssh_keys.command("add")
@click.argument("public_key")
@click.option("-n", "--name", default="", help="A name for it (default: the key's comment).")
@click.option(
    "--password-stdin", is_flag=True, help="Read your password from standard input, if the server asks for a sign-in."
)
@output_options
@pass_state
def keys_add(state: State, public_key: str, name: str, password_stdin: bool) -> None:
    """Register PUBLIC_KEY: a .pub file (e.g. ~/.ssh/id_ed25519.pub) or the key line itself.

    The server registers keys only for a recent password or SSH-key sign-in, not for the API
    token `maisie login` saved: then your password is asked for (or read from standard input
    with --password-stdin, or taken from MAISIE_AUTH_USER_PASSWORD) to sign in afresh.
    """
    config = state.config
    try:
        key = SshKeys(config).create(public_key, name)
    except PermissionDenied as exc:
        key = SshKeys(_signed_in_afresh(state, config, exc, password_stdin)).create(public_key, name)
    show_object(state, key)


def _signed_in_afresh(state: State, config: Config, refusal: PermissionDenied, password_stdin: bool) -> Config:
    """Settings that sign in with the password, for a write the server refused to `config`.

    Every 403 on creating a credential is about the credential that asked: an API token (which
    may never create one) or a sign-in older than the server's MAISIE_RECENT_SIGN_IN_SECONDS.
    A sign-in made by this very command is recent, so then there is nothing to retry.
    """
    if config.auth.channel != "app_token":
        raise refusal
    login = config.auth_user_login or (config.auth.user or {}).get("login")
    if not login:
        raise refusal
    state.info(f"{refusal.message.split(';')[0]}; signing in as {login} with your password.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif config.auth_user_password:
        password = config.auth_user_password
    else:
        try:
            password = click.prompt(f"Password for {login}", hide_input=True, err=True)
        except click.exceptions.Abort:
            raise CliError(
                "A password is needed: type it on a terminal, pipe it with --password-stdin, "
                "or set MAISIE_AUTH_USER_PASSWORD.",
                3,
            ) from None
    if not password:
        raise CliError("No password given.", 2)
    # Only the password channel: the saved API token is the credential that was refused.
    return Config(
        filename=state.config_file,
        dictionary={
            "auth_user_login": login,
            "auth_user_password": password,
            "auth_app_token": None,
            "auth_ssh_key": None,
        },
    )


@ssh_keys.command("rm")
@click.argument("ids", nargs=-1, type=int, required=True)
@yes_option
@output_options
@pass_state
def keys_rm(state: State, ids: tuple[int, ...], yes: bool) -> None:
    """Remove registered SSH keys."""
    delete_many(state, SshKeys(state.config), "SSH key", ids, yes)


COMMANDS = (login, logout, whoami, ssh_keys)
