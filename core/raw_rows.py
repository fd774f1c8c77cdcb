"""Model instances from hand-written SQL, for the few hot paths where compiling an ORM query
costs several times more CPU than running it (bench/gate_cpu.py: ~2.6 ms against ~0.3 ms for
the API token's lookup).

Only reads of whole rows by an indexed key and inserts of one row belong here; everything else
stays on the ORM. The gate API's allow answer sends its reads through prepared_cursor().
"""

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin
from psycopg._queries import PostgresQuery

M = TypeVar("M", bound=Model)


def row_columns(model: type[Model], alias: str) -> str:
    """`alias`."column", … for every concrete field of `model`, in the order row_instance reads."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in model._meta.concrete_fields)


def row_table(model: type[Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def row_insert(instance: Model) -> tuple[str, list[Any]]:
    """The INSERT of a new `instance` (every concrete field, its primary key set by its default)
    as SQL and parameters, prepared as the ORM's save() prepares them."""
    return _insert(instance, instance._meta.concrete_fields)


def _insert(instance: Model, fields: Sequence[Any]) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    return f"INSERT INTO {row_table(type(instance))} ({columns}) VALUES ({placeholders})", params  # noqa: S608


def row_save_new(instance: Model) -> None:
    """Insert a new `instance` as save(force_insert=True) does (no signals), without the ORM's
    statement compiler (~1 ms of CPU an insert); a primary key the database generates (an
    auto field left unset) is read back from the row."""
    pk = instance._meta.pk
    generated = pk is not None and isinstance(pk, AutoFieldMixin) and instance.pk is None
    fields = [field for field in instance._meta.concrete_fields if not (generated and field is pk)]
    sql, params = _insert(instance, fields)
    with connection.cursor() as cursor:
        if generated:
            assert pk is not None  # noqa: S101 - for mypy: generated implies it
            cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(str(pk.column))}", params)
            instance.pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, params)
    instance._state.adding = False
    instance._state.db = connection.alias


def row_instance(model: type[M], values: Sequence[Any]) -> M:
    """The instance of `model` whose columns (as row_columns lists them) are `values`."""
    fields = model._meta.concrete_fields
    converted = [_from_db(field, value) for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def _from_db(field: Any, value: Any) -> Any:
    # What the ORM's compiler applies to a column read back (JSON fields decode here).
    converter = getattr(field, "from_db_value", None)
    return converter(value, None, connection) if converter is not None and value is not None else value


class _PreparedCursor(psycopg.Cursor[Any]):
    """Parameters bound server-side, and every statement prepared on its connection."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        # Django turns psycopg's preparing off for the connection (prepare_threshold None: the
        # ORM's statements stay unprepared); on for this one statement, and only when asked.
        threshold = self.connection.prepare_threshold
        self.connection.prepare_threshold = sys.maxsize
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            self.connection.prepare_threshold = threshold

    def _convert_query(self, query: Any, params: Any = None) -> PostgresQuery:
        # Django's query log (DEBUG, CaptureQueriesContext) reads the statement sent from
        # `_query`, which psycopg keeps only for its client-side binding cursor: here the text
        # with its $n placeholders.
        self._query = super()._convert_query(query, params)
        return self._query


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """Django's cursor (its connection, thread check, error mapping and query log) for a hot
    hand-written read of fixed text, run as a server-side prepared statement.

    PostgreSQL parses and plans it once per connection, not on every call, and psycopg sends
    the parameters apart instead of quoting them into the text (bench/gate_cpu.py). Only for
    reads: psycopg forgets, without deallocating it, a statement whose first run on a connection
    fails, so a write a caller can make fail (a taken unique key) would pile up statements on a
    connection that only ever sees it fail. Prepared statements live on a connection: behind
    PgBouncer in transaction mode (which DB_DISABLE_SERVER_SIDE_CURSORS declares) a later
    transaction may land on another server connection, so there this is Django's usual cursor.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up again
    if db.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = _PreparedCursor(db.connection)
    # django-stubs type these as taking Django's own wrapper; they wrap a DB-API cursor.
    wrap = db.make_debug_cursor if db.queries_logged else db.make_cursor
    cursor = wrap(raw)  # type: ignore[arg-type]
    with cursor:
        yield cursor
