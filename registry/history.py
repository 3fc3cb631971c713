"""Answers "as of" a time, read from the event log (docs/lifecycle.md, "History and as of").

The tables hold the present; the events (events/models.py) hold every change with its time, so
this module, the one that answers about the past, reads them alone:
- an alias pointed, at time T, where the `after` of its latest alias event at or before T says
  (nowhere after an `alias.removed`); alias events are named `<registered model>@<alias>` and
  hold `{"alias", "version", "model_id"}` (registry.services._record_alias);
- a version belonged to a registered model at T when its latest *placing* event at or before T
  put it there: `model.created`, or a rename or move (a `model.updated` whose `after` has a
  `version`), recorded under the registered model it joined; `model.deleted` takes it out.
  Versions uploaded before the event log existed (an upgrade) have no placing event: they count
  from their upload (`created`), in the registered model and with the number they have now.

Who learns what follows the event log's rule (`Event.objects.visible_to`): only about things
they may see now. The registered model itself must be visible now (the callers find it with
`RegisteredModel.objects.visible_to`). A version hidden from the caller now is answered as one
that never was; a version deleted since is said to be, with the time, when the event log shows
its deletion to the caller. What is answered about a version that exists is the version as it
is now (a renamed or moved one under its new name and number): only *which* version is history.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, RowNumber

from events.models import Event
from maisie_site.api_errors import ExplainedHttp404
from registry.models import ALIAS_PATTERN, Alias, MLModel, RegisteredModel

TIME_EXAMPLE = "2025-03-04T14:02:00Z"


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 date and time (`Z` or an offset; without one, UTC), as an aware datetime, or a
    ValidationError on `as_of` saying what is wrong."""
    if "T" not in text.upper() and " " not in text.strip():
        raise ValidationError({"as_of": f"Give a date and a time of day, such as {TIME_EXAMPLE} (UTC if no offset)."})
    try:
        value = datetime.fromisoformat(text.strip())
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        given = text[:40] + ("…" if len(text) > 40 else "")
        raise ValidationError(
            {"as_of": f"{given!r} is not a time: give an ISO 8601 time such as {TIME_EXAMPLE} (UTC if no offset)."}
        ) from None
    return value


def shown(when: datetime) -> str:
    """A time as the API writes times: ISO 8601 in UTC, `Z`."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- aliases


@dataclass
class VersionThen:
    """A version as of a time: its number then and its model id; `seen`, whether it exists and
    the caller may see it now; `deleted`, when it was deleted, if it is gone and the event log
    shows that to the caller."""

    version: int
    model_id: int
    seen: bool = False
    deleted: datetime | None = None


def _alias_events(registered: RegisteredModel, when: datetime):
    return Event.objects.filter(registered_model_id=registered.pk, subject_type="alias", time__lte=when)


def _latest_alias_event(registered: RegisteredModel, name: str, when: datetime) -> Event | None:
    """The alias's last event at or before `when`, whoever may see it. Its subject name finds it in
    the index (event_alias_history); the alias's name in before/after makes sure of it, should two
    names share their first 255 characters."""
    events = _alias_events(registered, when).filter(subject_name=f"{registered.name}@{name}"[:255])
    named = Q(after__alias=name) | Q(before__alias=name)  # `alias.removed` names it in `before` only
    return events.filter(named).order_by("-time", "-id").first()


def _latest_alias_events(registered: RegisteredModel, when: datetime) -> list[Event]:
    """Each alias's last event at or before `when`, one per alias name, whoever may see them."""
    name = Coalesce(KT("after__alias"), KT("before__alias"))
    ranked = _alias_events(registered, when).annotate(
        rank=Window(RowNumber(), partition_by=[name], order_by=[F("time").desc(), F("id").desc()])
    )
    return list(Event.objects.filter(pk__in=ranked.filter(rank=1).values("pk")))


def _known_to(user, events: list[Event]) -> tuple[list[Event], dict[int, datetime]]:
    """Of these alias events (each naming a version), those the user may know of now, and when
    their versions were deleted, for those deleted since. A version that exists is known to
    whoever may see it now (as the event log decides for its events); a deleted one as the event
    log's rule for deleted versions says (events.querysets)."""
    ids = {event.after["model_id"] for event in events}
    seen = Exists(MLModel.objects.visible_to(user).filter(pk=OuterRef("pk")))
    existing = dict(MLModel.objects.filter(pk__in=ids).annotate(seen=seen).values_list("pk", "seen"))
    gone = [event.pk for event in events if event.after["model_id"] not in existing]
    readable = set(Event.objects.visible_to(user).filter(pk__in=gone).values_list("pk", flat=True)) if gone else set()
    known = [event for event in events if existing.get(event.after["model_id"]) or event.pk in readable]
    return known, _deletion_times({event.after["model_id"] for event in known} - set(existing))


