"""`maisie members ls|add|rm`: who is in a workspace, with which role."""

from __future__ import annotations

import click

from maisie.cli import AliasedGroup, State, output_options, pass_state
from maisie.cli.common import show_list
from maisie.cli.output import echo_json
from maisie.resources.workspaces import Workspaces

ROLES = ("owner", "member", "viewer")

COLUMNS = [
    ("USER", lambda m: (m.get("user") or {}).get("id")),
    ("LOGIN", lambda m: (m.get("user") or {}).get("login")),
    ("NAME", lambda m: (m.get("user") or {}).get("full_name")),
    ("ROLE", lambda m: m.get("role")),
    ("SINCE", lambda m: m.get("created")),
]


@click.group(cls=AliasedGroup)
def members() -> None:
    """Members of a workspace: list, add (or change a role), remove."""


@members.command("ls")
@click.argument("workspace", type=int)
@output_options
@pass_state
def ls(state: State, workspace: int) -> None:
    """List the members of WORKSPACE (an id)."""
    rows = Workspaces(state.config).members(workspace)
    if state.quiet and not state.json:
        for row in rows:
            click.echo((row.get("user") or {}).get("login"))
        return
    show_list(state, rows, COLUMNS, "members")


@members.command()
@click.argument("workspace", type=int)
@click.argument("user")
@click.option("-r", "--role", type=click.Choice(ROLES), default="member", show_default=True, help="Their role.")
@output_options
@pass_state
def add(state: State, workspace: int, user: str, role: str) -> None:
    """Add USER (a login, or a user id) to WORKSPACE, or change their role there."""
    membership = Workspaces(state.config).add_member(workspace, user, role)
    who = (membership.get("user") or {}).get("login", user)
    if state.json:
        echo_json(membership)
    elif state.quiet:
        click.echo(who)
    else:
        click.echo(f"{who} is {membership.get('role')} of workspace {workspace}.")


@members.command()
@click.argument("workspace", type=int)
@click.argument("user")
@output_options
@pass_state
def rm(state: State, workspace: int, user: str) -> None:
    """Remove USER (a login, or a user id) from WORKSPACE."""
    Workspaces(state.config).remove_member(workspace, user)
    if state.json:
        echo_json({"workspace": workspace, "removed": user})
    elif not state.quiet:
        click.echo(f"Removed {user} from workspace {workspace}.")
