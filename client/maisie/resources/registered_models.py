"""Registered models: one per model name in a project, with its versions, aliases and history.

A registered model is named by its id or by a reference (``vision/imagenet/resnet50``); see
:mod:`maisie.references`. Uploads create them; there is nothing to create here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from maisie.core import clean_params
from maisie.references import IdOrRef, as_id, as_of_param
from maisie.resources.base import Resource
from maisie.resources.models import Models


class AliasMoved(dict):
    """What :meth:`RegisteredModels.set_alias` and :meth:`~RegisteredModels.rollback_alias`
    answer when the alias moved: the alias (``name``, ``version``, ``model_id``, ``set_by``,
    ``set_at``) with ``previous_version``, the version it pointed at before (``None`` if none)."""

    #: the alias points at the new version now
    moved = True


class PromotionOpened(dict):
    """What :meth:`RegisteredModels.set_alias` and :meth:`~RegisteredModels.rollback_alias`
    answer when the project's alias rules ask for approvals (HTTP 202): the promotion request
    that was opened (``id``, ``state``, ``alias``, ``version``, ``approvals_required``, …).
    The alias has not moved; it moves when the request has its approvals
    (:class:`maisie.resources.promotions.PromotionRequests`)."""

    #: the alias still points where it did
    moved = False


class Versions(list):
    """The versions :meth:`RegisteredModels.versions` answers, newest first, each as
    :meth:`Models.get` answers it."""

    #: as of a time, the versions held then and deleted since that you may know of:
    #: ``{"version", "model_id", "deleted"}`` (the time of the deletion); empty otherwise
    deleted: list[dict]

    def __init__(self, versions: list[dict], deleted: list[dict] | None = None) -> None:
        super().__init__(versions)
        self.deleted = deleted or []


def _alias_path(alias: str) -> str:
    # Quoted so that a wrong name reaches the server, whose 400 says what an alias name is.
    return quote(str(alias), safe="")


class RegisteredModels(Resource):
    """Represents an action for managing registered models and their aliases.

    :meth:`get_all` and :meth:`iter_all` list them by name: `query` keeps those whose name
    contains it (any case); other keyword arguments go to the API as they are: ``project=3``,
    ``workspace=[1, 2]``, ``name="resnet50"`` (exact), ``ordering="-updated"`` (``name``,
    ``created``, ``updated``, ``latest_version``, ``version_count``, ``id``).
    """

    path = "registered-models"
    query_param = "q"

    def id_of(self, model: IdOrRef) -> int:
        """The id of a registered model given by id or by reference.

        :param model: its id, or a reference: ``"vision/imagenet/resnet50"`` (a reference to one
            of its versions, ``…@production`` or ``…:3``, names it too)
        """
        number = as_id(model)
        if number is not None:
            return number
        return int(Models(self.config).resolve(str(model))["registered_model_id"])

    def get(self, id: IdOrRef) -> dict:
        """Fetch one registered model: its description, aliases (``{"production": 4}``), latest
        version and version count, as far as you can see its versions.

        :param id: its id, or a reference (``"vision/imagenet/resnet50"``)
        """
        return super().get(self.id_of(id))

    def update(self, id: IdOrRef, data: Mapping[str, Any] | None = None, *, description: str | None = None) -> dict:
        """Change a registered model's description (its model card, in Markdown).

        :param id: its id, or a reference
        :param data: the fields to change (``{"description": "…"}``)
        :param description: the new description, instead of `data`
        :returns: the updated registered model
        """
        fields = dict(data or {})
        if description is not None:
            fields["description"] = description
        return super().update(self.id_of(id), fields)

    def delete(self, id: IdOrRef) -> bool:
        """Delete a registered model: every version, its aliases and its description (owners only).

        Its version numbers are not reused by later uploads of the name.

        :param id: its id, or a reference
        :returns: ``True``
        """
        return super().delete(self.id_of(id))

    def versions(self, id: IdOrRef, as_of: datetime | str | None = None) -> Versions:
        """Every version of a registered model you can see, newest first, as :meth:`Models.get`
        answers them.

        :param id: its id, or a reference
        :param as_of: the versions it held at this time (ISO 8601 or a `datetime`), each as it
            is now; those deleted since are in the answer's :attr:`Versions.deleted`
        """
        path = f"{self._item(self.id_of(id))}versions/"
        found = list(self._pages(path, {"as_of": as_of_param(as_of)}))
        return Versions(found, self.extras.get("deleted"))

    # --- aliases ---------------------------------------------------------------------------------

    def aliases(self, id: IdOrRef, as_of: datetime | str | None = None) -> list[dict]:
        """A registered model's aliases, by name: each with ``name``, ``version``, ``model_id``,
        ``set_by`` and ``set_at`` (as of a time: who put it there and when, and
        ``version_deleted``, the time its version was deleted since, or ``None``).

        :param id: its id, or a reference
        :param as_of: the aliases as they were at this time (ISO 8601 or a `datetime`; a time
            without an offset is UTC)
        """
        return list(self._pages(f"{self._item(self.id_of(id))}aliases/", {"as_of": as_of_param(as_of)}))

    def alias(self, id: IdOrRef, alias: str, as_of: datetime | str | None = None) -> dict:
        """One alias of a registered model (now, or as it was at `as_of`).

        :raises maisie.errors.NotFound: when the registered model has no such alias
        """
        path = f"{self._item(self.id_of(id))}aliases/{_alias_path(alias)}/"
        return self._call("GET", path, params=clean_params({"as_of": as_of_param(as_of)}))

    def set_alias(self, id: IdOrRef, alias: str, version: int) -> AliasMoved | PromotionOpened:
        """Point an alias at a version, creating it or moving it from the version it named.

        The project's alias rules apply. When they ask for approvals, the alias does not move
        yet: a promotion request is opened instead. Tell the two apart by the answer's type (or
        its ``moved`` attribute)::

            result = RegisteredModels().set_alias("vision/imagenet/resnet50", "production", 4)
            if isinstance(result, PromotionOpened):
                print("waiting for approvals: request", result["id"])

        :param id: the registered model's id, or a reference
        :param alias: the alias name (``production``: lower-case letters, digits, ``-``, ``_``)
        :param version: the version number to point at
        :returns: :class:`AliasMoved` or :class:`PromotionOpened`
        :raises maisie.errors.RulesFailed: when the version breaks a rule (the message lists the
            rules' sentences); nothing changed
        """
        path = f"{self._item(self.id_of(id))}aliases/{_alias_path(alias)}/"
        return _outcome(*self._answer("PUT", path, json={"version": version}))

    def remove_alias(self, id: IdOrRef, alias: str) -> bool:
        """Remove an alias from a registered model.

        :returns: ``True``
        """
        return self._call("DELETE", f"{self._item(self.id_of(id))}aliases/{_alias_path(alias)}/")

    def rollback_alias(self, id: IdOrRef, alias: str) -> AliasMoved | PromotionOpened:
        """Point an alias back at the version it pointed at before its current one.

        The project's alias rules apply, as for :meth:`set_alias`.

        :returns: :class:`AliasMoved` or :class:`PromotionOpened`
        """
        path = f"{self._item(self.id_of(id))}aliases/{_alias_path(alias)}/rollback/"
        return _outcome(*self._answer("POST", path))


def _outcome(status: int, data: dict) -> AliasMoved | PromotionOpened:
    return PromotionOpened(data) if status == 202 else AliasMoved(data)
