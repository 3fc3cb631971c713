"""Reads: who may see what. Every list and lookup starts from `visible_to(user)`."""

from django.db import models
from django.db.models import Exists, OuterRef, Q


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def _memberships(user, workspace_ref: str):
    from registry.models import Membership

    return Membership.objects.filter(workspace_id=OuterRef(workspace_ref), user_id=user.pk)


class WorkspaceQuerySet(models.QuerySet):
    def visible_to(self, user):
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "pk")))


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user):
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "workspace_id")))

    def with_model_summary(self, user):
        """Prefetch what the `all_*` lists need from the key and uploader counts: two queries a page."""
        return self.prefetch_related(*summary_prefetches(user))


class _UploadedQuerySet(models.QuerySet):
    """Rows with a project, an uploader and a private flag: models, and their key and uploader counts."""

    def visible_to(self, user):
        """Those in the user's workspaces, minus other people's private ones; staff see all."""
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "project__workspace_id"))).filter(
            Q(private=False) | Q(uploader_id=user.pk)
        )


class MLModelQuerySet(_UploadedQuerySet):
    def with_known_count(self, count: int):
        """This queryset, answering `count()` with `count` (a total already known) instead of
        counting its rows. Anything chained on it (a filter, a page slice) counts again."""
        clone = self._chain()
        clone._known_count = count
        return clone

    def count(self):
        known = getattr(self, "_known_count", None)
        return super().count() if known is None else known

    def with_related(self):
        from django.db.models import Prefetch

        # A plain list per model (read through `MLModel.tag_list`): a prefetch into the `tags`
        # manager builds a QuerySet per model, which cost a list request more than its SQL.
        tags = Prefetch("tags", to_attr="prefetched_tags")
        related = self.select_related("uploader", "project").prefetch_related(tags)
        related._known_count = getattr(self, "_known_count", None)  # the same rows, so the same total
        return related


class ProjectCountQuerySet(_UploadedQuerySet):
    """ProjectKeyCount and ProjectUploaderCount rows (registry.keystats keeps them)."""


def summary_prefetches(user) -> list:
    """The key and uploader counts of a project that `user` may see, as `visible_key_counts` and
    `visible_uploader_counts`: rows, never models, so a project of 100,000 models costs its keys."""
    from django.db.models import Prefetch

    from registry.models import ProjectKeyCount, ProjectUploaderCount

    keys = ProjectKeyCount.objects.visible_to(user).only("project_id", "section", "key").order_by()
    uploaders = (
        ProjectUploaderCount.objects.visible_to(user)
        .select_related("uploader")
        .only("project_id", "uploader", "uploader__full_name")
        .order_by()
    )
    return [
        Prefetch("key_counts", queryset=keys, to_attr="visible_key_counts"),
        Prefetch("uploader_counts", queryset=uploaders, to_attr="visible_uploader_counts"),
    ]