def aliases_as_of(registered: RegisteredModel, user, when: datetime) -> list[Alias]:
    """The aliases as they stood at `when`, by name: unsaved Alias rows (with `version_number`,
    and `version_deleted` for a version deleted since) whose `set_by` and `set_at` are the actor
    and the time of the change that put each there. Only those the user may know of now: an
    alias then on a version hidden from them now is left out, as it is from today's list."""
    events = [event for event in _latest_alias_events(registered, when) if event.after is not None]  # not removed
    return _aliases_from(registered, *_known_to(user, events))


def alias_as_of(registered: RegisteredModel, name: str, user, when: datetime) -> Alias | None:
    """One alias as it stood at `when` (as aliases_as_of answers it), or None."""
    if not re.fullmatch(ALIAS_PATTERN, name):
        return None  # never an alias, and a NUL would reach PostgreSQL's JSON (a 500)
    event = _latest_alias_event(registered, name, when)
    if event is None or event.after is None:  # none yet, or removed then
        return None
    aliases = _aliases_from(registered, *_known_to(user, [event]))
    return aliases[0] if aliases else None


def _aliases_from(registered: RegisteredModel, events: list[Event], deleted: dict[int, datetime]) -> list[Alias]:
    from accounts.models import User

    users = User.objects.in_bulk({event.actor_id for event in events if event.actor_id is not None})
    aliases = []
    for event in sorted(events, key=lambda event: event.after["alias"]):
        alias = Alias(
            registered_model_id=registered.pk,
            name=event.after["alias"],
            version_id=event.after["model_id"],
            set_by=users.get(event.actor_id),
            set_at=event.time,
        )
        alias.version_number = event.after["version"]
        alias.version_deleted = deleted.get(event.after["model_id"])
        aliases.append(alias)
    return aliases


def _deletion_times(gone: Iterable[int], events=Event.objects) -> dict[int, datetime]:
    """When each of these versions, which no longer exist, was deleted (according to `events`)."""
    gone = set(gone)
    if not gone:
        return {}
    return dict(events.filter(model_id__in=gone, kind="model.deleted").values_list("model_id", "time"))


# ----------------------------------------------------------------------------- versions


def _placing() -> Q:
    """Events that put a version in a registered model, or take it out of every one."""
    return Q(subject_type="model") & (Q(kind="model.deleted") | Q(after__has_key="version"))


def _versions_logged(registered: RegisteredModel, when: datetime, number: int | None) -> dict[int, int]:
    """{model id: its number then} of the versions the event log shows `registered` held at
    `when` (only version `number`, if given), whoever may see them."""
    arrived = Event.objects.filter(_placing(), registered_model_id=registered.pk, time__lte=when)
    if number is not None:  # numbers are never reused: what arrived as N is the only N there was
        arrived = arrived.filter(after__version=number)
    history = (
        Event.objects.filter(_placing(), model_id__in=arrived.exclude(kind="model.deleted").values("model_id"))
        .filter(time__lte=when)
        .order_by("time", "id")
        .values_list("model_id", "kind", "registered_model_id", KT("after__version"))
    )
    placed: dict[int, int | None] = {}
    for model_id, kind, registered_id, version in history:  # each version's last placing event decides
        inside = kind != "model.deleted" and registered_id == registered.pk
        placed[model_id] = int(version) if inside else None
    return {model_id: version for model_id, version in placed.items() if version is not None}


def _unlogged(registered: RegisteredModel, when: datetime, number: int | None) -> Q:
    """Its versions from before the event log (no placing event), uploaded by `when`: as they are now."""
    condition = Q(registered_model_id=registered.pk, created__lte=when)
    condition &= ~Q(Exists(Event.objects.filter(_placing(), model_id=OuterRef("pk"))))
    return condition & Q(version=number) if number is not None else condition


