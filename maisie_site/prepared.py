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
        queryset = self.build(*values).using(using)[:1]
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        return compiler, sql, params

    def first(self, *values, using: str = "default"):
        """The first row's instance with `values` in the stand-ins' places, or None."""
        sql, slots, converters, compiler, (model, start, end, names, populators) = self._compile(using)
        params = [values[slot] if isinstance(slot, int) else slot[0] for slot in slots]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        instance = model.from_db(using, names, row[start:end])
        for populator in populators:
            populator.populate(row, instance)
        return instance
