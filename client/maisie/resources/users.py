"""Users: staff create and remove them; everyone can look themselves up."""

from __future__ import annotations

from maisie.resources.base import Resource


class Users(Resource):
    """Represents an action for managing users (creating and deleting needs staff rights)."""

    path = "users"

    def create(self, login: str, name: str = "", email: str = "", password: str = "") -> dict:
        """Creates and posts a new user.

        :param login: login of a user to create
        :param name: full name of a user to create
        :param email: email of user to create
        :param password: password of user to create
        :returns: created user
        """
        return self._create({"login": login, "full_name": name, "email": email, "password": password})

    def me(self) -> dict:
        """The signed-in user."""
        return self._call("GET", "users/me/")

    def delete(self, id: int) -> bool:
        """Deletes (deactivates) selected user.

        :param id: id of the user to delete
        :returns: ``True``
        """
        return super().delete(id)

    #: the 0.1.6 name, kept so existing scripts run
    detele = delete
