"""Who may see which webhooks: the owners of their workspace (and staff), no one else.

A subscription names a target URL and its delivery log holds what receivers answered: the
workspace's owners manage them, so only they read them; anyone else gets a 404.
"""

from django.db import models
from django.db.models import Exists, OuterRef


def _owned_workspace(user, workspace_ref: str):
    from registry.models import Membership, Role

    return Exists(Membership.objects.filter(workspace_id=OuterRef(workspace_ref), user_id=user.pk, role=Role.OWNER))


class WebhookQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(_owned_workspace(user, "workspace_id"))


class DeliveryQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(_owned_workspace(user, "webhook__workspace_id"))
