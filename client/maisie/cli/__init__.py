"""The `maisie` (and `mai`) command line.

Every command takes `--help`. Failures print one line on stderr and exit non-zero:
1 unexpected, 2 bad usage or configuration, 3 not signed in or refused, 4 not found,
5 not allowed, 6 invalid input, 7 server unreachable, 8 checksum mismatch, 9 refused by the
current state (an alias rule, an alias on the version), 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from maisie import __version__
from maisie.core import Config
from maisie.errors import MaisieError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: the console scripts (client/pyproject.toml): the same command under two names
PROGRAM_NAMES = ("maisie", "mai")

#: old and common names for the same commands, accepted but not listed in `--help`
ALIASES = {"add": "create", "list": "ls", "remove": "rm", "delete": "rm", "show": "get"}


@dataclass
class State:
    """What the options of the root command decide, shared with every subcommand."""

    config_file: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: int = 0
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The configuration, read on first use."""
        if self._config is None:
            self._config = Config(filename=self.config_file)
        return self._config

    @property
    def progress(self) -> bool | None:
        """`False` with `--quiet` or `--json`; otherwise let the bar decide (only on a terminal)."""
        return False if (self.quiet or self.json) else None

    def info(self, message: str) -> None:
        """A message for people, on stderr; silent with `--quiet`."""
        if not self.quiet:
            click.echo(message, err=True)


pass_state = click.make_pass_decorator(State, ensure=True)


class CliError(click.ClickException):
    """A one-line failure with its own exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(" ".join(str(message).split()) or "failed")
        self.exit_code = exit_code


class AliasedGroup(click.Group):
    """A group that also accepts the names in :data:`ALIASES`."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in ALIASES:
            command = super().get_command(ctx, ALIASES[cmd_name])
        return command


class RootGroup(AliasedGroup):
    """Turns every error into one line on stderr and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MaisieError as exc:
            raise CliError(exc.message, exc.exit_code) from None
        except KeyboardInterrupt:
            raise CliError("Interrupted.", 130) from None
        except OSError as exc:
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            raise CliError(f"{exc.strerror or exc}{where}", 1) from None
        except Exception as exc:
            state = ctx.find_object(State)
            if state is not None and state.verbose:
                traceback.print_exc()
            raise CliError(f"Unexpected error: {type(exc).__name__}: {exc} (run with -v for details)", 1) from None


def _flag_setter(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            setattr(ctx.ensure_object(State), name, True)

    return callback


def output_options(func: Callable) -> Callable:
    """`--json` and `--quiet`, accepted on each command as well as before it."""
    func = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_flag_setter("quiet"),
        help="Print only ids (or paths); no progress bar or messages.",
    )(func)
    func = click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=_flag_setter("json"),
        help="Print machine-readable JSON.",
    )(func)
    return func


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    logger = logging.getLogger("maisie")
    if not any(getattr(h, "_maisie_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler._maisie_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)


@click.group(cls=RootGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=str),
    envvar="MAISIE_CONFIG",
    help="A configuration file applied over the others (env: MAISIE_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="Log what happens (and tracebacks of unexpected errors).")
@output_options
@click.version_option(__version__, "-V", "--version", prog_name="maisie")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: int) -> None:
    """Maisie: a registry of trained machine-learning models.

    Start with `maisie login`, pick a project with `maisie projects select ID`, then
    `maisie models upload model.pt -m metrics.json`.
    """
    state = ctx.ensure_object(State)
    state.config_file = config_file
    state.verbose = verbose
    _setup_logging(verbose, state.quiet)


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL: it completes both `maisie` and `mai`.

    \b
    bash:  eval "$(maisie completion bash)"   (e.g. in ~/.bashrc)
    zsh:   eval "$(maisie completion zsh)"    (e.g. in ~/.zshrc)
    fish:  maisie completion fish > ~/.config/fish/completions/maisie.fish
    """
    from click.shell_completion import get_completion_class

    # Each name is its own console script, which answers completion under its own variable
    # (`_MAI_COMPLETE`), so each gets its own registration.
    invoked = Path(ctx.find_root().info_name or "maisie").name
    for prog in dict.fromkeys([invoked, *PROGRAM_NAMES]):
        complete_var = f"_{prog.replace('-', '_').upper()}_COMPLETE"
        click.echo(get_completion_class(shell)(cli, {}, prog, complete_var).source())


def _register() -> None:
    from maisie.cli import (
        account,
        aliases,
        config,
        members,
        model_update,  # noqa: F401 (adds `models update` to the models group)
        models,
        projects,
        promotions,
        registered_models,
        users,
        workspaces,
    )

    for command in (
        *account.COMMANDS,
        config.config,
        workspaces.workspaces,
        members.members,
        projects.projects,
        models.models,
        registered_models.registered_models,
        aliases.alias,
        aliases.resolve,
        promotions.promotions,
        users.users,
    ):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """The console script: run the CLI and exit with its status."""
    cli.main(args=argv, prog_name=Path(sys.argv[0]).name if argv is None else "maisie")


__all__ = ["CliError", "State", "cli", "main", "output_options", "pass_state"]
