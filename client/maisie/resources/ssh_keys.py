"""SSH public keys the signed-in user may sign in with."""

from __future__ import annotations

from pathlib import Path

from maisie.errors import ValidationError
from maisie.resources.base import Resource


class SshKeys(Resource):
    """Represents an action for managing your registered SSH public keys."""

    path = "auth/ssh-keys"

    def create(self, public_key: str | Path, name: str = "") -> dict:
        """Register a public key for SSH-key sign-in.

        :param public_key: the OpenSSH public key line (``ssh-ed25519 AAAA… comment``) or the
            path of a ``.pub`` file
        :param name: a name to recognise it by (default: the key's comment, else its type)
        :returns: the registered key, with its fingerprint
        """
        line = str(public_key).strip()
        if not line.startswith(("ssh-", "ecdsa-")):
            path = Path(line).expanduser()
            if not path.is_file():
                raise ValidationError(f"Public key file {public_key} not found.")
            line = path.read_text(encoding="utf-8").strip()
        parts = line.split(maxsplit=2)
        name = name or (parts[2] if len(parts) == 3 else parts[0] if parts else "key")
        return self._create({"name": name[:100], "public_key": line})
