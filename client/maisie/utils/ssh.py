"""SSH-key sign-in, client side. The server mirrors :func:`challenge_message` exactly.

Protocol:

1. ``POST /api/v1/auth/ssh/challenge/`` with JSON ``{"login"}`` answers
   ``{"data": {"challenge": "<random string>", "expires": "<iso time>"}}``.
2. The client signs ``challenge_message(login, challenge)`` with its private key: Ed25519 keys
   sign the bytes as they are, RSA keys with PKCS#1 v1.5 padding and SHA-256.
3. ``POST /api/v1/auth/ssh/login/`` with JSON ``{"login", "challenge", "signature"}``, the
   signature in standard base64, answers like the password login:
   ``{"data": {"access_token", "valid_for", "user"}}``.
"""

from __future__ import annotations

import base64
from pathlib import Path

MESSAGE_PREFIX = "maisie-ssh-login"


def challenge_message(login: str, challenge: str) -> bytes:
    """The exact bytes signed for a challenge; naming the login binds a signature to one account."""
    return f"{MESSAGE_PREFIX}:{login}:{challenge}".encode()


def load_private_key(path: str | Path, passphrase: str | None = None):
    """Read an OpenSSH private key file (Ed25519 or RSA).

    :param path: the key file, e.g. ``~/.ssh/id_ed25519``; ``~`` is expanded
    :param passphrase: for an encrypted key
    :raises ValueError: when the file is not a supported key, or the passphrase is missing or wrong
    :raises OSError: when the file cannot be read
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    data = Path(path).expanduser().read_bytes()
    secret = passphrase.encode() if passphrase else None
    try:
        key = serialization.load_ssh_private_key(data, password=secret)
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"unsupported key: {exc}") from exc
    except TypeError as exc:  # raised for "password missing" and "password given but not encrypted"
        if secret is None:
            raise ValueError("the key is encrypted: give its passphrase (MAISIE_AUTH_SSH_KEY_PASSPHRASE)") from exc
        key = serialization.load_ssh_private_key(data, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError("only Ed25519 and RSA keys are supported")
    return key


def sign_challenge(key, login: str, challenge: str) -> str:
    """Sign a challenge with a loaded private key; return the signature in standard base64."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding

    message = challenge_message(login, challenge)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(message)
    else:
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def public_key_line(key, comment: str = "") -> str:
    """The OpenSSH public key line (``ssh-ed25519 AAAA… comment``) of a private key."""
    from cryptography.hazmat.primitives import serialization

    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()
