"""Login attempts are limited per client address and per login name, across app servers when
the cache is shared (Redis)."""

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from the current settings on each request.

    DRF copies the rates onto the class once, at import, so a rate changed later (a test's
    settings override) would otherwise be ignored, or linger after the override ends.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class LoginIPThrottle(SettingsRateThrottle):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginNameThrottle(SettingsRateThrottle):
    scope = "login_user"

    def get_cache_key(self, request, view):
        login = str(request.data.get("login", "")).strip().lower()
        if not login:
            return None
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(login.encode()).hexdigest()}


class RegistrationThrottle(LoginIPThrottle):
    scope = "registration"

    def allow_request(self, request, view):
        if request.method != "POST" or (request.user and request.user.is_staff):
            return True
        return super().allow_request(request, view)
