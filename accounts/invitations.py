"""Invitations into a workspace: an owner invites an email address or a login with a role; the
link, used once before it expires, lets a new person make an account and join, or an existing
user join. The writes, shared by the web pages and the API.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, Invitation, User
from accounts.services import user_create
from events.services import record, snapshot
from maisie_site import storable
from registry import rules
from registry.models import Membership, Role, Workspace
from registry.services import membership_join

# The link just made waits here for the one workspace page view after it, then is forgotten.
NEW_INVITATION_SESSION_KEY = "accounts:new-invitation"
# What invitation events record: whom, with which role, until when; never the secret.
INVITATION_FIELDS = ("email", "login", "role", "expires")


class InvitationClosed(Exception):
    """The link was used, revoked or has expired; `status` says which."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class WrongAccount(Exception):
    """The invitation names someone else than the signed-in user."""


def invitation_link(secret: str) -> str:
    """The link's path; the pages make it absolute with the request's host."""
    return reverse("accounts:invitation", kwargs={"secret": secret})


def new_invitation(request) -> dict | None:
    """The link just made ({"invitee", "link"}), once: only its hash is kept."""
    return request.session.pop(NEW_INVITATION_SESSION_KEY, None)


def invitation_find(secret: str) -> Invitation | None:
    """The invitation a secret opens, whatever its status; None for anything else."""
    scheme, _, rest = secret.partition("_")
    prefix, _, _ = rest.partition("_")
    if f"{scheme}_" != Invitation.SCHEME or not prefix:
        return None
    invitation = Invitation.objects.select_related("workspace", "created_by").filter(prefix=prefix).first()
    if invitation is None or not invitation.matches(secret):
        return None
    return invitation


def pending_invitations(workspace: Workspace):
    return workspace.invitations.pending().select_related("created_by").order_by("-created", "-id")


def _invited_user(*, email: str, login: str) -> User | None:
    """The existing active user an invitation names: by login, or the one user with that email."""
    if login:
        return User.objects.by_login(login).filter(is_active=True).first()
    matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, actor, role: str, email: str = "", login: str = "", days: int | None = None
) -> tuple[Invitation, str]:
    """Invite `email` or `login` (exactly one) into `workspace` as `role`. Returns the invitation
    and its secret, which is shown once: only its hash is kept."""
    if not rules.can_manage_workspace(actor, workspace):
        raise PermissionDenied("Only the workspace's owners can invite people.")
    email, login = (email or "").strip(), (login or "").strip()
    if bool(email) == bool(login):
        raise ValidationError({"email": "Give an email address or a login (one of the two)."})
    if role not in Role.values:
        raise ValidationError({"role": f"Must be one of: {', '.join(Role.values)}."})
    field = "email" if email else "login"
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": "Enter a valid email address."}) from None
    existing = _invited_user(email=email, login=login)
    if login and existing is None:
        raise ValidationError({"login": "There is no active user with this login."})
    if existing is not None and Membership.objects.filter(workspace=workspace, user=existing).exists():
        raise ValidationError({field: f"{existing.login} is already a member of this workspace."})
    days = settings.MAISIE_INVITATION_DAYS if days is None else days
    if not 1 <= days <= 365:
        raise ValidationError({"days": "An invitation lasts from 1 to 365 days."})
    prefix, secret = Invitation.generate()
    invitation = Invitation(
        workspace=workspace,
        email=email,
        login=existing.login if login else "",
        role=role,
        prefix=prefix,
        hashed_secret=ApiToken.hash(secret),
        created_by=actor,
        expires=timezone.now() + timedelta(days=days),
    )
    invitation.full_clean()
    invitation.save()
    after = snapshot(invitation, INVITATION_FIELDS)
    record(kind="invitation.created", actor=actor, subject=invitation, subject_name=invitation.invitee, after=after)
    return invitation, secret


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> None:
    if not rules.can_manage_workspace(actor, invitation.workspace):
        raise PermissionDenied("Only the workspace's owners can revoke invitations.")
    # One conditional UPDATE: a link being accepted at this moment is either used or revoked, not both.
    now = timezone.now()
    if not Invitation.objects.pending().filter(pk=invitation.pk).update(revoked=now):
        raise ValidationError({"id": "This invitation is no longer pending."})
    invitation.revoked = now
    before = snapshot(invitation, INVITATION_FIELDS)
    record(kind="invitation.revoked", actor=actor, subject=invitation, subject_name=invitation.invitee, before=before)


def needs_sign_in(invitation: Invitation) -> bool:
    """Whether the person must sign in to accept: the invitation names an account (its login, or
    the one active account with its email), so a second account for them is not offered."""
    if invitation.login:
        return True
    return User.objects.filter(email__iexact=invitation.email, is_active=True).exists()


def may_accept(invitation: Invitation, user) -> bool:
    """Whether `user` (signed in) is the one the invitation names: its login, or its email."""
    if invitation.login:
        return user.login.lower() == invitation.login.lower()
    return bool(user.email) and user.email.lower() == invitation.email.lower()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Use the link: `user` joins the workspace with the invitation's role (a member already
    keeps their role). Raises InvitationClosed once it was used, revoked or expired."""
    if not may_accept(invitation, user):
        raise WrongAccount(f"This invitation is for {invitation.invitee}, not for {user.login}.")
    now = timezone.now()
    # The conditional UPDATE is the single use: of two requests with one link, one wins.
    if not Invitation.objects.pending().filter(pk=invitation.pk).update(accepted=now, accepted_by=user):
        invitation.refresh_from_db()
        raise InvitationClosed(invitation.status)
    invitation.accepted, invitation.accepted_by = now, user
    membership = membership_join(workspace=invitation.workspace, user=user, role=invitation.role, actor=user)
    after = {**snapshot(invitation, INVITATION_FIELDS), "user_id": user.pk}
    record(kind="invitation.accepted", actor=user, subject=invitation, subject_name=invitation.invitee, after=after)
    return membership


@transaction.atomic
def invitation_accept_new_user(
    *, invitation: Invitation, login: str, password: str, full_name: str = ""
) -> tuple[User, Membership]:
    """A new person makes their account from an email invitation (with its address) and joins."""
    if needs_sign_in(invitation):
        raise ValidationError({"login": "This invitation is for an existing account: sign in to accept it."})
    if invitation.status != "pending":
        raise InvitationClosed(invitation.status)
    user = user_create(login=login, password=password, full_name=full_name, email=invitation.email)
    return user, invitation_accept(invitation=invitation, user=user)


def workspace_join(*, workspace: Workspace, user, role: str) -> Membership:
    """The SSO's default workspace (accounts/oidc.py): a first sign-in joins it."""
    with transaction.atomic():
        return membership_join(workspace=workspace, user=user, role=role, actor=user)


def find_users(*, workspace: Workspace, actor, text: str, limit: int = 10):
    """Active users whose login or full name contains `text` (2 characters at least), for a
    workspace's owners adding members: only login and full name are shown, and its members are
    left out (there is nothing to add)."""
    if not rules.can_manage_workspace(actor, workspace):
        raise PermissionDenied("Only the workspace's owners can look people up.")
    text = (text or "").strip()
    if len(text) < 2:
        raise ValidationError({"q": "Type at least 2 characters."})
    if error := storable.text_error(text):  # a NUL no database can compare against
        raise ValidationError({"q": error})
    matches = User.objects.filter(is_active=True).filter(Q(login__icontains=text) | Q(full_name__icontains=text))
    return matches.exclude(memberships__workspace=workspace).order_by("login")[:limit]
