"""Models: upload a trained model with its metadata, find it again, download it verified."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from maisie.core import clean_params
from maisie.errors import HiddenFileName, NotFound, UnsafeModel, ValidationError
from maisie.references import IdOrRef, as_id, as_of_param
from maisie.resources.base import Resource
from maisie.utils import uploads
from maisie.utils.folder_download import PARALLEL as PARALLEL_DOWNLOADS
from maisie.utils.folder_download import DownloadStats, download_folder
from maisie.utils.folders import STATE_NAME, local_file, walk
from maisie.utils.git import git_fields
from maisie.utils.inputs import load_mapping, to_json
from maisie.utils.progress import Progress
from maisie.utils.transfer import MultipartUpload, download_file, new_boundary, safe_filename

logger = logging.getLogger(__name__)

Dictish = Mapping[str, Any] | str | Path | None

#: (connect, read) timeouts of an upload: the server may take a while to store a big file
UPLOAD_TIMEOUT = (10, 3600)


def is_one_file(model: Mapping[str, Any]) -> bool:
    """Whether a version is one file, downloaded as that file (as before folders existed).

    A folder version has no ``file.sha256``; a version of one file inside a folder
    (``weights/model.bin``) is written as a folder too, so its path is kept.
    """
    info = model.get("file") or {}
    return bool(info.get("sha256")) and "/" not in str(info.get("name") or "")


def _single_request_will_do(exc: Exception) -> bool:
    """Whether a one-file upload the session protocol refused can go through ``POST models/``:
    the server has no ``uploads/`` (a bare 404: the project was just seen), or it refused the
    file's name as a manifest path (which the single request maps instead)."""
    if isinstance(exc, NotFound):
        return True
    return isinstance(exc, ValidationError) and set(exc.errors) == {"files"}


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
    """The model as the server answered its upload (a ``dict``), plus :attr:`web_url`,
    :attr:`created` and :attr:`stats`."""

    #: the model's page in the web UI (``https://host/models/<id>/``)
    web_url: str
    #: ``False`` when the registered model already had a version of the same files, returned
    #: instead of a new one
    created: bool = True
    #: what the upload sent and skipped (``None`` for a single-request upload)
    stats: uploads.UploadStats | None = None


