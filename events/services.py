"""`record()`: the one way an event is written, inside the transaction of the change it records.

Call it from a services.py function, after the change's checks and inside its
`transaction.atomic` block: if anything later fails, the change and its event roll back together.
Who and from which request come from the request's context, not from arguments, so no service
needs the request: `maisie_site.request_id` holds the request id (set by its middleware) and the
API token the request authenticated with (set by `accounts.authentication.ApiTokenAuthentication`);
both are cleared when the request ends, and are empty outside requests (commands, the shell).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from events.kinds import KINDS
from events.models import Event
from maisie_site.request_id import current_api_token_id, current_request_id

# How each subject's type is named in events (its model's name otherwise).
_SUBJECT_TYPES = {"mlmodel": "model", "apitoken": "token", "sshpublickey": "ssh_key"}
_SCOPE = ("workspace_id", "project_id", "registered_model_id", "model_id", "subject_user_id", "private_uploader_id")


def record(
    *,
    kind: str,
    actor,
    subject,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    model=None,
    subject_name: str | None = None,
    **scope,
) -> Event:
    """Write one event about `subject` (a model instance, before it is deleted) by `actor` (a
    user, or None for the system). Its workspace, project, registered model and model version
    are read from `subject` (or from `model`, the version it concerns, for e.g. an alias); pass
    any of `workspace_id`, `project_id`, `registered_model_id`, `model_id`, `subject_user_id` to
    set them yourself."""
    if kind not in KINDS:
        raise ValueError(f"Unknown event kind {kind!r}: add it to events/kinds.py.")
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the change could commit without its event, or the reverse.
        raise RuntimeError("events.record() must run inside the change's transaction.atomic block.")
    unknown = set(scope) - set(_SCOPE)
    if unknown:
        raise TypeError(f"record() got unknown scope arguments: {', '.join(sorted(unknown))}")
    columns = {**_scope_of(subject, model), **scope}
    request_id = current_request_id.get()
    event = Event.objects.create(
        kind=kind,
        actor_id=actor.pk if _is_user(actor) else None,
        actor_login=actor.get_username() if _is_user(actor) else "",
        api_token_id=current_api_token_id.get(),
        request_id="" if request_id == "-" else request_id,
        subject_type=_SUBJECT_TYPES.get(subject._meta.model_name, subject._meta.model_name),
        subject_id=subject.pk,
        subject_name=(subject_name if subject_name is not None else str(subject))[:255],
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        **columns,
    )
    # The webhooks' outbox: their deliveries are written in this same transaction.
    from webhooks.services import event_recorded

    event_recorded(event)
    return event


def _is_user(actor) -> bool:
    return actor is not None and bool(getattr(actor, "is_authenticated", False))


def _scope_of(subject, model) -> dict:
    """The scope columns an object carries: a workspace is its own workspace, a project its own
    project, a model version its own version; anything else by its `*_id` attributes."""
    name = subject._meta.model_name
    columns: dict = {}
    if name == "workspace":
        columns["workspace_id"] = subject.pk
    elif name == "project":
        columns.update(workspace_id=subject.workspace_id, project_id=subject.pk)
    elif name == "mlmodel":
        model = subject
    elif name in ("membership", "apitoken", "sshpublickey"):
        columns["subject_user_id"] = subject.user_id
    for column in ("workspace_id", "project_id", "registered_model_id"):
        if column not in columns and getattr(subject, column, None) is not None:
            columns[column] = getattr(subject, column)
    if model is not None:
        columns.update(
            workspace_id=model.project.workspace_id,
            project_id=model.project_id,
            model_id=model.pk,
            private_uploader_id=model.uploader_id if model.private else None,
        )
        if getattr(model, "registered_model_id", None) is not None:
            columns["registered_model_id"] = model.registered_model_id
    return columns


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """The fields whose values differ, as (before, after) dictionaries holding only those."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in changed}, {key: after.get(key) for key in changed}


def snapshot(instance, fields: Iterable[str]) -> dict:
    """The named fields of an instance, as an event stores them: a foreign key by its id
    (`project` as `project_id`)."""
    attnames = [instance._meta.get_field(name).attname for name in fields]
    return {attname: getattr(instance, attname) for attname in attnames}


def record_changes(*, family: str, actor, subject, before: Mapping[str, Any]) -> Event | None:
    """Record `<family>.renamed` (the name changed) or `<family>.updated` with the fields that
    differ between `before` (a `snapshot`) and the subject now; nothing when none differ."""
    old, new = changes(before, snapshot(subject, before))
    if not new:
        return None
    kind = f"{family}.renamed" if "name" in new and f"{family}.renamed" in KINDS else f"{family}.updated"
    return record(kind=kind, actor=actor, subject=subject, before=old, after=new)
