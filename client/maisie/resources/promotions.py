"""Promotion requests: alias moves that wait for approvals, as the project's alias rules ask.

:meth:`maisie.resources.registered_models.RegisteredModels.set_alias` opens them; the
permitted users other than the requester approve or reject them, the requester may cancel.
"""

from __future__ import annotations

from typing import Any

from maisie.resources.base import Resource


class PromotionRequests(Resource):
    """Represents an action for listing and deciding promotion requests."""

    path = "promotion-requests"

    def get_all(
        self, query: str | None = None, page: int | None = None, per_page: int | None = None, **filters: Any
    ) -> list[dict]:
        """Fetch one page of the promotion requests you can see, pending ones first.

        :param query: text to search for
        :param page: the page number, from 1
        :param per_page: how many per page
        :param filters: other query parameters, passed as they are: ``state="pending"``
            (``completed``, ``rejected``, ``cancelled``), ``project=3``, ``registered_model=7``
        :returns: a list of promotion requests
        """
        return super().get_all(query, page=page, per_page=per_page, **filters)

    def _decide(self, id: int, action: str, comment: str = "") -> dict:
        payload = {"comment": comment} if comment else {}
        return self._call("POST", f"{self._item(id)}{action}/", json=payload)

    def approve(self, id: int, comment: str = "") -> dict:
        """Approve a request (never your own). The approval that completes the count moves the
        alias, after the rules are checked again.

        :param id: the request's id
        :param comment: why, kept with the approval
        :returns: the request, its ``approvals`` included (``state`` is ``"completed"`` once the
            alias moved)
        :raises maisie.errors.RulesFailed: when the version no longer meets the rules; the
            approval is not kept and the request stays pending
        """
        return self._decide(id, "approve", comment)

    def reject(self, id: int, comment: str = "") -> dict:
        """Reject a request: it is closed and the alias does not move.

        :returns: the request (``state`` ``"rejected"``)
        """
        return self._decide(id, "reject", comment)

    def cancel(self, id: int, comment: str = "") -> dict:
        """Cancel your own pending request.

        :returns: the request (``state`` ``"cancelled"``)
        """
        return self._decide(id, "cancel", comment)
