"""`maisie models upload|ls|get|download|rm|tag` (`update` is in maisie/cli/model_update.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from maisie.cli import AliasedGroup, CliError, State, output_options, pass_state
from maisie.cli.common import ID_OR_REF, delete_many, fetch, paging_options, show_list, show_object, yes_option
from maisie.cli.output import echo_json, file_label, format_label, human_count, user_label
from maisie.errors import HiddenFileName, TargetExists
from maisie.resources.models import Models
from maisie.utils import uploads
from maisie.utils.folder_download import PARALLEL as PARALLEL_DOWNLOADS
from maisie.utils.progress import human_size
from maisie.utils.uploads import UploadStats

#: `--columns` prefixes and the dictionaries they name
SECTIONS = {
    "hp": "hyperparameters",
    "hyper": "hyperparameters",
    "hyperparameter": "hyperparameters",
    "hyperparameters": "hyperparameters",
    "p": "parameters",
    "param": "parameters",
    "params": "parameters",
    "parameter": "parameters",
    "parameters": "parameters",
    "m": "metrics",
    "metric": "metrics",
    "metrics": "metrics",
}
SEARCH_ORDER = ("hyperparameters", "metrics", "parameters")

#: `--columns` names of what the server read from a version's files (its `format` object,
#: docs/formats.md), named as its search language names them; blank until the files are read.
FORMAT_COLUMNS: dict[str, tuple[str, Callable[[dict], Any]]] = {
    "format": ("FORMAT", lambda m: (m.get("format") or {}).get("name")),
    "format.params": ("PARAMS", lambda m: human_count((m.get("format") or {}).get("params"))),
    "format.verdict": ("VERDICT", lambda m: (m.get("format") or {}).get("verdict")),
}

#: what `private` means, as the server's visibility rule decides (the web form says the same)
PRIVATE_HELP = "Only you (and the site's staff) will see it: not the workspace's other members, owners included."

DETAIL_ORDER = (
    "id",
    "name",
    "version",
    "project_id",
    "workspace_id",
    "user",
    "visibility",
    "registered_model_id",
    "aliases",
    "tags",
    "file",
    "sha256",
    "digest",
    "format",
    "dataset",
    "git",
    "hyperparameters",
    "parameters",
    "metrics",
    "created",
    "updated",
)


def key_value(values: Any, key: str) -> Any:
    """The value of `key` in a model's dictionary: the top-level key as written if there is one,
    else the nested path the server reads (`optimizer.lr` is "lr" inside "optimizer"; a part
    holding a dot is backquoted, `` `a.b`.c ``), or None."""
    if not isinstance(values, dict):
        return None
    if key in values:
        return values[key]
    for part in _key_parts(key):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


def _key_parts(key: str) -> list[str]:
    """`a.b` -> ["a", "b"]; `` `a.b`.c `` -> ["a.b", "c"] (a doubled backquote is one)."""
    parts, part, quoted, index = [], "", False, 0
    while index < len(key):
        char = key[index]
        if char == "`" and quoted and key[index + 1 : index + 2] == "`":
            part, index = part + "`", index + 2
            continue
        if char == "`":
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(part)
            part = ""
        else:
            part += char
        index += 1
    return [*parts, part]


def column_getter(spec: str) -> tuple[str, Callable[[dict], Any]]:
    """A table column for `lr`, `hp.lr`, `metrics.accuracy`, `params.layers` or a nested
    `hp.optimizer.lr`, or one of FORMAT_COLUMNS.

    A bare key is looked up in the hyperparameters, then the metrics, then the parameters
    (`hp.format` for a hyperparameter named like a format column).
    """
    if spec.lower() in FORMAT_COLUMNS:
        return FORMAT_COLUMNS[spec.lower()]
    prefix, dot, key = spec.partition(".")
    if dot and prefix.lower() in SECTIONS:
        section = SECTIONS[prefix.lower()]
        return key.upper(), lambda model: key_value(model.get(section), key)

    def lookup(model: dict) -> Any:
        for section in SEARCH_ORDER:
            value = key_value(model.get(section), spec)
            if value is not None:
                return value
        return None

    return spec.upper(), lookup


def list_columns(extra: list[str]) -> list[tuple[str, Callable[[dict], Any]]]:
    """The `models ls` columns: the basics, the chosen keys, then the metrics when none were chosen."""
    columns: list[tuple[str, Callable[[dict], Any]]] = [
        ("ID", lambda m: m.get("id")),
        ("NAME", lambda m: m.get("name")),
        ("V", lambda m: m.get("version")),
        ("PROJECT", lambda m: m.get("project_id")),
        ("USER", lambda m: (m.get("user") or {}).get("login")),
        ("TAGS", lambda m: [t.get("name") for t in m.get("tags") or []]),
        ("CREATED", lambda m: m.get("created")),
    ]
    if extra:
        columns += [column_getter(spec) for spec in extra]
    else:
        columns.append(("METRICS", lambda m: m.get("metrics")))
    return columns


def _detail(model: dict) -> dict:
    shown = dict(model)
    info = model.get("file") or {}
    shown["file"] = file_label(info)
    shown["sha256"] = info.get("sha256")
    shown["user"] = user_label(model.get("user"))
    shown["tags"] = [tag.get("name") for tag in model.get("tags") or []]
    git = model.get("git") or {}
    shown["git"] = {key: value for key, value in git.items() if value not in (None, "")} or None
    dataset = model.get("dataset") or {}
    shown["dataset"] = {key: value for key, value in dataset.items() if value} or None
    if "format" in model:  # servers before 2026-12 do not say
        shown["format"] = format_label(model["format"])
    return shown


@click.group(cls=AliasedGroup)
def models() -> None:
    """Models: upload, find, download and tag them."""


@models.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("-f", "--file", "file_option", type=click.Path(path_type=Path), hidden=True)
@click.option("-n", "--name", help="The model's name (default: the file or folder name without its extension).")
@click.option("--project", "project_id", type=int, help="Its project (default: the selected one).")
@click.option("-hp", "-H", "--hyperparameters", help="Hyperparameters: a JSON or YAML file, or inline JSON.")
@click.option("-p", "-P", "--parameters", help="Parameters: a JSON or YAML file, or inline JSON.")
@click.option("-m", "--metrics", help="Metrics: a JSON or YAML file, or inline JSON.")
@click.option("-t", "--tag", "tags", multiple=True, help="A tag (repeatable, or comma-separated).")
@click.option("-d", "--dataset-name", "--dataset_name", "dataset_name", default="", help="The training data's name.")
@click.option(
    "--dataset-description", "--dataset_description", "dataset_description", default="", help="More about it."
)
@click.option("--private", is_flag=True, help=PRIVATE_HELP)
@click.option(
    "--git-repo", type=click.Path(file_okay=False, path_type=Path), help="Read git state from this repository."
)
@click.option("--no-git", is_flag=True, help="Do not record git state.")
@click.option(
    "-i", "--include", "include", multiple=True, help="For a folder: only files matching this glob (repeatable)."
)
@click.option(
    "-x", "--exclude", "exclude", multiple=True, help="For a folder: leave out files matching this glob (repeatable)."
)
@click.option(
    "--new-version", is_flag=True, help="Make a new version even if one of this model has exactly these files."
)
@click.option(
    "--parallel", type=click.IntRange(1, 32), default=uploads.PARALLEL, show_default=True, help="Files sent at once."
)
@output_options
@pass_state
def upload(
    state: State,
    file: Path | None,
    file_option: Path | None,
    name: str | None,
    project_id: int | None,
    hyperparameters: str | None,
    parameters: str | None,
    metrics: str | None,
    tags: tuple[str, ...],
    dataset_name: str,
    dataset_description: str,
    private: bool,
    git_repo: Path | None,
    no_git: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    new_version: bool,
    parallel: int,
) -> None:
    """Upload FILE, or a folder of files, with its metadata and the git state of the working folder.

    Only the files the server does not hold already are sent, several at once; an interrupted
    upload resumes where it stopped when run again.

    \b
    maisie models upload model.pt -hp params.yaml -m '{"accuracy": 0.93}' -t baseline
    maisie models upload ./checkpoint/ -n llama-ft --exclude 'optimizer*' --exclude logs/
    """
    path = file or file_option
    if path is None:
        raise click.UsageError("Give the model FILE (or folder) to upload.")
    if (include or exclude) and not path.is_dir():
        raise click.UsageError("--include and --exclude apply to a folder.")
    model = Models(state.config).upload(
        name or _default_name(path),
        path,
        hyperparameters,
        parameters,
        metrics,
        private=private,
        dataset_name=dataset_name,
        dataset_description=dataset_description,
        project_id=project_id,
        tags=[part for tag in tags for part in tag.split(",")],
        git=False if no_git else (git_repo or None),
        progress=state.progress,
        include=include,
        exclude=exclude,
        new_version=new_version,
        parallel=parallel,
    )
    # --json says whether the upload made a version (the API's `created`), beside the version.
    show_object(state, {**model, "created": model.created} if state.json else model, DETAIL_ORDER, _detail)
    label = f"{model.get('name')} v{model.get('version')}"
    if not model.created:
        state.info(f"Already uploaded: {label} has exactly these files: {model.web_url} (--new-version makes another).")
        return
    state.info(f"Uploaded {label}{_sent(model.stats)}: {model.web_url}")


def _default_name(path: Path) -> str:
    """A model's name from its file (`model.pt` -> `model`) or folder (`./checkpoint/` -> `checkpoint`)."""
    if path.is_dir():
        return path.expanduser().resolve().name or "model"
    return path.stem


