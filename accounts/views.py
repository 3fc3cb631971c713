"""Account pages: sign in and out, password change (Django's auth views), profile, tokens and SSH keys."""

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView

from accounts import oidc, recent, services
from accounts.forms import (
    ApiTokenForm,
    ConfirmPasswordForm,
    LimitedAdminPasswordChangeForm,
    LimitedPasswordChangeForm,
    ProfileForm,
    SignInForm,
    SshPublicKeyForm,
    add_service_errors,
)
from accounts.models import ApiToken

NEW_TOKEN_SESSION_KEY = "accounts:new-token"


class ThrottledFormMixin:
    """429, not 200, when the form refused to check a password: a sign-in limit was reached."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


class SignInView(ThrottledFormMixin, auth_views.LoginView):
    """Django's sign-in, limited by the same per-address and per-login counters as the API login
    (accounts.forms.SignInForm)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    authentication_form = SignInForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "sso_enabled": oidc.is_configured()}


def admin_sign_in(request):
    """The admin's sign-in page (`admin.site.login`, with accounts.forms.AdminSignInForm set in
    accounts/admin.py): the same limits and lock as every other sign-in, 429 when refused."""
    response = admin.site.login(request)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if getattr(form, "throttled", False):
        response.status_code = 429
    return response


class SignOutView(auth_views.LogoutView):
    pass


class LimitedPasswordChangeMixin(ThrottledFormMixin):
    """A password change whose old-password check counts as a sign-in (accounts/attempts.py):
    429, with nothing checked, once the login is locked."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordChangeView(LimitedPasswordChangeMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = LimitedPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")


class AdminPasswordChangeView(LimitedPasswordChangeMixin, auth_views.PasswordChangeView):
    """The admin's "change password" (`admin.site.password_change`, which fixes its form class),
    with the limited form; served at /admin/password_change/ through `admin_password_change`."""

    form_class = LimitedAdminPasswordChangeForm
    success_url = reverse_lazy("admin:password_change_done")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request)}

    def dispatch(self, request, *args, **kwargs):
        request.current_app = admin.site.name
        return super().dispatch(request, *args, **kwargs)


# Staff only, like every admin page (admin_view signs others in first).
admin_password_change = admin.site.admin_view(AdminPasswordChangeView.as_view(), cacheable=True)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class ProfileView(LoginRequiredMixin, TemplateView):
    """`/account/`: profile, API tokens and SSH keys. Each form posts to its own URL below."""

    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(**kwargs)
        context.setdefault("profile_form", ProfileForm(initial={"full_name": user.full_name, "email": user.email}))
        context.setdefault("token_form", ApiTokenForm())
        context.setdefault("ssh_form", SshPublicKeyForm(user=user))
        context["recent_sign_in"] = recent.is_recent(self.request)
        context["tokens"] = user.api_tokens.all()
        context["ssh_keys"] = user.ssh_keys.all()
        # A new token's secret is shown on the one page view after it was made, then forgotten.
        context["new_token_secret"] = self.request.session.pop(NEW_TOKEN_SESSION_KEY, None)
        return context

    def invalid(self, **forms):
        return self.render_to_response(self.get_context_data(**forms), status=400)

    def post(self, request):
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.user_update(user=request.user, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Profile saved.")
                return redirect("accounts:profile")
        return self.invalid(profile_form=form)


class ConfirmPasswordView(LoginRequiredMixin, FormView):
    """`/account/confirm/`: type your password again before creating an API token or adding an
    SSH key, when the sign-in is older than MAISIE_RECENT_SIGN_IN_SECONDS (accounts/recent.py)."""

    template_name = "accounts/confirm_password.html"
    form_class = ConfirmPasswordForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_success_url(self):
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if safe else reverse("accounts:profile")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "next": self.request.GET.get("next", "")}

    def form_valid(self, form):
        recent.mark_session(self.request)
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if form.throttled else 400
        return response


class RecentSignInRequiredMixin:
    """For the pages that create credentials: an old sign-in confirms its password first."""

    anchor = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not recent.is_recent(request):
            messages.info(request, "Confirm your password, then create it again.")
            return redirect(f"{reverse('accounts:confirm_password')}?next={reverse('accounts:profile')}{self.anchor}")
        return super().dispatch(request, *args, **kwargs)


class ApiTokenCreateView(RecentSignInRequiredMixin, ProfileView):
    http_method_names = ["post"]
    anchor = "%23tokens"

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.invalid(token_form=form)
        token, secret = services.api_token_create(user=request.user, **form.service_arguments())
        request.session[NEW_TOKEN_SESSION_KEY] = {"name": token.name, "secret": secret}
        return redirect(reverse("accounts:profile") + "#tokens")


class ApiTokenRevokeView(ProfileView):
    http_method_names = ["post"]

    def post(self, request, pk):
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        services.api_token_revoke(token=token, user=request.user)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect(reverse("accounts:profile") + "#tokens")


class SshKeyAddView(RecentSignInRequiredMixin, ProfileView):
    http_method_names = ["post"]
    anchor = "%23ssh-keys"

    def post(self, request):
        form = SshPublicKeyForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                key = services.ssh_key_add(user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"SSH key “{key.name}” added.")
                return redirect(reverse("accounts:profile") + "#ssh-keys")
        return self.invalid(ssh_form=form)


class SshKeyRemoveView(ProfileView):
    http_method_names = ["post"]

    def post(self, request, pk):
        key = get_object_or_404(request.user.ssh_keys, pk=pk)
        services.ssh_key_remove(key=key, user=request.user)
        messages.success(request, f"SSH key “{key.name}” removed.")
        return redirect(reverse("accounts:profile") + "#ssh-keys")
