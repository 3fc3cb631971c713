"""The sign-in limits' counters without Redis: a Django cache backend over one database table
(`ThrottleCounter`), integers only, whose increments are atomic across processes.

Every worker of every app server sees the same counts, so a limit of ten is ten however many
workers gunicorn runs; local memory counted per worker (two workers let 19 guesses through a
limit of 10). Django's own DatabaseCache and FileBasedCache implement `incr` as a read and a
write, so parallel attempts in two processes would both read 9 and both write 10: here `incr` is
one UPDATE of `value + delta` and the read of what it wrote, in one transaction. The UPDATE holds
the row until the transaction ends (PostgreSQL's row lock; SQLite's write lock, which Maisie's
IMMEDIATE transactions take at BEGIN), so no other increment comes between the two.
"""

from datetime import timedelta

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone

# `timeout=None` means "never" in Django's cache API; a row still needs a date.
_NEVER = timedelta(days=365 * 100)


class DatabaseCounterCache(BaseCache):
    """`add`, `get`, `set`, `incr`, `decr`, `delete`, `touch`, `has_key` and `clear` on integers."""

    def __init__(self, location, params):
        super().__init__(params)

    @property
    def _rows(self):
        from accounts.models import ThrottleCounter  # the cache is configured before apps load

        return ThrottleCounter.objects

    def _db(self) -> str:
        from accounts.models import ThrottleCounter

        return router.db_for_write(ThrottleCounter)

    def _expiry(self, timeout):
        timeout = self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout
        return timezone.now() + (_NEVER if timeout is None else timedelta(seconds=timeout))

    @staticmethod
    def _int(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{DatabaseCounterCache.__name__} stores integers only, not {type(value).__name__}")
        return value

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        value, expires = self._int(value), self._expiry(timeout)
        rows, now = self._rows.using(self._db()), timezone.now()
        try:
            with transaction.atomic(using=self._db()):
                rows.filter(key=key, expires__lte=now).delete()  # an expired counter is no counter
                rows.create(key=key, value=value, expires=expires)
        except IntegrityError:  # it exists (or another process has just made it)
            return False
        # Counters are made once per key and window: a cheap moment to sweep the expired ones.
        rows.filter(expires__lte=now).delete()
        return True

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        value = self._rows.using(self._db()).filter(key=key, expires__gt=timezone.now()).values_list("value", flat=True)
        return next(iter(value), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        key = self.make_and_validate_key(key, version=version)
        value, expires = self._int(value), self._expiry(timeout)
        rows = self._rows.using(self._db())
        with transaction.atomic(using=self._db()):
            if rows.filter(key=key).update(value=value, expires=expires):
                return
            try:
                with transaction.atomic(using=self._db()):
                    rows.create(key=key, value=value, expires=expires)
            except IntegrityError:  # made meanwhile by another process: last write wins
                rows.filter(key=key).update(value=value, expires=expires)

    def incr(self, key, delta=1, version=None) -> int:
        key = self.make_and_validate_key(key, version=version)
        rows = self._rows.using(self._db())
        with transaction.atomic(using=self._db()):
            live = rows.filter(key=key, expires__gt=timezone.now())
            if not live.update(value=F("value") + self._int(delta)):
                raise ValueError(f"Key '{key}' not found.")  # as every Django cache says it
            return rows.filter(key=key).values_list("value", flat=True).get()

    def decr(self, key, delta=1, version=None) -> int:
        return self.incr(key, -self._int(delta), version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        live = self._rows.using(self._db()).filter(key=key, expires__gt=timezone.now())
        return bool(live.update(expires=self._expiry(timeout)))

    def delete(self, key, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(self._rows.using(self._db()).filter(key=key).delete()[0])

    def has_key(self, key, version=None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return self._rows.using(self._db()).filter(key=key, expires__gt=timezone.now()).exists()

    def clear(self) -> None:
        self._rows.using(self._db()).all().delete()
