"""`maisie promotions ls|get|approve|reject|cancel`: alias moves waiting for approvals."""

from __future__ import annotations

import click

from maisie.cli import AliasedGroup, State, output_options, pass_state
from maisie.cli.common import ID_OR_REF, fetch, paging_options, show_list, show_object
from maisie.cli.output import echo_json, user_label
from maisie.resources.promotions import PromotionRequests
from maisie.resources.registered_models import RegisteredModels

STATES = ("pending", "completed", "rejected", "cancelled")


def _approvals(request: dict) -> str:
    return f"{len(request.get('approvals') or [])}/{request.get('approvals_required')}"


COLUMNS = [
    ("ID", lambda r: r.get("id")),
    ("STATE", lambda r: r.get("state")),
    ("MODEL", lambda r: r.get("registered_model")),
    ("ALIAS", lambda r: r.get("alias")),
    ("VERSION", lambda r: r.get("version")),
    ("REPLACES", lambda r: r.get("replaces_version")),
    ("APPROVALS", _approvals),
    ("BY", lambda r: user_label(r.get("requested_by"))),
    ("CREATED", lambda r: r.get("created")),
]


@click.group(cls=AliasedGroup)
def promotions() -> None:
    """Promotion requests: alias moves that wait for approvals, as the project's alias rules ask.

    `maisie alias set` opens one when a rule asks for approvals. Permitted users other than
    the requester approve or reject it; the approval that completes the count moves the alias.
    """


@promotions.command("ls")
@click.option("--state", "state_", type=click.Choice(STATES), help="Only requests in this state.")
@click.option("-p", "--project", "projects", type=int, multiple=True, help="Only in this project (repeatable).")
@click.option("-m", "--model", type=ID_OR_REF, metavar="MODEL", help="Only for this registered model (id or ref).")
@paging_options
@output_options
@pass_state
def ls(
    state: State,
    state_: str | None,
    projects: tuple[int, ...],
    model: int | str | None,
    page: int | None,
    per_page: int | None,
    all_pages: bool,
) -> None:
    """List the promotion requests you can see, pending ones first."""
    resource = PromotionRequests(state.config)
    registered = RegisteredModels(state.config).id_of(model) if model is not None else None
    rows = fetch(resource, page, per_page, all_pages, state=state_, project=list(projects), registered_model=registered)
    show_list(state, rows, COLUMNS, "promotion requests", resource.pagination, all_pages)


@promotions.command()
@click.argument("id", type=int)
@output_options
@pass_state
def get(state: State, id: int) -> None:
    """Show one promotion request, with its approvals."""
    show_object(state, PromotionRequests(state.config).get(id))


def _show_decision(state: State, request: dict, done: str) -> None:
    if state.json:
        echo_json(request)
    elif state.quiet:
        click.echo(request.get("id"))
    elif request.get("state") == "completed":
        click.echo(
            f"Request {request.get('id')} {done} and completed: {request.get('alias')} now points at "
            f"version {request.get('version')}."
        )
    elif request.get("state") == "pending":
        click.echo(f"Request {request.get('id')} {done}: {_approvals(request)} approvals; still pending.")
    else:
        click.echo(f"Request {request.get('id')} {done}: {request.get('state')}.")


@promotions.command()
@click.argument("id", type=int)
@click.option("-m", "--comment", default="", help="Why, kept with your approval.")
@output_options
@pass_state
def approve(state: State, id: int, comment: str) -> None:
    """Approve promotion request ID (not your own). The last approval needed moves the alias,
    after the rules are checked again."""
    _show_decision(state, PromotionRequests(state.config).approve(id, comment), "approved")


@promotions.command()
@click.argument("id", type=int)
@click.option("-m", "--comment", default="", help="Why, kept with the request.")
@output_options
@pass_state
def reject(state: State, id: int, comment: str) -> None:
    """Reject promotion request ID: it is closed and the alias does not move."""
    _show_decision(state, PromotionRequests(state.config).reject(id, comment), "rejected")


@promotions.command()
@click.argument("id", type=int)
@click.option("-m", "--comment", default="", help="Why, kept with the request.")
@output_options
@pass_state
def cancel(state: State, id: int, comment: str) -> None:
    """Cancel your own pending promotion request ID."""
    _show_decision(state, PromotionRequests(state.config).cancel(id, comment), "cancelled")
