"""Users and their personal API tokens."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import ssh

login_validator = RegexValidator(
    r"^[A-Za-z0-9_.@+-]+\Z", "A login may contain only letters, digits and . @ + - _ characters."
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def by_login(self, login: str):
        """The user whose login is `login` in any case (logins are unique regardless of case)."""
        return self.alias(login_lower=Lower("login")).filter(login_lower=str(login).lower())

    def get_by_natural_key(self, username):
        # Sign-in (Django's ModelBackend, the admin, the API) accepts a login in any case: `Admin`
        # can only mean `admin`, since no two logins differ only by case (see User.Meta).
        return self.by_login(username).get()

    def create_user(self, login, password=None, **extra):
        if not login:
            raise ValueError("A user needs a login.")
        extra["email"] = self.normalize_email(extra.get("email", ""))
        user = self.model(login=login, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, login, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(login, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    login = models.CharField(max_length=150, unique=True, validators=[login_validator])
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    is_staff = models.BooleanField(default=False, help_text="May use the admin and manage users.")
    is_active = models.BooleanField(default=True, help_text="Inactive users cannot sign in; their models stay.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "login"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]
        constraints = [
            # `Admin` beside `admin` would let one person pose as another in lists and logs.
            models.UniqueConstraint(
                Lower("login"),
                name="accounts_user_login_unique_in_any_case",
                violation_error_message="A user with that login already exists.",
            )
        ]

    def __str__(self):
        return self.login

    def validate_constraints(self, exclude=None):
        # The only constraint of its own is the login's; say so on the field the user filled in.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            raise ValidationError({"login": exc.messages}) from exc

    def get_full_name(self):
        return self.full_name or self.login

    def get_short_name(self):
        return self.login


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(user__is_active=True).filter(models.Q(expires__isnull=True) | models.Q(expires__gt=now))


class ApiToken(models.Model):
    """A personal token for scripts and CI. Only a SHA-256 of the secret is stored.

    The secret looks like `mai_<prefix>_<random>`: the prefix is kept in clear so a token can be
    found by it and recognised in a list; the rest is compared against the hash.
    """

    SCHEME = "mai_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    read_only = models.BooleanField(default=False)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.name} ({self.SCHEME}{self.prefix}…)"

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """Return (prefix, full secret) for a new token."""
        prefix = secrets.token_hex(4)
        return prefix, f"{cls.SCHEME}{prefix}_{secrets.token_urlsafe(32)}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.hashed_secret, self.hash(secret))

    @property
    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()


class SshPublicKey(models.Model):
    """A public key its owner signs in with (ssh-ed25519, or ssh-rsa of 2048 bits or more).

    The type and the fingerprint are read from the key line itself in `clean()`.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(max_length=100)
    public_key = models.TextField(help_text="One line in OpenSSH format: 'ssh-ed25519 AAAA… comment'.")
    key_type = models.CharField(max_length=32, editable=False)
    fingerprint = models.CharField(max_length=64, editable=False, help_text="As `ssh-keygen -l` prints it.")
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "SSH public key"
        constraints = [
            # Per user, not global: a refusal must not tell anyone that another account holds a key.
            models.UniqueConstraint(
                fields=["user", "fingerprint"],
                name="accounts_sshpublickey_once_per_user",
                violation_error_message="You have already registered this key.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"

    def clean(self):
        if not self.public_key:
            return  # clean_fields() has already said it is required
        try:
            parsed = ssh.parse_public_key(self.public_key)
        except ssh.InvalidKey as exc:
            raise ValidationError({"public_key": str(exc)}) from exc
        self.public_key = parsed.openssh
        self.key_type = parsed.key_type
        self.fingerprint = parsed.fingerprint

    def validate_constraints(self, exclude=None):
        # The only constraint is "once per user"; pin its message on the field the user filled in.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            raise ValidationError({"public_key": exc.messages}) from exc

    def verifies(self, signature: bytes, message: bytes) -> bool:
        return ssh.verify_signature(ssh.parse_public_key(self.public_key).key, signature, message)


class SshChallengeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(used__isnull=True, expires__gt=timezone.now())


class SshChallengeManager(models.Manager.from_queryset(SshChallengeQuerySet)):
    def issue(self, login: str) -> "SshChallenge":
        """A fresh challenge for `login`, whether or not such a user exists, so asking reveals nothing."""
        now = timezone.now()
        # Old challenges are worthless; dropping them here keeps the table small without a cron job,
        # and keeping the last hour's lets a late answer hear "expired" rather than "unknown".
        self.filter(expires__lt=now - timedelta(hours=1)).delete()
        return self.create(login=login, challenge=secrets.token_urlsafe(32), expires=now + SshChallenge.LIFETIME)


class SshChallenge(models.Model):
    """A random string a client signs to prove it holds a registered key: valid once, for a minute."""

    LIFETIME = timedelta(seconds=60)

    login = models.CharField(max_length=150)
    challenge = models.CharField(max_length=64, unique=True)
    expires = models.DateTimeField(db_index=True)
    used = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = SshChallengeManager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "SSH challenge"

    def __str__(self):
        return f"{self.login}: {self.challenge[:8]}…"

    def consume(self) -> bool:
        """Mark it used if it is still open. One conditional UPDATE, so of two concurrent callers
        (or a replay) exactly one gets True."""
        return SshChallenge.objects.open().filter(pk=self.pk).update(used=timezone.now()) == 1


class ThrottleCounter(models.Model):
    """One counter of `accounts.counters.DatabaseCounterCache`: the sign-in limits' shared store
    when there is no Redis. Rows expire; expired ones are swept as new ones are made."""

    key = models.CharField(max_length=250, primary_key=True)
    value = models.BigIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key} = {self.value}"


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        """Neither accepted nor revoked, and not yet expired: the ones a link still opens."""
        return self.filter(accepted__isnull=True, revoked__isnull=True, expires__gt=timezone.now())


class Invitation(models.Model):
    """An owner's invitation into a workspace with a role, for an email address or a login.

    Its link holds a secret `inv_<prefix>_<random>`; like an API token's, only a SHA-256 of the
    secret is stored, and the prefix finds the row. The link works once, until it expires or an
    owner revokes it (accounts/invitations.py).
    """

    SCHEME = "inv_"

    workspace = models.ForeignKey("registry.Workspace", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    login = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10)  # one of registry.models.Role, checked by the service
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    accepted = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # Exactly one of the two says whom it is for.
            models.CheckConstraint(
                condition=(models.Q(email="") & ~models.Q(login="")) | (~models.Q(email="") & models.Q(login="")),
                name="accounts_invitation_email_or_login",
                violation_error_message="Invite by email or by login, not both.",
            )
        ]

    def __str__(self):
        return f"{self.invitee} to {self.workspace_id} ({self.role})"

    @property
    def invitee(self) -> str:
        return self.email or self.login

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """Return (prefix, full secret) for a new link."""
        prefix = secrets.token_hex(4)
        return prefix, f"{cls.SCHEME}{prefix}_{secrets.token_urlsafe(32)}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.hashed_secret, ApiToken.hash(secret))

    @property
    def status(self) -> str:
        """pending, accepted, revoked or expired: what the link's page says."""
        if self.accepted is not None:
            return "accepted"
        if self.revoked is not None:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "pending"