def _sent(stats: UploadStats | None) -> str:
    """`(5 files, 4.0 GiB; sent 1.0 GiB, 3.0 GiB already there)`, or nothing for a one-request upload."""
    if stats is None:
        return ""
    files = f"{stats.files} file{'s' if stats.files != 1 else ''}"
    text = f" ({files}, {human_size(stats.total_bytes)}; sent {human_size(stats.sent_bytes)}"
    already = stats.skipped_bytes + stats.resumed_bytes
    return text + (f", {human_size(already)} already on the server)" if already else ")")


@models.command("ls")
@click.option("--query", help="A query in the server's search language (sent as `q`).")
@click.option("-o", "--ordering", help="Sort order in the server's terms, e.g. -created or metrics.accuracy.")
@click.option(
    "-c",
    "--columns",
    help="Comma-separated hyperparameter/metric/parameter keys to show as columns (e.g. lr,hp.batch,metrics.acc);"
    " format, format.params and format.verdict show what the server read from the files.",
)
@click.option("-p", "--project", "projects", type=int, multiple=True, help="Only in this project (repeatable).")
@click.option("-w", "--workspace", "workspaces", type=int, multiple=True, help="Only in this workspace (repeatable).")
@click.option("-t", "--tag", "tags", multiple=True, help="Only with this tag (repeatable: all of them).")
@click.option("-s", "--search", help="Only models whose name contains this.")
@paging_options
@output_options
@pass_state
def ls(
    state: State,
    query: str | None,
    ordering: str | None,
    columns: str | None,
    projects: tuple[int, ...],
    workspaces: tuple[int, ...],
    tags: tuple[str, ...],
    search: str | None,
    page: int | None,
    per_page: int | None,
    all_pages: bool,
) -> None:
    """List models, newest first."""
    resource = Models(state.config)
    rows = fetch(
        resource,
        page,
        per_page,
        all_pages,
        query=query,
        ordering=ordering,
        project=list(projects),
        workspace=list(workspaces),
        tag=list(tags),
        search=search,
    )
    extra = [spec.strip() for spec in (columns or "").split(",") if spec.strip()]
    show_list(state, rows, list_columns(extra), "models", resource.pagination, all_pages)


