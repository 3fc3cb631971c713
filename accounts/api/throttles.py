"""Login attempts are limited per client address and per login name, in counters that every
worker of every app server shares: the "throttle" cache (Redis, or a table in the database,
see accounts/counters.py and settings.CACHES).

DRF's SimpleRateThrottle keeps a list of request times that it reads, checks and writes back.
Requests arriving together (on several app servers, or while a sign-in's password hash runs
for a fraction of a second) all read the same list and all pass: twelve parallel guesses got
twelve password checks under a limit of three. So these limits are counters changed with
`cache.incr`, which is atomic in Redis and in the database counters: an attempt takes its
place in the count before it is checked, and one over the limit gives its place back.
"""

import contextlib
import hashlib

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

_TAKEN = "_maisie_throttle_taken"  # on the request: the counters its attempt was counted in
_EPSILON = 1e-9  # the weighted count is a float: 2 + 3 * (1 - 20/60) must be 3, not just over


class CountingThrottle(SimpleRateThrottle):
    """A rate limit kept in counters of fixed windows, one period long, read as a sliding window:
    the current window's count plus the previous window's, weighted by the share of the period
    that still overlaps it (the approximation Cloudflare and nginx-style limiters use).

    The rate is read from the current settings on each request: DRF copies the rates onto the
    class once, at import, so a rate changed later (a test's settings override) would otherwise
    be ignored, or linger after the override ends."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    @property
    def cache(self):
        return caches["throttle"]

    def allow_request(self, request, view):
        key = self.get_cache_key(request, view)
        if self.rate is None or key is None:
            return True
        if self.take(request, key) > self.num_requests + _EPSILON:
            self.give_back(request, key)  # a refused attempt is not an attempt made
            self._current -= 1
            return self.throttle_failure()
        return True

    def _windows(self, key: str) -> tuple[float, str, str]:
        """Now, and the cache keys of this window's counter and the previous one's."""
        now = self.timer()
        window = int(now // self.duration)
        return now, f"{key}:{window}", f"{key}:{window - 1}"

    def take(self, request, key: str) -> float:
        """Count one attempt now; return the sliding count, this attempt included."""
        now, counter, previous = self._windows(key)
        # Two periods: the next window still reads this one as its previous.
        self.cache.add(counter, 0, timeout=2 * self.duration)
        try:
            current = self.cache.incr(counter)
        except ValueError:  # expired between add and incr (a clock at the window's edge)
            self.cache.set(counter, 1, timeout=2 * self.duration)
            current = 1
        taken = request.__dict__.setdefault(_TAKEN, {})
        taken[key] = counter
        return self._sliding(current, self.cache.get(previous, 0), now)

    def give_back(self, request, key: str) -> None:
        counter = request.__dict__.get(_TAKEN, {}).pop(key, None)
        if counter is not None:
            with contextlib.suppress(ValueError):  # the window has expired: nothing left to give back
                self.cache.decr(counter)

    def count(self, key: str) -> float:
        """The sliding count now, without counting an attempt."""
        now, current, previous = self._windows(key)
        return self._sliding(self.cache.get(current, 0), self.cache.get(previous, 0), now)

    def _sliding(self, current: int, previous: int, now: float) -> float:
        self._now, self._current, self._previous = now, current, previous
        return current + previous * (1 - (now % self.duration) / self.duration)

    def wait(self):
        """Seconds until an attempt would be allowed again, if no one tries meanwhile."""
        duration, elapsed = self.duration, self._now % self.duration
        room = self.num_requests - 1  # an attempt is allowed when the count before it is at most this
        if self._current <= room:
            # Within this window, as the previous window's weight falls.
            if not self._previous:
                return 0.0
            return max(0.0, duration * (1 - (room - self._current) / self._previous) - elapsed)
        # Into the next window, where this window's count becomes the previous one.
        return (duration - elapsed) + duration * max(0.0, 1 - room / self._current)


class LoginIPThrottle(CountingThrottle):
    """Every sign-in attempt per client address."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginNameThrottle(CountingThrottle):
    """Failed sign-ins per login name, from any address: after `login_user` failures the login is
    refused for the rest of the period, even with the right password. Successful sign-ins do not
    count (django-axes' rule), so a sweep of training jobs signing in as one user at once is not
    locked out by its own successes; the per-address limit still counts every attempt.

    Each attempt is counted before its password is checked, and the views call `uncount` when
    it was right (or checked nothing), which gives its place back: while checks run in
    parallel, no more of them run than the limit allows."""

    scope = "login_user"

    def get_cache_key(self, request, view):
        data = request.data
        # A JSON body that is no object (`[]`, `"x"`, `1`) names no login; the view refuses it.
        login = str(data.get("login", "")).strip().lower() if hasattr(data, "get") else ""
        if not login:
            return None
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(login.encode()).hexdigest()}

    @classmethod
    def uncount(cls, request, view=None) -> None:
        """The attempt `request` made was no failed sign-in: it succeeded, or checked nothing."""
        throttle = cls()
        key = throttle.get_cache_key(request, view)
        if throttle.rate is not None and key is not None:
            throttle.give_back(request, key)


class LoginLockedThrottle(LoginNameThrottle):
    """Refuses a login locked by failed sign-ins, counting nothing itself (SSH challenges)."""

    def allow_request(self, request, view):
        key = self.get_cache_key(request, view)
        if self.rate is None or key is None:
            return True
        return self.throttle_failure() if self.count(key) > self.num_requests - 1 + _EPSILON else True


class ChallengeNameThrottle(LoginNameThrottle):
    """SSH challenges asked for per login name, every request counted, at the per-login rate."""

    cache_format = "throttle_ssh_challenge_%(scope)s_%(ident)s"  # a count of its own


class RegistrationThrottle(LoginIPThrottle):
    scope = "registration"

    def allow_request(self, request, view):
        if request.method != "POST" or (request.user and request.user.is_staff):
            return True
        return super().allow_request(request, view)
