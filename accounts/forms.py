"""Forms of the account pages. They validate input; the writes go through accounts.services."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.attempts import THROTTLED, SignInAttempt, SignInLimited
from accounts.models import ApiToken, SshPublicKey, User
from registry.models import Role


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """File a service's ValidationError under the form's fields, or above the form for others."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=User._meta.get_field("full_name").max_length, required=False)
    email = forms.EmailField(required=False)


EXPIRY_CHOICES = [("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length, help_text="What the token is for, e.g. “CI”."
    )
    read_only = forms.BooleanField(required=False, label="Read-only", help_text="It can read but not change.")
    expires_in = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, required=False, coerce=int, empty_value=None, label="Expires"
    )

    def service_arguments(self) -> dict:
        days = self.cleaned_data["expires_in"]
        return {
            "name": self.cleaned_data["name"],
            "read_only": self.cleaned_data["read_only"],
            "expires": timezone.now() + timedelta(days=days) if days else None,
        }


class SshPublicKeyForm(forms.Form):
    """The fields only; accounts.services.ssh_key_add parses the key and refuses duplicates."""

    name = forms.CharField(max_length=SshPublicKey._meta.get_field("name").max_length)
    public_key = forms.CharField(
        max_length=16 * 1024,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One line from your <code>~/.ssh/id_ed25519.pub</code> (or an RSA key of 2048 bits or more).",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user


class ThrottledSignInMixin:
    """Django's sign-in forms behind the API's sign-in limits and per-login lock: every check of a
    password counts per address and, until it proves right, per login. `throttled` says the
    form refused to check it."""

    throttled = False

    def clean(self):
        attempt = SignInAttempt(self.request, str(self.data.get("username", "")))
        if not attempt.allowed():
            self.throttled = True
            raise ValidationError(THROTTLED, code="throttled")
        checked = bool(self.cleaned_data.get("username") and self.cleaned_data.get("password"))
        try:
            return super().clean()
        finally:
            if not checked or self.user_cache is not None:
                attempt.was_right()


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    pass


class ConfirmPasswordForm(forms.Form):
    """ "Confirm your password" before creating a credential, limited like a sign-in."""

    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    throttled = False

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        password = self.cleaned_data.get("password")
        if password is not None:
            _check_limited(self, self.request.user, password, {"password": "That is not your password."})
        return self.cleaned_data


def _check_limited(form: forms.Form, user: User, password: str, wrong) -> None:
    """Check `password` as a sign-in of `user` (accounts/attempts.py): `wrong` is the error when
    it is not theirs; a reached limit sets `form.throttled` and checks nothing."""
    try:
        right = SignInAttempt(form.request, user.login).check_password(user, password)
    except SignInLimited:
        form.throttled = True
        raise ValidationError(THROTTLED, code="throttled") from None
    if not right:
        raise ValidationError(wrong, code="password_incorrect")


class LimitedPasswordChangeMixin:
    """Django's "old password" check behind the sign-in limits and per-login lock: a wrong old
    password is a failed sign-in of that login; over the limit it is not checked at all."""

    throttled = False

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        _check_limited(self, self.user, old_password, self.error_messages["password_incorrect"])
        return old_password


class LimitedPasswordChangeForm(LimitedPasswordChangeMixin, PasswordChangeForm):
    pass


class LimitedAdminPasswordChangeForm(LimitedPasswordChangeMixin, AdminPasswordChangeForm):
    pass


class InvitationForm(forms.Form):
    """An owner's invitation: one field takes a login (of an existing user) or an email address."""

    invitee = forms.CharField(
        max_length=254, label="Email or login", help_text="A login joins an existing user; an email may be anyone's."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    days = forms.IntegerField(min_value=1, max_value=365, label="Valid for (days)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.MAISIE_INVITATION_DAYS

    def service_arguments(self) -> dict:
        """`login=` when a user has that login (logins may hold an @), `email=` otherwise."""
        invitee = self.cleaned_data["invitee"].strip()
        is_login = User.objects.by_login(invitee).exists()
        return {
            "login" if is_login else "email": invitee,
            "role": self.cleaned_data["role"],
            "days": self.cleaned_data["days"],
        }


class InvitedAccountForm(forms.Form):
    """A new person's account, made from an email invitation (the address is the invitation's)."""

    login = forms.CharField(
        max_length=User._meta.get_field("login").max_length, help_text="Letters, digits and . @ + - _"
    )
    full_name = forms.CharField(max_length=User._meta.get_field("full_name").max_length, required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data
