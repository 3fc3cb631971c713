"""What every resource shares: get one, list a page, walk all pages, create, update, delete."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from maisie.core import BaseAction, clean_params


class Resource(BaseAction):
    """An API collection such as ``/models/``; subclasses name it in `path`."""

    path = ""
    #: the query parameter that `query` is sent as
    query_param = "search"

    def _item(self, id: int | str) -> str:
        return f"{self.path}/{int(id)}/"

    def get(self, id: int) -> dict:
        """Fetch one object by id.

        :raises maisie.errors.NotFound: when it does not exist or is hidden from you
        """
        return self._call("GET", self._item(id))

    def get_all(
        self, query: str | None = None, page: int | None = None, per_page: int | None = None, **filters: Any
    ) -> list[dict]:
        """Fetch one page of objects; :attr:`pagination` tells about the others.

        :param query: text to search for
        :param page: the page number, from 1 (default: the `api_page` setting)
        :param per_page: objects per page (default: the `api_per_page` setting)
        :param filters: further query parameters, passed to the API as they are
            (a list gives a repeated parameter)
        :returns: a list of objects
        """
        params = {
            self.query_param: query,
            "page": page or self.config.api_page,
            "per_page": per_page or self.config.api_per_page,
            **filters,
        }
        return self._call("GET", f"{self.path}/", params=clean_params(params))

    def iter_all(self, query: str | None = None, per_page: int = 100, **filters: Any) -> Iterator[dict]:
        """Yield every object matching, page after page.

        :param query: text to search for
        :param per_page: how many to fetch per request
        :param filters: further query parameters, as for :meth:`get_all`
        """
        page = 1
        while True:
            items = self.get_all(query, page=page, per_page=per_page, **filters)
            yield from items
            if not items or not (self.pagination or {}).get("has_next"):
                return
            page += 1

    def _pages(self, path: str, params: Mapping[str, Any], per_page: int = 100, start: int = 1) -> Iterator[dict]:
        """Yield every item of a list endpoint other than this collection's, page after page."""
        page = start
        while True:
            items = self._call("GET", path, params=clean_params({**params, "page": page, "per_page": per_page}))
            yield from items
            if not items or not (self.pagination or {}).get("has_next"):
                return
            page += 1

    def _create(self, payload: Mapping[str, Any]) -> dict:
        return self._call("POST", f"{self.path}/", json=dict(payload))

    def update(self, id: int, data: Mapping[str, Any]) -> dict:
        """Change some fields of an object; fields not given keep their values.

        :param id: the object's id
        :param data: the fields to change
        :returns: the updated object
        """
        return self._call("PUT", self._item(id), json=dict(data))

    def delete(self, id: int) -> bool:
        """Delete an object.

        :param id: the object's id
        :returns: ``True``
        :raises maisie.errors.NotFound: when it does not exist
        """
        return self._call("DELETE", self._item(id))
