"""How recently the caller proved who they are, with a password or an SSH key.

Creating an API token or registering an SSH key makes a credential that outlives the one used
to ask: a 20-second API token made a token with no expiry, and a JWT refreshed every hour could
do it forever. So those writes need a sign-in within `MAISIE_RECENT_SIGN_IN_SECONDS`:

- a JWT carries `auth_time`, when its chain began with a password or SSH sign-in; a refreshed
  JWT keeps the time of the one it replaces;
- a browser session keeps the time of its sign-in (any `django.contrib.auth.login`: the sign-in
  page, the admin's) or of the last "confirm your password";
- an API token is no sign-in at all.
"""

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.models import ApiToken

AUTH_TIME_CLAIM = "auth_time"
SESSION_KEY = "accounts:auth_time"


def now() -> int:
    return int(time.time())


def mark_session(request) -> None:
    """The browser session behind `request` has just proved its password."""
    request.session[SESSION_KEY] = now()


@receiver(user_logged_in, dispatch_uid="accounts.recent.mark_session")
def _signed_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_session(request)


def authenticated_at(request) -> int | None:
    """When the credential behind `request` was obtained by a password or SSH sign-in, if known."""
    auth = getattr(request, "auth", None)  # set by DRF; a plain Django request has none
    if isinstance(auth, ApiToken):
        return None
    if auth is not None:
        claim = auth.get(AUTH_TIME_CLAIM) if hasattr(auth, "get") else None
        return claim if isinstance(claim, int) and not isinstance(claim, bool) else None
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    return value if isinstance(value, int) else None


CLOCK_SKEW = 60  # app servers' clocks may differ by this much: a sign-in "in the future" counts


def is_recent(request) -> bool:
    signed_in = authenticated_at(request)
    return signed_in is not None and -CLOCK_SKEW <= now() - signed_in <= settings.MAISIE_RECENT_SIGN_IN_SECONDS
