"""The ORM without its per-request SQL building, for the queries every upload/request makes.

Building a query's SQL costs far more CPU than running it: the API key lookup with its project
took about 600 us of Django's time per request, of which about 50 us was psycopg executing it
(BENCHMARKS.md, item 1). ``CompiledSelect`` builds a queryset's SQL once per database
connection and afterwards only binds new values; ``insert_one`` does the same for
``obj.save(force_insert=True)``. ``update_then_select`` and ``insert_one_then_update`` merge
two of these into one statement on PostgreSQL (one round trip instead of two, or four with the
transaction's BEGIN and COMMIT). Rows still become instances through the ORM's own converters
and ``Model.from_db``, and values go through each field's ``get_db_prep_save``, so a field
behaves exactly as it does with the queryset or ``save()`` itself. Queries run on
``connection.cursor()``, so query logging and ``django_assert_num_queries`` see them.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone as dt_timezone
from typing import Any, Callable, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import FullResultSet
from django.db import connections, router, transaction
from django.db.models import Model, QuerySet, signals
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery

M = TypeVar("M", bound=Model)

# What a parameter is while the SQL is built: a value no caller can send (a NUL inside).
_PLACEHOLDER = "\x00uploadkit-param:{}\x00"


class _SelectPlan:
    """One queryset compiled for one connection: its SQL and how to turn rows into instances."""

    def __init__(self, queryset: QuerySet[Any], names: tuple[str, ...], alias: str) -> None:
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        placeholders = {_PLACEHOLDER.format(name): name for name in names}
        # Each parameter is either one of the caller's values (by name) or a constant.
        self.params: list[tuple[str | None, Any]] = [
            (placeholders.get(p) if isinstance(p, str) else None, p) for p in params
        ]
        missing = set(names) - {name for name, _ in self.params}
        if missing:
            raise ValueError(f"Parameters {sorted(missing)} do not reach the SQL as given.")
        self.compiler = compiler
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model_slice = slice(start, end)
        self.init_list = [f[0].target.attname for f in compiler.select[start:end]]
        self.related_populators = get_related_populators(klass_info, compiler.select, alias)


class CompiledSelect(Generic[M]):
    """A queryset that is built once per connection, then run with new string values.

    ``build`` receives each named value as a placeholder string and returns the queryset;
    only plain model querysets (``filter``, ``select_related``, ``order_by``) are supported.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *names: str) -> None:
        self._build = build
        self._names = names

    def _plan(self, alias: str) -> _SelectPlan:
        plans = _plans_of(connections[alias])
        plan = plans.get(self)
        if plan is None:
            queryset = self._build(**{n: _PLACEHOLDER.format(n) for n in self._names}).using(alias)
            if queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups:
                raise TypeError("CompiledSelect runs plain model querysets only.")
            plan = plans[self] = _SelectPlan(queryset, self._names, alias)
        return plan

    def _params(self, plan: _SelectPlan, values: dict[str, str]) -> list[Any]:
        for value in values.values():
            if not isinstance(value, str):
                raise TypeError("CompiledSelect binds strings only.")
        return [values[name] if name else constant for name, constant in plan.params]

    def _objects(self, plan: _SelectPlan, using: str, rows: list[Any]) -> list[M]:
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        objects = []
        for row in rows:
            obj = plan.model.from_db(using, plan.init_list, row[plan.model_slice])
            for populator in plan.related_populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def all(self, using: str, **values: str) -> list[M]:
        plan = self._plan(using)
        params = self._params(plan, values)
        with connections[using].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        return self._objects(plan, using, rows)

    def first(self, using: str, **values: str) -> M | None:
        """The first row's instance, or None (for lookups by a unique value: no LIMIT added)."""
        objects = self.all(using, **values)
        return objects[0] if objects else None


class _UpdatePlan:
    """One ``update()`` compiled for one connection: its SQL, and for each parameter either a
    caller's value (by name) or a constant.

    The update is compiled twice, with two sets of placeholders: a value the SQL uses only
    transformed (``__startswith``'s LIKE pattern, ``__date``) differs between the two as an
    unrecognised constant, and is refused rather than frozen into the plan.
    """

    def __init__(self, build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
                 fields: dict[str, Any], alias: str) -> None:
        connection = connections[alias]
        (self.sql, self.params, condition_start), (other_sql, other_params, _) = [
            _compile_update(build, fields, alias, connection, variant) for variant in (0, 1)
        ]
        if other_sql != self.sql or [n for n, _ in other_params] != [n for n, _ in self.params] or any(
            name is None and a != b for (name, a), (_, b) in zip(self.params, other_params)
        ):
            raise ValueError("A value reaches the SQL transformed: CompiledUpdate binds plain values only.")
        missing = set(fields) - {name for name, _ in self.params}
        if missing:
            raise ValueError(f"Parameters {sorted(missing)} do not reach the SQL as given.")
        # Names in the WHERE clause: None there would need IS NULL, which the SQL does not say.
        self.condition_names = {name for name, _ in self.params[condition_start:] if name}


