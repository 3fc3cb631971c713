"""`maisie workspaces ls|get|create|rm|select`."""

from __future__ import annotations

from pathlib import Path

import click

from maisie.cli import AliasedGroup, State, output_options, pass_state
from maisie.cli.common import delete_many, fetch, local_option, paging_options, show_list, show_object, yes_option
from maisie.core import CONFIG_FILENAME
from maisie.resources.workspaces import Workspaces

COLUMNS = [
    ("ID", lambda w: w.get("id")),
    ("NAME", lambda w: w.get("name")),
    ("DESCRIPTION", lambda w: w.get("description")),
    ("CREATED", lambda w: w.get("created")),
]


@click.group(cls=AliasedGroup)
def workspaces() -> None:
    """Workspaces: who works together, holding projects."""


@workspaces.command("ls")
@click.option("-s", "--search", help="Only workspaces whose name contains this.")
@paging_options
@output_options
@pass_state
def ls(state: State, search: str | None, page: int | None, per_page: int | None, all_pages: bool) -> None:
    """List the workspaces you can see."""
    resource = Workspaces(state.config)
    rows = fetch(resource, page, per_page, all_pages, query=search)
    show_list(state, rows, COLUMNS, "workspaces", resource.pagination, all_pages)


@workspaces.command()
@click.argument("id", type=int)
@output_options
@pass_state
def get(state: State, id: int) -> None:
    """Show one workspace."""
    show_object(state, Workspaces(state.config).get(id))


@workspaces.command()
@click.argument("name")
@click.option("-d", "--description", default="", help="What it is for.")
@output_options
@pass_state
def create(state: State, name: str, description: str) -> None:
    """Create a workspace; you become its owner."""
    show_object(state, Workspaces(state.config).create(name, description))


@workspaces.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@yes_option
@output_options
@pass_state
def rm(state: State, ids: tuple[int, ...], yes: bool) -> None:
    """Delete workspaces, with their projects and models."""
    delete_many(state, Workspaces(state.config), "workspace", ids, yes)


@workspaces.command()
@click.argument("id", type=int)
@local_option
@pass_state
def select(state: State, id: int, local: bool) -> None:
    """Make workspace ID the default for new projects."""
    path = Workspaces(state.config).select(id, Path(CONFIG_FILENAME) if local else None)
    state.info(f"Selected workspace {id} (saved in {path}).")
