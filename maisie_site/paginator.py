"""Pages read before their total, and the thread that counts totals on a second connection.

`PageFirstPaginator` is Django's Paginator reading a page's rows before it asks its list for the
total, so whoever built the list may be counting meanwhile: `registry.listing` starts a count
on this process's counting thread (`count_beside`) when its rows are first read, and says when
that gives the same answer as counting first.
"""

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet

# PostgreSQL's OFFSET and LIMIT are bigints: a page past this could only be past the end, and
# asking for it would fail in the database ("bigint out of range") instead of being a 404.
_MAX_ROW = 2**63 - 1

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _counter() -> ThreadPoolExecutor:
    """This process's counting threads, made on first use (after gunicorn forks its workers).

    As many as the process has request threads (gthread workers serve GUNICORN_THREADS requests
    at once), so one list request's count never queues behind another's; each keeps its own
    connection, made only when that many counts run at once."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            threads = settings.MAISIE_COUNT_THREADS
            _pool, _pool_pid = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="maisie-count"), os.getpid()
        return _pool


def _count(queryset: QuerySet) -> int:
    # The request cycle closes only the request thread's expired or broken connections.
    connections[queryset.db].close_if_unusable_or_obsolete()
    return queryset.count()


def count_beside(queryset: QuerySet) -> Future:
    """`queryset.count()`, run on one of this process's counting threads and its connection."""
    return _counter().submit(_count, queryset)


def shutdown() -> None:
    """Close the counting thread's connection and stop the thread (tests, before the test
    database is dropped). The next count starts a new thread."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.submit(connections.close_all).result()
        pool.shutdown()


class PageFirstPaginator(Paginator):
    """Django's Paginator, answering as Django's does, reading a page's rows first: the total
    (`object_list.count()`) is read when it is asked for, or to tell whether an empty page past
    the first exists."""

    def page(self, number):
        if self.orphans or not self.allow_empty_first_page:
            return super().page(number)  # where a page's rows depend on the total
        number = self._whole_number(number)
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page > _MAX_ROW:
            return super().page(number)  # counts first, so a page past the end is EmptyPage
        rows = list(self.object_list[bottom : bottom + self.per_page])
        if rows or number == 1:
            # A page with rows exists, and so does an empty first page: the number is valid.
            return self._get_page(rows, number, self)
        return self._get_page(rows, self.validate_number(number), self)  # past the end, or not: the total decides

    def get_page(self, number):
        """Django's forgiving lookup (the web UI's): not a number is page 1, past the end the last."""
        try:
            return self.page(self._whole_number(number))
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def _whole_number(self, number) -> int:
        """Paginator.validate_number's checks that need no count."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number
