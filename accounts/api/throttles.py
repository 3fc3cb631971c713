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
    """Failed sign-ins per login name, from any address: after `login_user` failures the login is
    refused for the rest of the period, even with the right password. Successful sign-ins do not
    count (django-axes' rule), so a sweep of training jobs signing in as one user at once is not
    locked out by its own successes; the per-address limit still counts every attempt.
    The views call `record_failure` when a sign-in is refused."""

    scope = "login_user"

    def get_cache_key(self, request, view):
        login = str(request.data.get("login", "")).strip().lower()
        if not login:
            return None
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(login.encode()).hexdigest()}

    def allow_request(self, request, view):
        self.key = self.get_cache_key(request, view)
        if self.rate is None or self.key is None:
            return True
        self.now = self.timer()
        self.history = self._recent(self.key, self.now)
        return self.throttle_failure() if len(self.history) >= self.num_requests else True

    @classmethod
    def record_failure(cls, request, view=None) -> None:
        throttle = cls()
        key = throttle.get_cache_key(request, view)
        if throttle.rate is None or key is None:
            return
        now = throttle.timer()
        throttle.cache.set(key, [now, *throttle._recent(key, now)], throttle.duration)

    def _recent(self, key: str, now: float) -> list[float]:
        """The failures still inside the period, newest first (the order DRF's `wait()` reads)."""
        return [moment for moment in self.cache.get(key, []) if moment > now - self.duration]


class ChallengeNameThrottle(LoginNameThrottle):
    """SSH challenges asked for per login name, every request counted, at the per-login rate."""

    cache_format = "throttle_ssh_challenge_%(scope)s_%(ident)s"  # a count of its own

    def allow_request(self, request, view):
        return SimpleRateThrottle.allow_request(self, request, view)


class RegistrationThrottle(LoginIPThrottle):
    scope = "registration"

    def allow_request(self, request, view):
        if request.method != "POST" or (request.user and request.user.is_staff):
            return True
        return super().allow_request(request, view)
