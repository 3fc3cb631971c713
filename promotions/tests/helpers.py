"""URLs and read-backs shared by the promotions tests."""

from events.models import Event
from promotions.models import AliasRule
from registry.models import Alias, MLModel


def rules_url(project, rule=None) -> str:
    base = f"/api/v1/projects/{project.pk}/alias-rules/"
    return base if rule is None else f"{base}{rule if isinstance(rule, int) else rule.pk}/"


def alias_url(model: MLModel, alias: str = "production") -> str:
    return f"/api/v1/registered-models/{model.registered_model_id}/aliases/{alias}/"


def rollback_url(model: MLModel, alias: str = "production") -> str:
    return f"{alias_url(model, alias)}rollback/"


def request_url(pk: int, action: str = "") -> str:
    return f"/api/v1/promotion-requests/{pk}/" + (f"{action}/" if action else "")


def version_of(model: MLModel, alias: str = "production") -> int | None:
    """The version number the alias names now, read from the database (None when it has none)."""
    row = Alias.objects.filter(registered_model_id=model.registered_model_id, name=alias).first()
    return row.version.version if row is not None else None


def make_rule(project, user, **fields) -> AliasRule:
    from promotions import services

    return services.alias_rule_create(project=project, user=user, **{"pattern": "production", **fields})


def last_event(kind: str) -> Event:
    return Event.objects.filter(kind=kind).order_by("-id").first()


def kinds_since(event_id: int) -> list[str]:
    """The kinds of the events written after event `event_id`, oldest first."""
    return list(Event.objects.filter(id__gt=event_id).order_by("id").values_list("kind", flat=True))


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
