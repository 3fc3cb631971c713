"""`maisie registered-models ls|get|describe|versions|rm`: one row per model name in a project."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from maisie.cli import AliasedGroup, CliError, State, output_options, pass_state
from maisie.cli.common import (
    ID_OR_REF,
    as_of_option,
    confirm,
    fetch,
    paging_options,
    show_list,
    show_object,
    yes_option,
)
from maisie.cli.models import list_columns
from maisie.cli.output import echo_json, fmt
from maisie.resources.registered_models import RegisteredModels

COLUMNS = [
    ("ID", lambda r: r.get("id")),
    ("PROJECT", lambda r: r.get("project_id")),
    ("NAME", lambda r: r.get("name")),
    ("LATEST", lambda r: r.get("latest_version")),
    ("VERSIONS", lambda r: r.get("version_count")),
    ("ALIASES", lambda r: r.get("aliases")),
    ("UPDATED", lambda r: r.get("updated")),
]
DETAIL_ORDER = (
    "id",
    "name",
    "project_id",
    "workspace_id",
    "latest_version",
    "version_count",
    "aliases",
    "created",
    "updated",
)


@click.group("registered-models", cls=AliasedGroup)
def registered_models() -> None:
    """Registered models: one per model name in a project, its versions being the uploads.

    MODEL is an id or a reference: vision/imagenet/resnet50."""


@registered_models.command("ls")
@click.option("-p", "--project", "projects", type=int, multiple=True, help="Only in this project (repeatable).")
@click.option("-w", "--workspace", "workspaces", type=int, multiple=True, help="Only in this workspace (repeatable).")
@click.option("-s", "--search", help="Only those whose name contains this.")
@click.option(
    "-o", "--ordering", help="name, created, updated, latest_version, version_count or id; -name for descending."
)
@paging_options
@output_options
@pass_state
def ls(
    state: State,
    projects: tuple[int, ...],
    workspaces: tuple[int, ...],
    search: str | None,
    ordering: str | None,
    page: int | None,
    per_page: int | None,
    all_pages: bool,
) -> None:
    """List the registered models you can see, by name, with their latest version and aliases."""
    resource = RegisteredModels(state.config)
    rows = fetch(
        resource,
        page,
        per_page,
        all_pages,
        query=search,
        ordering=ordering,
        project=list(projects),
        workspace=list(workspaces),
    )
    show_list(state, rows, COLUMNS, "registered models", resource.pagination, all_pages)


def _show(state: State, registered: dict) -> None:
    """A registered model as `key: value` lines, then its description as it is written."""
    if state.json or state.quiet:
        show_object(state, registered)
        return
    show_object(state, {k: v for k, v in registered.items() if k != "description"}, DETAIL_ORDER)
    if registered.get("description"):
        click.echo("\n" + registered["description"].rstrip("\n"))


@registered_models.command()
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@output_options
@pass_state
def get(state: State, model: int | str) -> None:
    """Show registered model MODEL, its aliases and its description (the model card)."""
    _show(state, RegisteredModels(state.config).get(model))


@registered_models.command()
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@click.argument("text", required=False)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the description from this Markdown file (- for standard input).",
)
@output_options
@pass_state
def describe(state: State, model: int | str, text: str | None, file: Path | None) -> None:
    """Set the description (model card, Markdown) of MODEL to TEXT, or to a file's content.

    \b
    maisie registered-models describe vision/imagenet/resnet50 -f CARD.md
    """
    if (text is None) == (file is None):
        raise click.UsageError("Give the description as TEXT or with --file, one of them.")
    if file is not None:
        try:
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{file} is not UTF-8 text.", 6) from None
    _show(state, RegisteredModels(state.config).update(model, description=text))


@registered_models.command()
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@as_of_option
@click.option("-c", "--columns", help="Comma-separated hyperparameter/metric/parameter keys to show as columns.")
@output_options
@pass_state
def versions(state: State, model: int | str, as_of: str | None, columns: str | None) -> None:
    """List the versions of MODEL you can see, now or --as-of a time."""
    rows = RegisteredModels(state.config).versions(model, as_of=as_of)
    extra = [spec.strip() for spec in (columns or "").split(",") if spec.strip()]
    show_list(state, rows, list_columns(extra), "versions")
    for gone in rows.deleted:
        when = fmt(gone.get("deleted"))
        state.info(f"Version {gone.get('version')} (model {gone.get('model_id')}) was deleted since, on {when}.")


@registered_models.command()
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@yes_option
@output_options
@pass_state
def rm(state: State, model: int | str, yes: bool) -> None:
    """Delete MODEL: every version, with its files and aliases (workspace owners only)."""
    confirm(state, f"Delete registered model {model} and every version of it?", yes)
    resource = RegisteredModels(state.config)
    registered_id = resource.id_of(model)
    resource.delete(registered_id)
    if state.json:
        echo_json({"deleted": [registered_id]})
    elif state.quiet:
        click.echo(registered_id)
    else:
        state.info(f"Deleted registered model {registered_id}.")
