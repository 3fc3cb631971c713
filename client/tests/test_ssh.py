"""SSH-key sign-in with real Ed25519 and RSA keys made in the test.

The server side is new: these tests skip, and only skip, when the server answers 404 for the
challenge endpoint or for registering keys (a server without SSH-key sign-in yet).
"""

import base64

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from maisie import Config, Users
from maisie.errors import AuthenticationError, NotFound
from maisie.resources.ssh_keys import SshKeys
from maisie.utils import ssh
from maisie.utils.auth import AuthManager

from tests.conftest import run_cli


def write_key(folder, kind="ed25519", passphrase=None):
    """A new private key in OpenSSH format at folder/id_<kind>, its public line beside it."""
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else rsa.generate_private_key(65537, 2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    path = folder / f"id_{kind}"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption))
    path.chmod(0o600)
    (folder / f"id_{kind}.pub").write_text(ssh.public_key_line(key, f"test-{kind}") + "\n")
    return path


@pytest.fixture(scope="module")
def ssh_supported(server):
    answer = requests.post(f"{server.api_url}/auth/ssh/challenge/", json={"login": "nobody"}, timeout=10)
    if answer.status_code == 404:
        pytest.skip("this server has no SSH-key sign-in yet (POST /auth/ssh/challenge/ answers 404)")
    return True


def register(account, public_key_path):
    try:
        # Registering a key needs a recent password (or SSH) sign-in; the account's API token cannot.
        settings = {**account.settings, "auth_app_token": None, "auth_user_password": account.password}
        return SshKeys(settings).create(public_key_path)
    except NotFound:
        pytest.skip("this server cannot register SSH keys yet (POST /auth/ssh-keys/ answers 404)")


def test_the_signed_message_is_fixed_by_the_protocol():
    assert ssh.challenge_message("zofia", "abc123") == b"maisie-ssh-login:zofia:abc123"


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_a_registered_key_signs_in(ssh_supported, server, account, tmp_path, kind):
    private = write_key(tmp_path, kind)
    registered = register(account, f"{private}.pub")
    assert registered["key_type"] == f"ssh-{kind}"

    auth = AuthManager(server.api_url, account.login, ssh_key=str(private))
    assert auth.token.count(".") == 2
    assert auth.channel == "ssh_key"
    assert auth.user["login"] == account.login
    config = Config(
        dictionary={"api_url": server.api_url, "auth_user_login": account.login, "auth_ssh_key": str(private)}
    )
    assert Users(config).me()["id"] == account.id


def test_an_encrypted_key_needs_its_passphrase(ssh_supported, server, account, tmp_path):
    private = write_key(tmp_path, "ed25519", passphrase="open sesame")
    register(account, f"{private}.pub")
    with pytest.raises(AuthenticationError, match="encrypted"):
        AuthManager(server.api_url, account.login, ssh_key=str(private)).perform_auth()
    auth = AuthManager(server.api_url, account.login, ssh_key=str(private), ssh_key_passphrase="open sesame")
    assert auth.token and auth.channel == "ssh_key"


def test_the_ssh_key_comes_first_and_a_refused_one_falls_through(ssh_supported, server, account, tmp_path):
    (tmp_path / "a").mkdir()
    registered = write_key(tmp_path / "a")
    register(account, f"{registered}.pub")
    both = AuthManager(server.api_url, account.login, password=account.password, ssh_key=str(registered))
    both.perform_auth()
    assert both.channel == "ssh_key"

    (tmp_path / "b").mkdir()
    stranger = write_key(tmp_path / "b")  # never registered
    fallback = AuthManager(server.api_url, account.login, password=account.password, ssh_key=str(stranger))
    fallback.perform_auth()
    assert fallback.channel == "password"

    only_ssh = AuthManager(
        server.api_url, account.login, password=account.password, ssh_key=str(stranger), enforce_ssh=True
    )
    with pytest.raises(AuthenticationError, match="matches none of this user's SSH keys"):
        only_ssh.perform_auth()


