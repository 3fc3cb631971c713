"""Models: upload a trained model with its metadata, find it again, download it verified."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from maisie.core import clean_params
from maisie.errors import HiddenFileName, ValidationError
from maisie.references import IdOrRef, as_id, as_of_param
from maisie.resources.base import Resource
from maisie.utils.git import git_fields
from maisie.utils.inputs import load_mapping, to_json
from maisie.utils.progress import Progress
from maisie.utils.transfer import MultipartUpload, download_file, new_boundary, safe_filename

logger = logging.getLogger(__name__)

Dictish = Mapping[str, Any] | str | Path | None

#: (connect, read) timeouts of an upload: the server may take a while to store a big file
UPLOAD_TIMEOUT = (10, 3600)


def _tag_list(tags: Iterable[str] | str | None) -> list[str]:
    if tags is None:
        return []
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    names: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    return names


class UploadedModel(dict):
    """The model as the server answered its upload (a ``dict``), plus :attr:`web_url`."""

    #: the model's page in the web UI (``https://host/models/<id>/``)
    web_url: str


class Models(Resource):
    """Represents an action for managing models."""

    path = "models"
    query_param = "q"

    def get(self, id: IdOrRef) -> dict:
        """Fetches a single model, by id or by reference.

        :param id: the model's id (``42``), or a reference to one of its versions:
            ``"vision/imagenet/resnet50@production"``, ``"…/resnet50:12"``, or ``"…/resnet50"``
            for the latest version you can see
        :returns: requested model
        :raises maisie.errors.ValidationError: for a malformed reference (the message names the
            wrong part) or an alias the registered model does not have
        :raises maisie.errors.NotFound: when it does not exist or is hidden from you
        """
        number = as_id(id)
        return super().get(number) if number is not None else self.resolve(id)

    def resolve(self, ref: str, as_of: datetime | str | None = None) -> dict:
        """The version a reference names (``GET /api/v1/resolve/``), as :meth:`get` answers it.

        :param ref: ``<workspace>/<project>/<name>``, then ``@<alias>``, ``:<version>`` or
            nothing for the latest version
        :param as_of: answer as things were at this time (an ISO 8601 text or a `datetime`; a
            time without an offset is UTC): what ``@production`` pointed at then
        :returns: the model version
        """
        params = {"ref": str(ref), "as_of": as_of_param(as_of)}
        # The server's 404 names the part of the reference that was not found: no context added.
        return self._call("GET", "resolve/", params=clean_params(params), context="")

    def get_all(
        self,
        query: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        *,
        ordering: str | None = None,
        **filters: Any,
    ) -> list[dict]:
        """Fetches the models that satisfy some condition, one page at a time.

        :param query: a query in the server's search language, sent as `q`; a nested key is a
            path: ``"hp.optimizer.lr > 0.001 and m.val/acc > 0.7"``
        :param page: number of the page, from 1
        :param per_page: number of the models to fetch
        :param ordering: how to sort, in the server's terms (e.g. ``"-metrics.accuracy"``,
            ``"-hp.optimizer.lr"``)
        :param filters: other query parameters, passed as they are: ``project=3``,
            ``workspace=[1, 2]``, ``tag="prod"``, ``hyperparam="optimizer.lr"``, ``search="resnet"``
        :returns: a list of returned models
        """
        return super().get_all(query, page=page, per_page=per_page, ordering=ordering, **filters)

    def iter_all(self, query: str | None = None, per_page: int = 100, *, ordering: str | None = None, **filters: Any):
        """Yield every model matching, page after page (arguments as for :meth:`get_all`).

        The pages are read by cursor (``?cursor=``): each starts after the last model of the one
        before, so models added or deleted meanwhile neither repeat nor hide others, and a page
        costs the same however deep. :attr:`pagination` then has ``next_cursor`` and no totals.
        A server without cursors is read by page number instead.
        """
        params = clean_params({self.query_param: query, "per_page": per_page, "ordering": ordering, **filters})
        params.pop("page", None)
        cursor = ""  # empty: from the start
        while True:
            items = self._call("GET", f"{self.path}/", params={**params, "cursor": cursor})
            yield from items
            pagination = self.pagination or {}
            if "next_cursor" not in pagination:  # a server before cursors answered page 1
                if items and pagination.get("has_next"):
                    yield from self._pages(f"{self.path}/", params, per_page, start=2)
                return
            cursor = pagination["next_cursor"]
            if not items or not cursor:
                return

    def upload(
        self,
        name: str,
        filename: str | Path,
        hyperparameters: Dictish = None,
        parameters: Dictish = None,
        metrics: Dictish = None,
        private: bool = False,
        dataset_name: str = "",
        dataset_description: str = "",
        *,
        project_id: int | None = None,
        tags: Iterable[str] | str | None = None,
        git: bool | str | Path | None = None,
        progress: bool | None = None,
    ) -> dict:
        """Posts a single model: its file, streamed, with its metadata and git state.

        The file is read once, in blocks, whatever its size; its SHA-256 is sent with it and
        checked by the server.

        :param name: name of model to upload; uploads with the same name in a project are
            numbered as versions
        :param filename: path to file with a model
        :param hyperparameters: dictionary, or path to a JSON/YAML file, with hyperparameters
        :param parameters: dictionary, or path to a JSON/YAML file, with parameters
        :param metrics: dictionary, or path to a JSON/YAML file, with metrics
        :param private: whether only you (and the site's staff) may see it: not the
            workspace's other members, owners included
        :param dataset_name: the name of the training data
        :param dataset_description: more about it
        :param project_id: the project (default: the `selected_project` setting)
        :param tags: tag names, as a list or one comma-separated string
        :param git: where to read the git branch, commit, remote and dirtiness: a path to the
            repository, ``False`` for none, or by default the `git_local_repo` setting, else the
            repository around the working folder (if any)
        :param progress: show a progress bar on stderr (default: when stderr is a terminal)
        :returns: posted model, a ``dict`` whose :attr:`~UploadedModel.web_url` is its web page
        :raises maisie.errors.ValidationError: for missing or unreadable inputs, or when the
            server refuses them
        """
        path = Path(filename).expanduser()
        if not path.is_file():
            raise ValidationError(f"Model file {filename} not found.")
        if not name or not str(name).strip():
            raise ValidationError("The model needs a name.")
        project_id = self._require(
            project_id or self.config.selected_project,
            "project",
            "pass project_id, or select one with `maisie projects select ID`",
        )
        fields: dict[str, str] = {
            "name": str(name),
            "project_id": str(int(project_id)),
            "hyperparameters": to_json(load_mapping(hyperparameters, "hyperparameters"), "hyperparameters"),
            "parameters": to_json(load_mapping(parameters, "parameters"), "parameters"),
            "metrics": to_json(load_mapping(metrics, "metrics"), "metrics"),
            "private": "true" if private else "false",
            "dataset_name": dataset_name or "",
            "dataset_description": dataset_description or "",
        }
        tag_names = _tag_list(tags)
        if tag_names:
            fields["tags"] = ",".join(tag_names)
        fields.update(self._git_fields(git))

        # Fail before sending gigabytes: the project must exist and the credentials must work.
        self._call("GET", f"projects/{int(project_id)}/")

        bar = Progress(path.stat().st_size, label=f"Uploading {path.name}", enabled=progress)
        boundary = new_boundary()

        def body() -> MultipartUpload:  # a stream is read once: a fresh one for every attempt
            bar.reset(0)
            return MultipartUpload(list(fields.items()), path, on_read=bar.update, boundary=boundary)

        try:
            answer = self._call(
                "POST",
                f"{self.path}/",
                body_factory=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                timeout=UPLOAD_TIMEOUT,
            )
        finally:
            bar.close()
        model = UploadedModel(answer)
        model.web_url = self.web_url(answer)
        return model

    def web_url(self, model: Mapping[str, Any]) -> str:
        """The model's page in the web UI: the server's ``_links.web``, or for a server that does
        not send it, ``/models/<id>/`` beside the API's root.

        :param model: the model as :meth:`get` or :meth:`upload` answered it
        """
        link = (model.get("_links") or {}).get("web")
        if link:
            return str(link)
        root = self.config.base_url.removesuffix("/api/v1")
        return f"{root}/models/{int(model['id'])}/"

    def _git_fields(self, git: bool | str | Path | None) -> dict[str, str]:
        if git is False:
            return {}
        if git is None or git is True:
            configured = self.config.git_local_repo
            where = configured or None
            required = bool(configured)
        else:
            where, required = git, True
        try:
            return git_fields(where, required=required)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def download(
        self,
        id: IdOrRef | Mapping[str, Any],
        path: str | Path | None = None,
        *,
        progress: bool | None = None,
        overwrite: bool = False,
        allow_hidden: bool = False,
    ) -> Path:
        """Downloads requested model, verified against the SHA-256 recorded at upload.

        The file is written to a partial file beside the target and renamed into place once
        its SHA-256 matches. An interrupted download is resumed from where it stopped, also on
        the next call. A mismatch raises :class:`maisie.errors.ChecksumMismatch` and leaves
        nothing behind.

        The stored file name comes from the server, so it is reduced to a plain name (no folders,
        no ``..``, no control characters), and a name starting with a dot (``.bashrc``) is
        refused unless `allow_hidden`. An existing file is not replaced unless `overwrite`.

        :param id: id of the model to download, a reference to it
            (``"vision/imagenet/resnet50@production"``; see :meth:`get`), or the model as
            :meth:`get` answered it (so a reference is resolved once, whatever moves meanwhile)
        :param path: a folder to save it in under its stored file name, or a file path
            (default: the stored file name in the working folder)
        :param progress: show a progress bar on stderr (default: when stderr is a terminal)
        :param overwrite: replace an existing file (otherwise :class:`maisie.errors.TargetExists`)
        :param allow_hidden: save under a stored file name that starts with a dot (otherwise
            :class:`maisie.errors.HiddenFileName`)
        :returns: the path of the downloaded file
        """
        model = id if isinstance(id, Mapping) else self.get(id)
        model_id = int(model["id"])
        info = model.get("file") or {}
        name = safe_filename(info.get("name"), f"model-{model_id}")
        target = Path.cwd() if path is None else Path(path).expanduser().absolute()
        if target.is_dir():
            if name.startswith(".") and not allow_hidden:
                raise HiddenFileName(name)
            target = target / name
        if not target.parent.is_dir():
            raise ValidationError(f"Folder {target.parent} does not exist.")
        return download_file(
            self._request,
            self._url(f"{self.path}/{model_id}/download/"),
            target,
            sha256=info.get("sha256"),
            size=info.get("size"),
            progress=progress,
            label=f"Downloading {name}",
            overwrite=overwrite,
        )

    # --- tags ------------------------------------------------------------------------------------

    def set_tags(self, id: int, tags: Iterable[str] | str) -> dict:
        """Replace a model's tags.

        :param id: the model's id
        :param tags: tag names (missing tags are created)
        :returns: the updated model
        """
        return self.update(id, {"tags": _tag_list(tags)})

    def add_tags(self, id: int, *tags: str) -> dict:
        """Add tags to a model, keeping the ones it has.

        :returns: the updated model
        """
        current = [tag["name"] for tag in self.get(id).get("tags", [])]
        return self.set_tags(id, current + _tag_list(tags))

    def remove_tags(self, id: int, *tags: str) -> dict:
        """Remove tags from a model; names it does not carry are ignored.

        :returns: the updated model
        """
        unwanted = set(_tag_list(tags))
        current = [tag["name"] for tag in self.get(id).get("tags", [])]
        return self.set_tags(id, [name for name in current if name not in unwanted])
