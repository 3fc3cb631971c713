"""Users and their personal API tokens."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

login_validator = RegexValidator(
    r"^[A-Za-z0-9_.@+-]+\Z", "A login may contain only letters, digits and . @ + - _ characters."
)


class UserManager(BaseUserManager):
    use_in_migrations = True

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

    def __str__(self):
        return self.login

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