def test_a_challenge_cannot_be_answered_twice(ssh_supported, server, account, tmp_path):
    private = write_key(tmp_path)
    register(account, f"{private}.pub")
    key = ssh.load_private_key(private)
    challenge = requests.post(f"{server.api_url}/auth/ssh/challenge/", json={"login": account.login}, timeout=10)
    challenge = challenge.json()["data"]
    assert set(challenge) >= {"challenge", "expires"}
    answer = {
        "login": account.login,
        "challenge": challenge["challenge"],
        "signature": ssh.sign_challenge(key, account.login, challenge["challenge"]),
    }
    first = requests.post(f"{server.api_url}/auth/ssh/login/", json=answer, timeout=10)
    assert first.status_code == 200
    assert set(first.json()["data"]) >= {"access_token", "valid_for", "user"}
    replay = requests.post(f"{server.api_url}/auth/ssh/login/", json=answer, timeout=10)
    assert replay.status_code == 401


def test_a_signature_for_another_login_is_refused(ssh_supported, server, account, tmp_path):
    private = write_key(tmp_path)
    register(account, f"{private}.pub")
    key = ssh.load_private_key(private)
    challenge = requests.post(f"{server.api_url}/auth/ssh/challenge/", json={"login": account.login}, timeout=10)
    text = challenge.json()["data"]["challenge"]
    forged = base64.b64encode(key.sign(ssh.challenge_message("someone-else", text))).decode()
    answer = requests.post(
        f"{server.api_url}/auth/ssh/login/",
        json={"login": account.login, "challenge": text, "signature": forged},
        timeout=10,
    )
    assert answer.status_code == 401


def test_login_on_the_command_line_with_an_ssh_key(ssh_supported, server, account, tmp_path):
    private = write_key(tmp_path)
    register(account, f"{private}.pub")
    done = run_cli("login", "--server", server.url, "--login", account.login, "--ssh-key", str(private))
    assert done.returncode == 0, done.stderr
    whoami = run_cli("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert account.login in whoami.stdout
    keys = run_cli("ssh-keys", "ls", "--json")
    assert keys.returncode == 0, keys.stderr
    assert "test-ed25519" in keys.stdout


def signed_in_with_token(account, tmp_path):
    """`maisie login` as a person does it: the server and an API token in the user configuration."""
    done = run_cli(
        "login", "--server", account.server.url, "--login", account.login, "--password-stdin",
        input=account.password + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return write_key(tmp_path)


def registered_keys(account):
    return [key["name"] for key in SshKeys(account.settings).iter_all()]


def test_ssh_keys_add_signs_in_with_a_password_from_stdin_when_the_token_is_refused(ssh_supported, account, tmp_path):
    private = signed_in_with_token(account, tmp_path)

    done = run_cli("ssh-keys", "add", f"{private}.pub", "--password-stdin", input=account.password + "\n")

    assert done.returncode == 0, done.stderr
    assert "signing in as" in done.stderr and account.password not in done.stderr + done.stdout
    assert registered_keys(account) == ["test-ed25519"]
    # The new key signs in; the saved API token is still the one in use for everything else.
    auth = AuthManager(account.server.api_url, account.login, ssh_key=str(private), enforce_ssh=True)
    assert auth.token and auth.channel == "ssh_key"
    assert run_cli("whoami", "--json").returncode == 0


def test_ssh_keys_add_takes_the_password_from_the_environment(ssh_supported, account, tmp_path):
    private = signed_in_with_token(account, tmp_path)

    done = run_cli("ssh-keys", "add", f"{private}.pub", "-n", "ci", env={"MAISIE_AUTH_USER_PASSWORD": account.password})

    assert done.returncode == 0, done.stderr
    assert registered_keys(account) == ["ci"]


def test_ssh_keys_add_asks_for_the_password(ssh_supported, account, tmp_path):
    private = signed_in_with_token(account, tmp_path)

    done = run_cli("ssh-keys", "add", f"{private}.pub", input=account.password + "\n")

    assert done.returncode == 0, done.stderr
    assert f"Password for {account.login}" in done.stderr
    assert registered_keys(account) == ["test-ed25519"]


def test_ssh_keys_add_with_a_wrong_password_registers_nothing(ssh_supported, account, tmp_path):
    private = signed_in_with_token(account, tmp_path)

    done = run_cli("ssh-keys", "add", f"{private}.pub", "--password-stdin", input="not-my-password\n")

    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 2  # what happened, then the one-line failure
    assert registered_keys(account) == []


def test_ssh_keys_add_without_a_password_says_how_to_give_one(ssh_supported, account, tmp_path):
    private = signed_in_with_token(account, tmp_path)

    done = run_cli("ssh-keys", "add", f"{private}.pub", input="")

    assert done.returncode == 3
    assert "--password-stdin" in done.stderr and "MAISIE_AUTH_USER_PASSWORD" in done.stderr
    assert registered_keys(account) == []
