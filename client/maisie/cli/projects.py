"""`maisie projects ls|get|create|rm|select`."""

from __future__ import annotations

from pathlib import Path

import click

from maisie.cli import AliasedGroup, State, output_options, pass_state
from maisie.cli.common import delete_many, fetch, local_option, paging_options, show_list, show_object, yes_option
from maisie.core import CONFIG_FILENAME
from maisie.resources.projects import Projects

COLUMNS = [
    ("ID", lambda p: p.get("id")),
    ("WS", lambda p: p.get("workspace_id")),
    ("NAME", lambda p: p.get("name")),
    ("DESCRIPTION", lambda p: p.get("description")),
    ("GIT", lambda p: p.get("git_url")),
    ("CREATED", lambda p: p.get("created")),
]


@click.group(cls=AliasedGroup)
def projects() -> None:
    """Projects: groups of models, usually one per code repository."""


@projects.command("ls")
@click.option(
    "-w", "--workspace", "workspace_ids", type=int, multiple=True, help="Only in this workspace (repeatable)."
)
@click.option("-s", "--search", help="Only projects whose name contains this.")
@paging_options
@output_options
@pass_state
def ls(
    state: State,
    workspace_ids: tuple[int, ...],
    search: str | None,
    page: int | None,
    per_page: int | None,
    all_pages: bool,
) -> None:
    """List the projects you can see; the selected one is marked with *."""
    resource = Projects(state.config)
    rows = fetch(resource, page, per_page, all_pages, query=search, workspace=list(workspace_ids))
    selected = state.config.selected_project
    columns = [("", lambda p: "*" if p.get("id") == selected else ""), *COLUMNS] if selected else COLUMNS
    show_list(state, rows, columns, "projects", resource.pagination, all_pages)


@projects.command()
@click.argument("id", type=int)
@output_options
@pass_state
def get(state: State, id: int) -> None:
    """Show one project, with the hyperparameters and metrics its models use."""
    show_object(state, Projects(state.config).get(id))


@projects.command()
@click.argument("name")
@click.option("-d", "--description", default="", help="What it is about.")
@click.option("-g", "--git-url", "git_url", default="", help="Its code repository.")
@click.option("-w", "--workspace", "workspace_id", type=int, help="Its workspace (default: the selected one).")
@click.option("--select", "select_it", is_flag=True, help="Also select it for uploads.")
@output_options
@pass_state
def create(state: State, name: str, description: str, git_url: str, workspace_id: int | None, select_it: bool) -> None:
    """Create a project."""
    resource = Projects(state.config)
    project = resource.create(name, description, git_url, workspace_id=workspace_id)
    if select_it:
        resource.select(project["id"])
    show_object(state, project)


@projects.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@yes_option
@output_options
@pass_state
def rm(state: State, ids: tuple[int, ...], yes: bool) -> None:
    """Delete projects, with their models."""
    delete_many(state, Projects(state.config), "project", ids, yes)


@projects.command()
@click.argument("id", type=int)
@local_option
@pass_state
def select(state: State, id: int, local: bool) -> None:
    """Make project ID the target of uploads (and its workspace the default)."""
    path = Projects(state.config).select(id, Path(CONFIG_FILENAME) if local else None)
    state.info(f"Selected project {id} (saved in {path}).")
