"""Signing secrets: made here, shown once, stored encrypted, used to sign by Standard Webhooks.

A receiver needs the secret itself to verify a signature (an HMAC), so it cannot be stored as a
hash the way API tokens are. It is stored as a Fernet token (AES-128-CBC with an HMAC-SHA256,
from `cryptography`) under a key derived from SECRET_KEY with HKDF: a dump of the database alone
does not give a usable secret; the dump and the server's SECRET_KEY together do. Keys in
SECRET_KEY_FALLBACKS still decrypt, so SECRET_KEY can be rotated the way Django rotates it.
Secrets are never logged and never shown again after the answer that made them.
"""

import base64
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from standardwebhooks import Webhook

PREFIX = "whsec_"
_SECRET_BYTES = 32
_HKDF_INFO = b"maisie webhook signing secrets"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt under SECRET_KEY or its fallbacks."""


def generate() -> str:
    """A new signing secret in the form Standard Webhooks libraries take: `whsec_<base64>`."""
    return PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def _fernet_for(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The webhook's secret does not decrypt with SECRET_KEY or SECRET_KEY_FALLBACKS: rotate it."
        ) from None


def signature(secret_tokens: list[str], message_id: str, timestamp: datetime, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, separated by spaces (the
    current one, and during a rotation's overlap the previous one too); receivers accept any."""
    return " ".join(Webhook(decrypt(token)).sign(message_id, timestamp, body) for token in secret_tokens)
