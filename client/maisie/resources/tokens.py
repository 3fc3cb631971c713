"""Personal API tokens of the signed-in user."""

from __future__ import annotations

from maisie.resources.base import Resource


class Tokens(Resource):
    """Represents an action for managing your personal API tokens."""

    path = "auth/tokens"

    def create(self, name: str, read_only: bool = False, expires: str | None = None) -> dict:
        """Create a token; its secret is in the answer's ``"token"``, shown only this once.

        :param name: what it is for
        :param read_only: whether it may only read
        :param expires: an ISO date-time after which it stops working (default: never)
        """
        payload: dict = {"name": name, "read_only": read_only}
        if expires:
            payload["expires"] = expires
        return self._create(payload)

    def find(self, secret: str) -> dict | None:
        """The record of the token whose secret (``mai_<prefix>_…``) is given, if it is yours."""
        if not secret.startswith("mai_"):
            return None
        prefix = secret[len("mai_") :].split("_", 1)[0]
        return next((token for token in self.iter_all() if token.get("prefix") == prefix), None)