def _compile_update(build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]], fields: dict[str, Any],
                    alias: str, connection: Any, variant: int) -> tuple[str, list[tuple[str | None, Any]], int]:
    """The SQL and named parameters for one set of placeholders, and where the WHERE clause's
    parameters start."""
    placeholders = {n: _placeholder(f, i, variant, connection) for i, (n, f) in enumerate(fields.items())}
    queryset, values = build(**placeholders)
    if queryset.query.is_sliced or queryset.query.combinator:
        raise TypeError("CompiledUpdate cannot update a sliced or combined queryset.")
    query = queryset.using(alias).query.chain(UpdateQuery)
    query.add_update_values(values)
    query.clear_select_clause()
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if not sql or query.related_updates or query.count_active_tables() != 1:
        raise TypeError("CompiledUpdate runs updates of one table only.")
    # Each placeholder as it reaches the parameters: prepared by its field.
    prepared = {name: fields[name].get_db_prep_save(value, connection) for name, value in placeholders.items()}
    named = [(next((n for n, v in prepared.items() if type(v) is type(p) and v == p), None), p) for p in params]
    try:
        condition_count = len(compiler.compile(query.where)[1])
    except FullResultSet:  # no condition at all
        condition_count = 0
    return sql, named, len(params) - condition_count


def _placeholder(field: Any, i: int, variant: int, connection: Any) -> Any:
    """A value of the field's type that no caller sends: a NUL inside, a year long gone, an
    integer near the top of the column's range (inside it: a value out of range would change
    the condition Django builds)."""
    internal = field.get_internal_type()
    n = 2 * i + variant + 1
    if internal == "DateTimeField":
        return datetime(1800 + n, 1, 1, tzinfo=dt_timezone.utc if settings.USE_TZ else None)
    if internal in ("IntegerField", "BigIntegerField", "PositiveIntegerField",
                    "PositiveBigIntegerField", "PositiveSmallIntegerField", "SmallIntegerField"):
        high = connection.ops.integer_field_range(internal)[1]
        return (2**31 - 1 if high is None else high) - 97 * n
    if internal in ("CharField", "TextField"):
        return _PLACEHOLDER.format(f"{i}.{variant}")
    raise TypeError(f"CompiledUpdate does not bind {internal} values.")


class CompiledUpdate:
    """``queryset.update(**values)`` built once per connection, then run with new values.

    ``fields`` names each value and the model field it is for (its type, how it is prepared);
    ``build`` receives a placeholder for each name and returns ``(queryset, values to set)``.
    Updates of one table only. ``run`` returns the number of rows updated, as ``update()``
    does; values go through each field's ``get_db_prep_save``, as with ``update()``. None may
    be set, but not compared: the ORM would write IS NULL there.
    """

    def __init__(self, model: type[Model], build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
                 **fields: str) -> None:
        self._build = build
        self.model = model
        self._fields = {name: model._meta.get_field(field) for name, field in fields.items()}

    def _plan(self, alias: str) -> _UpdatePlan:
        plans = _plans_of(connections[alias])
        plan = plans.get(self)
        if plan is None:
            plan = plans[self] = _UpdatePlan(self._build, self._fields, alias)
        return plan

    def _params(self, plan: _UpdatePlan, using: str, values: dict[str, Any]) -> list[Any]:
        if values.keys() != self._fields.keys():
            raise TypeError(f"CompiledUpdate takes exactly {sorted(self._fields)}.")
        for name in plan.condition_names:
            if values[name] is None:
                raise TypeError(f"{name} is compared in the WHERE clause: it cannot be None.")
        connection = connections[using]
        fields = self._fields
        return [
            fields[name].get_db_prep_save(values[name], connection) if name else constant
            for name, constant in plan.params
        ]

    def run(self, using: str, **values: Any) -> int:
        plan = self._plan(using)
        params = self._params(plan, using, values)
        with transaction.mark_for_rollback_on_error(using), connections[using].cursor() as cursor:
            cursor.execute(plan.sql, params)
            return cursor.rowcount


