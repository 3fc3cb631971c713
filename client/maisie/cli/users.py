"""`maisie users ls|get|create|rm` (creating and removing needs staff rights)."""

from __future__ import annotations

import sys

import click

from maisie.cli import AliasedGroup, CliError, State, output_options, pass_state
from maisie.cli.common import delete_many, fetch, paging_options, show_list, show_object, yes_option
from maisie.resources.users import Users

COLUMNS = [
    ("ID", lambda u: u.get("id")),
    ("LOGIN", lambda u: u.get("login")),
    ("NAME", lambda u: u.get("full_name")),
    ("EMAIL", lambda u: u.get("email")),
    ("STAFF", lambda u: u.get("is_staff")),
]


@click.group(cls=AliasedGroup)
def users() -> None:
    """Users (staff only, except listing)."""


@users.command("ls")
@click.option("-s", "--search", help="Only users whose login or name contains this.")
@paging_options
@output_options
@pass_state
def ls(state: State, search: str | None, page: int | None, per_page: int | None, all_pages: bool) -> None:
    """List users."""
    resource = Users(state.config)
    rows = fetch(resource, page, per_page, all_pages, query=search)
    show_list(state, rows, COLUMNS, "users", resource.pagination, all_pages)


@users.command()
@click.argument("id", type=int)
@output_options
@pass_state
def get(state: State, id: int) -> None:
    """Show one user."""
    show_object(state, Users(state.config).get(id))


@users.command()
@click.argument("login")
@click.option("-n", "--name", default="", help="Full name.")
@click.option("-e", "--email", default="", help="Email address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@output_options
@pass_state
def create(state: State, login: str, name: str, email: str, password_stdin: bool) -> None:
    """Create a user (asks for the password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if not password:
        raise CliError("No password given.", 2)
    show_object(state, Users(state.config).create(login, name, email, password))


@users.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@yes_option
@output_options
@pass_state
def rm(state: State, ids: tuple[int, ...], yes: bool) -> None:
    """Deactivate users."""
    delete_many(state, Users(state.config), "user", ids, yes)
