"""Writes to users, API tokens and SSH sign-ins, shared by the API, the web UI and commands."""

from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import ssh
from accounts.attempts import SignInAttempt
from accounts.models import ApiToken, SshChallenge, SshPublicKey, User
from events.services import record, snapshot

STAFF_ONLY_FIELDS = ("is_staff", "is_superuser", "is_active")
TOKEN_FIELDS = ("name", "prefix", "read_only", "expires", "user")  # what token events record; never the secret
# What SSH key events record: the fingerprint names the key without repeating it.
SSH_KEY_FIELDS = ("name", "key_type", "fingerprint", "user")


def _validate_password(password: str, user: User) -> None:
    """The password validators' messages, filed under the `password` field like any other error."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def _save_new_login(user: User) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same login (in any case) created at once; full_clean saw neither
        raise ValidationError({"login": "A user with that login already exists."}) from exc


def user_create(
    *, login: str, password: str, full_name: str = "", email: str = "", actor: User | None = None, **staff_fields
) -> User:
    """A new user; `actor` (when a person asks, not a command) must be a superuser to make one."""
    if actor is not None and staff_fields.get("is_superuser") and not actor.is_superuser:
        raise PermissionDenied("Only superusers can grant superuser.")
    user = User(login=login, full_name=full_name, email=email, **staff_fields)
    _validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    _save_new_login(user)
    return user


def _check_superuser_rules(*, user: User, actor: User, password: str | None, fields: dict) -> None:
    """Staff manage users, but only superusers make superusers or touch one's sign-in: otherwise
    any staff account could make itself superuser, or take a superuser's account over."""
    if actor.is_superuser:
        return
    if fields.get("is_superuser", user.is_superuser) != user.is_superuser:
        raise PermissionDenied("Only superusers can grant or take away superuser.")
    changed = [name for name in STAFF_ONLY_FIELDS if name in fields and fields[name] != getattr(user, name)]
    if user.is_superuser and (password is not None or changed):
        raise PermissionDenied("Only superusers can change a superuser's password, staff or active flag.")


def user_update(
    *,
    user: User,
    actor: User,
    password: str | None = None,
    old_password: str | None = None,
    attempt: SignInAttempt | None = None,
    **fields,
):
    """Change `user`'s profile, flags or password as `actor` may. Changing one's own password
    takes the old one, checked through `attempt` when given (the request's: a wrong one is a
    failed sign-in of the login, and SignInLimited is raised, checking nothing, once it is locked)."""
    if actor.pk != user.pk and not actor.is_staff:
        raise PermissionDenied("You can only change your own account.")
    forbidden = [name for name in STAFF_ONLY_FIELDS if name in fields and not actor.is_staff]
    if forbidden:
        raise PermissionDenied(f"Only staff can set {', '.join(forbidden)}.")
    _check_superuser_rules(user=user, actor=actor, password=password, fields=fields)
    # Staff resetting someone else's password need not know it; everyone else proves they do.
    # Before the transaction: a wrong guess stays counted though the update is refused.
    if password is not None and actor.pk == user.pk:
        check = attempt.check_password if attempt is not None else lambda user, password: user.check_password(password)
        if not old_password or not check(user, old_password):
            raise ValidationError({"old_password": "The current password is wrong."})
    return _user_save(user=user, password=password, fields=fields)


@transaction.atomic
def _user_save(*, user: User, password: str | None, fields: dict) -> User:
    if password is not None:
        _validate_password(password, user)
        user.set_password(password)
    for key, value in fields.items():
        setattr(user, key, value)
    user.full_clean()
    user.save()
    return user


def user_deactivate(*, user: User, actor: User) -> None:
    """Deleting a user keeps their models and history; they just cannot sign in any more."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can delete users.")
    if actor.pk == user.pk:
        raise ValidationError({"id": "You cannot delete your own account."})
    _check_superuser_rules(user=user, actor=actor, password=None, fields={"is_active": False})
    user.is_active = False
    user.save(update_fields=["is_active", "updated"])


@transaction.atomic
def api_token_create(*, user: User, name: str, read_only: bool = False, expires: datetime | None = None):
    """Create a token; the secret is returned once and only its hash is kept."""
    if expires is not None and expires <= timezone.now():
        # It could never sign a request: the caller most likely got the date or its zone wrong.
        raise ValidationError({"expires": "The expiry must be in the future."})
    prefix, secret = ApiToken.generate()
    token = ApiToken(user=user, name=name, prefix=prefix, hashed_secret=ApiToken.hash(secret))
    token.read_only = read_only
    token.expires = expires
    token.full_clean()
    token.save()
    after = snapshot(token, TOKEN_FIELDS)
    record(kind="token.created", actor=user, subject=token, subject_name=token.name, after=after)
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user: User) -> None:
    if token.user_id != user.pk and not user.is_staff:
        raise PermissionDenied("You can only revoke your own tokens.")
    before = snapshot(token, TOKEN_FIELDS)
    record(kind="token.revoked", actor=user, subject=token, subject_name=token.name, before=before)
    token.delete()


def ssh_key_add(*, user: User, name: str, public_key: str) -> SshPublicKey:
    """Register a public key; its model validation parses it and refuses one the user already has."""
    key = SshPublicKey(user=user, name=name, public_key=public_key)
    key.full_clean()
    try:
        with transaction.atomic():
            key.save()
            record(
                kind="ssh_key.added",
                actor=user,
                subject=key,
                subject_name=key.name,
                after=snapshot(key, SSH_KEY_FIELDS),
            )
    except IntegrityError as exc:  # the same key sent twice at once; full_clean saw neither
        raise ValidationError({"public_key": "You have already registered this key."}) from exc
    return key


@transaction.atomic
def ssh_key_remove(*, key: SshPublicKey, user: User) -> None:
    """Remove one of the user's keys (the API and the profile page find it among the user's own)."""
    if key.user_id != user.pk and not user.is_staff:
        raise PermissionDenied("You can only remove your own SSH keys.")
    before = snapshot(key, SSH_KEY_FIELDS)
    record(kind="ssh_key.removed", actor=user, subject=key, subject_name=key.name, before=before)
    key.delete()


class SignInRefused(Exception):
    """A sign-in attempt that fails; the message says why and is safe to show the caller."""


def ssh_sign_in(*, login: str, challenge: str, signature: str) -> User:
    """The user whose registered key signed `challenge`, which is used up; or SignInRefused."""
    now = timezone.now()
    issued = SshChallenge.objects.filter(login=login, challenge=challenge).first()
    if issued is None:
        raise SignInRefused("Unknown challenge for this login; ask for a new one.")
    if issued.used is not None:
        raise SignInRefused("This challenge has already been used; ask for a new one.")
    if issued.expires <= now:
        raise SignInRefused("This challenge has expired; ask for a new one.")

    raw = ssh.decode_signature(signature)
    if raw is None:
        raise SignInRefused("The signature is not valid base64.")
    user = User.objects.by_login(login).first()  # in any case, like a password sign-in
    message = ssh.signed_message(login, challenge)
    key = next((key for key in user.ssh_keys.all() if key.verifies(raw, message)), None) if user else None
    if key is None:
        # Unknown logins land here too, so this answer tells nobody whether the login exists.
        raise SignInRefused("The signature matches none of this user's SSH keys.")
    # Said only to whoever holds the private key.
    if not user.is_active:
        raise SignInRefused("This account is deactivated.")
    if not issued.consume():
        raise SignInRefused("This challenge has already been used or has expired; ask for a new one.")
    SshPublicKey.objects.filter(pk=key.pk).update(last_used=now)
    return user
