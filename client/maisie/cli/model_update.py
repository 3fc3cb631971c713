"""`maisie models update`: change a model's metadata (a partial update of `/models/ID/`)."""

from __future__ import annotations

import json
from typing import Any

import click

from maisie.cli import State, output_options, pass_state
from maisie.cli.models import PRIVATE_HELP, SECTIONS, models, show_model
from maisie.resources.models import Models


def key_values(pairs: tuple[str, ...], what: str) -> dict[str, Any]:
    """`k=v` options as a dictionary; each value is read as JSON when it is JSON (`0.1`, `true`,
    `null`, `[1, 2]`), else kept as text (`adam`)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint=what)
        try:
            values[key.strip()] = json.loads(text)
        except ValueError:
            values[key.strip()] = text
    return values


@models.command()
@click.argument("id", type=int)
@click.option("-n", "--name", help="A new name (the model becomes the next version of that name).")
@click.option("--project", "project_id", type=int, help="Move it to this project.")
@click.option("--hp", "hp", multiple=True, metavar="KEY=VALUE", help="Set a hyperparameter (repeatable).")
@click.option("--param", "param", multiple=True, metavar="KEY=VALUE", help="Set a parameter (repeatable).")
@click.option("--metric", "metric", multiple=True, metavar="KEY=VALUE", help="Set a metric (repeatable).")
@click.option("--unset", multiple=True, metavar="SECTION.KEY", help="Remove a key, e.g. hp.seed (repeatable).")
@click.option("-t", "--tag", "tags", multiple=True, help="Its tags become these (repeatable, or comma-separated).")
@click.option("--dataset-name", help="The training data's name.")
@click.option("--dataset-description", help="More about it.")
@click.option("--private/--public", "private", default=None, help=f"--private: {PRIVATE_HELP}")
@output_options
@pass_state
def update(
    state: State,
    id: int,
    name: str | None,
    project_id: int | None,
    hp: tuple[str, ...],
    param: tuple[str, ...],
    metric: tuple[str, ...],
    unset: tuple[str, ...],
    tags: tuple[str, ...],
    dataset_name: str | None,
    dataset_description: str | None,
    private: bool | None,
) -> None:
    """Change model ID's metadata (a partial update: what is not given stays as it is).

    \b
    maisie models update 42 --metric accuracy=0.94 --hp optimizer=adam --unset hp.seed --public
    """
    resource = Models(state.config)
    data: dict[str, Any] = {}
    changes = {"hyperparameters": key_values(hp, "--hp"), "parameters": key_values(param, "--param")}
    changes["metrics"] = key_values(metric, "--metric")
    removed: dict[str, list[str]] = {}
    for spec in unset:
        prefix, dot, key = spec.partition(".")
        if not dot or prefix.lower() not in SECTIONS or not key:
            raise click.BadParameter(f"{spec!r} is not SECTION.KEY (hp.lr, param.layers, metric.loss).", "--unset")
        removed.setdefault(SECTIONS[prefix.lower()], []).append(key)
    if any(changes.values()) or removed:
        current = resource.get(id)  # the dictionaries are sent whole: merge into what is stored
        for section in ("hyperparameters", "parameters", "metrics"):
            if changes[section] or section in removed:
                merged = {**(current.get(section) or {}), **changes[section]}
                for key in removed.get(section, []):
                    merged.pop(key, None)
                data[section] = merged
    for key, value in (
        ("name", name),
        ("project_id", project_id),
        ("dataset_name", dataset_name),
        ("dataset_description", dataset_description),
        ("private", private),
    ):
        if value is not None:
            data[key] = value
    if tags:
        data["tags"] = [part.strip() for tag in tags for part in tag.split(",") if part.strip()]
    if not data:
        raise click.UsageError("Nothing to change: give at least one option (see --help).")
    model = resource.update(id, data)
    show_model(state, model)
    state.info(f"Updated {model.get('name')} v{model.get('version')}: {resource.web_url(model)}")
