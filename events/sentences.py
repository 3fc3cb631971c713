"""An event as a sentence a person reads in a timeline: "Moved @production of resnet50 from v2 to v3".

The actor is shown beside the sentence, not in it. Every kind gets a sentence: those written
here from the event's subject and before/after values, any other (a kind added to
events/kinds.py later) its meaning from the vocabulary, with the subject's name. Plain text:
templates escape it.
"""

from collections.abc import Callable

from events.kinds import KINDS

# How the fields of before/after are named to a person (foreign keys are stored as `<name>_id`).
FIELD_LABELS = {
    "project_id": "project",
    "workspace_id": "workspace",
    "git_url": "git URL",
    "git_branch": "git branch",
    "git_commit": "git commit",
    "git_remote_url": "git remote",
    "git_dirty": "uncommitted changes",
    "dataset_name": "dataset",
    "dataset_description": "dataset description",
}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))


def _fields(event) -> str:
    names = list(dict.fromkeys([*(event.after or {}), *(event.before or {})]))
    return ", ".join(field_label(name) for name in names) or "nothing"


def _value(values, key: str, default: str = "?"):
    return (values or {}).get(key, default)


def _version(values) -> str:
    return f"v{_value(values, 'version')}"


def _alias(event, template: str) -> str:
    """An alias event's sentence; its subject is named `<registered model>@<alias>`."""
    name, _, alias = event.subject_name.rpartition("@")
    alias = _value(event.after, "alias", "") or _value(event.before, "alias", "") or alias
    return template.format(
        alias=f"@{alias}", model=name or event.subject_name, before=_version(event.before), after=_version(event.after)
    )


def _tags(event) -> str:
    before, after = set(_value(event.before, "tags", [])), set(_value(event.after, "tags", []))
    parts = []
    if added := sorted(after - before):
        parts.append(f"added {_plural('tag', added)} {', '.join(added)}")
    if removed := sorted(before - after):
        parts.append(f"removed {_plural('tag', removed)} {', '.join(removed)}")
    return (" and ".join(parts) or "changed the tags") + f" of {event.subject_name}"


def _plural(word: str, items) -> str:
    return word if len(items) == 1 else f"{word}s"


def _membership(event) -> str:
    login = event.subject_name
    if event.kind == "membership.added":
        return f"added {login} as {_value(event.after, 'role')}"
    if event.kind == "membership.removed":
        if event.actor_id is not None and event.actor_id == _value(event.before, "user_id", None):
            return f"left the workspace (was {_value(event.before, 'role')})"
        return f"removed {login} (was {_value(event.before, 'role')})"
    return f"changed {login}'s role from {_value(event.before, 'role')} to {_value(event.after, 'role')}"


def _renamed(family: str):
    def sentence(event) -> str:
        old, new = _value(event.before, "name"), _value(event.after, "name")
        others = [name for name in (event.after or {}) if name != "name"]
        extra = f" (and changed {', '.join(field_label(name) for name in others)})" if others else ""
        return f"renamed {family} {old} to {new}{extra}"

    return sentence


_SENTENCES: dict[str, Callable] = {
    "model.created": lambda e: f"uploaded {e.subject_name}{' (private)' if _value(e.after, 'private', False) else ''}",
    "model.updated": lambda e: f"changed {_fields(e)} of {e.subject_name}",
    "model.deleted": lambda e: f"deleted {e.subject_name}",
    "model.visibility_changed": lambda e: (
        f"made {e.subject_name} {'private' if _value(e.after, 'private', False) else 'public'}"
    ),
    "model.tags_changed": _tags,
    "workspace.created": lambda e: f"created workspace {e.subject_name}",
    "workspace.renamed": _renamed("workspace"),
    "workspace.updated": lambda e: f"changed the {_fields(e)} of workspace {e.subject_name}",
    "workspace.deleted": lambda e: f"deleted workspace {e.subject_name}",
    "project.created": lambda e: f"created project {e.subject_name}",
    "project.renamed": _renamed("project"),
    "project.updated": lambda e: f"changed the {_fields(e)} of project {e.subject_name}",
    "project.deleted": lambda e: f"deleted project {e.subject_name}",
    "membership.added": _membership,
    "membership.removed": _membership,
    "membership.role_changed": _membership,
    "token.created": lambda e: f"created API token {e.subject_name}",
    "token.revoked": lambda e: f"revoked API token {e.subject_name}",
    "registered_model.created": lambda e: f"registered {e.subject_name}",
    "registered_model.updated": lambda e: f"changed the model card of {e.subject_name}",
    "registered_model.deleted": lambda e: f"deleted {e.subject_name} with all its versions",
    "alias.set": lambda e: _alias(e, "pointed {alias} of {model} at {after}"),
    "alias.moved": lambda e: _alias(e, "moved {alias} of {model} from {before} to {after}"),
    "alias.removed": lambda e: _alias(e, "removed {alias} from {model} {before}"),
    "alias.rolled_back": lambda e: _alias(e, "rolled {alias} of {model} back from {before} to {after}"),
}


def sentence(event) -> str:
    """What happened, starting with a capital: "Uploaded resnet50 v3"."""
    write = _SENTENCES.get(event.kind)
    if write is not None:
        try:
            text = write(event)
        except (AttributeError, TypeError, ValueError):  # before/after not shaped as this kind's are
            text = None
        if text:
            return text[0].upper() + text[1:]
    meaning = KINDS.get(event.kind, event.kind)
    named = f" ({event.subject_name})" if event.subject_name else ""
    return f"{meaning[0].upper()}{meaning[1:]}{named}"
