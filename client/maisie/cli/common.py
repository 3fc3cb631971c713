"""Pieces the command groups share: paging options, list and object output, confirmations."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from maisie.cli import CliError, State
from maisie.cli.output import Column, echo_json, render_detail, render_table
from maisie.references import SYNTAX, as_id
from maisie.resources.base import Resource


class IdOrReference(click.ParamType):
    """An id (``42``), or a reference (``vision/imagenet/resnet50@production``) left for the
    server to parse, so that its message names the wrong part. Anything else is a usage error."""

    name = "ID|REF"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        number = as_id(value)
        if number is not None:
            return number
        if "/" not in str(value):
            self.fail(f"{value!r} is neither an id nor a reference ({SYNTAX}).", param, ctx)
        return str(value)


ID_OR_REF = IdOrReference()


def paging_options(func: Callable) -> Callable:
    """`--page`, `--per-page` and `--all`."""
    func = click.option("--all", "all_pages", is_flag=True, help="Fetch every page.")(func)
    func = click.option("--per-page", type=click.IntRange(1, 1000), help="Items per page (default: api_per_page).")(
        func
    )
    func = click.option("--page", type=click.IntRange(1), help="Page number, from 1.")(func)
    return func


def fetch(resource: Resource, page: int | None, per_page: int | None, all_pages: bool, **query: Any) -> list[dict]:
    """One page, or every page with `all_pages`, of a resource's list."""
    if all_pages:
        return list(resource.iter_all(per_page=per_page or 100, **query))
    return resource.get_all(page=page, per_page=per_page, **query)


def show_list(
    state: State,
    rows: list[dict],
    columns: Sequence[Column],
    noun: str,
    pagination: dict | None = None,
    all_pages: bool = False,
    key: str = "id",
) -> None:
    """Print a list as JSON (`--json`), ids (`--quiet`; or the field `key`) or a table with a
    page line on stderr."""
    if state.json:
        echo_json(rows)
        return
    if state.quiet:
        for row in rows:
            click.echo(row.get(key))
        return
    if not rows:
        state.info(f"No {noun}.")
        return
    click.echo(render_table(rows, columns))
    if pagination and not all_pages and pagination.get("total_pages", 1) > 1:
        state.info(
            f"Page {pagination['page']} of {pagination['total_pages']} ({pagination['total_items']} {noun}); "
            "see --page, --per-page and --all."
        )


def show_object(
    state: State, obj: dict, order: Sequence[str] = (), transform: Callable[[dict], dict] | None = None
) -> None:
    """Print one object as JSON (`--json`), its id (`--quiet`) or `key: value` lines."""
    if state.json:
        echo_json(obj)
    elif state.quiet:
        click.echo(obj.get("id"))
    else:
        click.echo(render_detail(transform(obj) if transform else obj, order))


def confirm(state: State, question: str, yes: bool) -> None:
    """Ask before deleting; without a terminal, `--yes` is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{question} Not confirmed: pass --yes when not on a terminal.", 2)
    if not click.confirm(question, default=False, err=True):
        raise CliError("Cancelled.", 1)


def delete_many(state: State, resource: Resource, noun: str, ids: Sequence[int], yes: bool) -> None:
    """Delete objects by id after confirmation; print what was deleted."""
    listed = ", ".join(str(i) for i in ids)
    confirm(state, f"Delete {noun} {listed}?", yes)
    for id in ids:
        resource.delete(id)
        if state.json:
            continue
        if state.quiet:
            click.echo(id)
        else:
            state.info(f"Deleted {noun} {id}.")
    if state.json:
        echo_json({"deleted": list(ids)})


as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="As things were at this time: ISO 8601, e.g. 2026-12-01T14:02:00Z (without an offset: UTC).",
)
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
local_option = click.option(
    "--local",
    is_flag=True,
    help="Save the choice in ./.maisie (this folder and below) instead of your user configuration.",
)
