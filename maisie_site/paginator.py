"""A Paginator that counts a page's total on a second database connection while it reads the page.

A filtered list's `total_items` is an exact COUNT(*) over every match. On PostgreSQL that can
take as long as reading and rendering the page: 3,806 matches of two JSON conditions take 17 ms
of heap visits, the page of 50 a few ms of SQL and more of Python. Neither needs the other, so
the count runs on a thread of its own (one per process, with its own persistent connection)
while this thread reads the rows, and it is waited for only when the total is first asked for:
the API asks after it has built and serialised the page, so the count runs beside all of that;
the request takes about the longer of the two, not the sum.

Only where that is the same answer as counting first: PostgreSQL, a queryset not yet read,
no total already known, and no transaction open on this thread's connection (its uncommitted
rows, or a test's, would be invisible to the other connection). Elsewhere it is Django's
Paginator. Statements of one request already see different snapshots under READ COMMITTED, so
a page and its total read at the same moment are no less consistent than one after the other.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# PostgreSQL's OFFSET and LIMIT are bigints: a page past this could only be past the end, and
# asking for it would fail in the database ("bigint out of range") instead of being a 404.
_MAX_ROW = 2**63 - 1

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _counter() -> ThreadPoolExecutor:
    """This process's counting thread, made on first use (after gunicorn forks its workers)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maisie-count"), os.getpid()
        return _pool


def _count(queryset: QuerySet) -> int:
    # The request cycle closes only the request thread's expired or broken connections.
    connections[queryset.db].close_if_unusable_or_obsolete()
    return queryset.count()


def shutdown() -> None:
    """Close the counting thread's connection and stop the thread (tests, before the test
    database is dropped). The next count starts a new thread."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.submit(connections.close_all).result()
        pool.shutdown()


class OverlappingCountPaginator(Paginator):
    def _overlaps(self) -> bool:
        rows = self.object_list
        if not isinstance(rows, QuerySet) or rows._result_cache is not None or self.orphans:
            return False
        if getattr(rows, "_known_count", None) is not None or "count" in self.__dict__:
            return False  # the total costs nothing already
        connection = connections[rows.db]
        return connection.vendor == "postgresql" and not connection.in_atomic_block

    def page(self, number):
        if not self._overlaps():
            return super().page(number)
        number = self._whole_number(number)
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page > _MAX_ROW:
            return super().page(number)  # counts first, so a page past the end is EmptyPage
        counted = _counter().submit(_count, self.object_list)
        try:
            rows = list(self.object_list[bottom : bottom + self.per_page])
        except BaseException:
            counted.result()  # no count outlives a failed request
            raise
        if rows or number == 1:
            # A page with rows exists, and so does an empty first page: the number is valid
            # without the total, which is waited for when `count` is first read.
            self.__dict__["_counting"] = counted
            return self._get_page(rows, number, self)
        self.__dict__["count"] = counted.result()  # past the end, or not: the total decides
        return self._get_page(rows, self.validate_number(number), self)

    @cached_property
    def count(self) -> int:
        counting = self.__dict__.pop("_counting", None)
        return counting.result() if counting is not None else Paginator.count.func(self)

    def get_page(self, number):
        """Django's forgiving lookup (the web UI's): not a number is page 1, past the end the last."""
        if not self._overlaps():
            return super().get_page(number)
        try:
            return self.page(self._whole_number(number))
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return super().page(self.num_pages)  # counted by now

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
