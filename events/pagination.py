"""Pages of the event log: the total counted up to a cap, "next" read from the rows (docs/events.md).

Who may read an event is decided event by event (events/querysets.py), so counting all a user may
read means reading every one of them and its model's row: 300 ms at 130,000 events
(bench/lifecycle.py), growing with the log, where a page of the newest reads a few rows. So the
total is exact up to COUNT_CAP and says so when more match (`total_capped`), and whether a next
page exists comes from the count, or from reading one row past the page: every page stays
reachable. A page among the first COUNT_CAP events comes with the count, in one statement.
"""

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page
from django.db import connections
from django.utils.functional import cached_property

from maisie_site.api import EnvelopePagination
from maisie_site.paginator import _MAX_ROW, PageFirstPaginator

COUNT_CAP = 1000


class EventPage(Page):
    def __init__(self, object_list, number, paginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class EventPaginator(PageFirstPaginator):
    """A Paginator whose `count` stops at COUNT_CAP (`capped` says whether more match)."""

    capped = False

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: COUNT_CAP + 1].count()
        self.capped = counted > COUNT_CAP
        return min(counted, COUNT_CAP)

    def page(self, number) -> EventPage:
        number = self._whole_number(number)
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page + 1 > _MAX_ROW:
            raise EmptyPage(self.error_messages["no_results"])
        if bottom + self.per_page <= COUNT_CAP:
            return self._page_within_the_count(number, bottom)
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        more = len(rows) > self.per_page
        if not more:  # the last page: the total is known without counting
            self.capped = bottom + len(rows) > COUNT_CAP
            self.__dict__["count"] = min(bottom + len(rows), COUNT_CAP)
        return EventPage(rows[: self.per_page], number, self, more=more)

    def _page_within_the_count(self, number: int, bottom: int) -> EventPage:
        """A page among the first COUNT_CAP events: one statement counts those (up to the cap) and
        gives the page's ids, then the page's rows are read by id. The visibility query is compiled
        and planned once, not for the page and again for the count, and only the page's ids reach
        Python (bench/lifecycle.py)."""
        capped = self.object_list.values_list("pk", flat=True)[: COUNT_CAP + 1]
        try:
            inner, params = capped.query.get_compiler(using=capped.db).as_sql()
        except EmptyResultSet:  # a filter Django knows matches nothing (an id past 64 bits): no SQL
            inner = None
        found = []
        if inner is not None:
            # The window runs over the capped list in its order, before LIMIT and OFFSET cut the page.
            sql = f"SELECT capped.*, COUNT(*) OVER () FROM ({inner}) capped LIMIT %s OFFSET %s"  # noqa: S608
            with connections[capped.db].cursor() as cursor:
                cursor.execute(sql, [*params, self.per_page, bottom])
                found = cursor.fetchall()
        if not found and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        total = found[0][1] if found else 0
        self.capped = total > COUNT_CAP
        self.__dict__["count"] = min(total, COUNT_CAP)
        wanted = [pk for pk, _ in found]
        rows = self.object_list.model._default_manager.in_bulk(wanted)  # events never change: as found
        return EventPage([rows[pk] for pk in wanted], number, self, more=total > bottom + self.per_page)


class EventPagination(EnvelopePagination):
    """The usual envelope, with `total_capped` beside the total."""

    django_paginator_class = EventPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["pagination"]["total_capped"] = self.page.paginator.capped
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["pagination"]["properties"]["total_capped"] = {"type": "boolean"}
        return answer
