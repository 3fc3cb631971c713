"""Projects: a workspace's groups of models, usually one per code repository."""

from __future__ import annotations

from pathlib import Path

from maisie.resources.base import Resource


class Projects(Resource):
    """Represents an action for managing projects."""

    path = "projects"

    @property
    def selected(self) -> int | None:
        """The id of the selected project (the `selected_project` setting), where uploads go."""
        return self.config.selected_project

    def create(self, name: str, description: str = "", git_url: str = "", workspace_id: int | None = None) -> dict:
        """Creates and posts a new project.

        :param name: name of a project to create
        :param description: description of a project to create
        :param git_url: URL of the git repository with the project's code
        :param workspace_id: the workspace to create it in (default: the selected workspace)
        :returns: created project
        """
        workspace_id = self._require(
            workspace_id or self.config.selected_workspace,
            "workspace",
            "pass workspace_id, or select one with `maisie workspaces select ID`",
        )
        return self._create(
            {"name": name, "description": description, "git_url": git_url, "workspace_id": workspace_id}
        )

    def select(self, id: int, filename: str | Path | None = None) -> Path:
        """Make a project the target of uploads (saves `selected_project` and its workspace).

        :param id: the project's id (checked to exist)
        :param filename: the configuration file to write (default: the user's)
        :returns: the file written
        """
        project = self.get(id)
        return self.config.save(
            {"selected_project": project["id"], "selected_workspace": project["workspace_id"]}, filename
        )
