"""Forms of the account pages. They validate input; the writes go through accounts.services."""

from datetime import timedelta

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle
from accounts.models import ApiToken, SshPublicKey, User

THROTTLED = "Too many sign-in attempts. Wait a minute and try again."


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


class SignInAttempt:
    """What the API's login throttles read from a request, for a password typed into a page."""

    def __init__(self, request, login: str):
        self.META = request.META
        self.headers = request.headers
        self.data = {"login": login}

    def allowed(self) -> bool:
        """Count the attempt per address and per login; False when either limit is reached."""
        return all(throttle().allow_request(self, None) for throttle in (LoginIPThrottle, LoginNameThrottle))

    def was_right(self) -> None:
        """The password was right (or none was checked): it is no failed sign-in."""
        LoginNameThrottle.uncount(self)


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
        user = self.request.user
        attempt = SignInAttempt(self.request, user.login)
        if not attempt.allowed():
            self.throttled = True
            raise ValidationError(THROTTLED, code="throttled")
        password = self.cleaned_data.get("password")
        if password is None:
            attempt.was_right()  # nothing was checked
        elif not user.check_password(password):
            raise ValidationError({"password": "That is not your password."})
        else:
            attempt.was_right()
        return self.cleaned_data
