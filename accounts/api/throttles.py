"""Login attempts are limited per client address and per login name, across app servers when
the cache is shared (Redis)."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class LoginIPThrottle(SimpleRateThrottle):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginNameThrottle(SimpleRateThrottle):
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
