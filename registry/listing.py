"""The models list, one pipeline for the API (`GET /api/v1/models/`) and the web table.

`model_list(user=, params=, project=None)` returns a `ModelList`, which
1. scopes: the models `user` may see (`visible_to`), of `project` when given;
2. filters: `MLModelFilterSet` over that scope, the same for both (invalid `params` give
   `errors` and no rows);
3. decides the total (`total()`), the cheapest way that gives the exact answer:
   - narrowed only by scope (SCOPE_FILTERS: workspace, project, uploader), it is the sum of the
     uploader counts of that scope (`ProjectUploaderCount`, kept in every model write by
     registry/keystats.py): a few rows, where counting 100,000 visible models took 20 ms and
     grows with the table (bench/ui.py);
   - otherwise an exact COUNT(*) of the matches. On PostgreSQL it can take as long as reading
     the page (3,806 matches of two JSON conditions: 17 ms of heap visits; bench/search.py
     question 2), and neither needs the other, so it runs on one of the process's counting threads, on
     a connection of its own (`maisie_site.paginator.count_beside`), started when the page's
     rows are read and waited for when the total is asked for: the request takes about the
     longer of the two, not the sum. Only outside a transaction: the other connection could not
     see this one's uncommitted rows (a test's, say). Statements of one request already see
     different snapshots under READ COMMITTED, so a page and its total read at the same moment
     are no less consistent than one after the other. So each request thread may hold two
     database connections: its own and, while its count runs, a counting thread's.
4. hands out pages (through `maisie_site.paginator.PageFirstPaginator`, which reads a page
   before it asks for the total):
   - `models()`: model objects with their project, uploader and tags (`attach_tags`: one query
     for the page), for the web table;
   - `json_rows(request)`: the API's JSON of each model (`registry.api.shape.MODEL`), written
     by PostgreSQL in the page's own statement (`registry/api/rendered.py`), or built in Python
     from the models elsewhere, with their tags and alias names (`attach_alias_names`) read in
     one query each for the page.
   A page past the first selects its rows' ids first (`_page`): the statement's own sort,
   OFFSET and LIMIT read ids only, and only the page's rows are built (joined, or written as
   JSON) around them, in the same statement and order. Otherwise every row before the page
   was built too, and thrown away by OFFSET (page 1,000 of 50 at 100,000 models: the JSON of
   50,000 rows, a second on PostgreSQL). Those ids come from the same filters over a flat
   scope (`_flat_scope`): the caller's visible projects as a list of ids, read first, where
   `visible_to` joins each model to its project and the membership. Every skipped row is then
   one index entry checked against a list (migration 0010's index holds the columns), not two
   joins: page 1,000's ids took 65 ms through the joins, 23 ms against the list (bench/search.py
   question 6, "deep page").
5. `cursor_page(request, cursor, size)`: the rows after a cursor (registry/cursors.py), for
   iterating a whole list: read like a first page, whatever the depth, with no total.
"""

from collections.abc import Callable

from django.db import connections
from django.db.models import Q, Sum
from orjson import Fragment

from registry import cursors
from registry.api import rendered, shape
from registry.filtersets import SCOPE_FILTERS, MLModelFilterSet
from registry.links import Links
from registry.models import MLModel, Project, ProjectKeyCount, ProjectUploaderCount
from registry.querysets import attach_alias_names, attach_tags
from registry.search import suggestions


def model_list(*, user, params, project=None) -> "ModelList":
    """The models `user` may see (of `project`, if given) through the filters in `params`."""
    return ModelList(user=user, params=params, project=project)


