"""Prepared lookups: a queryset the ORM compiles once per database, then runs with new values.

Building and compiling a queryset costs more CPU than the database spends answering it when the
answer is one row by a key, as the profile of the per-request floor (bench/floor.py) showed for
the API token's lookup and the get by id (docs/performance.md). So a lookup that every request
makes is written as an ordinary queryset, compiled by the ORM once with stand-in values, and run
after with the request's values bound in their places: the same SQL, the same converters and the
same instances (`Model.from_db`, `select_related` filled in) as the ORM's own `.first()`, only
without rebuilding them.

A stand-in must reach the SQL as a parameter of its own, unchanged (an integer or a string that
no lookup transforms), and the queryset may hold no other value that changes between calls
(`timezone.now()`, say). `Prepared` compiles it twice, with two sets of stand-ins, and refuses
it unless the SQL is the same and the parameters differ exactly where the stand-ins are.

`PreparedList` does the same for a list read a page at a time: the page's statement (the
queryset's own, with LIMIT and OFFSET bound) and its total (a COUNT over the same rows), for the
lists every client asks for with no filter (the tag list, bench/floor.py's no-op: compiling its
visibility rule twice a request was four fifths of the request's CPU).
"""

import threading

from django.db import connections
from django.db.models.query import get_related_populators

# Stand-ins no real key takes: a negative id, and a string no prefix or login can be.
STAND_IN_INT = -7_302_114_553
STAND_IN_STR = "\u2063prepared-stand-in\u2063"


def _other(stand_in):
    """A second stand-in of the same type, to compile with: what differs between the two
    compilations' parameters must be exactly the stand-ins."""
    return stand_in - 1_000_003 if isinstance(stand_in, int) else stand_in + "\u2064"


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


class Prepared:
    """`build(*stand_ins)` returns the queryset; `first(*values)` runs it with `values` in their places.

    One compilation per thread and database alias, kept for the thread's life: the SQL depends
    on the queryset's shape and the database's dialect alone, and the compiled converters are
    bound to the thread's own connection, as Django's connections are."""

    def __init__(self, build, *stand_ins):
        self.build, self.stand_ins = build, stand_ins
        self._local = threading.local()

    def _shaped(self, queryset):
        """The statement compiled: the queryset's first row."""
        return queryset[:1]

    def _compile(self, using: str):
        connection = connections[using]
        key = (using, connection.vendor, connection.settings_dict["NAME"])
        compiled = self._local.__dict__.get(key)
        if compiled is None:
            compiler, sql, params = self._compiled_with(self.stand_ins, using)
            _, other_sql, other_params = self._compiled_with(tuple(map(_other, self.stand_ins)), using)
            if other_sql != sql or len(other_params) != len(params):
                raise ValueError(f"{self.build!r}: its SQL depends on the stand-ins' values")
            slots = []  # for each parameter: the index of the value it takes, or (constant,)
            for param, other in zip(params, other_params, strict=True):
                stand_in = [i for i, value in enumerate(self.stand_ins) if _same(param, value)]
                if stand_in and _same(other, _other(self.stand_ins[stand_in[0]])):
                    slots.append(stand_in[0])
                elif _same(param, other) and (param is None or isinstance(param, bool | int | str)):
                    slots.append((param,))
                else:  # a value that changed between the two compilations, or an object
                    raise ValueError(f"{self.build!r}: the parameter {param!r} is neither a stand-in nor a constant")
            if {slot for slot in slots if isinstance(slot, int)} != set(range(len(self.stand_ins))):
                raise ValueError(f"{self.build!r}: a stand-in does not reach the SQL as a parameter")
            select, klass_info = compiler.select, compiler.klass_info
            converters = compiler.get_converters([column for column, _, _ in select])
            # How ModelIterable builds an instance and its select_related ones from a row.
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            names = [column[0].target.attname for column in select[start:end]]
            populators = get_related_populators(klass_info, select, using)
            row_to_instance = (klass_info["model"], start, end, names, populators)
            compiled = self._local.__dict__[key] = (sql, slots, converters, compiler, row_to_instance)
        return compiled

    def _compiled_with(self, values: tuple, using: str):
        queryset = self._shaped(self.build(*values).using(using))
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        return compiler, sql, params

    def first(self, *values, using: str = "default"):
        """The first row's instance with `values` in the stand-ins' places, or None."""
        rows = self._run(values, (), using)
        return rows[0] if rows else None

    def _run(self, values: tuple, extra_params: tuple, using: str, suffix: str = "") -> list:
        sql, slots, converters, compiler, (model, start, end, names, populators) = self._compile(using)
        params = [values[slot] if isinstance(slot, int) else slot[0] for slot in slots]
        with connections[using].cursor() as cursor:
            cursor.execute(sql + suffix, [*params, *extra_params])
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        instances = []
        for row in rows:
            instance = model.from_db(using, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances


class PreparedList(Prepared):
    """`build(*stand_ins)` returns an ordered queryset; `rows(values, offset, limit)` reads a page
    of it and `count(values)` its total, each one statement compiled once (see the module)."""

    def __init__(self, build, *stand_ins):
        super().__init__(build, *stand_ins)
        self._count = Prepared(lambda *values: build(*values).order_by(), *stand_ins)
        self._count._shaped = lambda queryset: queryset  # every row: it is counted in the SQL

    def _shaped(self, queryset):
        if not queryset.ordered:
            raise ValueError(f"{self.build!r}: a list read by pages needs an order")
        return queryset  # LIMIT and OFFSET are bound per page (rows)

    def rows(self, values: tuple, offset: int, limit: int, using: str = "default") -> list:
        return self._run(values, (limit, offset), using, " LIMIT %s OFFSET %s")

    def count(self, values: tuple, using: str = "default") -> int:
        sql, slots, *_ = self._count._compile(using)
        params = [values[slot] if isinstance(slot, int) else slot[0] for slot in slots]
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) listed", params)  # noqa: S608 (compiled SQL)
            return cursor.fetchone()[0]

    def pages(self, *values, using: str = "default") -> "PreparedRows":
        """What a Paginator pages (`count()`, `[a:b]`), for DRF's pagination of a list view."""
        return PreparedRows(self, values, using)


class PreparedRows:
    """One list's rows for a Paginator: `rows[a:b]` reads a page, `count()` the total."""

    ordered = True  # the Paginator's check: PreparedList refuses a list without an order

    def __init__(self, prepared: PreparedList, values: tuple, using: str):
        self.prepared, self.values, self.using = prepared, values, using

    def count(self) -> int:
        return self.prepared.count(self.values, self.using)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, bounds: slice) -> list:
        if not isinstance(bounds, slice) or bounds.step is not None or bounds.start is None or bounds.stop is None:
            raise TypeError("a page of a prepared list is a slice [start:stop]")
        return self.prepared.rows(self.values, bounds.start, max(0, bounds.stop - bounds.start), self.using)