@models.command()
@click.argument("id", type=ID_OR_REF)
@output_options
@pass_state
def get(state: State, id: int | str) -> None:
    """Show one model with all its metadata: by ID, or by reference
    (vision/imagenet/resnet50@production, …/resnet50:3, or …/resnet50 for the latest)."""
    show_model(state, Models(state.config).get(id))


@models.command()
@click.argument("id", type=ID_OR_REF)
@output_options
@pass_state
def formats(state: State, id: int | str) -> None:
    """Show what the server read from model ID's files: format, parameters, dtypes, and the
    verdict of its pickle scan (safe format, pickle, unknown or suspicious; docs/formats.md)."""
    facts = Models(state.config).formats(id)
    if state.json:
        echo_json(facts)
        return
    if not facts["read"]:
        click.echo(f"Model {facts['id']}: not read yet (the server reads files in the background).")
    else:
        params = "?" if facts["params"] is None else f"{facts['params']:,}"
        click.echo(f"Model {facts['id']}: {facts['format']}, {params} parameters, {facts['verdict']}")
        click.echo(f"  {facts['verdict_sentence']}")
    for row in facts["files"]:
        if not row["read"]:
            click.echo(f"{row['path']}: not read yet")
            continue
        params = "" if row["params"] is None else f", {row['params']:,} parameters"
        line = f"{row['path']}: {row['format']}{params}, {row['verdict']}"
        if row["globals"] and row["verdict"] != "pickle":
            line += f" (imports {', '.join(row['globals'][:5])})"
        click.echo(line)


