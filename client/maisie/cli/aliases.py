"""`maisie alias set|rm|ls|rollback` and `maisie resolve`: naming versions, and moving the names."""

from __future__ import annotations

import click

from maisie.cli import AliasedGroup, State, output_options, pass_state
from maisie.cli.common import ID_OR_REF, as_of_option, confirm, show_list, yes_option
from maisie.cli.models import show_model
from maisie.cli.output import echo_json, user_label
from maisie.resources.models import Models
from maisie.resources.registered_models import AliasMoved, PromotionOpened, RegisteredModels

COLUMNS = [
    ("ALIAS", lambda a: a.get("name")),
    ("VERSION", lambda a: a.get("version")),
    ("MODEL ID", lambda a: a.get("model_id")),
    ("SET BY", lambda a: user_label(a.get("set_by"))),
    ("SET AT", lambda a: a.get("set_at")),
]


@click.command()
@click.argument("ref")
@as_of_option
@output_options
@pass_state
def resolve(state: State, ref: str, as_of: str | None) -> None:
    """Show the model version REF names, now or --as-of a time.

    \b
    REF is <workspace>/<project>/<name>, then @<alias>, :<version> or nothing for the latest:
    maisie resolve vision/imagenet/resnet50@production --as-of 2026-12-01T14:02:00Z
    """
    show_model(state, Models(state.config).resolve(ref, as_of=as_of))


@click.group("alias", cls=AliasedGroup)
def alias() -> None:
    """Aliases: movable names (production, staging) for one version of a registered model.

    \b
    MODEL is a registered model's id or reference (vision/imagenet/resnet50); REF names a
    version: vision/imagenet/resnet50:4, …/resnet50@staging, or …/resnet50 for the latest.
    """


def show_outcome(state: State, result: AliasMoved | PromotionOpened) -> None:
    """Print what a set or a rollback did: the alias moved, or a promotion request was opened."""
    if isinstance(result, PromotionOpened):
        if state.json:
            echo_json({"moved": False, "promotion_request": result})
        elif state.quiet:
            click.echo(result.get("id"))
        else:
            click.echo(
                f"Promotion request {result.get('id')} opened: {result.get('alias')} -> version "
                f"{result.get('version')} needs {result.get('approvals_required')} approval(s); "
                "the alias has not moved. See `maisie promotions ls`."
            )
        return
    if state.json:
        echo_json({"moved": True, "alias": result})
    elif state.quiet:
        click.echo(result.get("model_id"))
    elif result.get("previous_version") == result.get("version"):
        click.echo(f"{result.get('name')} already points at version {result.get('version')}.")
    else:
        before = result.get("previous_version")
        was = f"version {before}" if before is not None else "not set"
        click.echo(f"{result.get('name')} now points at version {result.get('version')} (before: {was}).")


@alias.command("set")
@click.argument("ref", type=ID_OR_REF, metavar="REF")
@click.argument("name", metavar="ALIAS")
@output_options
@pass_state
def alias_set(state: State, ref: int | str, name: str) -> None:
    """Point ALIAS at the version REF names (or at model id REF), creating it or moving it.

    \b
    maisie alias set vision/imagenet/resnet50:4 staging
    maisie alias set vision/imagenet/resnet50@staging production   # promote what staging holds

    When the project's alias rules ask for approvals, a promotion request is opened instead and
    the alias does not move yet (exit status 0; --json says "moved": false). A version that
    breaks a rule is refused with the rules' sentences (exit status 9).
    """
    version = Models(state.config).get(ref)
    result = RegisteredModels(state.config).set_alias(version["registered_model_id"], name, version["version"])
    show_outcome(state, result)


@alias.command("rm")
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@click.argument("name", metavar="ALIAS")
@yes_option
@output_options
@pass_state
def alias_rm(state: State, model: int | str, name: str, yes: bool) -> None:
    """Remove ALIAS from registered model MODEL (an id or vision/imagenet/resnet50)."""
    confirm(state, f"Remove alias {name} from {model}?", yes)
    resource = RegisteredModels(state.config)
    resource.remove_alias(model, name)
    if state.json:
        echo_json({"removed": name})
    elif not state.quiet:
        state.info(f"Removed alias {name} from {model}.")


@alias.command("ls")
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@as_of_option
@output_options
@pass_state
def alias_ls(state: State, model: int | str, as_of: str | None) -> None:
    """List the aliases of registered model MODEL (an id or vision/imagenet/resnet50), now or
    --as-of a time."""
    rows = RegisteredModels(state.config).aliases(model, as_of=as_of)
    columns = COLUMNS
    if any(row.get("version_deleted") for row in rows):
        columns = [*COLUMNS, ("VERSION DELETED", lambda a: a.get("version_deleted"))]
    show_list(state, rows, columns, "aliases", key="name")


@alias.command("rollback")
@click.argument("model", type=ID_OR_REF, metavar="MODEL")
@click.argument("name", metavar="ALIAS")
@output_options
@pass_state
def alias_rollback(state: State, model: int | str, name: str) -> None:
    """Point ALIAS of MODEL back at the version it pointed at before its current one.

    The project's alias rules apply as for `alias set`: it may open a promotion request."""
    show_outcome(state, RegisteredModels(state.config).rollback_alias(model, name))