def update_then_select(update: CompiledUpdate, select: CompiledSelect[M], using: str,
                       update_values: dict[str, Any], select_values: dict[str, str]) -> list[M]:
    """The rows ``select`` finds among those ``update`` changed, as they are after it.

    On PostgreSQL one statement, one round trip: the update as a data-modifying ``WITH``
    (``RETURNING`` its rows), read by the select in place of its table. Elsewhere the update,
    then the select if the update changed a row: there the select reads the table, so it should
    name the same rows as the update (by primary key, say).
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        update_plan, select_plan = update._plan(using), select._plan(using)
        plans = _plans_of(connection)
        key = ("update_then_select", update, select)
        sql = plans.get(key)
        if sql is None:
            sql = plans[key] = _with_changed_rows(update.model, update_plan.sql, select_plan, connection)
        if sql:
            params = update._params(update_plan, using, update_values) + select._params(select_plan, select_values)
            with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            return select._objects(select_plan, using, rows)
    if not update.run(using, **update_values):
        return []
    return select.all(using, **select_values)


def _with_changed_rows(model: type[Model], update_sql: str, select_plan: _SelectPlan, connection: Any) -> str:
    """WITH "changed" AS (UPDATE t ... RETURNING t.*) SELECT ... FROM "changed" AS t ...; or ""
    when the select does not read the updated table exactly once."""
    table = connection.ops.quote_name(model._meta.db_table)
    source = f" FROM {table}"
    if select_plan.model is not model or select_plan.sql.count(source) != 1:
        return ""
    changed = connection.ops.quote_name("uploadkit_changed")
    return (f"WITH {changed} AS ({update_sql} RETURNING {table}.*) "
            + select_plan.sql.replace(source, f" FROM {changed} AS {table}", 1))


class _InsertPlan:
    def __init__(self, obj: Model, fields: list[Any], alias: str, guard: str | None) -> None:
        meta = type(obj)._meta
        self.fields = fields  # as save() writes them: all but a primary key the database makes
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj])
        self.compiler = compiler = query.get_compiler(using=alias)
        # Values the database makes (an auto-incremented id) come back with RETURNING, as with
        # save(); a database that cannot return them gets save() itself.
        self.returning = list(meta.db_returning_fields)
        compiler.returning_fields = self.returning or None
        [(self.sql, _params)] = compiler.as_sql()
        self.usable = (
            not self.returning or compiler.connection.features.can_return_columns_from_insert
        ) and not any(getattr(f, "get_placeholder", None) for f in fields)  # per-row SQL
        self.converters = compiler.get_converters([f.get_col(meta.db_table) for f in self.returning])
        if guard is not None and self.usable:
            self._add_guard(fields, guard)

    def _add_guard(self, fields: list[Any], guard: str) -> None:
        """INSERT INTO t (a, b) VALUES (%s, %s) -> INSERT INTO t (a, b) SELECT %s, %s WHERE guard.

        In a SELECT, PostgreSQL types an untyped value (None, a str) as text, so each value is
        cast to its column's type there; SQLite takes values as they come. Other databases, and
        rows with values the database returns: no guarded insert.
        """
        connection = self.compiler.connection
        head, values = self.sql.split(" VALUES (", 1)
        if self.returning or values != ", ".join(["%s"] * len(fields)) + ")":
            self.usable = False
        elif connection.vendor == "postgresql":
            casts = ", ".join(f"CAST(%s AS {_unbounded(f.cast_db_type(connection))})" for f in fields)
            self.sql = f"{head} SELECT {casts} WHERE {guard}"
        elif connection.vendor == "sqlite":
            self.sql = f"{head} SELECT {', '.join(['%s'] * len(fields))} WHERE {guard}"
        else:
            self.usable = False


def _unbounded(cast: str) -> str:
    """varchar(255) -> varchar: an explicit cast to a length truncates silently, where the
    INSERT's own assignment to the column refuses a value too long, as VALUES (...) does."""
    return re.sub(r"^(character varying|varchar)\(\d+\)$", "varchar", cast)


def _plans_of(connection: Any) -> dict[Any, Any]:
    """The plans made for this connection object (one per thread and alias). They live on it,
    so they go when it goes (a plan's compiler holds its connection: a cache keyed by
    connections elsewhere would keep every thread's connection alive)."""
    plans = connection.__dict__.get("_uploadkit_plans")
    if plans is None:
        plans = connection.__dict__["_uploadkit_plans"] = {}
    return plans


def can_insert_directly(cls: type[Model]) -> bool:
    """Whether ``insert_one`` can write a row of this model with one INSERT of its own."""
    meta = cls._meta
    return not (
        meta.parents
        or meta.order_with_respect_to
        or signals.pre_save.has_listeners(cls)
        or signals.post_save.has_listeners(cls)
    )