def show_model(state: State, model: dict) -> None:
    """Print a model version as `models get` does."""
    show_object(state, model, DETAIL_ORDER, _detail)


@models.command()
@click.argument("id", type=ID_OR_REF)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="A folder, or the file to write (default: the stored file name here); for a folder version, "
    "the folder to write its files in (default: the model's name here).",
)
@click.option("-f", "--force", is_flag=True, help="Replace files that exist with other content.")
@click.option("--allow-hidden", is_flag=True, help="Save under a stored file name that starts with a dot (`.bashrc`).")
@click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Download a version the server marks suspicious: pickle data that imports more than tensor "
    "and array rebuilders, which loading it would run (docs/formats.md).",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=PARALLEL_DOWNLOADS,
    show_default=True,
    help="Files fetched at once.",
)
@output_options
@pass_state
def download(
    state: State,
    id: int | str,
    output: Path | None,
    force: bool,
    allow_hidden: bool,
    parallel: int,
    allow_unsafe: bool,
) -> None:
    """Download model ID (or a reference: vision/imagenet/resnet50@production), resuming an
    interrupted download and checking every file's SHA-256.

    A version of one file is written as that file; a folder version as a folder, where files
    already present with the right SHA-256 are not fetched again. An existing file is not
    replaced without --force, and a stored file name that starts with a dot is refused without
    --allow-hidden (or -o with a name of your own). A version the server marks suspicious (its
    pickle data imports more than tensor rebuilders) is refused without --allow-unsafe."""
    resource = Models(state.config)
    model = resource.get(id)  # resolved once: the id printed is the one downloaded
    try:
        path = resource.download(
            model,
            output,
            progress=state.progress,
            overwrite=force,
            allow_hidden=allow_hidden,
            parallel=parallel,
            allow_unsafe=allow_unsafe,
        )
    except TargetExists as exc:
        raise CliError(f"{exc.path} already exists; use --force to replace it.", exc.exit_code) from None
    except HiddenFileName as exc:
        raise CliError(
            f"The model's stored file name {exc.name!r} starts with a dot (a hidden file); use "
            "--allow-hidden to save it under that name, or -o to choose another.",
            exc.exit_code,
        ) from None
    stats = resource.download_stats if path.is_dir() else None
    if state.json:
        extra = {"files": stats.files, "skipped_files": stats.skipped_files} if stats else {}
        echo_json({"id": model["id"], "path": str(path), **extra})
        return
    click.echo(str(path))
    if stats:
        fetched = stats.files - stats.skipped_files
        state.info(
            f"{stats.files} files, {human_size(stats.total_bytes)}: {fetched} downloaded and verified, "
            f"{stats.skipped_files} already there ({human_size(stats.skipped_bytes)})."
        )


@models.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@yes_option
@output_options
@pass_state
def rm(state: State, ids: tuple[int, ...], yes: bool) -> None:
    """Delete models and their files."""
    delete_many(state, Models(state.config), "model", ids, yes)


@models.command()
@click.argument("id", type=int)
@click.argument("tags", nargs=-1)
@click.option("-r", "--remove", is_flag=True, help="Remove these tags instead of adding them.")
@click.option("--set", "replace", is_flag=True, help="Make these the model's only tags (none given: clear them).")
@output_options
@pass_state
def tag(state: State, id: int, tags: tuple[str, ...], remove: bool, replace: bool) -> None:
    """Add TAGS to model ID (or remove them with --remove)."""
    if remove and replace:
        raise CliError("Choose --remove or --set, not both.", 2)
    if not tags and not replace:
        raise click.UsageError("Give at least one tag.")
    resource = Models(state.config)
    if replace:
        model = resource.set_tags(id, list(tags))
    elif remove:
        model = resource.remove_tags(id, *tags)
    else:
        model = resource.add_tags(id, *tags)
    names = [t.get("name") for t in model.get("tags") or []]
    if state.json:
        echo_json(model)
    elif state.quiet:
        click.echo(",".join(names))
    else:
        click.echo(f"Model {id} tags: {', '.join(names) or '(none)'}")
