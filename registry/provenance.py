"""Where a model came from: the git remote it was trained from, stored without credentials.

A remote URL copied from `git remote -v` can carry a secret: CI systems clone from
`https://oauth2:<token>@gitlab.example.com/x.git`, and GitHub tokens are often the user part
alone (`https://ghp_…@github.com/x.git`). The client strips them before sending, but an older
client, a script or the web form may not, so the server strips them again before storing.

The rule, per kind of URL:

- `http(s)://user:password@host/…`: the whole user part goes (the user alone may be the token),
  and so do a query string and a fragment (`?private_token=…`); the host and path stay.
- `ssh://user:password@host/…` (also `git+ssh://`, `ssh+git://`): the user stays (`git@` is how
  such remotes are cloned, not a secret), the password goes.
- any other `scheme://user:password@…` (`git://`, `ftp://`): the password goes.
- scp-like `git@host:org/repo.git` and local paths: kept as they are (they cannot hold a
  password).
"""

from urllib.parse import urlsplit, urlunsplit

_DROP_USER = frozenset({"http", "https"})


def strip_credentials(url: str) -> str:
    """`url` without the secrets a remote URL may embed (see the module's rule)."""
    url = (url or "").strip()
    if "://" not in url:
        return url  # scp-like (user@host:path) or a local path: no password possible
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" in the host: not a URL we can take apart
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if scheme in _DROP_USER:
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    if at:
        user = userinfo.partition(":")[0]
        netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def web_url(url: str) -> str | None:
    """The remote's address when a browser can open it (http or https), else None."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None
