"""The git state of the code that trained a model: branch, commit, remote and dirtiness."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)


def strip_credentials(url: str) -> str:
    """A remote URL without the secrets it may embed, by the server's rule (the server strips
    them again before storing): an http(s) URL loses its whole user part (a token is often the
    user alone) and its query; an ``ssh://`` URL keeps its user (``git@``) but not a password;
    an scp-like ``git@host:org/repo.git`` is kept as it is."""
    url = (url or "").strip()
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https"):
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    user = userinfo.partition(":")[0]
    netloc = (f"{user}@{host}" if user else host) if at else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class GitProvider:
    """Provides an interface for interacting with git repositories.

    :param path: path to the repository or a folder inside it. If not given, the repository
        holding the current working folder is used.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._specified_path = path
        self._repo = None

    @property
    def repository(self):
        """Returns the GitPython object of a selected repository.

        :raises git.exc.InvalidGitRepositoryError: when the folder is not in a git repository
        """
        if self._repo is None:
            import git  # GitPython; imported late so the client starts fast and works without git

            path = Path(self._specified_path).expanduser() if self._specified_path else Path.cwd()
            self._repo = git.Repo(path, search_parent_directories=True)
        return self._repo

    @property
    def active_branch(self) -> str:
        """Returns the name of the active branch; empty on a detached HEAD."""
        try:
            return self.repository.active_branch.name
        except TypeError:  # detached HEAD
            return ""

    @property
    def latest_commit(self) -> str:
        """Returns the hash of a latest commit in the active branch; empty before the first commit."""
        try:
            return self.repository.head.commit.hexsha
        except ValueError:  # a new repository without commits
            return ""

    @property
    def is_dirty(self) -> bool:
        """Checks whether there are uncommitted changes to tracked files (like `git describe --dirty`)."""
        return self.repository.is_dirty()

    def remotes(self, include_name: bool = True, include_url: bool = True) -> list:
        """Retrieves a list of remotes defined in the repository.

        :param include_name: whether to include the names of remotes
        :param include_url: whether to include the urls of remotes (credentials removed)
        :returns: a list of remotes in a requested schema: ``[[name, url], ...]``
        """
        if not include_name and not include_url:
            raise ValueError("include the name, the URL, or both")
        output = []
        for remote in self.repository.remotes:
            entry = []
            if include_name:
                entry.append(remote.name)
            if include_url:
                urls = list(remote.urls)
                entry.append(strip_credentials(urls[0]) if urls else "")
            output.append(entry)
        return output

    @property
    def remote_url(self) -> str:
        """The URL of `origin`, else of the first remote; empty when there is none."""
        remotes = dict((name, url) for name, url in self.remotes())
        if "origin" in remotes:
            return remotes["origin"]
        return next(iter(remotes.values()), "")

    def upload_fields(self) -> dict[str, str]:
        """The git form fields of an upload: `git_active_branch`, `git_commit_hash`,
        `git_remote_url`, `git_dirty`."""
        return {
            "git_active_branch": self.active_branch,
            "git_commit_hash": self.latest_commit,
            "git_remote_url": self.remote_url,
            "git_dirty": "true" if self.is_dirty else "false",
        }


def git_fields(path: str | Path | None = None, *, required: bool = False) -> dict[str, str]:
    """The git fields of an upload made from `path` (default: the working folder).

    Outside a repository, or without the `git` program, there is nothing to record: an empty
    dictionary, unless `required` (a repository named explicitly), which raises ValueError.
    """
    try:
        return GitProvider(path).upload_fields()
    except Exception as exc:  # GitPython raises several unrelated types (no repo, no git binary)
        if required:
            raise ValueError(f"cannot read the git repository at {path}: {type(exc).__name__}: {exc}") from exc
        logger.debug("No git information recorded: %s", exc)
        return {}
