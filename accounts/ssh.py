"""SSH-key sign-in, the pure part: reading OpenSSH public keys, fingerprints, the signed message.

A client asks for a challenge, signs `signed_message(login, challenge)` with its private key and
sends the signature; the server checks it against the user's registered keys. Ed25519 keys sign
the message as is, RSA keys with PKCS#1 v1.5 and SHA-256. The models and the API call these.
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
MIN_RSA_BITS = 2048
# Larger keys add nothing but make every verification slow, which an attacker could exploit.
MAX_RSA_BITS = 16384

PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey


class InvalidKey(ValueError):
    """A public key this server does not accept; the message says why, for the user."""


@dataclass(frozen=True)
class ParsedKey:
    key_type: str
    body: str  # the base64 part of the OpenSSH line
    comment: str
    key: PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(base64.b64decode(self.body))

    @property
    def openssh(self) -> str:
        """The line in canonical form: single spaces, no surrounding whitespace."""
        return " ".join(part for part in (self.key_type, self.body, self.comment) if part)


def parse_public_key(line: str) -> ParsedKey:
    """Read one `authorized_keys`-style line, `<type> <base64> [comment]`, or raise InvalidKey."""
    parts = line.strip().split(maxsplit=2)
    key_type = parts[0] if parts else ""
    if key_type not in KEY_TYPES:
        raise InvalidKey("Only ssh-ed25519 and ssh-rsa public keys, as one line in OpenSSH format, are supported.")
    if len(parts) < 2:
        raise InvalidKey("The key data is missing: paste the whole line, like 'ssh-ed25519 AAAA… comment'.")
    body, comment = parts[1], (parts[2] if len(parts) == 3 else "")
    try:
        base64.b64decode(body, validate=True)
        # This also checks that the type inside the key data matches the one in front of it.
        key = serialization.load_ssh_public_key(f"{key_type} {body}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("The key data is damaged or does not match its type.") from exc
    if not isinstance(key, PublicKey):
        raise InvalidKey("Only ssh-ed25519 and ssh-rsa public keys are supported.")
    if isinstance(key, rsa.RSAPublicKey) and not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise InvalidKey(f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits; this one has {key.key_size}.")
    return ParsedKey(key_type=key_type, body=body, comment=comment, key=key)


def fingerprint(blob: bytes) -> str:
    """`SHA256:<unpadded base64>` of the key data, as `ssh-keygen -l` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def signed_message(login: str, challenge: str) -> bytes:
    """What the client signs: naming the login stops a signature for one account serving another."""
    return f"maisie-ssh-login:{login}:{challenge}".encode()


def decode_signature(text: str) -> bytes | None:
    """The raw signature from its standard base64 form, or None if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def verify_signature(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
