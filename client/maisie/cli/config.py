"""`maisie config ls|generate|edit|set|unset`: see and change the settings."""

from __future__ import annotations

from pathlib import Path

import click

from maisie.cli import AliasedGroup, CliError, State, output_options, pass_state
from maisie.cli.output import echo_json, render_table
from maisie.core import (
    APP_ENV_PREFIX,
    CONFIG_FILENAME,
    PERMITTED_SETTINGS,
    SECRET_SETTINGS,
    user_config_path,
    write_settings,
)


def masked(key: str, value: object) -> object:
    """A secret setting shown by its kind and start only: `mai_1a2b…`."""
    if key not in SECRET_SETTINGS or not value:
        return value
    text = str(value)
    if text.startswith("mai_"):
        return text[:12] + "…"
    return "********"


@click.group(cls=AliasedGroup)
def config() -> None:
    """See and change the client's settings."""


@config.command("ls")
@click.option("--show-secrets", is_flag=True, help="Print passwords and tokens in full.")
@output_options
@pass_state
def config_ls(state: State, show_secrets: bool) -> None:
    """List every setting, its value and where the value came from."""
    cfg = state.config
    rows = []
    for key in PERMITTED_SETTINGS:
        value = getattr(cfg, key)
        rows.append(
            {
                "key": key,
                "env": f"{APP_ENV_PREFIX}_{key.upper()}",
                "value": value if show_secrets else masked(key, value),
                "source": cfg.getsource(key),
            }
        )
    if state.json:
        echo_json(rows)
        return
    columns = [
        ("SETTING", lambda r: r["key"]),
        ("VALUE", lambda r: r["value"]),
        ("SOURCE", lambda r: r["source"]),
        ("ENVIRONMENT", lambda r: r["env"]),
    ]
    click.echo(render_table(rows, columns))


TEMPLATE = """\
# Maisie client settings for this folder and the folders below it.
# Each `[section]` + `key` names a setting: `[api] url` is api_url (env: MAISIE_API_URL).
# Keep credentials out of files in a repository: `maisie login` stores an API token in
# your user configuration ({user_file}) instead.

[api]
url = {api_url}
# per_page = 20

[selected]
workspace = {selected_workspace}
project = {selected_project}

[git]
# local_repo = .
"""


@config.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path(CONFIG_FILENAME),
    show_default=True,
    help="Where to write it (a folder gets ./.maisie inside).",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@output_options
@pass_state
def generate(state: State, output: Path, force: bool) -> None:
    """Write a commented .maisie file with the current server and selections (no secrets)."""
    if output.is_dir():
        output = output / CONFIG_FILENAME
    if output.exists() and not force:
        raise CliError(f"{output} exists; pass --force to replace it.", 2)
    cfg = state.config
    text = TEMPLATE.format(
        user_file=user_config_path(),
        api_url=cfg.api_url or "",
        selected_workspace=cfg.selected_workspace or "",
        selected_project=cfg.selected_project or "",
    )
    output.write_text(text, encoding="utf-8")
    if state.json:
        echo_json({"config_file": str(output)})
    else:
        state.info(f"Wrote {output}.")


@config.command()
@click.option("--user", "user_file", is_flag=True, help="Edit your user configuration file.")
@pass_state
def edit(state: State, user_file: bool) -> None:
    """Open the nearest .maisie file (or, with --user or when there is none, your user file) in $EDITOR."""
    target = user_config_path()
    if not user_file:
        local = [path for path in state.config.files if path != target]
        target = local[-1] if local else target
    if not target.exists():
        write_settings(target, {})
    click.edit(filename=str(target), require_save=False)


@config.command("set")
@click.argument("key", type=click.Choice(PERMITTED_SETTINGS), metavar="KEY")
@click.argument("value")
@click.option("--local", is_flag=True, help="Write ./.maisie instead of your user configuration.")
@pass_state
def config_set(state: State, key: str, value: str, local: bool) -> None:
    """Save a setting (KEY as in `maisie config ls`, e.g. api_url)."""
    path = write_settings(Path(CONFIG_FILENAME) if local else user_config_path(), {key: value})
    state.info(f"Saved {key} in {path}.")


@config.command()
@click.argument("key", type=click.Choice(PERMITTED_SETTINGS), metavar="KEY")
@click.option("--local", is_flag=True, help="Change ./.maisie instead of your user configuration.")
@pass_state
def unset(state: State, key: str, local: bool) -> None:
    """Remove a setting from a configuration file."""
    path = Path(CONFIG_FILENAME) if local else user_config_path()
    if not path.exists():
        raise CliError(f"{path} does not exist.", 2)
    write_settings(path, {key: None})
    state.info(f"Removed {key} from {path}.")
