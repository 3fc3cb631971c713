"""A password check counted as a sign-in: by the per-address limit, and, when it proves wrong,
as a failed sign-in of that login (accounts/api/throttles.py).

Every place that checks a password someone typed goes through here: the sign-in page and the
admin's, "confirm your password", and changing a password with the old one (the API, the web
page and the admin's). A session or JWT in the wrong hands must not be a way to guess the
password behind it faster than the sign-in page allows, nor to get past a login's lock.
"""

from accounts.api.throttles import LoginIPThrottle, LoginNameThrottle

THROTTLED = "Too many sign-in attempts. Wait a minute and try again."


class SignInLimited(Exception):
    """A limit is reached: the password was not checked. `wait` is in seconds, if known."""

    def __init__(self, wait: float | None = None):
        super().__init__(THROTTLED)
        self.wait = wait


class SignInAttempt:
    """What the API's login throttles read from a request, for a password of `login` typed in
    anywhere (`request` is a Django or DRF request)."""

    def __init__(self, request, login: str):
        self.META = request.META
        self.headers = request.headers
        self.data = {"login": login}
        self.wait: float | None = None

    def allowed(self) -> bool:
        """Count the attempt per address and per login; False when either limit is reached."""
        for throttle_class in (LoginIPThrottle, LoginNameThrottle):
            throttle = throttle_class()
            if not throttle.allow_request(self, None):
                self.wait = throttle.wait()
                return False
        return True

    def was_right(self) -> None:
        """The password was right (or none was checked): it is no failed sign-in."""
        LoginNameThrottle.uncount(self)

    def check_password(self, user, password: str) -> bool:
        """Whether `password` is `user`'s; a wrong one counts as a failed sign-in of the login.

        Call it outside any transaction that may roll back: the count is kept in the database
        when there is no Redis, and a refusal that undid its own count would count nothing.

        :raises SignInLimited: a limit is reached; nothing was checked
        """
        if not self.allowed():
            raise SignInLimited(self.wait)
        if user.check_password(password):
            self.was_right()
            return True
        return False