def versions_as_of(registered: RegisteredModel, user, when: datetime, number: int | None = None) -> list[VersionThen]:
    """The versions `registered` held at `when` (only version `number`, if given) that the user
    may know of, newest number first: each with the version as it is now, when it exists and the
    user may see it, or else with the time it was deleted, when the event log shows that to the
    user; others are left out."""
    placed = _versions_logged(registered, when, number)
    condition = Q(pk__in=placed)
    if number is None or not placed:  # a number found in the log is not from before it
        condition |= _unlogged(registered, when, number)
    seen = dict(MLModel.objects.visible_to(user).filter(condition).values_list("pk", "version"))
    placed = {**seen, **placed}  # a version from before the log counts with its number now
    unseen = set(placed) - set(seen)
    gone = unseen - set(MLModel.objects.filter(pk__in=unseen).values_list("pk", flat=True)) if unseen else set()
    deleted = _deletion_times(gone, Event.objects.visible_to(user)) if gone else {}
    versions = [
        VersionThen(version, model_id, model_id in seen, deleted.get(model_id))
        for model_id, version in placed.items()
        if model_id in seen or model_id in deleted
    ]
    return sorted(versions, key=lambda then: then.version, reverse=True)


# ----------------------------------------------------------------------------- references


def resolve(reference, user, when: datetime) -> MLModel:
    """The version `reference` (a registry.references.Reference) named at `when`, as it is now,
    if the user may see it: for `@alias`, what the alias pointed at; for `:N`, version N if the
    registered model held it then; else its newest version then. What was not found is a 404
    (for an alias, a 400, as for an alias unknown now) saying so; a version that existed then and
    is deleted now is a 404 saying when it was deleted.

    The registered model is found by name alone: a version the user may see now answers for it
    (bench/lifecycle.py). Whether the user may see the registered model is asked only when the
    answer is a miss, which must then not tell anything about one they may not see."""
    registered = RegisteredModel.objects.filter(
        project__workspace__name=reference.workspace, project__name=reference.project, name=reference.name
    ).first()
    at = shown(when)
    if reference.alias is not None:
        event = _latest_alias_event(registered, reference.alias, when) if registered is not None else None
        if event is not None and event.after is not None:
            model = MLModel.objects.visible_to(user).with_related().filter(pk=event.after["model_id"]).first()
            if model is not None:
                return model
            # Hidden from the user now (as if there were no alias), or deleted since.
            known, deleted = _known_to(user, [event])
            then = VersionThen(event.after["version"], event.after["model_id"])
            then.deleted = deleted.get(then.model_id)
            if known and then.deleted is not None:
                _deleted(then, f"which @{reference.alias} pointed at as of {at}", registered)
        _require_visible(registered, reference, user)
        raise ValidationError({"ref": f"{registered.name} had no alias {reference.alias!r} as of {at}."})
    if reference.version is not None and registered is not None:
        # What the log shows arriving as N, read at once with its related rows if the user sees it.
        arrived = _versions_logged(registered, when, reference.version)
        model = MLModel.objects.visible_to(user).with_related().filter(pk__in=arrived).first() if arrived else None
        if model is not None:
            return model
    versions = versions_as_of(registered, user, when, reference.version) if registered is not None else []
    if versions and versions[0].seen:
        return MLModel.objects.with_related().get(pk=versions[0].model_id)
    if versions:  # deleted since, and the user may know of it
        said = f"which existed as of {at}" if reference.version is not None else f"the latest as of {at}"
        _deleted(versions[0], said, registered)
    _require_visible(registered, reference, user)
    number = f" {reference.version}" if reference.version is not None else ""
    raise ExplainedHttp404(f"{registered.name} had no version{number} that you can see as of {at}.")


def _deleted(then: VersionThen, said: str, registered: RegisteredModel) -> NoReturn:
    raise ExplainedHttp404(f"{registered.name} version {then.version}, {said}, was deleted on {shown(then.deleted)}.")


def _require_visible(registered: RegisteredModel | None, reference, user) -> None:
    """A 404 in references' words (which part is unknown) unless the user may see the registered model."""
    from registry import references

    if registered is None or not RegisteredModel.objects.visible_to(user).filter(pk=registered.pk).exists():
        # references.resolve finds no version of the bare name either, and says which part it lacks.
        references.resolve(references.Reference(reference.workspace, reference.project, reference.name), user)
        raise ExplainedHttp404(f"No model {reference.name!r} in project {reference.project!r} that you can see.")
