"""Workspaces: the top level, holding projects and members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maisie.errors import NotFound
from maisie.resources.base import Resource


class Workspaces(Resource):
    """Represents an action for managing workspaces."""

    path = "workspaces"

    @property
    def selected(self) -> int | None:
        """The id of the selected workspace (the `selected_workspace` setting)."""
        return self.config.selected_workspace

    def create(self, name: str, description: str = "") -> dict:
        """Create a workspace; you become its owner.

        :param name: its name
        :param description: what it is for
        :returns: the created workspace
        """
        return self._create({"name": name, "description": description})

    def get_all(  # the documented signature puts page first
        self, page: int | None = None, per_page: int | None = None, query: str | None = None, **filters: Any
    ) -> list[dict]:
        """Fetch one page of the workspaces you can see.

        :param page: the page number, from 1
        :param per_page: workspaces per page
        :param query: only workspaces whose name contains this
        :returns: a list of workspaces
        """
        return super().get_all(query, page=page, per_page=per_page, **filters)

    def iter_all(self, query: str | None = None, per_page: int = 100, **filters: Any):
        """Yield every workspace you can see, page after page."""
        page = 1
        while True:
            items = self.get_all(page=page, per_page=per_page, query=query, **filters)
            yield from items
            if not items or not (self.pagination or {}).get("has_next"):
                return
            page += 1

    def select(self, id: int, filename: str | Path | None = None) -> Path:
        """Make a workspace the default for new projects (saves `selected_workspace`).

        :param id: the workspace's id (checked to exist)
        :param filename: the configuration file to write (default: the user's)
        :returns: the file written
        """
        workspace = self.get(id)
        return self.config.save({"selected_workspace": workspace["id"]}, filename)

    # --- members ---------------------------------------------------------------------------------

    def members(self, id: int) -> list[dict]:
        """Everyone in a workspace, each ``{"user": {...}, "role", "created"}``.

        :param id: the workspace's id
        """
        return list(self._pages(f"{self._item(id)}members/", {}))

    def add_member(self, id: int, user: int | str, role: str = "member") -> dict:
        """Add someone to a workspace, or change their role there (owners only).

        :param id: the workspace's id
        :param user: their login, or their user id (a number)
        :param role: ``"owner"``, ``"member"`` or ``"viewer"``
        :returns: the membership
        """
        return self._call("POST", f"{self._item(id)}members/", json={**_user_field(user), "role": role})

    def remove_member(self, id: int, user: int | str) -> bool:
        """Take someone out of a workspace (owners only; anyone may leave).

        :param id: the workspace's id
        :param user: their login, or their user id (a number)
        """
        user_id = _user_id(user)
        if user_id is None:
            wanted = str(user).strip().lower()
            found = [m["user"]["id"] for m in self.members(id) if str(m["user"]["login"]).lower() == wanted]
            if not found:
                raise NotFound(f"{user} is not a member of workspace {id}.", status=404)
            user_id = found[0]
        return self._call("DELETE", f"{self._item(id)}members/{user_id}/")


def _user_id(user: int | str) -> int | None:
    """A user id given as a number (or digits); None for a login."""
    if isinstance(user, int):
        return user
    return int(user) if str(user).strip().isdigit() else None


def _user_field(user: int | str) -> dict[str, Any]:
    user_id = _user_id(user)
    return {"user_id": user_id} if user_id is not None else {"login": str(user).strip()}
