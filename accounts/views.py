"""Account pages: sign in and out, password change (Django's auth views), profile, tokens and SSH keys."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.views.generic import TemplateView

from accounts import services
from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle
from accounts.forms import ApiTokenForm, ProfileForm, SshPublicKeyForm, add_service_errors
from accounts.models import ApiToken

NEW_TOKEN_SESSION_KEY = "accounts:new-token"


class _SignInAttempt:
    """What the API's login throttles read from a request, taken from the sign-in form."""

    def __init__(self, request):
        self.META = request.META
        self.headers = request.headers
        self.data = {"login": request.POST.get("username", "")}


class SignInView(auth_views.LoginView):
    """Django's sign-in, limited by the same per-address and per-login counters as the API login."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        self.attempt = _SignInAttempt(request)
        if not all(throttle().allow_request(self.attempt, self) for throttle in (LoginIPThrottle, LoginNameThrottle)):
            context = self.get_context_data(form=self.get_form(), throttled=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        LoginNameThrottle.uncount(self.attempt)  # counted as a failure until it proved right
        return super().form_valid(form)


class SignOutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


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


class ApiTokenCreateView(ProfileView):
    http_method_names = ["post"]

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


class SshKeyAddView(ProfileView):
    http_method_names = ["post"]

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
        key.delete()
        messages.success(request, f"SSH key “{key.name}” removed.")
        return redirect(reverse("accounts:profile") + "#ssh-keys")