def insert_one(obj: Model, using: str | None = None, *, guard: tuple[str, list[Any]] | None = None) -> bool:
    """``obj.save(force_insert=True, using=using)`` for a new row, with the SQL built once.

    Anything ``save()`` would do besides the one INSERT (signal receivers, parent models, an
    expression as a value) makes it call ``save()`` instead. Values the database makes (an
    auto-incremented id) are set on ``obj``, as ``save()`` sets them.

    ``guard`` is ``(sql, params)``, a condition the database checks in the INSERT itself: the
    row is written only if it holds. Returns False, having written nothing, when it did not
    hold, or when no guarded INSERT is possible here (then the guard was never checked).
    """
    using = using or router.db_for_write(type(obj), instance=obj)
    statement = _insert_statement(obj, using, guard)
    if statement is None:
        return _save(obj, using, guard)
    plan, params = statement
    connection = connections[using]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        if guard is not None and cursor.rowcount != 1:
            return False
        if plan.returning:
            returned = connection.ops.fetch_returned_insert_columns(cursor, plan.compiler.returning_params)
            _set_returned(obj, plan, returned)
    _mark_saved(obj, using)
    return True


def insert_one_then_update(obj: Model, update: CompiledUpdate, using: str, **values: Any) -> int:
    """``insert_one(obj, using)`` and ``update.run(using, **values)``, both or neither; returns
    the number of rows updated.

    On PostgreSQL one statement, one round trip: the update as a data-modifying ``WITH``, the
    INSERT returning what the database made for ``obj`` and how many rows the update changed.
    Elsewhere (or when ``save()`` must write ``obj``) the two in one transaction.
    """
    connection = connections[using]
    statement = _insert_statement(obj, using, None) if connection.vendor == "postgresql" else None
    if statement is None:
        # No savepoint inside a caller's transaction: a failure there fails the caller's whole
        # transaction, as the one statement does.
        with transaction.atomic(using, savepoint=False):
            insert_one(obj, using)
            return update.run(using, **values)
    plan, params = statement
    update_plan = update._plan(using)
    plans = _plans_of(connection)
    key = ("insert_one_then_update", plan, update)
    sql = plans.get(key)
    if sql is None:
        updated = connection.ops.quote_name("uploadkit_updated")
        sql = plans[key] = (f"WITH {updated} AS ({update_plan.sql} RETURNING 1) {plan.sql}"
                            + (", " if plan.returning else " RETURNING ")
                            + f"(SELECT COUNT(*) FROM {updated})")
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, update._params(update_plan, using, values) + params)
        *returned, count = cursor.fetchone()
    if plan.returning:
        _set_returned(obj, plan, returned)
    _mark_saved(obj, using)
    return count


def _insert_statement(obj: Model, using: str, guard: tuple[str, list[Any]] | None
                      ) -> tuple[_InsertPlan, list[Any]] | None:
    """The plan and parameters of ``obj``'s INSERT, or None when ``save()`` must write it."""
    cls = type(obj)
    meta = cls._meta
    pk_set = obj.pk is not None
    if not can_insert_directly(cls) or not (pk_set or meta.auto_field):
        return None
    obj._prepare_related_fields_for_save(operation_name="save")
    plans = _plans_of(connections[using])
    plan_key = ("insert", cls, pk_set, guard[0] if guard else None)
    plan = plans.get(plan_key)
    if plan is None:
        fields = [f for f in meta.local_concrete_fields if not f.generated and (pk_set or f is not meta.auto_field)]
        plan = plans[plan_key] = _InsertPlan(obj, fields, using, guard[0] if guard else None)
    compiler = plan.compiler
    params = [compiler.prepare_value(f, compiler.pre_save_val(f, obj)) for f in plan.fields]
    if not plan.usable or any(hasattr(p, "as_sql") for p in params):
        return None
    if guard is not None:
        params += guard[1]
    return plan, [*params, *compiler.returning_params]


def _set_returned(obj: Model, plan: _InsertPlan, returned: Any) -> None:
    """Set the values the database made (an auto-incremented id) on ``obj``, as save() does."""
    rows = [returned]
    if plan.converters:
        rows = list(plan.compiler.apply_converters(rows, plan.converters))
    for field, value in zip(plan.returning, rows[0]):
        setattr(obj, field.attname, value)


def _mark_saved(obj: Model, using: str) -> None:
    obj._state.adding = False
    obj._state.db = using


def _save(obj: Model, using: str, guard: tuple[str, list[Any]] | None) -> bool:
    if guard is not None:
        return False  # save() cannot check the guard: the caller decides without it
    obj.save(force_insert=True, using=using)
    return True
