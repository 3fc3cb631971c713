"""Who may read which events: only about things they may see now (docs/events.md, "Who sees what")."""

from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

# Events only the workspace's owners read (and, for tokens and SSH keys, their owner): who holds which rights.
OWNER_SUBJECTS = ("membership", "webhook", "invitation")  # invitations name email addresses
PERSONAL_SUBJECTS = ("token", "ssh_key")


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff read every event. Anyone else reads, of the workspaces they belong to now:
        - events about a model version only while they may see the version (not another user's
          private one; a deleted version as its last event left it);
        - membership, invitation and webhook events when they own the workspace;
        - everything else there;
        and token and SSH key events about themselves, or about a member of a workspace they own."""
        from registry.models import Membership, Role

        if user.is_authenticated and user.is_staff:
            return self
        if not user.is_authenticated:
            return self.none()
        mine = Membership.objects.filter(user_id=user.pk)
        member = Exists(mine.filter(workspace_id=OuterRef("workspace_id")))
        owner = Exists(mine.filter(workspace_id=OuterRef("workspace_id"), role=Role.OWNER))
        owned = mine.filter(role=Role.OWNER).values("workspace_id")
        member_of_owned = Exists(Membership.objects.filter(user_id=OuterRef("subject_user_id"), workspace_id__in=owned))

        from events.models import Event

        # A deleted version's last private uploader, or the user when it was public: one subquery.
        last_private = Coalesce(
            Subquery(
                Event.objects.filter(model_id=OuterRef("model_id")).order_by("-id").values("private_uploader_id")[:1]
            ),
            Value(user.pk),
        )
        gone = Q(model_row__created__isnull=True)  # no such row (`model_row__isnull` reads model_id alone)
        model_visible = (
            Q(model_id__isnull=True)
            | Q(model_row__private=False)
            | Q(model_row__uploader_id=user.pk)
            | (gone & Q(last_private=user.pk))
        )
        personal = Q(subject_type__in=PERSONAL_SUBJECTS) & (Q(subject_user_id=user.pk) | member_of_owned)
        owners_only = Q(subject_type__in=OWNER_SUBJECTS) & owner
        others = ~Q(subject_type__in=OWNER_SUBJECTS + PERSONAL_SUBJECTS) & member & model_visible
        return self.alias(last_private=last_private).filter(personal | owners_only | others)


def sees_recorded(user, event) -> bool:
    """`Event.objects.visible_to(user)` for one event, answered in Python and at most two small
    queries (the user's role, the version's state) instead of that queryset, whose building
    alone cost the webhooks' outbox ~10 ms per change (bench/webhooks.py). The same rule:
    events/tests/test_sees_recorded.py checks that both answer alike in every case."""
    from registry.models import Membership, MLModel, Role

    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if event.subject_type in PERSONAL_SUBJECTS:  # rare, and about people rather than a workspace
        return type(event).objects.filter(pk=event.pk).visible_to(user).exists()
    if event.workspace_id is None:
        return False
    mine = Membership.objects.filter(workspace_id=event.workspace_id, user_id=user.pk)
    role = mine.values_list("role", flat=True).first()
    if role is None:
        return False
    if event.subject_type in OWNER_SUBJECTS:
        return role == Role.OWNER
    if event.model_id is None:
        return True
    version = MLModel.objects.filter(pk=event.model_id).values_list("private", "uploader_id").first()
    if version is not None:
        private, uploader_id = version
        return not private or uploader_id == user.pk
    # The version is gone: its latest event decides (this one, when it is the latest).
    from events.models import Event

    latest = Event.objects.filter(model_id=event.model_id).order_by("-id").values_list("private_uploader_id").first()
    return latest is None or latest[0] is None or latest[0] == user.pk
