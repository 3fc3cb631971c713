"""Reads of registered models and aliases: who sees which, and what a list page needs.

A registered model is visible exactly when at least one of its versions is (the models'
`visible_to` rule: the user's workspaces, minus other people's private models; staff see all).
One whose only versions are other people's private models does not exist for the caller: its
name alone would tell what they work on. One with no versions left (all deleted; the row stays
to keep its version counter) is visible to no one through the API. Counts, the latest version
and the aliases are those of the versions the caller can see.
"""

from django.db import models
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def version_seen(user, prefix: str = "") -> Q:
    """Versions (MLModel rows, or rows reaching them through `prefix`) that `user` may see
    within the workspaces they belong to: public ones and their own private ones."""
    if _is_staff(user):
        return Q()
    return Q(**{f"{prefix}private": False}) | Q(**{f"{prefix}uploader_id": user.pk})


def _member_of(user, workspace_ref: str):
    from registry.models import Membership

    return Exists(Membership.objects.filter(workspace_id=OuterRef(workspace_ref), user_id=user.pk))


def _visible_versions(user):
    from registry.models import MLModel

    return MLModel.objects.filter(version_seen(user), registered_model_id=OuterRef("pk")).order_by()


class RegisteredModelQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        visible = self.filter(Exists(_visible_versions(user)))
        return visible if _is_staff(user) else visible.filter(_member_of(user, "project__workspace_id"))

    def with_summary(self, user):
        """Each row with `workspace_id`, `version_count` and `latest_version` of the versions the
        user sees, and `visible_aliases` (a page's aliases in one more query)."""
        versions = _visible_versions(user)
        count = versions.values("registered_model_id").annotate(n=Count("pk")).values("n")
        latest = versions.order_by("-version").values("version")[:1]
        from registry.models import Alias

        return self.annotate(
            workspace_id=F("project__workspace_id"),
            version_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
            latest_version=Subquery(latest, output_field=IntegerField()),
        ).prefetch_related(
            Prefetch("aliases", queryset=Alias.objects.visible_to(user).order_by("name"), to_attr="visible_aliases")
        )

    def with_shown_version(self, user, alias: str = ""):
        """Each row with `shown_version_id`: the version its alias `alias` names (None when it
        has no such alias the user sees), or without `alias` its latest version the user sees.
        A list page then reads those versions in one query (the web UI's Models view)."""
        from registry.models import Alias

        if alias:
            named = Alias.objects.visible_to(user).filter(registered_model_id=OuterRef("pk"), name=alias)
            shown = named.order_by().values("version_id")[:1]
        else:
            shown = _visible_versions(user).order_by("-version").values("pk")[:1]
        return self.annotate(shown_version_id=Subquery(shown, output_field=IntegerField()))


class AliasQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Aliases on versions the user may see, each with `version_number`. An alias on another
        person's private version is not shown: it would name a version the user cannot open."""
        if not user.is_authenticated:
            return self.none()
        aliases = self.filter(version_seen(user, "version__"))
        if not _is_staff(user):
            aliases = aliases.filter(_member_of(user, "registered_model__project__workspace_id"))
        return aliases.annotate(version_number=F("version__version"))