class ModelList:
    def __init__(self, *, user, params, project=None):
        self.user, self.project = user, project
        self.filterset = MLModelFilterSet(params, queryset=self._in_scope(MLModel.objects))
        self._total: int | None = None
        self._counting = None  # the COUNT(*) running on the counting thread

    def _in_scope(self, manager):
        """Models, or their uploader counts, that the user may see in the list's scope."""
        rows = manager.visible_to(self.user)
        return rows if self.project is None else rows.filter(project=self.project)

    def is_valid(self) -> bool:
        return self.filterset.is_valid()

    @property
    def errors(self):
        return self.filterset.errors

    @property
    def queryset(self):
        """Every match, filtered and ordered (none when the filters are invalid)."""
        if "_queryset" not in self.__dict__:
            valid = self.is_valid()
            self._queryset = self.filterset.qs if valid else self.filterset.queryset.none()
        return self._queryset

    def key_warnings(self) -> list[dict]:
        """Keys of `q` and `ordering` that no model the user may see in the scope holds, with the
        nearest ones that exist (registry/search/suggestions.py). Lists ask for them only when
        they come back empty, so a list that finds models costs nothing more."""
        if not self.is_valid():
            return []
        refs = suggestions.json_keys(self.filterset.data.get("q"), self.filterset.data.get("ordering"))
        if not refs:
            return []
        rows = self._in_scope(ProjectKeyCount.objects)
        given = self.filterset.form.cleaned_data
        for name in SCOPE_FILTERS:  # the catalogue's rows carry the scope's columns (project, uploader)
            if given.get(name):
                rows = self.filterset.filters[name].filter(rows, given[name])
        return [warning.as_dict() for warning in suggestions.unknown_key_warnings(refs, rows)]

    # -- the total

    def total(self) -> int:
        if self._total is None:
            counting, self._counting = self._counting, None
            if counting is not None:
                self._total = counting.result()
            else:
                scope_total = self._scope_total()
                self._total = self.queryset.count() if scope_total is None else scope_total
        return self._total

    def _scope_total(self) -> int | None:
        """The total from the uploader counts, when only scope filters (and an order) are given."""
        if not self.is_valid():
            return None
        given = {name: value for name, value in self.filterset.form.cleaned_data.items() if value not in (None, "", [])}
        if any(name not in (*SCOPE_FILTERS, "ordering") for name in given):
            return None
        rows = self._in_scope(ProjectUploaderCount.objects)
        for name in SCOPE_FILTERS:
            if name in given:
                rows = self.filterset.filters[name].filter(rows, given[name])
        return rows.aggregate(total=Sum("model_count"))["total"] or 0

    def _begin_total(self) -> None:
        """Called as a page is about to be read: find the total now, or start counting it beside."""
        if self._total is not None or self._counting is not None:
            return
        scope_total = self._scope_total()
        if scope_total is not None:
            self._total = scope_total
            return
        connection = connections[self.queryset.db]
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            from maisie_site.paginator import count_beside

            self._counting = count_beside(self.queryset)

    # -- pages

    def _flat_scope(self):
        """The matches as `queryset` has them, but scoped by a list of project ids (see the module)."""
        if "_flat" not in self.__dict__:
            projects = Project.objects.visible_to(self.user)
            if self.project is not None:
                projects = projects.filter(pk=self.project.pk)
            # visible_to's rule, with the projects read first: other people's private models hidden.
            rows = MLModel.objects.filter(project_id__in=list(projects.values_list("pk", flat=True)))
            if not (self.user.is_authenticated and self.user.is_staff):
                rows = rows.filter(Q(private=False) | Q(uploader_id=self.user.pk))
            flat = MLModelFilterSet(self.filterset.data, queryset=rows)
            self._flat = flat.qs if self.is_valid() else rows.none()
        return self._flat

    def models(self) -> "Pages":
        """Pages of model objects with project, uploader and tags (the web table)."""
        return Pages(
            self, lambda bounds: attach_tags(list(_page(self.queryset, bounds, self._flat_scope).with_related()))
        )

    def cursor_page(self, request, cursor: str, size: int) -> tuple[list, str | None]:
        """The API's JSON rows after `cursor` (blank: from the start), at most `size` of them, and
        the cursor after the last one (None when no row follows). Raises cursors.CursorError."""
        ordering = self.filterset.data.get("ordering") or ""  # as sent: the cursor belongs to it
        order = cursors.order_of(self.queryset)
        rows = self.queryset
        if cursor:
            rows = rows.filter(cursors.after(order, cursors.decode(cursor, ordering, order, MLModel)))
        rows = cursors.with_keys(rows, order)[: size + 1]  # one more: whether a page follows
        names = cursors.key_names(order)
        links = Links(request)
        if rendered.renders(rows):
            read = list(rows.values_list(*names, rendered.column(rows.db, links)))
            keys, data = [row[:-1] for row in read], [Fragment(row[-1]) for row in read]
        else:
            models = list(rows.with_related())
            keys = [[getattr(model, name) for name in names] for model in models]
            data = _python_rows_of(models, links)
        if len(data) <= size:
            return data, None
        return data[:size], cursors.encode(ordering, list(keys[size - 1]))

    def json_rows(self, request) -> "Pages":
        """Pages of the API's JSON rows: `orjson.Fragment`s written by PostgreSQL, else dictionaries."""
        links = Links(request)
        return Pages(self, lambda bounds: json_rows(self.queryset, bounds, links, self._flat_scope))


def json_rows(queryset, bounds: slice, links: Links, ids_from=None) -> list:
    """The models of `queryset[bounds]` as the API's JSON: written by PostgreSQL in the page's
    own statement where it can (registry/api/rendered.py), else built here. `ids_from`: see _page."""
    page = _page(queryset, bounds, ids_from)
    if rendered.renders(page):
        return rendered.json_rows(page, links)
    return _python_rows(page, links)


def _python_rows(page, links: Links) -> list:
    return _python_rows_of(list(page.with_related()), links)


def _python_rows_of(models: list, links: Links) -> list:
    render = shape.Render(links)
    return [shape.MODEL.python(model, render) for model in attach_alias_names(attach_tags(models))]


def _page(queryset, bounds: slice, ids_from=None):
    """`queryset[bounds]`; past the first rows, the rows whose ids that slice selects, in the
    same order: the inner sort, OFFSET and LIMIT read ids only, so what a page builds for each
    row (the subqueries of its JSON, the joins) is built for its rows alone. The first page
    keeps the one plain statement on PostgreSQL: the models table planned once (the second
    reference cost it about 10 %), and no rows to skip. `ids_from()`, if given, returns the same
    rows in the same order, cheaper to skip (ModelList._flat_scope).

    On SQLite the first page selects its ids first too, from the list's own statement: asked
    for whole rows of a project holding most models, newest first, SQLite's planner scanned
    the table and sorted all of it (400-2,000 ms at 100,000 models, bound project id or
    written in alike), where the ids alone come from the (project, created, id, …) index in
    order and stop after the page (0.3 ms; bench/ui.py --sqlite, the newest-first view)."""
    if not bounds.start:
        if connections[queryset.db].vendor != "sqlite":
            return queryset[bounds]
        ids_from = None  # no rows to skip: the list's own statement, with no query for its projects
    ids = (queryset if ids_from is None else ids_from()).values("pk")[bounds]
    return queryset.model.objects.filter(pk__in=ids).order_by(*cursors.order_of(queryset))


class Pages:
    """What a Paginator pages: `list[a:b]` reads one page (starting the total beside it), and
    `count()` is the list's total."""

    def __init__(self, listing: ModelList, read: Callable[[slice], list]):
        self.listing, self.read = listing, read

    def count(self) -> int:
        return self.listing.total()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, bounds: slice) -> list:
        self.listing._begin_total()
        try:
            return self.read(bounds)
        except BaseException:
            if self.listing._counting is not None:
                self.listing._counting.result()  # no count outlives a failed request
            raise
