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
        """Prefetch what the `all_*` key lists need, in one query for a whole page."""
        return self.prefetch_related(_visible_models_prefetch(user))


class MLModelQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Models in the user's workspaces, minus other people's private ones; staff see all."""
        if _is_staff(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(Exists(_memberships(user, "project__workspace_id"))).filter(
            Q(private=False) | Q(uploader_id=user.pk)
        )

    def with_related(self):
        from django.db.models import Prefetch

        # A plain list per model (read through `MLModel.tag_list`): a prefetch into the `tags`
        # manager builds a QuerySet per model, which cost a list request more than its SQL.
        return self.select_related("uploader", "project").prefetch_related(Prefetch("tags", to_attr="prefetched_tags"))


def _visible_models_prefetch(user):
    from django.db.models import Prefetch

    from registry.models import MLModel

    models = (
        MLModel.objects.visible_to(user)
        .select_related("uploader")
        .only("project_id", "uploader", "hyperparameters", "parameters", "metrics")
        .order_by()
    )
    return Prefetch("models", queryset=models, to_attr="visible_models")