class Models(Resource):
    """Represents an action for managing models."""

    path = "models"
    query_param = "q"
    #: what the latest folder download fetched and found already there
    download_stats: DownloadStats | None = None

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
        filename: str | Path | None = None,
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
        path: str | Path | None = None,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        new_version: bool = False,
        parallel: int = uploads.PARALLEL,
    ) -> UploadedModel:
        """Uploads a model version: one file, or a folder of files, with its metadata and git state.

        The metadata and the list of files (path, size and SHA-256 of each) go first, through an
        upload session: the server refuses a bad path, a missing permission or a full quota
        before any file byte is sent, and asks only for the files it does not hold already
        (uploading the same weights under another name sends nothing). Files go in parts,
        several at once; an interrupted upload resumes on the next call from the last part the
        server acknowledged (a ``.maisie-upload`` file in the folder remembers the session).
        When the registered model already has a version with exactly these files, that version
        is returned (:attr:`UploadedModel.created` is ``False``) unless `new_version`.

        :param name: name of model to upload; uploads with the same name in a project are
            numbered as versions
        :param filename: path to the model's file, or to its folder
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
        :param path: the file or folder to upload (another name for `filename`)
        :param include: for a folder, only files matching one of these globs (``*.safetensors``;
            see :func:`maisie.utils.folders.matches`)
        :param exclude: for a folder, leave out files matching any of these globs
        :param new_version: make a new version even when one with the same files exists
        :param parallel: how many files are sent at once
        :returns: posted model, a ``dict`` whose :attr:`~UploadedModel.web_url` is its web page
        :raises maisie.errors.ValidationError: for missing or unreadable inputs, or when the
            server refuses them
        """
        source = path if path is not None else filename
        if source is None:
            raise ValidationError("Give the model's file or folder to upload.")
        source = Path(source).expanduser()
        if not source.exists():
            raise ValidationError(f"Model file {source} not found.")
        if not name or not str(name).strip():
            raise ValidationError("The model needs a name.")
        project_id = self._require(
            project_id or self.config.selected_project,
            "project",
            "pass project_id, or select one with `maisie projects select ID`",
        )
        fields = {
            "name": str(name),
            "project_id": int(project_id),
            "hyperparameters": load_mapping(hyperparameters, "hyperparameters"),
            "parameters": load_mapping(parameters, "parameters"),
            "metrics": load_mapping(metrics, "metrics"),
            "private": bool(private),
            "dataset_name": dataset_name or "",
            "dataset_description": dataset_description or "",
            "tags": _tag_list(tags),
        }
        for key, value in self._git_fields(git).items():
            fields[key] = (value == "true") if key == "git_dirty" else value
        if source.is_dir():
            files = walk(source, include, exclude)
            state = source / STATE_NAME
        elif source.is_file():
            files = [local_file(source)]
            state = source.with_name(f".{source.name}.maisie-upload")
        else:
            raise ValidationError(f"{source} is neither a file nor a folder.")
        for key in ("hyperparameters", "parameters", "metrics"):  # numpy values and the like, as JSON
            fields[key] = json.loads(to_json(fields[key], key))

        # Fail before hashing gigabytes: the project must exist and the credentials must work.
        self._call("GET", f"projects/{int(project_id)}/")

        session = uploads.SessionUpload(
            self._request,
            self._url,
            {**fields, **({"new_version": True} if new_version else {})},
            files,
            state_path=state,
            hashes_key=source,
            parallel=parallel,
            progress=progress,
            label=f"Uploading {source.name}",
        )
        try:
            answer, created = session.run()
        except (NotFound, ValidationError) as exc:
            # A server from before upload sessions (no `uploads/`), or a file name its path rules
            # refuse that the single-request upload maps (`a:b.pt` -> `a_b.pt`): one file still
            # goes the way it always went.
            if not (source.is_file() and _single_request_will_do(exc)):
                raise
            logger.info("Uploading %s in one request (%s)", source.name, exc)
            return self._upload_one_request(source, fields, progress)
        model = UploadedModel(answer)
        model.web_url = self.web_url(answer)
        model.created = created
        model.stats = session.stats
        return model

    def _upload_one_request(self, path: Path, values: Mapping[str, Any], progress: bool | None) -> UploadedModel:
        """The documented single-request upload (``POST models/``, multipart) of one file."""
        fields: dict[str, str] = {
            key: to_json(value, key) if isinstance(value, dict) else str(value)
            for key, value in values.items()
            if key not in ("tags", "private", "git_dirty")
        }
        fields["private"] = "true" if values.get("private") else "false"
        if values.get("tags"):
            fields["tags"] = ",".join(values["tags"])
        if "git_dirty" in values:
            fields["git_dirty"] = "true" if values["git_dirty"] else "false"
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

    def files(self, id: IdOrRef | Mapping[str, Any]) -> list[dict]:
        """The files of a version (its manifest): ``path``, ``size``, ``sha256`` and a download link each.

        :param id: the model's id, a reference to it, or the model as :meth:`get` answered it
        """
        model_id = int(id["id"]) if isinstance(id, Mapping) else as_id(id)
        if model_id is None:
            model_id = int(self.get(id)["id"])
        return self._call("GET", f"{self.path}/{model_id}/files/")

    def formats(self, id: IdOrRef) -> dict:
        """What the server read from a version's files (docs/formats.md): the version's
        ``format``, ``params``, ``tensors``, ``verdict`` (``safe``, ``pickle``, ``unknown`` or
        ``suspicious``) and what it means, and per file its facts (``"read": False`` until the
        server has read it).

        :param id: the model's id or a reference to it (see :meth:`get`)
        """
        number = as_id(id)
        model_id = number if number is not None else int(self.resolve(id)["id"])
        return self._call("GET", f"{self.path}/{model_id}/formats/")

    def _refuse_unsafe(self, model_id: int) -> None:
        """Raise UnsafeModel when the server marks the version suspicious (docs/formats.md). Asked
        with HEAD, not followed to S3: the answer's headers, no byte of the file."""
        response = self._request("HEAD", f"{self.path}/{model_id}/download/", allow_redirects=False)
        response.close()
        verdict = response.headers.get("X-Maisie-Unsafe")
        if verdict:
            raise UnsafeModel(model_id, verdict)

    def download(
        self,
        id: IdOrRef | Mapping[str, Any],
        path: str | Path | None = None,
        *,
        progress: bool | None = None,
        overwrite: bool = False,
        allow_hidden: bool = False,
        parallel: int = PARALLEL_DOWNLOADS,
        allow_unsafe: bool = False,
    ) -> Path:
        """Downloads requested model, verified against the SHA-256 recorded at upload.

        A one-file version is one file. Its file is written to a partial file beside the target
        and renamed into place once its SHA-256 matches. An interrupted download is resumed from
        where it stopped, also on the next call. A mismatch raises
        :class:`maisie.errors.ChecksumMismatch` and leaves nothing behind.

        The stored file name comes from the server, so it is reduced to a plain name (no folders,
        no ``..``, no control characters), and a name starting with a dot (``.bashrc``) is
        refused unless `allow_hidden`. An existing file is not replaced unless `overwrite`.

        A folder version is written as a folder: every file at its path below `path`, each
        verified and resumed as above, several at once. A file already there with the right
        SHA-256 is not fetched again; one that differs is not replaced unless `overwrite`.

        :param id: id of the model to download, a reference to it
            (``"vision/imagenet/resnet50@production"``; see :meth:`get`), or the model as
            :meth:`get` answered it (so a reference is resolved once, whatever moves meanwhile)
        :param path: a folder to save it in under its stored file name, or a file path
            (default: the stored file name in the working folder); for a folder version, the
            folder to write its files in (default: the model's name in the working folder)
        :param progress: show a progress bar on stderr (default: when stderr is a terminal)
        :param overwrite: replace an existing file (otherwise :class:`maisie.errors.TargetExists`)
        :param allow_hidden: save under a stored file name that starts with a dot (otherwise
            :class:`maisie.errors.HiddenFileName`)
        :param parallel: for a folder, how many files are fetched at once
        :param allow_unsafe: download a version the server marks suspicious (a pickle that imports
            more than tensor and array rebuilders; otherwise :class:`maisie.errors.UnsafeModel`)
        :returns: the path of the downloaded file, or of the folder
        """
        model = id if isinstance(id, Mapping) else self.get(id)
        model_id = int(model["id"])
        if not allow_unsafe:
            self._refuse_unsafe(model_id)
        info = model.get("file") or {}
        if not is_one_file(model):
            return self._download_folder(model, path, progress, overwrite, allow_hidden, parallel)
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

    def _download_folder(
        self,
        model: Mapping[str, Any],
        path: str | Path | None,
        progress: bool | None,
        overwrite: bool,
        allow_hidden: bool,
        parallel: int,
    ) -> Path:
        model_id = int(model["id"])
        if path is None:
            name = safe_filename(model.get("name"), f"model-{model_id}")
            if name.startswith(".") and not allow_hidden:
                raise HiddenFileName(name)
            folder = Path.cwd() / name
        else:
            folder = Path(path).expanduser().absolute()
        if folder.exists() and not folder.is_dir():
            raise ValidationError(f"{folder} is a file; model {model_id} is a folder of files: give a folder.")
        files = self.files(model)

        def url_of(entry: Mapping[str, Any]) -> str:
            link = (entry.get("_links") or {}).get("download")
            return str(link) if link else self._url(f"{self.path}/{model_id}/files/{quote(str(entry['path']))}")

        self.download_stats = download_folder(
            self._request,
            files,
            folder,
            url_of,
            progress=progress,
            overwrite=overwrite,
            parallel=parallel,
            label=f"Downloading {folder.name}",
        )
        return folder

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
